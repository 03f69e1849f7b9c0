//! Custom measurements: recording (idempotent by request id, replace by key and time) and
//! listing.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use steward_kit::time::{from_timestamp, timestamp};
use steward_kit::{Error, idempotency, page};
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::HealthChangeReason as Reason;
use uuid::Uuid;

use super::{SCHEMA, Store};
use crate::domain::reasons::bit;

/// What recording did, per the response's three counts.
pub type Recorded = pb::RecordMeasurementsResponse;

/// `ListMeasurements` after validation.
#[derive(Debug, Clone)]
pub struct MeasurementQuery {
    pub account: String,
    pub key: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Store {
    /// Records validated `measurements` (every account known, every time in range) and
    /// marks their accounts for re-scoring, all in one transaction; a retry with the same
    /// request id returns the first answer.
    pub async fn record_measurements(
        &self,
        request_id: Uuid,
        request: &pb::RecordMeasurementsRequest,
        now: DateTime<Utc>,
    ) -> Result<Recorded, Error> {
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "RecordMeasurements", request_id, request).await?;
        if let idempotency::Claim::Replay(answer) = claim {
            return Ok(answer);
        }
        let ms = &request.measurements;
        let column = |f: fn(&pb::Measurement) -> String| ms.iter().map(f).collect::<Vec<_>>();
        let times: Vec<DateTime<Utc>> = ms
            .iter()
            .map(|m| m.observe_time.as_ref().and_then(from_timestamp).unwrap_or(now))
            .collect();
        // Later duplicates of one (account, key, time) within the request win, as if sent one
        // after the other: keep the last of each, and count the earlier ones as replaced.
        let outcomes: Vec<String> = sqlx::query_scalar(
            "WITH input AS (
                SELECT DISTINCT ON (a, k, t) a, k, t, v, u, s, i
                FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::float8[],
                            $5::text[], $6::text[]) WITH ORDINALITY AS x(a, k, t, v, u, s, i)
                ORDER BY a, k, t, i DESC),
             old AS (
                SELECT m.account, m.key, m.observe_time, m.value, m.unit, m.source
                FROM health.measurements m JOIN input ON (m.account, m.key, m.observe_time) = (a, k, t)
                FOR UPDATE OF m),
             written AS (
                INSERT INTO health.measurements AS m
                    (account, key, observe_time, value, unit, source, record_time)
                SELECT a, k, t, v, u, s, $7 FROM input
                ON CONFLICT (account, key, observe_time) DO UPDATE
                SET value = EXCLUDED.value, unit = EXCLUDED.unit, source = EXCLUDED.source,
                    record_time = EXCLUDED.record_time
                WHERE (m.value, m.unit, m.source)
                      IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.unit, EXCLUDED.source)
                RETURNING account, key, observe_time)
             SELECT CASE
                 WHEN o.account IS NULL THEN 'recorded'
                 WHEN w.account IS NULL THEN 'unchanged'
                 ELSE 'replaced' END
             FROM input
             LEFT JOIN old o ON (o.account, o.key, o.observe_time) = (a, k, t)
             LEFT JOIN written w ON (w.account, w.key, w.observe_time) = (a, k, t)",
        )
        .bind(column(|m| m.account.clone()))
        .bind(column(|m| m.key.clone()))
        .bind(&times)
        .bind(ms.iter().map(|m| m.value).collect::<Vec<_>>())
        .bind(column(|m| m.unit.clone()))
        .bind(column(|m| m.source.clone()))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let count = |what: &str| outcomes.iter().filter(|o| *o == what).count() as i32;
        let distinct = outcomes.len() as i32;
        let answer = Recorded {
            recorded_count: count("recorded"),
            // Earlier duplicates within the request were replaced by the later ones.
            replaced_count: count("replaced") + (ms.len() as i32 - distinct),
            unchanged_count: count("unchanged"),
        };
        let accounts: Vec<String> = ms.iter().map(|m| m.account.clone()).collect();
        self.queue.mark_for(&mut tx, &accounts, bit(Reason::Measurement)).await?;
        idempotency::finish(&mut tx, SCHEMA, request_id, &answer).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// One page of an account's measurements, newest first, then by key.
    pub async fn list_measurements(
        &self,
        query: &MeasurementQuery,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Measurement>, String), Error> {
        let fingerprint = format!("{query:?}");
        // The last row's (observe time in microseconds, key).
        let after: Option<(i64, String)> = page::decode(&fingerprint, page_token)?;
        let mut q = QueryBuilder::new(
            "SELECT account, key, value, observe_time, unit, source, record_time
             FROM health.measurements WHERE account = ",
        );
        q.push_bind(query.account.clone());
        if let Some(key) = &query.key {
            q.push(" AND key = ").push_bind(key.clone());
        }
        if let Some(start) = query.start {
            q.push(" AND observe_time >= ").push_bind(start);
        }
        if let Some(end) = query.end {
            q.push(" AND observe_time < ").push_bind(end);
        }
        if let Some((micros, key)) = after {
            let time = DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                Error::invalid("page_token", "not a page token returned by this method")
            })?;
            q.push(" AND (observe_time < ").push_bind(time);
            q.push(" OR (observe_time = ").push_bind(time).push(" AND key > ").push_bind(key);
            q.push("))");
        }
        q.push(" ORDER BY observe_time DESC, key LIMIT ").push_bind(limit + 1);
        type Row = (String, String, f64, DateTime<Utc>, String, String, DateTime<Utc>);
        let rows: Vec<Row> = q.build_query_as().fetch_all(&self.pool).await?;
        let (rows, token) =
            page::finish(rows, limit, &fingerprint, |r| (r.3.timestamp_micros(), r.1.clone()));
        let measurements = rows
            .into_iter()
            .map(|(account, key, value, observe, unit, source, recorded)| pb::Measurement {
                account,
                key,
                value,
                observe_time: Some(timestamp(observe)),
                unit,
                source,
                record_time: Some(timestamp(recorded)),
            })
            .collect();
        Ok((measurements, token))
    }
}
