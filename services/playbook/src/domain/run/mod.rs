//! The run state machine. A run copies its playbook version's steps; steps run strictly in
//! order, PENDING → ACTIVE → DONE, SKIPPED or FAILED (PENDING may go straight to SKIPPED);
//! a step is rendered when it becomes ACTIVE; the run COMPLETES when no step is left to
//! activate, FAILS with a step that fails without `continue_on_failure`, and is CANCELLED
//! by a person. An ended run never changes again. Each operation returns the change events
//! it caused, in order (empty = nothing changed), or the API's error for an illegal move.

mod activate;

#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use steward_kit::Error;
use steward_kit::time::{from_timestamp, timestamp};
use steward_proto::playbook::v1 as pb;

use super::definition::{max_attempts, step_kind};
use super::lease::{self, AfterFailure};
use super::template::Variables;
use pb::{RunChangeKind as K, RunState, StepState};

/// Who ends steps that end by themselves (WAIT) or with their run (cancel, failure).
pub const STEWARD: &str = "steward";

/// One change of a run, for the run change stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: pb::RunChangeKind,
    /// The step concerned, for STEP_* kinds; empty otherwise.
    pub step_id: String,
}

impl Event {
    fn step(kind: K, step_id: &str) -> Self {
        Event { kind, step_id: step_id.to_owned() }
    }
    fn run(kind: K) -> Self {
        Event { kind, step_id: String::new() }
    }
}

/// What activating a step needs: the run's playbook version's step definitions (for the
/// templates) and the template variables at this moment (see
/// [`super::template::variables`]).
#[derive(Debug, Clone, Copy)]
pub struct Activation<'a> {
    /// The playbook version's steps.
    pub steps: &'a [pb::Step],
    /// Every variable's value now.
    pub vars: &'a Variables,
}

/// How a run starts.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    /// `playbookRuns/{run}`.
    pub name: String,
    /// The playbook version the run follows.
    pub playbook: &'a pb::Playbook,
    /// `accounts/{account}`.
    pub account: String,
    /// Automatic (with the firing trigger) or manual.
    pub origin: pb::RunOrigin,
    /// The facts at start.
    pub evidence: Vec<pb::Evidence>,
    /// One line on why it started.
    pub trigger_summary: String,
}

/// A new ACTIVE run of `start.playbook`: every step copied PENDING, the first activated.
/// Events: RUN_STARTED, STEP_ACTIVATED.
pub fn start(
    start: Start<'_>,
    vars: &Variables,
    now: DateTime<Utc>,
) -> (pb::PlaybookRun, Vec<Event>) {
    let p = start.playbook;
    let steps = p
        .steps
        .iter()
        .map(|s| pb::RunStep {
            step_id: s.id.clone(),
            display_name: s.display_name.clone(),
            kind: step_kind(s) as i32,
            state: StepState::Pending as i32,
            max_attempts: max_attempts(s),
            continue_on_failure: s.continue_on_failure,
            ..Default::default()
        })
        .collect();
    let mut run = pb::PlaybookRun {
        name: start.name,
        playbook: p.name.clone(),
        playbook_version: p.version,
        playbook_display_name: p.display_name.clone(),
        account: start.account,
        state: RunState::Active as i32,
        origin: Some(start.origin),
        evidence: start.evidence,
        trigger_summary: start.trigger_summary,
        steps,
        create_time: Some(timestamp(now)),
        update_time: Some(timestamp(now)),
        ..Default::default()
    };
    let mut events = vec![Event::run(K::RunStarted)];
    advance(&mut run, Activation { steps: &p.steps, vars }, now, &mut events);
    (run, events)
}

