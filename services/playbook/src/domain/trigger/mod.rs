//! Evaluating one trigger against an account's [`Facts`]: satisfied or not, why not
//! (BELOW_THRESHOLD, OUTSIDE_WINDOW, NO_DATA, ALREADY_FIRED), the evidence named as each
//! trigger message documents, and one English summary line — the proto's
//! `TriggerEvaluation`. Also which support windows and how much score history the
//! evaluation needs, so the caller fetches exactly that.

pub mod audience;
mod csat;
pub(crate) mod evidence;
mod signals;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use steward_proto::playbook::v1 as pb;

use super::definition::{DEFAULT_CSAT_WINDOW_DAYS, trigger_kind};
use super::duration::{DAY, to_delta};
use super::facts::{Facts, VARIABLES_WINDOW};
use pb::NotFiringReason as R;
use pb::trigger::Kind;

/// A band or stage entry that already started a run of the playbook (from the runs'
/// `AutomaticOrigin`): the same entry never fires twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// BAND_ENTERED or LIFECYCLE_STAGE_ENTERED.
    pub kind: pb::TriggerKind,
    /// When the account entered the band or stage.
    pub time: DateTime<Utc>,
}

/// One trigger's evaluation, and the entry it would fire for (band and stage triggers).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The API's answer for this trigger.
    pub evaluation: pb::TriggerEvaluation,
    /// For BAND_ENTERED and LIFECYCLE_STAGE_ENTERED: the entry evaluated (recorded as the
    /// run's `AutomaticOrigin.entry_time` when it fires).
    pub entry_time: Option<DateTime<Utc>>,
}

/// What one kind's check found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    pub(crate) reason: R,
    pub(crate) evidence: Vec<pb::Evidence>,
    pub(crate) summary: String,
    pub(crate) entry_time: Option<DateTime<Utc>>,
}

impl Check {
    pub(crate) fn new(reason: R, evidence: Vec<pb::Evidence>, summary: impl Into<String>) -> Self {
        Check { reason, evidence, summary: summary.into(), entry_time: None }
    }
}

/// Evaluates `trigger` (at `index` in its playbook) against `facts`; `fired` lists the
/// entries that already started runs of this playbook for the account.
pub fn evaluate(index: usize, trigger: &pb::Trigger, facts: &Facts, fired: &[Entry]) -> Outcome {
    let check = match &trigger.kind {
        None => Check::new(R::NoData, Vec::new(), "The trigger has no condition"),
        Some(Kind::BandEntered(t)) => signals::band_entered(t, facts, fired),
        Some(Kind::ScoreDropped(t)) => signals::score_dropped(t, facts),
        Some(Kind::TicketCount(t)) => signals::ticket_count(t, facts),
        Some(Kind::RepeatedCategory(t)) => signals::repeated_category(t, facts),
        Some(Kind::CsatDecline(t)) => csat::csat_decline(t, facts),
        Some(Kind::RenewalWithin(t)) => signals::renewal_within(t, facts),
        Some(Kind::LifecycleStageEntered(t)) => signals::stage_entered(t, facts, fired),
    };
    Outcome {
        evaluation: pb::TriggerEvaluation {
            trigger_index: i32::try_from(index).unwrap_or(i32::MAX),
            kind: trigger_kind(trigger) as i32,
            satisfied: check.reason == R::Unspecified,
            reason: check.reason as i32,
            evidence: check.evidence,
            summary: check.summary,
        },
        entry_time: check.entry_time,
    }
}

/// The window, in whole seconds, of the support summary a trigger reads; `None` for
/// triggers that read no support summary.
pub fn support_window(trigger: &pb::Trigger) -> Option<i64> {
    match &trigger.kind {
        Some(Kind::TicketCount(t)) => t.within.as_ref().map(|d| d.seconds),
        Some(Kind::RepeatedCategory(t)) => t.within.as_ref().map(|d| d.seconds),
        Some(Kind::CsatDecline(t)) => Some(csat_window(t)),
        _ => None,
    }
}

/// The support summary windows (whole seconds) that evaluating `playbooks` and rendering
/// their templates need: each support trigger's window and the 30 days of the `support.*`
/// variables.
pub fn windows_needed<'a>(playbooks: impl IntoIterator<Item = &'a pb::Playbook>) -> BTreeSet<i64> {
    let mut windows: BTreeSet<i64> =
        playbooks.into_iter().flat_map(|p| p.triggers.iter().filter_map(support_window)).collect();
    windows.insert(VARIABLES_WINDOW);
    windows
}

/// How far back the score history must reach for `playbooks`' score-drop triggers (their
/// longest `within`; the history must also hold the point in effect at that start); zero
/// when none has one.
pub fn history_needed<'a>(playbooks: impl IntoIterator<Item = &'a pb::Playbook>) -> TimeDelta {
    playbooks
        .into_iter()
        .flat_map(|p| &p.triggers)
        .filter_map(|t| match &t.kind {
            Some(Kind::ScoreDropped(s)) => s.within.as_ref().and_then(to_delta),
            _ => None,
        })
        .max()
        .unwrap_or(TimeDelta::zero())
}

/// A CSAT trigger's window in seconds: as set, else 30 days.
pub(crate) fn csat_window(t: &pb::CsatDeclineTrigger) -> i64 {
    t.window.as_ref().map_or(DEFAULT_CSAT_WINDOW_DAYS * DAY, |d| d.seconds)
}
