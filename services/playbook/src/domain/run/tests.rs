//! Unit tests of the run state machine: a four-step run (task, email, wait, task) walked
//! through completion, skips, retries, failures and cancellation, with the events each move
//! emits and the refusals of illegal moves.

use super::*;
use crate::domain::duration::days;
use crate::domain::testing::now;
use pb::step::Kind;

/// review (task, due 1 day, for the owner) → notify (email, 3 attempts, continue on
/// failure) → cool_off (wait 2 days) → call (task for the renewals desk).
fn playbook() -> pb::Playbook {
    let step = |id: &str, kind: Kind| pb::Step {
        id: id.into(),
        display_name: id.into(),
        kind: Some(kind),
        ..Default::default()
    };
    pb::Playbook {
        name: "playbooks/p".into(),
        version: 3,
        display_name: "P".into(),
        steps: vec![
            step(
                "review",
                Kind::Task(pb::TaskStep {
                    title: "Review {{account.display_name}}".into(),
                    description: "Score {{health.score}}".into(),
                    assignee: None,
                    due_offset: Some(days(1)),
                }),
            ),
            pb::Step {
                max_attempts: 3,
                continue_on_failure: true,
                ..step(
                    "notify",
                    Kind::Email(pb::EmailStep {
                        to: vec!["{{account.owner}}".into(), "{{ account.segment }}".into()],
                        cc: vec![],
                        subject: "About {{account.display_name}}".into(),
                        body: "Hello".into(),
                    }),
                )
            },
            step("cool_off", Kind::Wait(pb::WaitStep { duration: Some(days(2)) })),
            step(
                "call",
                Kind::Task(pb::TaskStep {
                    title: "Call".into(),
                    assignee: Some(pb::Assignee {
                        target: Some(pb::assignee::Target::Team("renewals-desk".into())),
                    }),
                    ..Default::default()
                }),
            ),
        ],
        ..Default::default()
    }
}

