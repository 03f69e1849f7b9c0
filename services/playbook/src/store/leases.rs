//! The lease queue of automated steps: claiming ready steps atomically (`FOR UPDATE SKIP
//! LOCKED` on the lease row and its run, so two workers never hold the same step and a
//! claim never waits on a run another call is changing), extending a held lease, and
//! finding the leases whose last attempt expired.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use prost::Message;
use steward_kit::Error;
use steward_kit::time::from_timestamp;
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::runs::{run_name, run_not_found};
use super::{Store, decode};
use crate::domain::lease;

/// One claimed step, with what the worker needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The run after the claim.
    pub run: pb::PlaybookRun,
    /// The step's id.
    pub step_id: String,
    /// The new lease token.
    pub token: Uuid,
    /// Every variable's value at the step's activation.
    pub variables: BTreeMap<String, String>,
}

impl Store {
    /// Leases up to `limit` ready automated steps of `action_types` to `worker` for
    /// `duration`, oldest ready first. Each claim counts one attempt and mints a new token.
    pub async fn claim_steps(
        &self,
        worker: &str,
        action_types: &[String],
        limit: i64,
        duration: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, Error> {
        let mut tx = self.pool.begin().await?;
        type Row = (Uuid, String, Vec<u8>, Vec<String>, Vec<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT l.run_id, l.step_id, r.body, l.variable_names, l.variable_values
             FROM playbook.step_leases l JOIN playbook.runs r USING (run_id)
             WHERE l.active AND l.action_type = ANY($1) AND l.ready_time <= $2
               AND (l.lease_expire_time IS NULL OR l.lease_expire_time <= $2)
               AND l.attempts < l.max_attempts AND r.state = 1
             ORDER BY l.ready_time, l.run_id, l.step_id LIMIT $3
             FOR UPDATE OF l, r SKIP LOCKED",
        )
        .bind(action_types)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, step_id, body, names, values) in rows {
            let mut run: pb::PlaybookRun = decode(&body, "run")?;
            let Some(step) = run.steps.iter_mut().find(|s| s.step_id == step_id) else { continue };
            // The queue row decided readiness (it mirrors the step's retry time and lease);
            // the step itself must still be the run's active one.
            if step.state != pb::StepState::Active as i32 {
                continue;
            }
            let expired = step.lease_expire_time.as_ref().and_then(from_timestamp).is_some();
            if expired {
                step.last_error = lease::LEASE_EXPIRED.to_owned();
            }
            lease::claim(step, worker, duration, now);
            let token = Uuid::new_v4();
            let expiry = now + duration;
            // A claim is not a change of the run: no feed entry, no new etag.
            sqlx::query("UPDATE playbook.runs SET body = $2 WHERE run_id = $1")
                .bind(id)
                .bind(run.encode_to_vec())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE playbook.step_leases SET lease_token = $3, lease_holder = $4,
                     lease_expire_time = $5, attempts = attempts + 1, reported = false
                 WHERE run_id = $1 AND step_id = $2",
            )
            .bind(id)
            .bind(&step_id)
            .bind(token)
            .bind(worker)
            .bind(expiry)
            .execute(&mut *tx)
            .await?;
            let variables = names.into_iter().zip(values).collect();
            claimed.push(Claimed { run, step_id, token, variables });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Moves the lease of `step_id` held with `token` to expire at `now + duration`.
    /// `LEASE_LOST` for a token that is not the step's current one (or a lease released by
    /// a reported failure); `STEP_NOT_ACTIVE` when the step has ended.
    pub async fn extend_lease(
        &self,
        id: Uuid,
        step_id: &str,
        token: &str,
        duration: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let mut tx = self.pool.begin().await?;
        let body: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT body FROM playbook.runs WHERE run_id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let mut run: pb::PlaybookRun =
            decode(&body.ok_or_else(|| run_not_found(&run_name(id)))?, "run")?;
        let Some(i) = run.steps.iter().position(|s| s.step_id == step_id) else {
            return Err(Error::NotFound(format!("{}/steps/{step_id}", run_name(id))));
        };
        let row: Option<(Option<Uuid>, bool)> = sqlx::query_as(
            "SELECT lease_token, reported FROM playbook.step_leases
             WHERE run_id = $1 AND step_id = $2",
        )
        .bind(id)
        .bind(step_id)
        .fetch_optional(&mut *tx)
        .await?;
        let kind = pb::StepKind::try_from(run.steps[i].kind).unwrap_or_default();
        let current = row.as_ref().and_then(|r| r.0).map(|t| t.to_string());
        lease::check_token(kind, current.as_deref(), token)?;
        let step = &mut run.steps[i];
        if run.state != pb::RunState::Active as i32 || step.state != pb::StepState::Active as i32 {
            return Err(Error::FailedPrecondition {
                reason: "STEP_NOT_ACTIVE",
                message: format!("step {step_id} has ended: stop working on it"),
            });
        }
        if kind == pb::StepKind::Task || kind == pb::StepKind::Wait || row.is_some_and(|r| r.1) {
            return Err(Error::FailedPrecondition {
                reason: "LEASE_LOST",
                message: format!("step {step_id} is not leased with this token"),
            });
        }
        let expiry = lease::extend(step, duration, now);
        sqlx::query("UPDATE playbook.runs SET body = $2 WHERE run_id = $1")
            .bind(id)
            .bind(run.encode_to_vec())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE playbook.step_leases SET lease_expire_time = $3 WHERE run_id = $1 AND step_id = $2",
        )
        .bind(id)
        .bind(step_id)
        .bind(expiry)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(expiry)
    }

    /// Steps whose last attempt's lease expired by `now` (to be FAILED), with their runs'
    /// accounts.
    pub async fn expired_last_attempts(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, String, String)>, Error> {
        Ok(sqlx::query_as(
            "SELECT l.run_id, l.step_id, r.account
             FROM playbook.step_leases l JOIN playbook.runs r USING (run_id)
             WHERE l.active AND l.lease_expire_time <= $1 AND l.attempts >= l.max_attempts
             ORDER BY l.lease_expire_time LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
