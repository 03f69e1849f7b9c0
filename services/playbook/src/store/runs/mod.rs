//! Runs in the store: inserting a started run and what the gate needs (`start`), changing
//! one under its row lock with its lease rows and feed entries (`change`), and reading and
//! listing them (`read`). Every change writes the run, its lease rows and its feed entries
//! in one transaction. Here: run names, the locked run a change sees, the list filters, and
//! the columns derived from a run's body.

mod change;
mod read;
mod start;

use chrono::{DateTime, Utc};
use steward_kit::time::from_timestamp;
use steward_kit::{Error, names};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

/// `playbookRuns/{id}`.
pub fn run_name(id: Uuid) -> String {
    format!("playbookRuns/{id}")
}

/// The id of a `playbookRuns/{run}` name: `INVALID_ARGUMENT` naming `field` when malformed,
/// `NOT_FOUND` (reason `RUN_NOT_FOUND`) for a well-formed name no run can have.
pub fn run_id(name: &str, field: &str) -> Result<Uuid, Error> {
    let [id] = names::parse(name, "playbookRuns/{}", field)?;
    Uuid::parse_str(id).map_err(|_| run_not_found(name))
}

pub(super) fn run_not_found(name: &str) -> Error {
    Error::NotFoundReason { reason: "RUN_NOT_FOUND", message: format!("{name} not found") }
}

/// A run locked for a change, with what the change may need.
#[derive(Debug)]
pub struct Locked {
    /// The run as stored.
    pub run: pb::PlaybookRun,
    /// The playbook version it follows (its step templates).
    pub definition: pb::Playbook,
    /// The lease rows of its automated steps: step id, current token, attempt reported.
    pub leases: Vec<(String, Option<Uuid>, bool)>,
}

impl Locked {
    /// The current lease token of `step_id`, as text.
    pub fn token(&self, step_id: &str) -> Option<String> {
        self.leases.iter().find(|l| l.0 == step_id).and_then(|l| l.1).map(|t| t.to_string())
    }

    /// Whether `token`'s attempt at `step_id` was already reported failed.
    pub fn reported(&self, step_id: &str, token: &str) -> bool {
        self.leases
            .iter()
            .any(|l| l.0 == step_id && l.2 && l.1.is_some_and(|t| t.to_string() == token))
    }
}

/// Filters and page of `ListPlaybookRuns`.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub account: Option<String>,
    pub playbook_id: Option<String>,
    pub states: Vec<i32>,
    pub assignee: Option<String>,
    pub overdue: bool,
}

/// The columns derived from a run's body.
struct Columns {
    end_time: Option<DateTime<Utc>>,
    assignee: Option<String>,
    assignee_team: Option<String>,
    due_time: Option<DateTime<Utc>>,
    wake_time: Option<DateTime<Utc>>,
    entry_kind: Option<i32>,
    entry_time: Option<DateTime<Utc>>,
}

impl Columns {
    fn of(run: &pb::PlaybookRun) -> Self {
        let mut c = Columns {
            end_time: run.end_time.as_ref().and_then(from_timestamp),
            assignee: None,
            assignee_team: None,
            due_time: None,
            wake_time: None,
            entry_kind: None,
            entry_time: None,
        };
        let active = run.steps.iter().find(|s| s.state == pb::StepState::Active as i32);
        if let Some(s) = active.filter(|_| run.state == pb::RunState::Active as i32) {
            match &s.content {
                Some(pb::run_step::Content::Task(_)) => {
                    c.assignee = Some(s.assignee.clone()).filter(|a| !a.is_empty());
                    c.assignee_team = Some(s.assignee_team.clone()).filter(|a| !a.is_empty());
                    c.due_time = s.due_time.as_ref().and_then(from_timestamp);
                }
                Some(pb::run_step::Content::Wait(w)) => {
                    c.wake_time = w.wake_time.as_ref().and_then(from_timestamp);
                }
                _ => {}
            }
        }
        if let Some(pb::run_origin::Kind::Automatic(a)) =
            run.origin.as_ref().and_then(|o| o.kind.as_ref())
            && let Some(t) = a.entry_time.as_ref().and_then(from_timestamp)
        {
            c.entry_kind = Some(a.trigger_kind);
            c.entry_time = Some(t);
        }
        c
    }
}