fn vars() -> Variables {
    [("account.display_name", "Acme"), ("account.owner", "jane@example.com")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn started() -> (pb::PlaybookRun, pb::Playbook) {
    let p = playbook();
    let (run, _) = start(
        Start {
            name: "playbookRuns/r1".into(),
            playbook: &p,
            account: "accounts/acme".into(),
            origin: pb::RunOrigin::default(),
            evidence: vec![],
            trigger_summary: "3 HIGH or higher tickets in 14 days (threshold 3)".into(),
        },
        &vars(),
        now(),
    );
    (run, p)
}

fn states(run: &pb::PlaybookRun) -> Vec<StepState> {
    run.steps.iter().map(|s| StepState::try_from(s.state).expect("known state")).collect()
}

fn kinds(events: &[Event]) -> Vec<(K, &str)> {
    events.iter().map(|e| (e.kind, e.step_id.as_str())).collect()
}

fn reason(r: Result<Vec<Event>, Error>) -> String {
    match r {
        Err(Error::FailedPrecondition { reason, .. }) => reason.to_owned(),
        Err(Error::NotFound(name)) => format!("NOT_FOUND {name}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

use StepState::{Active as A, Done as D, Failed as F, Pending as P, Skipped as S};

#[test]
fn a_run_starts_with_its_first_step_active_rendered_and_assigned_to_the_owner() {
    let p = playbook();
    let (run, events) = start(
        Start {
            name: "playbookRuns/r1".into(),
            playbook: &p,
            account: "accounts/acme".into(),
            origin: pb::RunOrigin::default(),
            evidence: vec![],
            trigger_summary: "why".into(),
        },
        &vars(),
        now(),
    );
    assert_eq!(kinds(&events), [(K::RunStarted, ""), (K::StepActivated, "review")]);
    assert_eq!(run.state, RunState::Active as i32);
    assert_eq!((run.playbook.as_str(), run.playbook_version), ("playbooks/p", 3));
    assert_eq!(run.current_step_id, "review");
    assert_eq!(states(&run), [A, P, P, P]);
    let review = &run.steps[0];
    assert_eq!(review.assignee, "jane@example.com");
    assert_eq!(review.due_time, Some(timestamp(now() + TimeDelta::days(1))));
    assert_eq!(review.activate_time, Some(timestamp(now())));
    assert_eq!(
        review.content,
        Some(pb::run_step::Content::Task(pb::RenderedTask {
            title: "Review Acme".into(),
            description: "Score ".into()
        }))
    );
    assert_eq!(review.missing_variables, ["health.score"]);
    assert_eq!(run.steps[1].max_attempts, 3);
    assert_eq!(run.steps[0].max_attempts, 0);
    assert!(run.steps[1].continue_on_failure);
}

#[test]
fn completing_steps_walks_the_run_to_completion() {
    let (mut run, p) = started();
    let act = Activation { steps: &p.steps, vars: &vars() };
    let t1 = now() + TimeDelta::hours(3);
    let events = complete(&mut run, "review", "jane", None, "done", act, t1).expect("completes");
    assert_eq!(kinds(&events), [(K::StepCompleted, "review"), (K::StepActivated, "notify")]);
    assert_eq!(run.steps[0].ended_by, "jane");
    assert_eq!(run.steps[0].note, "done");
    // The email's empty rendering (no segment variable) is dropped.
    assert_eq!(
        run.steps[1].content,
        Some(pb::run_step::Content::Email(pb::RenderedEmail {
            to: vec!["jane@example.com".into()],
            cc: vec![],
            subject: "About Acme".into(),
            body: "Hello".into(),
        }))
    );
    assert_eq!(run.steps[1].missing_variables, ["account.segment"]);

    let events = complete(&mut run, "notify", "worker-1", None, "", act, t1).expect("completes");
    assert_eq!(kinds(&events), [(K::StepCompleted, "notify"), (K::StepActivated, "cool_off")]);
    let wake_time = Some(timestamp(t1 + TimeDelta::days(2)));
    assert!(
        matches!(&run.steps[2].content, Some(pb::run_step::Content::Wait(w)) if w.wake_time == wake_time)
    );

    // The wait ends by itself at its wake time, not a second earlier.
    assert!(wake(&mut run, act, t1 + TimeDelta::days(2) - TimeDelta::seconds(1)).is_empty());
    let events = wake(&mut run, act, t1 + TimeDelta::days(2));
    assert_eq!(kinds(&events), [(K::StepCompleted, "cool_off"), (K::StepActivated, "call")]);
    assert_eq!(run.steps[2].ended_by, STEWARD);
    assert_eq!(
        (run.steps[3].assignee.as_str(), run.steps[3].assignee_team.as_str()),
        ("", "renewals-desk")
    );
    assert_eq!(run.steps[3].due_time, None, "no due offset, never overdue");

    let t2 = t1 + TimeDelta::days(3);
    let events = complete(&mut run, "call", "bob", None, "", act, t2).expect("completes");
    assert_eq!(kinds(&events), [(K::StepCompleted, "call"), (K::RunCompleted, "")]);
    assert_eq!(run.state, RunState::Completed as i32);
    assert_eq!(run.end_time, Some(timestamp(t2)));
    assert_eq!(run.current_step_id, "");
    assert_eq!(states(&run), [D, D, D, D]);
}

#[test]
fn completing_again_changes_nothing_and_illegal_completions_are_refused() {
    let (mut run, p) = started();
    let act = Activation { steps: &p.steps, vars: &vars() };
    assert_eq!(reason(complete(&mut run, "notify", "x", None, "", act, now())), "STEP_NOT_ACTIVE");
    assert_eq!(
        reason(complete(&mut run, "cool_off", "x", None, "", act, now())),
        "STEP_NOT_COMPLETABLE"
    );
    assert_eq!(
        reason(complete(&mut run, "nope", "x", None, "", act, now())),
        "NOT_FOUND playbookRuns/r1/steps/nope"
    );
    complete(&mut run, "review", "jane", None, "", act, now()).expect("completes");
    let before = run.clone();
    assert_eq!(
        complete(&mut run, "review", "jane", None, "", act, now()).expect("repeat is OK"),
        []
    );
    assert_eq!(run, before);
}

#[test]
fn a_skipped_pending_step_is_passed_over_when_reached() {
    let (mut run, p) = started();
    let act = Activation { steps: &p.steps, vars: &vars() };
    let events =
        skip(&mut run, "notify", "jane", "no email for this one", act, now()).expect("skips");
    assert_eq!(kinds(&events), [(K::StepSkipped, "notify")]);
    assert_eq!(states(&run), [A, S, P, P]);
    assert_eq!(run.steps[1].note, "no email for this one");
    let events = complete(&mut run, "review", "jane", None, "", act, now()).expect("completes");
    assert_eq!(kinds(&events), [(K::StepCompleted, "review"), (K::StepActivated, "cool_off")]);
    // Skipping the active wait ends it early and moves on.
    let events = skip(&mut run, "cool_off", "jane", "", act, now()).expect("skips");
    assert_eq!(kinds(&events), [(K::StepSkipped, "cool_off"), (K::StepActivated, "call")]);
    assert_eq!(states(&run), [D, S, S, A]);
    // Skipping the last step completes the run.
    let events = skip(&mut run, "call", "jane", "", act, now()).expect("skips");
    assert_eq!(kinds(&events), [(K::StepSkipped, "call"), (K::RunCompleted, "")]);
    assert_eq!(run.state, RunState::Completed as i32);
    // Skipping a skipped step is OK even now; anything else in the ended run is refused.
    assert_eq!(skip(&mut run, "call", "jane", "", act, now()).expect("repeat is OK"), []);
    assert_eq!(reason(skip(&mut run, "review", "jane", "", act, now())), "RUN_ENDED");
}

#[test]
fn a_done_step_cannot_be_skipped() {
    let (mut run, p) = started();
    let act = Activation { steps: &p.steps, vars: &vars() };
    complete(&mut run, "review", "jane", None, "", act, now()).expect("completes");
    assert_eq!(reason(skip(&mut run, "review", "jane", "", act, now())), "STEP_ENDED");
}

/// The run with `notify` active and claimed once by worker-1.
fn at_notify() -> (pb::PlaybookRun, pb::Playbook) {
    let (mut run, p) = started();
    complete(
        &mut run,
        "review",
        "jane",
        None,
        "",
        Activation { steps: &p.steps, vars: &vars() },
        now(),
    )
    .expect("completes");
    lease::claim(&mut run.steps[1], "worker-1", TimeDelta::minutes(5), now());
    (run, p)
}

#[test]
fn failed_attempts_retry_with_backoff_until_the_maximum_then_the_step_fails() {
    let (mut run, p) = at_notify();
    let act = Activation { steps: &p.steps, vars: &vars() };
    // Attempt 1 fails: retry in 30 s, lease released.
    let events =
        fail_attempt(&mut run, "notify", "timeout", true, None, act, now()).expect("retries");
    assert_eq!(kinds(&events), [(K::StepRetryScheduled, "notify")]);
    let step = &run.steps[1];
    assert_eq!(step.next_attempt_time, Some(timestamp(now() + TimeDelta::seconds(30))));
    assert_eq!((step.lease_holder.as_str(), step.lease_expire_time), ("", None));
    assert_eq!(step.last_error, "timeout");
    // Attempt 2 fails: 1 min.
    let t = now() + TimeDelta::seconds(30);
    lease::claim(&mut run.steps[1], "worker-2", TimeDelta::minutes(5), t);
    fail_attempt(&mut run, "notify", "timeout", true, None, act, t).expect("retries");
    assert_eq!(run.steps[1].next_attempt_time, Some(timestamp(t + TimeDelta::minutes(1))));
    // Attempt 3 of 3 fails: the step FAILS; continue_on_failure activates the next step.
    lease::claim(&mut run.steps[1], "worker-2", TimeDelta::minutes(5), t);
    let events = fail_attempt(&mut run, "notify", "still down", true, None, act, t).expect("fails");
    assert_eq!(kinds(&events), [(K::StepFailed, "notify"), (K::StepActivated, "cool_off")]);
    assert_eq!(run.steps[1].attempt_count, 3);
    assert_eq!(run.steps[1].ended_by, "worker-2");
    assert_eq!(run.steps[1].last_error, "still down");
    assert_eq!(run.state, RunState::Active as i32);
    assert_eq!(states(&run), [D, F, A, P]);
}

#[test]
fn a_failed_step_without_continue_on_failure_fails_the_run_and_skips_the_rest() {
    let (mut run, mut p) = at_notify();
    run.steps[1].continue_on_failure = false;
    p.steps[1].continue_on_failure = false;
    let act = Activation { steps: &p.steps, vars: &vars() };
    let events = fail_attempt(&mut run, "notify", "invalid address", false, None, act, now())
        .expect("fails");
    assert_eq!(kinds(&events), [(K::StepFailed, "notify"), (K::RunFailed, "")]);
    assert_eq!(run.state, RunState::Failed as i32);
    assert_eq!(states(&run), [D, F, S, S]);
    assert_eq!(run.steps[2].ended_by, STEWARD);
    assert_eq!(run.end_time, Some(timestamp(now())));
    assert_eq!(
        reason(fail_attempt(&mut run, "notify", "again", true, None, act, now())),
        "STEP_NOT_ACTIVE"
    );
    assert_eq!(reason(cancel(&mut run, "", "jane", now())), "RUN_ENDED");
}

#[test]
fn cancelling_skips_what_is_left_and_cancelling_again_changes_nothing() {
    let (mut run, p) = at_notify();
    let t = now() + TimeDelta::hours(1);
    let events = cancel(&mut run, "customer asked", "jane", t).expect("cancels");
    assert_eq!(kinds(&events), [(K::RunCancelled, "")]);
    assert_eq!(run.state, RunState::Cancelled as i32);
    assert_eq!(states(&run), [D, S, S, S]);
    assert_eq!((run.cancel_reason.as_str(), run.cancelled_by.as_str()), ("customer asked", "jane"));
    assert_eq!(run.steps[1].lease_holder, "", "the lease is gone");
    assert_eq!(run.end_time, Some(timestamp(t)));
    let before = run.clone();
    assert_eq!(cancel(&mut run, "again", "bob", t).expect("repeat is OK"), []);
    assert_eq!(run, before);
    let act = Activation { steps: &p.steps, vars: &vars() };
    assert_eq!(reason(complete(&mut run, "call", "x", None, "", act, t)), "STEP_NOT_ACTIVE");
}
