//! Whether a playbook fires for an account now: the five checks in the service's order
//! (enabled, has triggers, audience, a satisfied trigger, no active run and no cooldown),
//! every one evaluated so that the answer (`PlaybookEvaluation`) says everything, and the
//! first failing one named. A firing carries what the run records: the trigger, its entry,
//! the evidence and the summary line.

use chrono::{DateTime, Utc};
use steward_kit::time::timestamp;
use steward_proto::playbook::v1 as pb;

use super::definition::{cooldown, trigger_kind};
use super::facts::Facts;
use super::gate::{self, Gate, Runs};
use super::trigger::{self, Entry, audience};
use pb::NotFiringReason as R;

/// What the store knows of a playbook's runs for the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The active run and the latest end.
    pub runs: Runs,
    /// The band and stage entries that started earlier runs.
    pub fired: Vec<Entry>,
}

/// The trigger that fired and what the run keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// Index of the firing trigger in the playbook version's `triggers`.
    pub trigger_index: i32,
    /// Its kind.
    pub kind: pb::TriggerKind,
    /// For band and stage entries: the entry that fired (fires once).
    pub entry_time: Option<DateTime<Utc>>,
    /// The firing trigger's evidence followed by the audience's.
    pub evidence: Vec<pb::Evidence>,
    /// The firing trigger's summary: the run's `trigger_summary`.
    pub summary: String,
}

impl Firing {
    /// The run's origin.
    pub fn origin(&self) -> pb::RunOrigin {
        pb::RunOrigin {
            kind: Some(pb::run_origin::Kind::Automatic(pb::AutomaticOrigin {
                trigger_index: self.trigger_index,
                trigger_kind: self.kind as i32,
                entry_time: self.entry_time.map(timestamp),
            })),
        }
    }
}

/// One playbook's evaluation for one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The API's answer (`EvaluateTriggers`).
    pub result: pb::PlaybookEvaluation,
    /// Set exactly when `result.would_fire`: what to start the run with.
    pub firing: Option<Firing>,
}

/// Evaluates `playbook` (its current version) for the account in `facts`.
pub fn evaluate(playbook: &pb::Playbook, facts: &Facts, history: &History) -> Evaluation {
    let (audience_matched, audience_evidence) =
        audience::matches(playbook.audience.as_ref(), facts);
    let outcomes: Vec<_> = playbook
        .triggers
        .iter()
        .enumerate()
        .map(|(i, t)| trigger::evaluate(i, t, facts, &history.fired))
        .collect();
    let firing_index = outcomes.iter().position(|o| o.evaluation.satisfied);
    let gate = gate::check(&history.runs, cooldown(playbook), facts.now);

    let reason = if !playbook.enabled {
        R::Disabled
    } else if playbook.triggers.is_empty() {
        R::ManualOnly
    } else if !audience_matched {
        R::AudienceMismatch
    } else if firing_index.is_none() {
        R::try_from(outcomes[0].evaluation.reason).unwrap_or(R::BelowThreshold)
    } else {
        match &gate {
            Gate::ActiveRun(_) => R::ActiveRunExists,
            Gate::Cooldown { .. } => R::InCooldown,
            Gate::Open => R::Unspecified,
        }
    };
    let would_fire = reason == R::Unspecified;
    let firing = firing_index.filter(|_| would_fire).map(|i| {
        let o = &outcomes[i];
        let mut evidence = o.evaluation.evidence.clone();
        evidence.extend(audience_evidence.iter().cloned());
        Firing {
            trigger_index: o.evaluation.trigger_index,
            kind: trigger_kind(&playbook.triggers[i]),
            entry_time: o.entry_time,
            evidence,
            summary: o.evaluation.summary.clone(),
        }
    });
    let result = pb::PlaybookEvaluation {
        playbook: playbook.name.clone(),
        playbook_version: playbook.version,
        display_name: playbook.display_name.clone(),
        would_fire,
        reason: reason as i32,
        firing_trigger_index: firing_index.and_then(|i| i32::try_from(i).ok()),
        triggers: outcomes.into_iter().map(|o| o.evaluation).collect(),
        audience_matched,
        audience_evidence,
        active_run: history.runs.active_run.clone().unwrap_or_default(),
        cooldown_end_time: gate::cooldown_end(history.runs.last_end, cooldown(playbook), facts.now)
            .map(timestamp),
    };
    Evaluation { result, firing }
}

/// The run's evidence for a manual start: every trigger's evidence at that moment, for
/// context, followed by the audience's (which a manual start does not check).
pub fn manual_evidence(
    playbook: &pb::Playbook,
    facts: &Facts,
    history: &History,
) -> Vec<pb::Evidence> {
    let e = evaluate(playbook, facts, history).result;
    e.triggers.into_iter().flat_map(|t| t.evidence).chain(e.audience_evidence).collect()
}

/// The run's origin and `trigger_summary` for a manual start by `actor` with `note`.
pub fn manual_origin(actor: &str, note: &str) -> (pb::RunOrigin, String) {
    let origin = pb::RunOrigin {
        kind: Some(pb::run_origin::Kind::Manual(pb::ManualOrigin {
            started_by: actor.to_owned(),
            note: note.to_owned(),
        })),
    };
    (origin, format!("Started manually by {actor}"))
}

#[cfg(test)]
mod tests;
