//! Re-scoring operations: one row per operation (state, counts, the first failures) and one
//! item per account still to do. Items are leased (`claimed_until`) so that several
//! replicas share the work and a crashed worker's items are handed out again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, idempotency, page};
use steward_proto::health::v1 as pb;
use uuid::Uuid;

use super::{SCHEMA, Store, decode};

use pb::RescoreState as State;

/// How many failures an operation keeps.
const KEPT_FAILURES: i32 = 10;

/// `rescoreOperations/{id}`.
pub fn operation_name(id: Uuid) -> String {
    format!("rescoreOperations/{id}")
}

/// What starts an operation.
#[derive(Debug, Clone)]
pub struct NewOperation {
    pub cause: pb::RescoreCause,
    /// `scorecards/{id}` or empty.
    pub scorecard: String,
    pub scorecard_version: i32,
    /// The filter (REQUESTED only).
    pub request: Option<pb::RescoreAccountsRequest>,
    pub requested_by: String,
}

/// One account of an operation, leased to this worker.
#[derive(Debug, Clone)]
pub struct ItemClaim {
    pub operation: Uuid,
    pub account: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub cause: pb::RescoreCause,
}

/// How re-scoring one item ended.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    /// Re-scored; `true` when the score changed.
    Done { changed: bool },
    /// Given up: the message says why (for operators, no internals).
    Failed(String),
}

#[derive(Debug, sqlx::FromRow)]
struct OperationRow {
    id: Uuid,
    cause: i32,
    scorecard: String,
    scorecard_version: i32,
    request: Option<Vec<u8>>,
    requested_by: String,
    state: i32,
    total_count: i32,
    done_count: i32,
    failed_count: i32,
    changed_count: i32,
    failure_accounts: Vec<String>,
    failure_messages: Vec<String>,
    create_time: DateTime<Utc>,
    start_time: Option<DateTime<Utc>>,
    end_time: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, cause, scorecard, scorecard_version, request, requested_by, state,
    total_count, done_count, failed_count, changed_count, failure_accounts, failure_messages,
    create_time, start_time, end_time";

impl OperationRow {
    fn to_proto(&self) -> Result<pb::RescoreOperation, Error> {
        Ok(pb::RescoreOperation {
            name: operation_name(self.id),
            cause: self.cause,
            scorecard: self.scorecard.clone(),
            scorecard_version: self.scorecard_version,
            request: self.request.as_deref().map(|b| decode(b, "rescore request")).transpose()?,
            requested_by: self.requested_by.clone(),
            state: self.state,
            total_count: self.total_count,
            done_count: self.done_count,
            failed_count: self.failed_count,
            changed_count: self.changed_count,
            failures: self
                .failure_accounts
                .iter()
                .zip(&self.failure_messages)
                .map(|(account, message)| pb::RescoreFailure {
                    account: account.clone(),
                    message: message.clone(),
                })
                .collect(),
            create_time: Some(timestamp(self.create_time)),
            start_time: self.start_time.map(timestamp),
            end_time: self.end_time.map(timestamp),
        })
    }
}

/// Starts operation `id` over `accounts` (PENDING) within `tx`; returns it as created.
pub(super) async fn start_operation(
    tx: &mut PgConnection,
    id: Uuid,
    op: &NewOperation,
    accounts: &[String],
    now: DateTime<Utc>,
) -> Result<pb::RescoreOperation, Error> {
    let row: OperationRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO health.rescore_operations (id, cause, scorecard, scorecard_version, request,
             requested_by, state, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(op.cause as i32)
    .bind(&op.scorecard)
    .bind(op.scorecard_version)
    .bind(op.request.as_ref().map(Message::encode_to_vec))
    .bind(&op.requested_by)
    .bind(State::Pending as i32)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO health.rescore_items (operation, account)
         SELECT $1, a FROM UNNEST($2::text[]) a ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(accounts)
    .execute(&mut *tx)
    .await?;
    row.to_proto()
}

/// Which accounts `RescoreAccounts` selects (filters by AND; empty ones place no
/// constraint): known accounts in the segments and stages, among the named ones, currently
/// scored by the scorecard.
#[derive(Debug, Clone, Default)]
pub struct RescoreFilter {
    pub scorecard_id: Option<String>,
    pub segments: Vec<i32>,
    pub stages: Vec<i32>,
    pub accounts: Vec<String>,
}

impl Store {
    /// Starts a `RescoreAccounts` operation under its request id; a retry answers the first
    /// call's operation as it was then.
    pub async fn rescore_accounts(
        &self,
        request_id: Uuid,
        request: &pb::RescoreAccountsRequest,
        filter: &RescoreFilter,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> Result<pb::RescoreOperation, Error> {
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "RescoreAccounts", request_id, request).await?;
        if let idempotency::Claim::Replay(answer) = claim {
            return Ok(answer);
        }
        let accounts: Vec<String> = sqlx::query_scalar(
            "SELECT a.account FROM health.accounts a
             WHERE (cardinality($1::int[]) = 0 OR a.segment = ANY($1))
               AND (cardinality($2::int[]) = 0 OR a.stage = ANY($2))
               AND (cardinality($3::text[]) = 0 OR a.account = ANY($3))
               AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM health.scores s
                    WHERE s.account = a.account AND s.scorecard_id = $4))",
        )
        .bind(&filter.segments)
        .bind(&filter.stages)
        .bind(&filter.accounts)
        .bind(&filter.scorecard_id)
        .fetch_all(&mut *tx)
        .await?;
        let op = NewOperation {
            cause: pb::RescoreCause::Requested,
            scorecard: request.scorecard.clone(),
            scorecard_version: 0,
            request: Some(request.clone()),
            requested_by: requested_by.to_owned(),
        };
        let created = start_operation(&mut tx, Uuid::now_v7(), &op, &accounts, now).await?;
        idempotency::finish(&mut tx, SCHEMA, request_id, &created).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Operation `id`, if kept.
    pub async fn rescore_operation(&self, id: Uuid) -> Result<Option<pb::RescoreOperation>, Error> {
        let row: Option<OperationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM health.rescore_operations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.to_proto()).transpose()
    }

