//! AIP-155 request ids: retries of a create, ingest, record or start return the first call's
//! result and change nothing.
//!
//! Within the handler's transaction: [`begin`] claims the request id (a concurrent duplicate
//! waits on the row lock until the first commits), the handler does its work only when the
//! claim is new, and [`finish`] stores the response with the effects. A rolled-back attempt
//! leaves no trace, so its retry runs afresh.

use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use crate::Error;

/// What the request id says about this call.
#[derive(Debug)]
pub enum Claim<R> {
    /// First time: do the work, then call [`finish`].
    New(Uuid),
    /// A retry: answer with the stored response.
    Replay(R),
}

/// Parses the caller's `request_id` field (empty: no idempotency asked for).
pub fn parse(request_id: &str, field: &str) -> Result<Option<Uuid>, Error> {
    if request_id.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(request_id).map(Some).map_err(|_| {
        Error::invalid(field, "must be a UUID (e.g. 0f9a4d1e-3c7b-4f7e-9a51-8d2c6f0b1e27)")
    })
}

/// Claims `request_id` for `method` in `schema`, or finds the response of an earlier call.
pub async fn begin<R: prost::Message + Default>(
    tx: &mut PgConnection,
    schema: &str,
    method: &str,
    request_id: Uuid,
    request: &impl prost::Message,
) -> Result<Claim<R>, Error> {
    let fingerprint = ring::digest::digest(&ring::digest::SHA256, &request.encode_to_vec());
    let fingerprint = fingerprint.as_ref();
    let inserted = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {schema}.requests (request_id, method, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT (request_id) DO NOTHING"
    )))
    .bind(request_id)
    .bind(method)
    .bind(fingerprint)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New(request_id));
    }
    let (stored_method, stored_fingerprint, response): (String, Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT method, fingerprint, response FROM {schema}.requests WHERE request_id = $1"
        )))
        .bind(request_id)
        .fetch_one(&mut *tx)
        .await?;
    if stored_method != method || stored_fingerprint != fingerprint {
        return Err(Error::RequestIdReused);
    }
    let response =
        response.ok_or_else(|| anyhow::anyhow!("request {request_id} has no stored response"))?;
    R::decode(response.as_slice())
        .map(Claim::Replay)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored response of {request_id}: {e}")))
}

/// Stores the response of a [`Claim::New`] call, in the same transaction as its effects.
pub async fn finish(
    tx: &mut PgConnection,
    schema: &str,
    request_id: Uuid,
    response: &impl prost::Message,
) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {schema}.requests SET response = $2 WHERE request_id = $1"
    )))
    .bind(request_id)
    .bind(response.encode_to_vec())
    .execute(tx)
    .await?;
    Ok(())
}
