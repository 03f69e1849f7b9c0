//! Reading runs: one with the playbook version it follows, pages of runs newest first
//! with the list filters, and the runs whose wait is due.

use chrono::{DateTime, Utc};
use steward_kit::{Error, page};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::{RunQuery, run_name, run_not_found};
use crate::store::{Store, decode};

impl Store {
    /// A run with the playbook version it follows.
    pub async fn get_run(&self, id: Uuid) -> Result<(pb::PlaybookRun, pb::Playbook), Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT body, definition FROM playbook.runs WHERE run_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (body, definition) = row.ok_or_else(|| run_not_found(&run_name(id)))?;
        Ok((decode(&body, "run")?, decode(&definition, "playbook version")?))
    }

    /// One page of runs, newest first, filtered.
    pub async fn list_runs(
        &self,
        q: &RunQuery,
        now: DateTime<Utc>,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::PlaybookRun>, String), Error> {
        let query = format!("{q:?}");
        let after: Option<(i64, String)> = page::decode(&query, page_token)?;
        let (after_time, after_id) = match after {
            Some((micros, id)) => (
                DateTime::from_timestamp_micros(micros),
                Some(Uuid::parse_str(&id).map_err(|_| {
                    Error::invalid("page_token", "not a page token returned by this method")
                })?),
            ),
            None => (None, None),
        };
        let rows: Vec<(DateTime<Utc>, Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT create_time, run_id, body FROM playbook.runs
             WHERE ($1::text IS NULL OR account = $1)
               AND ($2::text IS NULL OR playbook_id = $2)
               AND (cardinality($3::int[]) = 0 OR state = ANY($3))
               AND ($4::text IS NULL OR (state = 1 AND (assignee = $4 OR assignee_team = $4)))
               AND (NOT $5 OR (state = 1 AND due_time < $6))
               AND ($7::timestamptz IS NULL OR (create_time, run_id) < ($7, $8))
             ORDER BY create_time DESC, run_id DESC LIMIT $9",
        )
        .bind(&q.account)
        .bind(&q.playbook_id)
        .bind(&q.states)
        .bind(&q.assignee)
        .bind(q.overdue)
        .bind(now)
        .bind(after_time)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) =
            page::finish(rows, limit, &query, |(t, id, _)| (t.timestamp_micros(), id.to_string()));
        let runs = rows.iter().map(|(_, _, b)| decode(b, "run")).collect::<Result<_, _>>()?;
        Ok((runs, token))
    }

    /// ACTIVE runs whose WAIT step is due at `now`, with their accounts.
    pub async fn waking(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, Error> {
        Ok(sqlx::query_as(
            "SELECT run_id, account FROM playbook.runs WHERE state = 1 AND wake_time <= $1
             ORDER BY wake_time LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
