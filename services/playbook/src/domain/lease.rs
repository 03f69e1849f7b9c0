//! The lease protocol's rules for automated (EMAIL and ACTION) steps: which steps a worker
//! may claim, what a claim and an extension change, lease tokens, the retry backoff
//! (30 s × 2^(attempt − 1), capped at 1 hour, or `retry_after` if longer), when a failure or
//! an expired lease fails the step, and the bounds of the orchestrator requests.

use chrono::{DateTime, TimeDelta, Utc};
use prost_types::Duration;
use steward_kit::time::{from_timestamp, timestamp};
use steward_kit::{Error, Violations};
use steward_proto::playbook::v1 as pb;

use super::duration::to_delta;

/// A lease's length when the request leaves it unset: 5 minutes.
pub const DEFAULT_LEASE: TimeDelta = TimeDelta::minutes(5);
const MIN_LEASE: TimeDelta = TimeDelta::seconds(10);
const MAX_LEASE: TimeDelta = TimeDelta::hours(1);
const MAX_WAIT: TimeDelta = TimeDelta::seconds(30);
const DEFAULT_MAX_STEPS: usize = 10;
const MAX_STEPS: usize = 100;
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(30);
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);
const MAX_RETRY_AFTER: TimeDelta = TimeDelta::hours(24);
const MAX_ERROR_MESSAGE: usize = 2000;
/// The action type of EMAIL steps.
pub const EMAIL_ACTION_TYPE: &str = "email.send";
/// `last_error` of a step whose lease expired.
pub const LEASE_EXPIRED: &str = "lease expired";

/// The wait before the next attempt after attempt number `attempt` (from 1) failed:
/// 30 s, 1 min, 2 min, 4 min, … doubling, capped at 1 hour.
pub fn backoff(attempt: i32) -> TimeDelta {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let seconds = FIRST_BACKOFF.num_seconds().saturating_mul(1i64 << doublings);
    TimeDelta::seconds(seconds).min(MAX_BACKOFF)
}

/// What a reported failure does to the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Release the lease; the step may be claimed again from this time on.
    Retry {
        /// The step's `next_attempt_time`.
        next_attempt_time: DateTime<Utc>,
    },
    /// The step is FAILED: not retryable, or its attempts are used up.
    Fail,
}

/// The decision after attempt `attempt_count` (of `max_attempts`) failed at `now`: a retry
/// after the longer of the backoff and `retry_after`, or FAILED when the failure is not
/// retryable or no attempt is left.
pub fn after_failure(
    attempt_count: i32,
    max_attempts: i32,
    retryable: bool,
    retry_after: Option<TimeDelta>,
    now: DateTime<Utc>,
) -> AfterFailure {
    if !retryable || attempt_count >= max_attempts {
        return AfterFailure::Fail;
    }
    let wait = backoff(attempt_count).max(retry_after.unwrap_or(TimeDelta::zero()));
    AfterFailure::Retry { next_attempt_time: now + wait }
}

/// What an expired lease means for an ACTIVE automated step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterExpiry {
    /// The lease has not expired (or the step is not leased): nothing happens.
    Held,
    /// Back in the queue: claimable now (the old holder keeps its token until a new claim).
    Requeue,
    /// The last attempt's lease expired: the step is FAILED ("lease expired").
    Fail,
}

/// Whether `step`'s lease has expired at `now`, and what follows.
pub fn after_expiry(step: &pb::RunStep, now: DateTime<Utc>) -> AfterExpiry {
    match step.lease_expire_time.as_ref().and_then(from_timestamp) {
        Some(expiry) if expiry <= now => {
            if step.attempt_count >= step.max_attempts {
                AfterExpiry::Fail
            } else {
                AfterExpiry::Requeue
            }
        }
        _ => AfterExpiry::Held,
    }
}

/// The action type a worker claims `step` by: `email.send` for EMAIL steps, the rendered
/// action's type for ACTION steps; `None` for other kinds.
pub fn action_type(step: &pb::RunStep) -> Option<&str> {
    match (pb::StepKind::try_from(step.kind), &step.content) {
        (Ok(pb::StepKind::Email), _) => Some(EMAIL_ACTION_TYPE),
        (Ok(pb::StepKind::Action), Some(pb::run_step::Content::Action(a))) => Some(&a.action_type),
        _ => None,
    }
}

/// Whether a worker may claim `step` at `now`: an ACTIVE automated step with attempts left,
/// whose retry time has come and which is not leased or whose lease expired.
pub fn is_claimable(step: &pb::RunStep, now: DateTime<Utc>) -> bool {
    let due = |t: &Option<prost_types::Timestamp>| {
        t.as_ref().and_then(from_timestamp).is_none_or(|t| t <= now)
    };
    step.state == pb::StepState::Active as i32
        && action_type(step).is_some()
        && step.attempt_count < step.max_attempts
        && due(&step.next_attempt_time)
        && due(&step.lease_expire_time)
}

