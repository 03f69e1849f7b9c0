//! A ticket's past: its state at an instant, whether it was reopened by one, and when its SLA
//! targets were decided. The rules are documented on [`super::figures`].

use chrono::{DateTime, Utc};
use pb::TicketEventKind as Kind;
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

/// `e` is of one of `kinds`.
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

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use pb::{SlaState as Sla, TicketStatus as Status};

    use super::*;

    /// Hour `h` of 2026-03-01 (UTC).
    fn h(hour: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("valid time")
            + Duration::hours(hour)
    }

    fn ev(kind: Kind, hour: i64, status: Option<Status>) -> EventFact {
        EventFact { kind: kind as i32, time: h(hour), status: status.map(|s| s as i32) }
    }

    fn facts(status: Status, events: Vec<EventFact>) -> TicketFacts {
        TicketFacts {
            source: pb::Source::Zendesk as i32,
            segment: String::new(),
            priority: 0,
            category: String::new(),
            status: status as i32,
            created: h(1),
            first_response: None,
            first_resolved: None,
            resolved: None,
            csat: None,
            sla: Vec::new(),
            events,
            platform_reopened: false,
            last_reopened: None,
        }
    }

    const ACTIONABLE: State = State::Open { actionable: true };
    const WAITING: State = State::Open { actionable: false };

    /// NEW at 1, PENDING at 2, solved at 3, reopened to ON_HOLD at 5, OPEN at 6.
    #[test]
    fn the_state_follows_the_events() {
        let t = facts(
            Status::Open,
            vec![
                ev(Kind::Reopened, 5, Some(Status::OnHold)),
                ev(Kind::Created, 1, Some(Status::New)),
                ev(Kind::StatusChanged, 2, Some(Status::Pending)),
                ev(Kind::StatusChanged, 3, Some(Status::Solved)),
                ev(Kind::Solved, 3, Some(Status::Solved)),
                ev(Kind::CsatRated, 4, None),
                ev(Kind::StatusChanged, 6, Some(Status::Open)),
            ],
        );
        let states: Vec<State> =
            [1, 2, 3, 4, 5, 6].into_iter().map(|hour| state_at(&t, h(hour))).collect();
        // At 1 the ticket is not created yet (created < t); events at an instant apply at it.
        assert_eq!(
            states,
            [State::Absent, WAITING, State::Resolved, State::Resolved, WAITING, ACTIONABLE]
        );
    }

    /// First seen already solved: CREATED says SOLVED, but the ticket was open (status
    /// unknown: OPEN) until its SOLVED event.
    #[test]
    fn a_ticket_first_seen_solved_was_open_until_its_resolution() {
        let t = facts(
            Status::Solved,
            vec![
                ev(Kind::Created, 1, Some(Status::Solved)),
                ev(Kind::Solved, 10, Some(Status::Solved)),
            ],
        );
        assert_eq!((state_at(&t, h(5)), state_at(&t, h(10))), (ACTIONABLE, State::Resolved));
    }

    /// Of events at the same instant, the one recorded last decides.
    #[test]
    fn ties_go_to_the_later_recorded_event() {
        let solved = ev(Kind::Solved, 4, Some(Status::Solved));
        let reopened = ev(Kind::Reopened, 4, Some(Status::Open));
        let t = facts(Status::Open, vec![solved, reopened]);
        assert_eq!(state_at(&t, h(4)), ACTIONABLE);
        let t = facts(Status::Open, vec![reopened, solved]);
        assert_eq!(state_at(&t, h(4)), State::Resolved);
    }

    /// Without lifecycle events (a CSAT event says nothing about the status): the times.
    #[test]
    fn without_events_the_ticket_times_decide() {
        let rated = vec![ev(Kind::CsatRated, 2, None)];
        let mut t = facts(Status::Closed, rated);
        t.first_resolved = Some(h(3));
        t.resolved = Some(h(8));
        assert_eq!((state_at(&t, h(5)), state_at(&t, h(8))), (ACTIONABLE, State::Resolved));
        // Closed, when unknown: never in the backlog.
        t.resolved = None;
        t.first_resolved = None;
        assert_eq!(state_at(&t, h(2)), State::Resolved);
        // Open now: open all along, in its current status; `resolved` of an open ticket is
        // ignored.
        t.status = Status::Pending as i32;
        t.resolved = Some(h(3));
        assert_eq!(state_at(&t, h(5)), WAITING);
    }

    #[test]
    fn reopens_count_before_the_instant() {
        let mut t = facts(Status::Open, vec![ev(Kind::Reopened, 5, Some(Status::Open))]);
        assert_eq!((reopened_before(&t, h(5)), reopened_before(&t, h(6))), (false, true));
        t.events.clear();
        t.platform_reopened = true;
        assert!(reopened_before(&t, h(2)));
        t.last_reopened = Some(h(7));
        assert_eq!((reopened_before(&t, h(7)), reopened_before(&t, h(8))), (false, true));
    }

    #[test]
    fn sla_targets_are_decided_by_state_and_time() {
        let target = |due: Option<i64>, completed: Option<i64>, state: Sla| SlaFact {
            metric: pb::SlaMetric::FirstResponse as i32,
            due: due.map(h),
            completed: completed.map(h),
            state: state as i32,
        };
        let met = |hour| Some(Decision { at: h(hour), breached: false });
        let breached = |hour| Some(Decision { at: h(hour), breached: true });
        let cases = [
            (target(Some(5), Some(3), Sla::Met), met(3)),
            (target(Some(5), None, Sla::Met), None),
            (target(Some(5), Some(8), Sla::Breached), breached(5)),
            (target(None, Some(8), Sla::Breached), None),
            (target(Some(5), None, Sla::Active), breached(5)),
            (target(Some(5), Some(8), Sla::Active), breached(5)),
            (target(Some(5), Some(5), Sla::Active), met(5)),
            (target(None, Some(2), Sla::Active), None),
            (target(Some(5), Some(3), Sla::Paused), None),
            (target(Some(5), Some(3), Sla::Cancelled), None),
            (target(Some(5), Some(3), Sla::Unspecified), None),
        ];
        for (i, (target, expected)) in cases.iter().enumerate() {
            assert_eq!(decision(target), *expected, "case {i}");
        }
    }
}
