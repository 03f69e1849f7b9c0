//! Unit tests of event derivation, with concrete tickets.

use prost_types::Timestamp;
use steward_proto::ticket::v1 as pb;

use super::{Event, derive};
use pb::TicketEventKind as K;
use pb::TicketStatus as St;

/// Minutes after 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;

fn ts(minutes: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds: T0 + minutes * 60, nanos: 0 })
}

/// A NEW ticket created at minute 0, this snapshot at minute 10.
fn ticket() -> pb::Ticket {
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        external_id: "1".into(),
        status: St::New as i32,
        created_time: ts(0),
        source_update_time: ts(10),
        ..Default::default()
    }
}

/// `(kind, minute, from, to)` of each event.
fn summary(events: &[Event]) -> Vec<(K, i64, String, String)> {
    events
        .iter()
        .map(|e| {
            let minute = (e.event_time.timestamp() - T0) / 60;
            (e.kind, minute, e.from_value.clone(), e.to_value.clone())
        })
        .collect()
}

fn ev(kind: K, minute: i64, from: &str, to: &str) -> (K, i64, String, String) {
    (kind, minute, from.into(), to.into())
}

fn target(metric: pb::SlaMetric, state: pb::SlaState, origin: pb::SlaOrigin) -> pb::SlaTarget {
    pb::SlaTarget {
        metric: metric as i32,
        state: state as i32,
        origin: origin as i32,
        ..Default::default()
    }
}

#[test]
fn a_first_snapshot_is_created_with_its_status() {
    assert_eq!(summary(&derive(None, &ticket())), [ev(K::Created, 0, "", "TICKET_STATUS_NEW")]);
}

#[test]
fn a_first_snapshot_already_solved_records_when_it_was_solved() {
    let mut t = ticket();
    t.status = St::Solved as i32;
    t.resolved_time = ts(7);
    assert_eq!(
        summary(&derive(None, &t)),
        [
            ev(K::Created, 0, "", "TICKET_STATUS_SOLVED"),
            ev(K::Solved, 7, "", "TICKET_STATUS_SOLVED")
        ]
    );

    // Closed without closed_time: the snapshot's time.
    t.status = St::Closed as i32;
    assert_eq!(summary(&derive(None, &t))[1], ev(K::Closed, 10, "", "TICKET_STATUS_CLOSED"));
}

#[test]
fn a_first_snapshot_records_decided_targets_rating_and_deletion() {
    let mut t = ticket();
    t.deleted = true;
    let mut met = target(pb::SlaMetric::FirstResponse, pb::SlaState::Met, pb::SlaOrigin::Platform);
    met.completed_time = ts(3);
    let mut breached =
        target(pb::SlaMetric::Resolution, pb::SlaState::Breached, pb::SlaOrigin::Policy);
    breached.due_time = ts(8);
    let active = target(pb::SlaMetric::NextResponse, pb::SlaState::Active, pb::SlaOrigin::Platform);
    t.sla = vec![breached, active, met];
    t.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Good as i32,
        rate_time: ts(5),
        ..Default::default()
    });
    assert_eq!(
        summary(&derive(None, &t)),
        [
            ev(K::Created, 0, "", "TICKET_STATUS_NEW"),
            ev(K::SlaMet, 3, "", "SLA_METRIC_FIRST_RESPONSE"),
            ev(K::CsatRated, 5, "", "CSAT_SENTIMENT_GOOD"),
            ev(K::SlaBreached, 8, "", "SLA_METRIC_RESOLUTION"),
            ev(K::Deleted, 10, "", ""),
        ]
    );
}

#[test]
fn created_comes_first_even_when_other_times_are_earlier() {
    let mut t = ticket();
    let mut met = target(pb::SlaMetric::FirstResponse, pb::SlaState::Met, pb::SlaOrigin::Platform);
    met.completed_time = ts(-5);
    t.sla = vec![met];
    let kinds: Vec<_> = derive(None, &t).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [K::Created, K::SlaMet]);
}

