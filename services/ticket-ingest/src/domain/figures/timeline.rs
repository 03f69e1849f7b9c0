//! A ticket's past: its state at an instant, whether it was reopened by one, and when its SLA
//! targets were decided. The rules are documented on [`super::figures`].

use chrono::{DateTime, Utc};
use steward_proto::ticket::v1 as pb;

use super::{EventFact, SlaFact, TicketFacts};

/// A ticket's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Not created yet.
    Absent,
    /// In the backlog; `actionable` = NEW or OPEN.
    Open { actionable: bool },
    /// SOLVED or CLOSED.
    Resolved,
}

/// `status` is NEW, OPEN, PENDING or ON_HOLD.
fn is_open(status: i32) -> bool {
    [
        pb::TicketStatus::New,
        pb::TicketStatus::Open,
        pb::TicketStatus::Pending,
        pb::TicketStatus::OnHold,
    ]
    .iter()
    .any(|s| *s as i32 == status)
}

/// `status` is SOLVED or CLOSED.
pub(super) fn is_resolved(status: i32) -> bool {
    status == pb::TicketStatus::Solved as i32 || status == pb::TicketStatus::Closed as i32
}

fn is_kind(e: &EventFact, kinds: &[pb::TicketEventKind]) -> bool {
    kinds.iter().any(|k| *k as i32 == e.kind)
}

/// The latest of `events` at or before `at`; of several at the same instant, the last one
/// recorded.
fn latest<'a>(
    events: impl Iterator<Item = &'a EventFact>,
    at: DateTime<Utc>,
) -> Option<&'a EventFact> {
    events.filter(|e| e.time <= at).fold(None, |best, e| match best {
        Some(b) if b.time > e.time => Some(b),
        _ => Some(e),
    })
}

use pb::TicketEventKind as Kind;

/// Events that change whether the ticket is open.
const TRANSITIONS: &[Kind] = &[Kind::Solved, Kind::Closed, Kind::Reopened];
/// Events that carry the status the ticket moved to.
const STATUS_SETTERS: &[Kind] = &[Kind::Created, Kind::StatusChanged, Kind::Reopened];
/// Every event that says something about the status.
const LIFECYCLE: &[Kind] =
    &[Kind::Created, Kind::StatusChanged, Kind::Solved, Kind::Closed, Kind::Reopened];

/// `t`'s state at `at`.
pub(super) fn state_at(t: &TicketFacts, at: DateTime<Utc>) -> State {
    if t.created >= at {
        return State::Absent;
    }
    let open = |status: i32| State::Open {
        actionable: status == pb::TicketStatus::New as i32
            || status == pb::TicketStatus::Open as i32,
    };
    // An open status the ticket is known to be in now, else OPEN: being worked on is the safe
    // reading of "open, status unknown".
    let current_open = if is_open(t.status) { t.status } else { pb::TicketStatus::Open as i32 };
    if !t.events.iter().any(|e| is_kind(e, LIFECYCLE)) {
        // No history (e.g. stored before events were recorded): the ticket's own times.
        if !is_resolved(t.status) {
            return open(current_open);
        }
        return match t.resolved.or(t.first_resolved) {
            Some(resolved) if resolved > at => open(current_open),
            _ => State::Resolved,
        };
    }
    let transition = latest(t.events.iter().filter(|e| is_kind(e, TRANSITIONS)), at);
    if transition.is_some_and(|e| e.kind != Kind::Reopened as i32) {
        return State::Resolved;
    }
    let status = latest(
        t.events.iter().filter(|e| is_kind(e, STATUS_SETTERS) && e.status.is_some_and(is_open)),
        at,
    )
    .and_then(|e| e.status)
    .unwrap_or(current_open);
    open(status)
}

/// `t` was reopened before `by`: a REOPENED event, or the platform's count of reopens with
/// the latest one before `by` (or at an unknown time).
pub(super) fn reopened_before(t: &TicketFacts, by: DateTime<Utc>) -> bool {
    t.events.iter().any(|e| e.kind == Kind::Reopened as i32 && e.time < by)
        || (t.platform_reopened && t.last_reopened.is_none_or(|r| r < by))
}

/// How and when an SLA target was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    /// `completed` when MET, `due` when BREACHED.
    pub(super) at: DateTime<Utc>,
    /// BREACHED (else MET).
    pub(super) breached: bool,
}

/// When `target` was decided; `None` when it was not (yet) or cannot be told.
pub(super) fn decision(target: &SlaFact) -> Option<Decision> {
    let met = |at| Decision { at, breached: false };
    let breached = |at| Decision { at, breached: true };
    match pb::SlaState::try_from(target.state) {
        Ok(pb::SlaState::Met) => target.completed.map(met),
        Ok(pb::SlaState::Breached) => target.due.map(breached),
        // A stored ACTIVE state may lag behind time: judge it by its times.
        Ok(pb::SlaState::Active) => match (target.due, target.completed) {
            (Some(due), Some(done)) if done <= due => Some(met(done)),
            (Some(due), _) => Some(breached(due)),
            (None, _) => None,
        },
        _ => None,
    }
}