    /// One page of operations, newest first.
    pub async fn list_rescore_operations(
        &self,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::RescoreOperation>, String), Error> {
        const QUERY: &str = "rescore_operations";
        // The key: the last row's create time (microseconds) and id.
        let after: Option<(i64, String)> = page::decode(QUERY, page_token)?;
        let (time, id) = match after {
            Some((micros, id)) => {
                let bad =
                    || Error::invalid("page_token", "not a page token returned by this method");
                let time = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
                (Some(time), Some(Uuid::parse_str(&id).map_err(|_| bad())?))
            }
            None => (None, None),
        };
        let rows: Vec<OperationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM health.rescore_operations
             WHERE $1::timestamptz IS NULL OR (create_time, id) < ($1, $2)
             ORDER BY create_time DESC, id DESC LIMIT $3"
        )))
        .bind(time)
        .bind(id)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, QUERY, |r| {
            (r.create_time.timestamp_micros(), r.id.to_string())
        });
        let ops = rows.iter().map(OperationRow::to_proto).collect::<Result<_, _>>()?;
        Ok((ops, token))
    }

    /// Whether any operation is PENDING or RUNNING (a cheap look before the work queries).
    pub async fn any_open_operation(&self) -> Result<bool, Error> {
        // Literal states (PENDING, RUNNING), so that the partial index of open operations serves.
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM health.rescore_operations WHERE state IN (1, 2))",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Moves PENDING operations to RUNNING, fixing their totals; returns how many.
    pub async fn start_pending_operations(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        let started = sqlx::query(
            "UPDATE health.rescore_operations o SET state = $1, start_time = $2,
                 total_count = (SELECT count(*) FROM health.rescore_items i WHERE i.operation = o.id)
             WHERE id IN (SELECT id FROM health.rescore_operations WHERE state = $3
                          ORDER BY create_time FOR UPDATE SKIP LOCKED)",
        )
        .bind(State::Running as i32)
        .bind(now)
        .bind(State::Pending as i32)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(started)
    }

    /// Leases up to `limit` items of running operations, oldest operation first, whose lease
    /// is free or ran out, counting an attempt on each.
    pub async fn claim_items(
        &self,
        limit: i64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<ItemClaim>, Error> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(2));
        let rows: Vec<(Uuid, String, i32, i32)> = sqlx::query_as(
            "WITH c AS (
                SELECT i.operation, i.account FROM health.rescore_items i
                JOIN health.rescore_operations o ON o.id = i.operation
                WHERE o.state = $1 AND (i.claimed_until IS NULL OR i.claimed_until < $2)
                ORDER BY o.create_time, i.account LIMIT $3
                FOR UPDATE OF i SKIP LOCKED)
             UPDATE health.rescore_items i SET claimed_until = $4, attempts = i.attempts + 1
             FROM c, health.rescore_operations o
             WHERE (i.operation, i.account) = (c.operation, c.account) AND o.id = i.operation
             RETURNING i.operation, i.account, i.attempts, o.cause",
        )
        .bind(State::Running as i32)
        .bind(now)
        .bind(limit)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(operation, account, attempts, cause)| ItemClaim {
                operation,
                account,
                attempts,
                cause: pb::RescoreCause::try_from(cause).unwrap_or(pb::RescoreCause::Requested),
            })
            .collect())
    }

    /// Hands an item back for another attempt no sooner than `at`.
    pub async fn retry_item(&self, claim: &ItemClaim, at: DateTime<Utc>) -> Result<(), Error> {
        sqlx::query(
            "UPDATE health.rescore_items SET claimed_until = $3
             WHERE operation = $1 AND account = $2",
        )
        .bind(claim.operation)
        .bind(&claim.account)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records finished items in one transaction: each item still there is removed and
    /// counted on its operation (an item another worker finished after a lease ran out is
    /// counted once); operations left without items end.
    pub async fn finish_items(
        &self,
        finished: &[(ItemClaim, ItemOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if finished.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let ops: Vec<Uuid> = finished.iter().map(|(c, _)| c.operation).collect();
        let accounts: Vec<String> = finished.iter().map(|(c, _)| c.account.clone()).collect();
        let removed: Vec<(Uuid, String)> = sqlx::query_as(
            "DELETE FROM health.rescore_items i USING UNNEST($1::uuid[], $2::text[]) AS f(o, a)
             WHERE i.operation = f.o AND i.account = f.a RETURNING i.operation, i.account",
        )
        .bind(&ops)
        .bind(&accounts)
        .fetch_all(&mut *tx)
        .await?;
        let mut per_op: BTreeMap<Uuid, Tally> = BTreeMap::new();
        for (claim, outcome) in finished {
            if !removed.iter().any(|(o, a)| *o == claim.operation && *a == claim.account) {
                continue;
            }
            let tally = per_op.entry(claim.operation).or_default();
            match outcome {
                ItemOutcome::Done { changed } => {
                    tally.done += 1;
                    tally.changed += i32::from(*changed);
                }
                ItemOutcome::Failed(message) => {
                    tally.failed += 1;
                    tally.failure_accounts.push(claim.account.clone());
                    tally.failure_messages.push(message.clone());
                }
            }
        }
        for (id, t) in &per_op {
            sqlx::query(
                "UPDATE health.rescore_operations SET done_count = done_count + $2,
                     failed_count = failed_count + $3, changed_count = changed_count + $4,
                     failure_accounts = (failure_accounts || $5::text[])[1:$7],
                     failure_messages = (failure_messages || $6::text[])[1:$7]
                 WHERE id = $1",
            )
            .bind(id)
            .bind(t.done)
            .bind(t.failed)
            .bind(t.changed)
            .bind(&t.failure_accounts)
            .bind(&t.failure_messages)
            .bind(KEPT_FAILURES)
            .execute(&mut *tx)
            .await?;
        }
        end_finished(&mut tx, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends running operations that have no items left (e.g. one that selected no account).
    pub async fn end_finished_operations(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        end_finished(&mut tx, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes operations that ended before `before` (their items went with them).
    pub async fn prune_operations(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        Ok(sqlx::query("DELETE FROM health.rescore_operations WHERE end_time < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// What one batch did to one operation.
#[derive(Debug, Default)]
struct Tally {
    done: i32,
    failed: i32,
    changed: i32,
    failure_accounts: Vec<String>,
    failure_messages: Vec<String>,
}

async fn end_finished(tx: &mut PgConnection, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE health.rescore_operations o
         SET state = CASE WHEN failed_count > 0 THEN $2 ELSE $3 END, end_time = $4
         WHERE state = $1
           AND NOT EXISTS (SELECT 1 FROM health.rescore_items i WHERE i.operation = o.id)",
    )
    .bind(State::Running as i32)
    .bind(State::Failed as i32)
    .bind(State::Succeeded as i32)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
