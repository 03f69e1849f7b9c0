//! Changing a run: lock it, let the domain move it, store the result with its lease rows
//! (one active row per ACTIVE automated step) and its feed entries, in one transaction.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::from_timestamp;
use steward_kit::{Error, etag};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::{Columns, Locked, run_name, run_not_found};
use crate::domain::lease;
use crate::domain::run::{self, Event};
use crate::domain::template::Variables;
use crate::store::{Store, decode};

impl Store {
    /// Locks run `id`, lets `change` move it (returning its events), and stores the result
    /// with its lease rows and feed entries. No events = nothing written; the run as it is.
    pub async fn update_run(
        &self,
        id: Uuid,
        vars: &Variables,
        change: impl FnOnce(&mut Locked) -> Result<Vec<Event>, Error>,
    ) -> Result<pb::PlaybookRun, Error> {
        let mut tx = self.pool.begin().await?;
        let run = self.update_in(&mut tx, id, vars, change).await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn update_in(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        vars: &Variables,
        change: impl FnOnce(&mut Locked) -> Result<Vec<Event>, Error>,
    ) -> Result<pb::PlaybookRun, Error> {
        let mut locked = lock(tx, id).await?;
        let events = change(&mut locked)?;
        if events.is_empty() {
            return Ok(locked.run);
        }
        let mut run = locked.run;
        let revision: i64 = sqlx::query_scalar(
            "UPDATE playbook.runs SET revision = revision + 1 WHERE run_id = $1 RETURNING revision",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        run.etag = etag::of(revision);
        let c = Columns::of(&run);
        sqlx::query(
            "UPDATE playbook.runs SET state = $2, body = $3, end_time = $4, assignee = $5,
                 assignee_team = $6, due_time = $7, wake_time = $8
             WHERE run_id = $1",
        )
        .bind(id)
        .bind(run.state)
        .bind(run.encode_to_vec())
        .bind(c.end_time)
        .bind(c.assignee)
        .bind(c.assignee_team)
        .bind(c.due_time)
        .bind(c.wake_time)
        .execute(&mut *tx)
        .await?;
        self.sync(tx, id, &run, &events, vars).await?;
        Ok(run)
    }

    /// Cancels run `id` inside `tx` (a playbook deleted with `force`).
    pub(in crate::store) async fn cancel_in(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<pb::PlaybookRun, Error> {
        self.update_in(tx, id, &Variables::new(), |l| run::cancel(&mut l.run, reason, by, now))
            .await
    }

    /// Brings the lease rows in line with `run` (one active row per ACTIVE automated step;
    /// ended steps' rows kept inactive with their last token) and appends `events`.
    pub(super) async fn sync(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        run: &pb::PlaybookRun,
        events: &[Event],
        vars: &Variables,
    ) -> Result<(), sqlx::Error> {
        let mut active = Vec::new();
        for step in &run.steps {
            let Some(action_type) = lease::action_type(step) else { continue };
            if step.state != pb::StepState::Active as i32 {
                continue;
            }
            active.push(step.step_id.clone());
            let ready = step
                .next_attempt_time
                .as_ref()
                .or(step.activate_time.as_ref())
                .and_then(from_timestamp)
                .unwrap_or_else(Utc::now);
            let retried = events.iter().any(|e| {
                e.kind == pb::RunChangeKind::StepRetryScheduled && e.step_id == step.step_id
            });
            let (names, values): (Vec<String>, Vec<String>) =
                vars.iter().map(|(k, v)| (k.clone(), v.clone())).unzip();
            sqlx::query(
                "INSERT INTO playbook.step_leases (run_id, step_id, action_type, active, ready_time,
                     attempts, max_attempts, variable_names, variable_values)
                 VALUES ($1, $2, $3, true, $4, $5, $6, $8, $9)
                 ON CONFLICT (run_id, step_id) DO UPDATE SET active = true, ready_time = $4,
                     attempts = $5, max_attempts = $6,
                     lease_holder = NULLIF($10, ''), lease_expire_time = $11,
                     reported = step_leases.reported OR $7",
            )
            .bind(id)
            .bind(&step.step_id)
            .bind(action_type)
            .bind(ready)
            .bind(step.attempt_count)
            .bind(step.max_attempts)
            .bind(retried)
            .bind(&names)
            .bind(&values)
            .bind(&step.lease_holder)
            .bind(step.lease_expire_time.as_ref().and_then(from_timestamp))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE playbook.step_leases SET active = false, lease_holder = NULL,
                 lease_expire_time = NULL
             WHERE run_id = $1 AND active AND NOT (step_id = ANY($2))",
        )
        .bind(id)
        .bind(&active)
        .execute(&mut *tx)
        .await?;
        let changes: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                pb::RunChange {
                    account: run.account.clone(),
                    run: run.name.clone(),
                    playbook: run.playbook.clone(),
                    kind: e.kind as i32,
                    step_id: e.step_id.clone(),
                    snapshot: Some(run.clone()),
                    ..Default::default()
                }
                .encode_to_vec()
            })
            .collect();
        let accounts = vec![run.account.clone(); changes.len()];
        self.feed.append_encoded(tx, &accounts, &changes).await
    }
}

/// Locks run `id` in `tx` and reads it with its lease rows.
async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Locked, Error> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT body, definition FROM playbook.runs WHERE run_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (body, definition) = row.ok_or_else(|| run_not_found(&run_name(id)))?;
    let leases: Vec<(String, Option<Uuid>, bool)> = sqlx::query_as(
        "SELECT step_id, lease_token, reported FROM playbook.step_leases WHERE run_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Locked {
        run: decode(&body, "run")?,
        definition: decode(&definition, "playbook version")?,
        leases,
    })
}
