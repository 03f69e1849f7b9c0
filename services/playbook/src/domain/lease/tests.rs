//! Unit tests of the lease rules: the backoff sequence, retry-or-fail, expiry, claimability,
//! tokens and the request bounds.

use super::*;
use crate::domain::testing::now;

fn secs(d: TimeDelta) -> i64 {
    d.num_seconds()
}

#[test]
fn the_backoff_doubles_from_30_seconds_and_stops_at_an_hour() {
    let seq: Vec<i64> = (1..=9).map(|a| secs(backoff(a))).collect();
    assert_eq!(seq, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    assert_eq!(secs(backoff(0)), 30, "a nonsensical attempt 0 waits like the first");
    assert_eq!(secs(backoff(i32::MAX)), 3600, "no overflow");
}

#[test]
fn a_retryable_failure_with_attempts_left_retries_after_the_longer_wait() {
    // Attempt 3 of 5 failed: backoff 2 min.
    assert_eq!(
        after_failure(3, 5, true, None, now()),
        AfterFailure::Retry { next_attempt_time: now() + TimeDelta::minutes(2) }
    );
    // A provider's Retry-After of 10 min is longer: it wins.
    assert_eq!(
        after_failure(3, 5, true, Some(TimeDelta::minutes(10)), now()),
        AfterFailure::Retry { next_attempt_time: now() + TimeDelta::minutes(10) }
    );
    // One of 1 minute is shorter than the backoff: the backoff wins.
    assert_eq!(
        after_failure(3, 5, true, Some(TimeDelta::minutes(1)), now()),
        AfterFailure::Retry { next_attempt_time: now() + TimeDelta::minutes(2) }
    );
}

#[test]
fn the_last_attempt_or_a_non_retryable_failure_fails_the_step() {
    assert_eq!(
        after_failure(4, 5, true, None, now()),
        AfterFailure::Retry { next_attempt_time: now() + TimeDelta::minutes(4) }
    );
    assert_eq!(after_failure(5, 5, true, None, now()), AfterFailure::Fail);
    assert_eq!(after_failure(1, 5, false, None, now()), AfterFailure::Fail);
}

fn leased(attempt_count: i32, expires_in: i64) -> pb::RunStep {
    pb::RunStep {
        step_id: "notify".into(),
        kind: pb::StepKind::Action as i32,
        state: pb::StepState::Active as i32,
        attempt_count,
        max_attempts: 3,
        lease_holder: "worker-1".into(),
        lease_expire_time: Some(timestamp(now() + TimeDelta::seconds(expires_in))),
        content: Some(pb::run_step::Content::Action(pb::RenderedAction {
            action_type: "slack.notify".into(),
            parameters: None,
        })),
        ..Default::default()
    }
}

#[test]
fn an_expired_lease_requeues_the_step_unless_it_was_the_last_attempt() {
    assert_eq!(after_expiry(&leased(1, 1), now()), AfterExpiry::Held);
    assert_eq!(
        after_expiry(&leased(1, 0), now()),
        AfterExpiry::Requeue,
        "expiry at now has expired"
    );
    assert_eq!(after_expiry(&leased(3, -5), now()), AfterExpiry::Fail);
    assert!(!is_claimable(&leased(1, 1), now()), "held by worker-1");
    assert!(is_claimable(&leased(1, 0), now()), "back in the queue");
    assert!(!is_claimable(&leased(3, -5), now()), "no attempt left");
}

#[test]
fn a_step_waiting_for_its_retry_time_is_not_claimable_before_it() {
    let mut step = leased(1, 0);
    release(&mut step);
    step.next_attempt_time = Some(timestamp(now() + TimeDelta::seconds(30)));
    assert!(!is_claimable(&step, now()));
    assert!(is_claimable(&step, now() + TimeDelta::seconds(30)));
    step.state = pb::StepState::Done as i32;
    assert!(!is_claimable(&step, now() + TimeDelta::hours(1)), "ended steps are never claimed");
}

#[test]
fn a_claim_counts_an_attempt_and_leases_the_step() {
    let mut step = leased(1, -1);
    step.next_attempt_time = Some(timestamp(now()));
    claim(&mut step, "worker-2", TimeDelta::minutes(5), now());
    assert_eq!(step.attempt_count, 2);
    assert_eq!(step.lease_holder, "worker-2");
    assert_eq!(step.lease_expire_time, Some(timestamp(now() + TimeDelta::minutes(5))));
    assert_eq!(step.next_attempt_time, None);
    assert_eq!(extend(&mut step, TimeDelta::minutes(10), now()), now() + TimeDelta::minutes(10));
    assert_eq!(action_type(&step), Some("slack.notify"));
    assert_eq!(idempotency_key("playbookRuns/r1", "notify"), "playbookRuns/r1/steps/notify");
}

#[test]
fn tokens_are_required_for_automated_steps_refused_for_tasks_and_must_be_current() {
    let reason = |r: Result<(), Error>| match r {
        Ok(()) => "OK".to_owned(),
        Err(Error::InvalidArgument(f)) => format!("INVALID_ARGUMENT {}", f[0].field),
        Err(Error::FailedPrecondition { reason, .. }) => reason.to_owned(),
        Err(other) => panic!("unexpected {other:?}"),
    };
    assert_eq!(reason(check_token(pb::StepKind::Task, None, "")), "OK");
    assert_eq!(reason(check_token(pb::StepKind::Task, None, "t1")), "INVALID_ARGUMENT lease_token");
    assert_eq!(
        reason(check_token(pb::StepKind::Email, Some("t1"), "")),
        "INVALID_ARGUMENT lease_token"
    );
    assert_eq!(reason(check_token(pb::StepKind::Email, Some("t2"), "t1")), "LEASE_LOST");
    assert_eq!(reason(check_token(pb::StepKind::Action, None, "t1")), "LEASE_LOST");
    assert_eq!(reason(check_token(pb::StepKind::Action, Some("t2"), "t2")), "OK");
}

#[test]
fn request_bounds_default_coerce_and_refuse() {
    let d = |s: i64| Duration { seconds: s, nanos: 0 };
    assert_eq!(lease_duration(None, "lease_duration").ok(), Some(TimeDelta::minutes(5)));
    assert_eq!(lease_duration(Some(&d(10)), "lease_duration").ok(), Some(TimeDelta::seconds(10)));
    assert_eq!(lease_duration(Some(&d(3600)), "lease_duration").ok(), Some(TimeDelta::hours(1)));
    assert!(lease_duration(Some(&d(9)), "lease_duration").is_err());
    assert!(lease_duration(Some(&d(3601)), "lease_duration").is_err());
    assert_eq!(wait_time(None, "wait_time").ok(), Some(TimeDelta::zero()));
    assert_eq!(wait_time(Some(&d(30)), "wait_time").ok(), Some(TimeDelta::seconds(30)));
    assert!(wait_time(Some(&d(31)), "wait_time").is_err());
    assert_eq!(max_steps(0, "max_steps").ok(), Some(10));
    assert_eq!(max_steps(7, "max_steps").ok(), Some(7));
    assert_eq!(max_steps(1000, "max_steps").ok(), Some(100));
    assert!(max_steps(-1, "max_steps").is_err());
}

#[test]
fn a_failure_report_needs_a_message_and_a_retry_after_of_at_most_a_day() {
    let fields = |r: Result<Option<TimeDelta>, Error>| match r {
        Err(Error::InvalidArgument(f)) => f.into_iter().map(|v| v.field).collect::<Vec<_>>(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    };
    let day = Duration { seconds: 86_400, nanos: 0 };
    assert_eq!(check_failure("timeout", Some(&day)).ok(), Some(Some(TimeDelta::days(1))));
    assert_eq!(check_failure("timeout", None).ok(), Some(None));
    let over = Duration { seconds: 86_401, nanos: 0 };
    assert_eq!(fields(check_failure(" ", Some(&over))), ["error_message", "retry_after"]);
    assert_eq!(fields(check_failure(&"x".repeat(2001), None)), ["error_message"]);
}