/// Leases `step` to `worker` for `lease` from `now`: one more attempt, a new holder and
/// expiry, no retry time. The new token is the caller's to mint and keep.
pub fn claim(step: &mut pb::RunStep, worker: &str, lease: TimeDelta, now: DateTime<Utc>) {
    step.attempt_count += 1;
    step.lease_holder = worker.to_owned();
    step.lease_expire_time = Some(timestamp(now + lease));
    step.next_attempt_time = None;
}

/// Moves the lease's expiry to `now + lease` and returns it.
pub fn extend(step: &mut pb::RunStep, lease: TimeDelta, now: DateTime<Utc>) -> DateTime<Utc> {
    let expiry = now + lease;
    step.lease_expire_time = Some(timestamp(expiry));
    expiry
}

/// Clears the lease fields (the step ended, or a retry was scheduled).
pub fn release(step: &mut pb::RunStep) {
    step.lease_holder.clear();
    step.lease_expire_time = None;
}

/// The key stable across attempts of a step, for deduplicating side effects:
/// `{run}/steps/{step_id}`.
pub fn idempotency_key(run: &str, step_id: &str) -> String {
    format!("{run}/steps/{step_id}")
}

/// Checks the `lease_token` of a call on a step of kind `kind`: TASK steps take none and
/// automated steps need one (`INVALID_ARGUMENT` naming `lease_token`); a token that is not
/// the step's `current` one is `FAILED_PRECONDITION`, reason `LEASE_LOST`. WAIT steps are
/// refused elsewhere, so any token passes here.
pub fn check_token(kind: pb::StepKind, current: Option<&str>, given: &str) -> Result<(), Error> {
    match kind {
        pb::StepKind::Task if !given.is_empty() => {
            Err(Error::invalid("lease_token", "must be empty for a TASK step"))
        }
        pb::StepKind::Email | pb::StepKind::Action if given.is_empty() => Err(Error::invalid(
            "lease_token",
            "required for EMAIL and ACTION steps: the token from ClaimRunSteps",
        )),
        pb::StepKind::Email | pb::StepKind::Action if current != Some(given) => {
            Err(Error::FailedPrecondition {
                reason: "LEASE_LOST",
                message: "the lease token is not the step's current one: another claim took \
                          the step, or it was never leased with this token"
                    .into(),
            })
        }
        _ => Ok(()),
    }
}

/// A lease duration from a request: unset = 5 minutes, else 10 seconds to 1 hour.
pub fn lease_duration(d: Option<&Duration>, field: &str) -> Result<TimeDelta, Error> {
    let Some(d) = d else { return Ok(DEFAULT_LEASE) };
    to_delta(d)
        .filter(|d| (MIN_LEASE..=MAX_LEASE).contains(d))
        .ok_or_else(|| Error::invalid(field, "must be from 10 seconds to 1 hour"))
}

/// A long-poll wait from a request: unset = none, else 0 to 30 seconds.
pub fn wait_time(d: Option<&Duration>, field: &str) -> Result<TimeDelta, Error> {
    let Some(d) = d else { return Ok(TimeDelta::zero()) };
    to_delta(d)
        .filter(|d| (TimeDelta::zero()..=MAX_WAIT).contains(d))
        .ok_or_else(|| Error::invalid(field, "must be from 0 to 30 seconds"))
}

/// How many steps a claim may lease: 0 = 10, larger than 100 coerced to 100, negative
/// refused.
pub fn max_steps(n: i32, field: &str) -> Result<usize, Error> {
    match usize::try_from(n) {
        Err(_) => Err(Error::invalid(field, "must not be negative (0 = 10, at most 100)")),
        Ok(0) => Ok(DEFAULT_MAX_STEPS),
        Ok(n) => Ok(n.min(MAX_STEPS)),
    }
}

/// Validates a `FailRunStep`'s error message (1–2,000 characters) and `retry_after` (0 to 24
/// hours), naming each bad field; returns `retry_after`.
pub fn check_failure(
    error_message: &str,
    retry_after: Option<&Duration>,
) -> Result<Option<TimeDelta>, Error> {
    let mut v = Violations::default();
    if error_message.trim().is_empty() {
        v.add("error_message", "required");
    } else if error_message.chars().count() > MAX_ERROR_MESSAGE {
        v.add("error_message", "must be at most 2,000 characters");
    }
    let after = retry_after
        .map(|d| to_delta(d).filter(|d| (TimeDelta::zero()..=MAX_RETRY_AFTER).contains(d)));
    if let Some(None) = after {
        v.add("retry_after", "must be from 0 to 24 hours");
    }
    v.finish()?;
    Ok(after.flatten())
}

#[cfg(test)]
mod tests;