#[test]
fn an_identical_snapshot_has_no_events() {
    let mut t = ticket();
    t.csat = Some(pb::CsatRating { sentiment: 3, ..Default::default() });
    t.sla = vec![target(pb::SlaMetric::Resolution, pb::SlaState::Met, pb::SlaOrigin::Policy)];
    assert!(derive(Some(&t), &t).is_empty());
}

#[test]
fn solving_records_the_status_change_and_the_solve() {
    let old = ticket();
    let mut new = ticket();
    new.status = St::Solved as i32;
    new.resolved_time = ts(9);
    new.source_update_time = ts(12);
    assert_eq!(
        summary(&derive(Some(&old), &new)),
        [
            ev(K::Solved, 9, "TICKET_STATUS_NEW", "TICKET_STATUS_SOLVED"),
            ev(K::StatusChanged, 12, "TICKET_STATUS_NEW", "TICKET_STATUS_SOLVED"),
        ]
    );
}

#[test]
fn closing_a_solved_ticket_is_closed_from_solved() {
    let mut old = ticket();
    old.status = St::Solved as i32;
    let mut new = old.clone();
    new.status = St::Closed as i32;
    assert_eq!(
        summary(&derive(Some(&old), &new)),
        [
            ev(K::StatusChanged, 10, "TICKET_STATUS_SOLVED", "TICKET_STATUS_CLOSED"),
            ev(K::Closed, 10, "TICKET_STATUS_SOLVED", "TICKET_STATUS_CLOSED"),
        ]
    );
}

#[test]
fn leaving_solved_for_an_open_status_is_a_reopen() {
    let mut old = ticket();
    old.status = St::Solved as i32;
    let mut new = ticket();
    new.status = St::Open as i32;
    new.source_update_time = ts(30);
    new.last_reopened_time = ts(25);
    assert_eq!(
        summary(&derive(Some(&old), &new)),
        [
            ev(K::Reopened, 25, "TICKET_STATUS_SOLVED", "TICKET_STATUS_OPEN"),
            ev(K::StatusChanged, 30, "TICKET_STATUS_SOLVED", "TICKET_STATUS_OPEN"),
        ]
    );

    // Without last_reopened_time: the snapshot's time; between open statuses: no reopen.
    new.last_reopened_time = None;
    assert_eq!(summary(&derive(Some(&old), &new))[0].0, K::StatusChanged);
    assert_eq!(
        summary(&derive(Some(&old), &new))[1],
        ev(K::Reopened, 30, "TICKET_STATUS_SOLVED", "TICKET_STATUS_OPEN")
    );
    let kinds: Vec<_> = derive(Some(&ticket()), &new).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [K::StatusChanged]);
}

#[test]
fn priority_and_assignee_changes() {
    let mut old = ticket();
    old.priority = pb::TicketPriority::Normal as i32;
    old.assignee = Some(pb::PartyRef { id: "agent-1".into(), ..Default::default() });
    old.group = Some(pb::PartyRef { id: "tier1".into(), ..Default::default() });
    let mut new = old.clone();
    new.priority = pb::TicketPriority::Urgent as i32;
    new.assignee = Some(pb::PartyRef { id: "agent-2".into(), ..Default::default() });
    new.group = Some(pb::PartyRef { id: "tier2".into(), ..Default::default() });
    assert_eq!(
        summary(&derive(Some(&old), &new)),
        [
            ev(K::PriorityChanged, 10, "TICKET_PRIORITY_NORMAL", "TICKET_PRIORITY_URGENT"),
            ev(K::AssigneeChanged, 10, "agent-1", "agent-2"),
        ]
    );

    // Only the group moved (and the agent's display name changed, which is no reassignment).
    let mut moved = old.clone();
    moved.group = None;
    moved.assignee = Some(pb::PartyRef {
        id: "agent-1".into(),
        display_name: "Ada".into(),
        ..Default::default()
    });
    assert_eq!(
        summary(&derive(Some(&old), &moved)),
        [ev(K::AssigneeChanged, 10, "group:tier1", "")]
    );
}

