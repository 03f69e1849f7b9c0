//! The orchestrator API: workers claim ready automated steps, extend their leases and
//! report failures (completion goes through `CompleteRunStep` with the token).

use std::time::Duration;

use chrono::Utc;
use steward_kit::{Error, Violations};
use steward_proto::playbook::v1 as pb;

use super::Api;
use super::runs::step_of;
use crate::domain::lease;
use crate::domain::run::{self, Activation};
use crate::store::{Claimed, run_id};

/// How often a long-polling claim looks again.
const POLL: Duration = Duration::from_millis(200);

impl Api {
    pub(super) async fn claim_run_steps(
        &self,
        req: pb::ClaimRunStepsRequest,
    ) -> Result<pb::ClaimRunStepsResponse, Error> {
        let mut v = Violations::default();
        let worker = req.worker_id.trim();
        v.check(
            !worker.is_empty() && req.worker_id.chars().count() <= 200,
            "worker_id",
            "is required, 1-200 characters",
        );
        v.check(
            (1..=100).contains(&req.action_types.len()),
            "action_types",
            "must list 1-100 action types (no wildcard)",
        );
        for (i, t) in req.action_types.iter().enumerate() {
            v.check(
                is_action_type(t),
                format!("action_types[{i}]"),
                "must be dot-separated lowercase words, e.g. `email.send`, `slack.notify`",
            );
        }
        let limit = lease::max_steps(req.max_steps, "max_steps").map_err(|e| v.absorb(e));
        let duration = lease::lease_duration(req.lease_duration.as_ref(), "lease_duration")
            .map_err(|e| v.absorb(e));
        let wait = lease::wait_time(req.wait_time.as_ref(), "wait_time").map_err(|e| v.absorb(e));
        v.finish()?;
        let (Ok(limit), Ok(duration), Ok(wait)) = (limit, duration, wait) else {
            return Err(Error::invalid("max_steps", "invalid"));
        };
        let deadline = tokio::time::Instant::now() + wait.to_std().unwrap_or_default();
        loop {
            let claimed = self
                .store
                .claim_steps(&req.worker_id, &req.action_types, limit as i64, duration, Utc::now())
                .await?;
            if !claimed.is_empty() || tokio::time::Instant::now() + POLL > deadline {
                return Ok(pb::ClaimRunStepsResponse {
                    steps: claimed.into_iter().map(claimed_step).collect(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn extend_step_lease(
        &self,
        req: pb::ExtendStepLeaseRequest,
    ) -> Result<pb::ExtendStepLeaseResponse, Error> {
        let id = run_id(&req.run, "run")?;
        let mut v = Violations::default();
        v.check(!req.step_id.is_empty(), "step_id", "is required");
        v.check(!req.lease_token.is_empty(), "lease_token", "is required");
        let duration = lease::lease_duration(req.lease_duration.as_ref(), "lease_duration")
            .map_err(|e| v.absorb(e));
        v.finish()?;
        let duration = duration.unwrap_or(lease::DEFAULT_LEASE);
        let expiry = self
            .store
            .extend_lease(id, &req.step_id, &req.lease_token, duration, Utc::now())
            .await?;
        Ok(pb::ExtendStepLeaseResponse {
            lease_expire_time: Some(steward_kit::time::timestamp(expiry)),
        })
    }

    pub(super) async fn fail_run_step(
        &self,
        req: pb::FailRunStepRequest,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = run_id(&req.run, "run")?;
        let mut v = Violations::default();
        v.check(!req.step_id.is_empty(), "step_id", "is required");
        v.check(!req.lease_token.is_empty(), "lease_token", "is required");
        let retry_after = lease::check_failure(&req.error_message, req.retry_after.as_ref())
            .map_err(|e| v.absorb(e));
        v.finish()?;
        let retry_after = retry_after.unwrap_or_default();
        self.runner
            .change(id, |l, vars| {
                let step = step_of(&l.run, &req.step_id)?;
                let kind = pb::StepKind::try_from(step.kind).unwrap_or_default();
                lease::check_token(kind, l.token(&req.step_id).as_deref(), &req.lease_token)?;
                if kind == pb::StepKind::Wait {
                    return Err(Error::FailedPrecondition {
                        reason: "LEASE_LOST",
                        message: format!("step {} is a WAIT step: it has no lease", req.step_id),
                    });
                }
                // The same report again: answered unchanged.
                if l.reported(&req.step_id, &req.lease_token)
                    || step.state == pb::StepState::Failed as i32
                {
                    return Ok(Vec::new());
                }
                let act = Activation { steps: &l.definition.steps, vars };
                run::fail_attempt(
                    &mut l.run,
                    &req.step_id,
                    &req.error_message,
                    req.retryable,
                    retry_after,
                    act,
                    Utc::now(),
                )
            })
            .await
    }
}

/// What a worker receives for one claim.
fn claimed_step(c: Claimed) -> pb::ClaimedStep {
    let step = c.run.steps.iter().find(|s| s.step_id == c.step_id).cloned().unwrap_or_default();
    pb::ClaimedStep {
        idempotency_key: lease::idempotency_key(&c.run.name, &c.step_id),
        run: c.run.name.clone(),
        step_id: c.step_id,
        lease_token: c.token.to_string(),
        lease_expire_time: step.lease_expire_time,
        attempt: step.attempt_count,
        account: c.run.account.clone(),
        playbook: c.run.playbook.clone(),
        playbook_version: c.run.playbook_version,
        step: Some(step),
        variables: c.variables.into_iter().collect(),
        evidence: c.run.evidence,
    }
}

/// `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`, at most 100 characters.
fn is_action_type(t: &str) -> bool {
    let words: Vec<&str> = t.split('.').collect();
    t.len() <= 100
        && words.len() >= 2
        && words.iter().all(|w| {
            let b = w.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_lowercase()
                && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        })
}

/// Adding another check's violations to a collection.
trait Absorb {
    fn absorb(&mut self, e: Error);
}

impl Absorb for Violations {
    fn absorb(&mut self, e: Error) {
        match e {
            Error::InvalidArgument(list) => {
                for f in list {
                    self.add(f.field, f.description);
                }
            }
            other => self.add("request", other.to_string()),
        }
    }
}
