//! Playbook definitions as a model: validation of everything a caller writes (naming every
//! bad field), the defaults the service applies (cooldown, trigger windows, attempts), the
//! kinds of triggers and steps, and the content comparison behind no-op updates.

mod steps;
mod triggers;

#[cfg(test)]
mod tests;

use chrono::TimeDelta;
use steward_kit::{Error, Violations};
use steward_proto::playbook::v1 as pb;

use super::duration::{DAY, days, to_delta};
use pb::step::Kind as StepOneof;
use pb::trigger::Kind as TriggerOneof;

pub(crate) const MAX_DISPLAY_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_TRIGGERS: usize = 10;
const MAX_STEPS: usize = 50;
const MAX_COOLDOWN: i64 = 365 * DAY;

/// The cooldown of a playbook created without one: 30 days.
pub const DEFAULT_COOLDOWN_DAYS: i64 = 30;
/// The attempts of an EMAIL or ACTION step created without `max_attempts`: 5.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
/// How long after a band or stage entry its trigger may fire when `within` is unset: 1 day.
pub const DEFAULT_ENTRY_WITHIN_DAYS: i64 = 1;
/// The CSAT window when unset: 30 days.
pub const DEFAULT_CSAT_WINDOW_DAYS: i64 = 30;
/// The least CSAT ratings per window when `min_responses` is 0: 5.
pub const DEFAULT_MIN_RESPONSES: i32 = 5;

/// Validates every caller-written field of `playbook` under `field` (e.g. `playbook`),
/// reporting all violations at once as `INVALID_ARGUMENT`, each naming its field (e.g.
/// `playbook.steps[2].email.subject`). Output-only fields (name, version, times, etag) and
/// `enabled` are not looked at.
pub fn check(playbook: &pb::Playbook, field: &str) -> Result<(), Error> {
    let mut v = Violations::default();
    check_text(
        &playbook.display_name,
        1,
        MAX_DISPLAY_NAME,
        &format!("{field}.display_name"),
        &mut v,
    );
    check_text(&playbook.description, 0, MAX_DESCRIPTION, &format!("{field}.description"), &mut v);

    v.check(
        playbook.triggers.len() <= MAX_TRIGGERS,
        format!("{field}.triggers"),
        format!("must hold at most {MAX_TRIGGERS} triggers (none = manual only)"),
    );
    for (i, t) in playbook.triggers.iter().enumerate() {
        triggers::check_trigger(t, &format!("{field}.triggers[{i}]"), &mut v);
    }
    if let Some(a) = &playbook.audience {
        triggers::check_audience(a, &format!("{field}.audience"), &mut v);
    }
    if let Some(c) = &playbook.cooldown {
        v.check(
            c.nanos == 0 && (0..=MAX_COOLDOWN).contains(&c.seconds),
            format!("{field}.cooldown"),
            "must be whole seconds from 0 (no cooldown) to 365 days",
        );
    }

    let steps = &playbook.steps;
    v.check(
        (1..=MAX_STEPS).contains(&steps.len()),
        format!("{field}.steps"),
        format!("must hold 1-{MAX_STEPS} steps"),
    );
    for (i, s) in steps.iter().enumerate() {
        let at = format!("{field}.steps[{i}]");
        if !is_step_id(&s.id) {
            v.add(format!("{at}.id"), "must match ^[a-z][a-z0-9_]{0,62}$ (e.g. sponsor_call)");
        } else if let Some(j) = steps[..i].iter().position(|o| o.id == s.id) {
            v.add(format!("{at}.id"), format!("steps[{j}] has this id already"));
        }
        steps::check_step(s, &at, &mut v);
    }
    v.finish()
}