/// Marks the ACTIVE step `step_id` DONE (`CompleteRunStep`) and activates the next one or
/// completes the run. For EMAIL and ACTION steps the caller checks the lease token first
/// ([`lease::check_token`]). Completing a DONE step again changes nothing.
pub fn complete(
    run: &mut pb::PlaybookRun,
    step_id: &str,
    by: &str,
    output: Option<prost_types::Struct>,
    note: &str,
    act: Activation<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Error> {
    let i = find(run, step_id)?;
    let step = &run.steps[i];
    if step.kind == pb::StepKind::Wait as i32 {
        return Err(precondition(
            "STEP_NOT_COMPLETABLE",
            format!("step {step_id} is a WAIT step: it ends by itself; skip it to end it early"),
        ));
    }
    if step.state == StepState::Done as i32 {
        return Ok(Vec::new());
    }
    if run.state != RunState::Active as i32 || step.state != StepState::Active as i32 {
        return Err(not_active(run, i));
    }
    let step = &mut run.steps[i];
    end_step(step, StepState::Done, by, now);
    step.output = output;
    step.note = note.to_owned();
    let mut events = vec![Event::step(K::StepCompleted, step_id)];
    advance(run, act, now, &mut events);
    Ok(events)
}

/// Marks a PENDING or ACTIVE step SKIPPED (`SkipRunStep`); skipping the ACTIVE step
/// activates the next one or completes the run. Skipping a SKIPPED step changes nothing,
/// even in an ended run.
pub fn skip(
    run: &mut pb::PlaybookRun,
    step_id: &str,
    by: &str,
    reason: &str,
    act: Activation<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Error> {
    let i = find(run, step_id)?;
    let state = run.steps[i].state;
    if state == StepState::Skipped as i32 {
        return Ok(Vec::new());
    }
    if run.state != RunState::Active as i32 {
        return Err(precondition("RUN_ENDED", format!("{} has ended", run.name)));
    }
    if state != StepState::Pending as i32 && state != StepState::Active as i32 {
        return Err(precondition(
            "STEP_ENDED",
            format!("step {step_id} has ended ({})", state_name(state)),
        ));
    }
    let step = &mut run.steps[i];
    end_step(step, StepState::Skipped, by, now);
    step.note = reason.to_owned();
    let mut events = vec![Event::step(K::StepSkipped, step_id)];
    if state == StepState::Active as i32 {
        advance(run, act, now, &mut events);
    } else {
        run.update_time = Some(timestamp(now));
    }
    Ok(events)
}

/// Reports a failed attempt of the ACTIVE automated step `step_id` (`FailRunStep`, after
/// the token check): a retry after the backoff while attempts are left and the failure is
/// retryable (the lease released, `next_attempt_time` set), else the step FAILS (see
/// [`fail_step`]).
pub fn fail_attempt(
    run: &mut pb::PlaybookRun,
    step_id: &str,
    error_message: &str,
    retryable: bool,
    retry_after: Option<TimeDelta>,
    act: Activation<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Error> {
    let i = find(run, step_id)?;
    if run.state != RunState::Active as i32 || run.steps[i].state != StepState::Active as i32 {
        return Err(not_active(run, i));
    }
    let step = &mut run.steps[i];
    match lease::after_failure(step.attempt_count, step.max_attempts, retryable, retry_after, now) {
        AfterFailure::Retry { next_attempt_time } => {
            lease::release(step);
            step.last_error = error_message.to_owned();
            step.next_attempt_time = Some(timestamp(next_attempt_time));
            run.update_time = Some(timestamp(now));
            Ok(vec![Event::step(K::StepRetryScheduled, step_id)])
        }
        AfterFailure::Fail => {
            let by = step.lease_holder.clone();
            fail_step(run, step_id, error_message, &by, act, now)
        }
    }
}

/// Marks the ACTIVE step FAILED with `error_message` (attempts used up, a non-retryable
/// failure, or the last attempt's lease expired). With `continue_on_failure` the next step
/// is activated (or the run completes); otherwise the run FAILS and its PENDING steps are
/// SKIPPED.
pub fn fail_step(
    run: &mut pb::PlaybookRun,
    step_id: &str,
    error_message: &str,
    by: &str,
    act: Activation<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Error> {
    let i = find(run, step_id)?;
    if run.state != RunState::Active as i32 || run.steps[i].state != StepState::Active as i32 {
        return Err(not_active(run, i));
    }
    let step = &mut run.steps[i];
    end_step(step, StepState::Failed, by, now);
    step.last_error = error_message.to_owned();
    step.next_attempt_time = None;
    let carry_on = step.continue_on_failure;
    let mut events = vec![Event::step(K::StepFailed, step_id)];
    if carry_on {
        advance(run, act, now, &mut events);
    } else {
        end_run(run, RunState::Failed, now);
        events.push(Event::run(K::RunFailed));
    }
    Ok(events)
}

/// Cancels an ACTIVE run (`CancelPlaybookRun`): CANCELLED, its PENDING and ACTIVE steps
/// SKIPPED. Cancelling a CANCELLED run changes nothing; a COMPLETED or FAILED run is
/// `RUN_ENDED`.
pub fn cancel(
    run: &mut pb::PlaybookRun,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Error> {
    match RunState::try_from(run.state) {
        Ok(RunState::Cancelled) => return Ok(Vec::new()),
        Ok(RunState::Active) => {}
        _ => {
            return Err(precondition(
                "RUN_ENDED",
                format!("{} has ended ({})", run.name, run_state_name(run.state)),
            ));
        }
    }
    end_run(run, RunState::Cancelled, now);
    run.cancel_reason = reason.to_owned();
    run.cancelled_by = by.to_owned();
    Ok(vec![Event::run(K::RunCancelled)])
}

/// Ends the ACTIVE WAIT step DONE when its wake time has come, and moves on. Nothing
/// changes otherwise.
pub fn wake(run: &mut pb::PlaybookRun, act: Activation<'_>, now: DateTime<Utc>) -> Vec<Event> {
    let Some(i) = run.steps.iter().position(|s| s.state == StepState::Active as i32) else {
        return Vec::new();
    };
    let due = match &run.steps[i].content {
        Some(pb::run_step::Content::Wait(w)) => {
            w.wake_time.as_ref().and_then(from_timestamp).is_some_and(|t| t <= now)
        }
        _ => false,
    };
    if run.state != RunState::Active as i32 || !due {
        return Vec::new();
    }
    end_step(&mut run.steps[i], StepState::Done, STEWARD, now);
    let mut events = vec![Event::step(K::StepCompleted, &run.steps[i].step_id.clone())];
    advance(run, act, now, &mut events);
    events
}

/// Activates the first PENDING step (steps before it have all ended) or, with none left,
/// completes the run.
fn advance(
    run: &mut pb::PlaybookRun,
    act: Activation<'_>,
    now: DateTime<Utc>,
    events: &mut Vec<Event>,
) {
    run.update_time = Some(timestamp(now));
    match run.steps.iter().position(|s| s.state == StepState::Pending as i32) {
        Some(i) => {
            let step = &mut run.steps[i];
            let def = act.steps.iter().find(|d| d.id == step.step_id);
            activate::activate(step, def, act.vars, now);
            run.current_step_id = step.step_id.clone();
            events.push(Event::step(K::StepActivated, &run.current_step_id));
        }
        None => {
            end_run(run, RunState::Completed, now);
            events.push(Event::run(K::RunCompleted));
        }
    }
}

/// Ends the run in `state`: its PENDING and ACTIVE steps SKIPPED by "steward".
fn end_run(run: &mut pb::PlaybookRun, state: RunState, now: DateTime<Utc>) {
    for s in &mut run.steps {
        if s.state == StepState::Pending as i32 || s.state == StepState::Active as i32 {
            end_step(s, StepState::Skipped, STEWARD, now);
        }
    }
    run.state = state as i32;
    run.current_step_id.clear();
    run.end_time = Some(timestamp(now));
    run.update_time = Some(timestamp(now));
}

fn end_step(step: &mut pb::RunStep, state: StepState, by: &str, now: DateTime<Utc>) {
    step.state = state as i32;
    step.end_time = Some(timestamp(now));
    step.ended_by = by.to_owned();
    step.next_attempt_time = None;
    lease::release(step);
}

/// The index of step `step_id`, or NOT_FOUND (reason `STEP_NOT_FOUND`).
fn find(run: &pb::PlaybookRun, step_id: &str) -> Result<usize, Error> {
    run.steps
        .iter()
        .position(|s| s.step_id == step_id)
        .ok_or_else(|| Error::NotFound(format!("{}/steps/{step_id}", run.name)))
}

fn not_active(run: &pb::PlaybookRun, i: usize) -> Error {
    let s = &run.steps[i];
    let why = if run.state != RunState::Active as i32 {
        format!("the run has ended ({})", run_state_name(run.state))
    } else {
        format!("it is {}", state_name(s.state))
    };
    precondition("STEP_NOT_ACTIVE", format!("step {} is not active: {why}", s.step_id))
}

fn precondition(reason: &'static str, message: String) -> Error {
    Error::FailedPrecondition { reason, message }
}

fn state_name(state: i32) -> &'static str {
    StepState::try_from(state)
        .map_or("UNKNOWN", |s| s.as_str_name().trim_start_matches("STEP_STATE_"))
}

fn run_state_name(state: i32) -> &'static str {
    RunState::try_from(state)
        .map_or("UNKNOWN", |s| s.as_str_name().trim_start_matches("RUN_STATE_"))
}