#[test]
fn csat_is_rated_when_it_appears_or_its_verdict_changes() {
    let old = ticket();
    let mut rated = ticket();
    rated.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Good as i32,
        score_raw: "good".into(),
        ..Default::default()
    });
    assert_eq!(
        summary(&derive(Some(&old), &rated)),
        [ev(K::CsatRated, 10, "", "CSAT_SENTIMENT_GOOD")]
    );

    let mut commented = rated.clone();
    if let Some(c) = commented.csat.as_mut() {
        c.comment = "thanks".into();
    }
    assert!(derive(Some(&rated), &commented).is_empty(), "a comment alone is no new rating");

    let mut changed = rated.clone();
    changed.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Bad as i32,
        score_raw: "bad".into(),
        rate_time: ts(40),
        ..Default::default()
    });
    assert_eq!(
        summary(&derive(Some(&rated), &changed)),
        [ev(K::CsatRated, 40, "CSAT_SENTIMENT_GOOD", "CSAT_SENTIMENT_BAD")]
    );

    let mut offered = ticket();
    offered.csat = Some(pb::CsatRating { score_raw: "offered".into(), ..Default::default() });
    assert!(derive(Some(&old), &offered).is_empty(), "an unanswered offer is no rating");
    // Answering the offer: a rating with no previous verdict.
    assert_eq!(summary(&derive(Some(&offered), &rated))[0].2, "");
}

#[test]
fn sla_targets_are_reported_once_when_decided() {
    use pb::{SlaMetric as M, SlaOrigin as O, SlaState as S};
    let mut old = ticket();
    old.sla = vec![target(M::FirstResponse, S::Active, O::Policy)];
    let mut new = ticket();
    let mut breached = target(M::FirstResponse, S::Breached, O::Policy);
    breached.due_time = ts(4);
    new.sla = vec![breached];
    assert_eq!(
        summary(&derive(Some(&old), &new)),
        [ev(K::SlaBreached, 4, "", "SLA_METRIC_FIRST_RESPONSE")]
    );
    assert!(derive(Some(&new), &new).is_empty());

    // A platform target of the same metric is another target.
    let mut platform = new.clone();
    platform.sla = vec![new.sla[0].clone(), target(M::FirstResponse, S::Met, O::Platform)];
    assert_eq!(
        summary(&derive(Some(&new), &platform)),
        [ev(K::SlaMet, 10, "", "SLA_METRIC_FIRST_RESPONSE")]
    );
}

#[test]
fn repeated_targets_are_matched_in_order() {
    use pb::{SlaMetric as M, SlaOrigin as O, SlaState as S};
    let mut old = ticket();
    old.sla = vec![
        target(M::NextResponse, S::Met, O::Platform),
        target(M::NextResponse, S::Active, O::Platform),
    ];
    let mut new = ticket();
    new.sla = vec![
        target(M::NextResponse, S::Met, O::Platform),
        target(M::NextResponse, S::Met, O::Platform),
    ];
    let kinds: Vec<_> = derive(Some(&old), &new).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [K::SlaMet], "only the second cycle is newly met");
}

#[test]
fn deletion_and_restore() {
    let old = ticket();
    let mut deleted = ticket();
    deleted.deleted = true;
    deleted.source_update_time = ts(20);
    assert_eq!(summary(&derive(Some(&old), &deleted)), [ev(K::Deleted, 20, "", "")]);

    let mut restored = ticket();
    restored.source_update_time = ts(30);
    restored.status = St::Open as i32;
    assert_eq!(
        summary(&derive(Some(&deleted), &restored)),
        [
            ev(K::Restored, 30, "", ""),
            ev(K::StatusChanged, 30, "TICKET_STATUS_NEW", "TICKET_STATUS_OPEN"),
        ]
    );
}