/// Whether `s` is a step id: lowercase snake_case of 1–63 characters starting with a letter.
pub fn is_step_id(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A text of `min..=max` characters; whitespace alone does not count as text.
pub(crate) fn check_text(text: &str, min: usize, max: usize, field: &str, v: &mut Violations) {
    if let Some(problem) = text_problem(text, min, max) {
        v.add(field, problem);
    }
}

/// What is wrong with a text that should have `min..=max` characters, if anything.
pub(crate) fn text_problem(text: &str, min: usize, max: usize) -> Option<String> {
    if min > 0 && text.trim().is_empty() {
        Some("required".into())
    } else if text.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else {
        None
    }
}

/// The playbook's cooldown: as set (explicit 0 = none), else 30 days.
pub fn cooldown(playbook: &pb::Playbook) -> TimeDelta {
    playbook
        .cooldown
        .as_ref()
        .and_then(to_delta)
        .filter(|d| *d >= TimeDelta::zero())
        .unwrap_or(TimeDelta::days(DEFAULT_COOLDOWN_DAYS))
}

/// The most attempts of an EMAIL or ACTION step: as set, else 5. TASK and WAIT: 0.
pub fn max_attempts(step: &pb::Step) -> i32 {
    match step_kind(step) {
        pb::StepKind::Email | pb::StepKind::Action if step.max_attempts > 0 => step.max_attempts,
        pb::StepKind::Email | pb::StepKind::Action => DEFAULT_MAX_ATTEMPTS,
        _ => 0,
    }
}

/// A trigger's kind; UNSPECIFIED when none is set.
pub fn trigger_kind(trigger: &pb::Trigger) -> pb::TriggerKind {
    match trigger.kind {
        None => pb::TriggerKind::Unspecified,
        Some(TriggerOneof::BandEntered(_)) => pb::TriggerKind::BandEntered,
        Some(TriggerOneof::ScoreDropped(_)) => pb::TriggerKind::ScoreDropped,
        Some(TriggerOneof::TicketCount(_)) => pb::TriggerKind::TicketCount,
        Some(TriggerOneof::RepeatedCategory(_)) => pb::TriggerKind::RepeatedCategory,
        Some(TriggerOneof::CsatDecline(_)) => pb::TriggerKind::CsatDecline,
        Some(TriggerOneof::RenewalWithin(_)) => pb::TriggerKind::RenewalWithin,
        Some(TriggerOneof::LifecycleStageEntered(_)) => pb::TriggerKind::LifecycleStageEntered,
    }
}

/// A step's kind; UNSPECIFIED when none is set.
pub fn step_kind(step: &pb::Step) -> pb::StepKind {
    match step.kind {
        None => pb::StepKind::Unspecified,
        Some(StepOneof::Task(_)) => pb::StepKind::Task,
        Some(StepOneof::Email(_)) => pb::StepKind::Email,
        Some(StepOneof::Wait(_)) => pb::StepKind::Wait,
        Some(StepOneof::Action(_)) => pb::StepKind::Action,
    }
}

/// Whether a playbook has the trigger kind a `ListPlaybooks` filter asks for (MANUAL_ONLY:
/// no triggers; UNSPECIFIED: any).
pub fn has_trigger_kind(playbook: &pb::Playbook, kind: pb::TriggerKind) -> bool {
    match kind {
        pb::TriggerKind::Unspecified => true,
        pb::TriggerKind::ManualOnly => playbook.triggers.is_empty(),
        k => playbook.triggers.iter().any(|t| trigger_kind(t) == k),
    }
}

/// Fills what a caller may leave unset with what it means: the cooldown (30 days), an
/// empty audience, the entry triggers' `within` (1 day), the CSAT window (30 days) and
/// `min_responses` (5), and the automated steps' `max_attempts` (5).
pub fn with_defaults(playbook: &mut pb::Playbook) {
    playbook.cooldown.get_or_insert(days(DEFAULT_COOLDOWN_DAYS));
    playbook.audience.get_or_insert_with(Default::default);
    for t in &mut playbook.triggers {
        match &mut t.kind {
            Some(TriggerOneof::BandEntered(b)) => {
                b.within.get_or_insert(days(DEFAULT_ENTRY_WITHIN_DAYS));
            }
            Some(TriggerOneof::LifecycleStageEntered(s)) => {
                s.within.get_or_insert(days(DEFAULT_ENTRY_WITHIN_DAYS));
            }
            Some(TriggerOneof::CsatDecline(c)) => {
                c.window.get_or_insert(days(DEFAULT_CSAT_WINDOW_DAYS));
                if c.min_responses == 0 {
                    c.min_responses = DEFAULT_MIN_RESPONSES;
                }
            }
            _ => {}
        }
    }
    for s in &mut playbook.steps {
        s.max_attempts = max_attempts(s);
    }
}

/// Whether `a` and `b` have the same writable content (display name, description,
/// triggers, audience, cooldown, steps), so that an update producing `b` from `a` writes
/// nothing. Unset values equal their defaults (see [`with_defaults`]) since they behave the
/// same; list order counts. `enabled`, names, versions, times and etags are not content.
pub fn same_content(a: &pb::Playbook, b: &pb::Playbook) -> bool {
    let content = |p: &pb::Playbook| {
        let mut p = pb::Playbook {
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            triggers: p.triggers.clone(),
            audience: p.audience.clone(),
            cooldown: p.cooldown,
            steps: p.steps.clone(),
            ..Default::default()
        };
        with_defaults(&mut p);
        p
    };
    content(a) == content(b)
}
