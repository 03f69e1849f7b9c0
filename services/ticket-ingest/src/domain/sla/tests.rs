//! Unit tests of SLA policies, worked in minutes after 2024-03-01T09:00:00Z.

use chrono::{DateTime, TimeDelta, Utc};
use prost_types::{Duration, Timestamp};
use steward_kit::Error;
use steward_proto::ticket::v1 as pb;

use super::*;

const T0: i64 = 1_709_283_600;

fn ts(minutes: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds: T0 + minutes * 60, nanos: 0 })
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(T0 + minutes * 60, 0).expect("in range")
}

/// HIGH: first response within 60 minutes, resolution within 8 hours; LOW: resolution
/// within 3 days only.
fn policy() -> Policy {
    Policy {
        name: "slaPolicies/standard".into(),
        sources: vec![],
        targets: vec![
            PolicyTarget {
                priority: pb::TicketPriority::High as i32,
                first_response: Some(TimeDelta::minutes(60)),
                resolution: Some(TimeDelta::hours(8)),
            },
            PolicyTarget {
                priority: pb::TicketPriority::Low as i32,
                first_response: None,
                resolution: Some(TimeDelta::days(3)),
            },
        ],
    }
}

/// A HIGH ticket created at minute 0.
fn ticket() -> pb::Ticket {
    pb::Ticket {
        priority: pb::TicketPriority::High as i32,
        created_time: ts(0),
        ..Default::default()
    }
}

/// `(metric, state, due minute, completed minute, origin)` of a target.
type Worked = (M, S, Option<i64>, Option<i64>, i32);

fn targets(t: &pb::Ticket) -> Vec<Worked> {
    let minute = |x: &Option<Timestamp>| x.as_ref().map(|x| (x.seconds - T0) / 60);
    t.sla
        .iter()
        .map(|s| {
            let metric = M::try_from(s.metric).expect("metric");
            let state = S::try_from(s.state).expect("state");
            (metric, state, minute(&s.due_time), minute(&s.completed_time), s.origin)
        })
        .collect()
}

const POLICY: i32 = pb::SlaOrigin::Policy as i32;
const PLATFORM: i32 = pb::SlaOrigin::Platform as i32;

#[test]
fn targets_run_from_creation_and_are_active_before_due() {
    let mut t = ticket();
    apply(&mut t, Some(&policy()), &[], at(30));
    assert_eq!(
        targets(&t),
        [
            (M::FirstResponse, S::Active, Some(60), None, POLICY),
            (M::Resolution, S::Active, Some(480), None, POLICY),
        ]
    );
    assert!(t.sla.iter().all(|s| s.name_raw == "slaPolicies/standard"));
}

#[test]
fn fulfilment_by_the_due_time_is_met_and_later_is_breached() {
    let mut t = ticket();
    t.first_response_time = ts(60); // exactly on time
    t.first_resolved_time = ts(481); // a minute late
    apply(&mut t, Some(&policy()), &[], at(600));
    assert_eq!(
        targets(&t),
        [
            (M::FirstResponse, S::Met, Some(60), Some(60), POLICY),
            (M::Resolution, S::Breached, Some(480), Some(481), POLICY),
        ]
    );
}

#[test]
fn unfulfilled_targets_are_breached_from_their_due_time() {
    let mut t = ticket();
    apply(&mut t, Some(&policy()), &[], at(60));
    assert_eq!(targets(&t)[0], (M::FirstResponse, S::Breached, Some(60), None, POLICY));
    assert_eq!(targets(&t)[1].1, S::Active);
}

#[test]
fn deleted_tickets_have_cancelled_targets() {
    let mut t = ticket();
    t.deleted = true;
    t.first_response_time = ts(10);
    apply(&mut t, Some(&policy()), &[], at(30));
    assert!(t.sla.iter().all(|s| s.state == S::Cancelled as i32));
}

#[test]
fn platform_targets_win_per_metric() {
    let mut t = ticket();
    t.sla.push(pb::SlaTarget {
        metric: M::FirstResponse as i32,
        name_raw: "Zendesk Gold".into(),
        state: S::Active as i32,
        origin: PLATFORM,
        ..Default::default()
    });
    apply(&mut t, Some(&policy()), &[], at(30));
    assert_eq!(
        targets(&t),
        [
            (M::FirstResponse, S::Active, None, None, PLATFORM),
            (M::Resolution, S::Active, Some(480), None, POLICY),
        ]
    );
}

#[test]
fn decided_targets_keep_their_policy_and_active_ones_follow_the_new_one() {
    // Stored under an older 30-minute policy: first response breached, resolution running.
    let previous = vec![
        pb::SlaTarget {
            metric: M::FirstResponse as i32,
            name_raw: "slaPolicies/old".into(),
            due_time: ts(30),
            state: S::Breached as i32,
            origin: POLICY,
            ..Default::default()
        },
        pb::SlaTarget {
            metric: M::Resolution as i32,
            name_raw: "slaPolicies/old".into(),
            due_time: ts(120),
            state: S::Active as i32,
            origin: POLICY,
            ..Default::default()
        },
    ];
    let mut t = ticket();
    t.sla = previous.clone(); // the stored copy's targets come back with it
    t.first_response_time = ts(45);
    apply(&mut t, Some(&policy()), &previous, at(50));
    assert_eq!(t.sla[0], previous[0], "kept as decided, even though 45 < 60 now");
    assert_eq!(targets(&t)[1], (M::Resolution, S::Active, Some(480), None, POLICY));
    assert_eq!(t.sla[1].name_raw, "slaPolicies/standard");
}

#[test]
fn no_policy_or_no_target_for_the_priority_means_no_policy_target() {
    let mut t = ticket();
    t.sla.push(pb::SlaTarget {
        metric: M::Resolution as i32,
        state: S::Active as i32,
        origin: POLICY,
        ..Default::default()
    });
    apply(&mut t, None, &[], at(30));
    assert!(t.sla.is_empty(), "stale POLICY targets are dropped");

    t.priority = pb::TicketPriority::Urgent as i32;
    apply(&mut t, Some(&policy()), &[], at(30));
    assert!(t.sla.is_empty(), "no fall-through to another priority");

    t.priority = pb::TicketPriority::Low as i32;
    apply(&mut t, Some(&policy()), &[], at(30));
    assert_eq!(targets(&t), [(M::Resolution, S::Active, Some(3 * 24 * 60), None, POLICY)]);
}

#[test]
fn effective_state_breaches_overdue_active_targets() {
    let target = pb::SlaTarget {
        metric: M::FirstResponse as i32,
        due_time: ts(60),
        state: S::Active as i32,
        ..Default::default()
    };
    assert_eq!(effective_state(&target, at(59)), S::Active as i32);
    assert_eq!(effective_state(&target, at(60)), S::Breached as i32);
    let done = pb::SlaTarget { completed_time: ts(61), ..target.clone() };
    assert_eq!(
        effective_state(&done, at(90)),
        S::Active as i32,
        "fulfilment is the platform's to judge"
    );
    let paused = pb::SlaTarget { state: S::Paused as i32, ..target };
    assert_eq!(effective_state(&paused, at(90)), S::Paused as i32);
}

#[test]
fn the_listing_policy_wins_over_the_catch_all() {
    let catch_all = Policy { name: "slaPolicies/all".into(), ..policy() };
    let zendesk = Policy { name: "slaPolicies/zd".into(), sources: vec![1], ..policy() };
    let policies = [catch_all, zendesk];
    assert_eq!(applicable(&policies, 1).map(|p| p.name.as_str()), Some("slaPolicies/zd"));
    assert_eq!(applicable(&policies, 2).map(|p| p.name.as_str()), Some("slaPolicies/all"));
    assert_eq!(applicable(&policies[1..], 2), None);
}

#[test]
fn conflicts_are_shared_sources_or_two_catch_alls() {
    let existing = [
        Policy { name: "slaPolicies/all".into(), ..policy() },
        Policy { name: "slaPolicies/zd".into(), sources: vec![1, 3], ..policy() },
    ];
    assert!(conflicts(&existing, "slaPolicies/new", &[]));
    assert!(conflicts(&existing, "slaPolicies/new", &[2, 3]));
    assert!(!conflicts(&existing, "slaPolicies/new", &[2]));
    // Updating a policy does not conflict with its own stored copy.
    assert!(!conflicts(&existing, "slaPolicies/all", &[]));
    assert!(!conflicts(&existing, "slaPolicies/zd", &[1, 3, 4]));
}

fn dur(seconds: i64, nanos: i32) -> Option<Duration> {
    Some(Duration { seconds, nanos })
}

fn input() -> pb::SlaPolicy {
    pb::SlaPolicy {
        display_name: "  Standard  ".into(),
        targets: vec![pb::SlaPolicyTarget {
            priority: pb::TicketPriority::High as i32,
            first_response: dur(3600, 0),
            resolution: None,
        }],
        sources: vec![1, 5],
        ..Default::default()
    }
}

#[test]
fn valid_fields_are_parsed() {
    let fields = parse_fields(&input(), "sla_policy").expect("valid");
    assert_eq!(fields.display_name, "Standard");
    assert_eq!(fields.sources, [1, 5]);
    assert_eq!(
        fields.targets,
        [PolicyTarget {
            priority: pb::TicketPriority::High as i32,
            first_response: Some(TimeDelta::hours(1)),
            resolution: None,
        }]
    );

    let mut year = input();
    year.targets[0].first_response = dur(MAX_SECONDS, 0);
    year.targets[0].resolution = dur(0, 1);
    assert!(parse_fields(&year, "sla_policy").is_ok(), "1 ns and 365 days are the bounds");
}

#[test]
fn every_bad_field_is_named() {
    let target = |priority: i32, fr, res| pb::SlaPolicyTarget {
        priority,
        first_response: fr,
        resolution: res,
    };
    let bad = pb::SlaPolicy {
        display_name: "   ".into(),
        targets: vec![
            target(1, dur(60, 0), None),
            target(1, dur(-60, 0), None),
            target(2, None, dur(MAX_SECONDS, 1)),
            target(9, None, None),
            target(3, dur(1, -5), dur(0, 0)),
            target(4, dur(60, 0), None),
        ],
        sources: vec![0, 1, 1, 99],
        ..Default::default()
    };
    let fields = match parse_fields(&bad, "sla_policy") {
        Err(Error::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect::<Vec<_>>(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    };
    assert_eq!(
        fields,
        [
            "sla_policy.display_name",
            "sla_policy.targets",
            "sla_policy.targets[1].priority",
            "sla_policy.targets[1].first_response",
            "sla_policy.targets[2].resolution",
            "sla_policy.targets[3].priority",
            "sla_policy.targets[3]",
            "sla_policy.targets[4].first_response",
            "sla_policy.targets[4].resolution",
            "sla_policy.sources[0]",
            "sla_policy.sources[2]",
            "sla_policy.sources[3]",
        ]
    );

    let empty = pb::SlaPolicy { display_name: "x".into(), ..Default::default() };
    assert!(parse_fields(&empty, "sla_policy").is_err(), "at least one target");
}

#[test]
fn a_stored_active_target_past_due_is_kept_as_breached_under_a_new_policy() {
    use chrono::Duration;
    let created = chrono::DateTime::from_timestamp(1_772_442_000, 0).expect("valid");
    let mut ticket = pb::Ticket {
        priority: pb::TicketPriority::High as i32,
        created_time: Some(steward_kit::time::timestamp(created)),
        ..Default::default()
    };
    // Decided ACTIVE at ingest, due after 2 hours; nobody answered.
    let stored = pb::SlaTarget {
        metric: pb::SlaMetric::FirstResponse as i32,
        name_raw: "slaPolicies/old".into(),
        due_time: Some(steward_kit::time::timestamp(created + Duration::hours(2))),
        state: pb::SlaState::Active as i32,
        origin: pb::SlaOrigin::Policy as i32,
        ..Default::default()
    };
    let lenient = Policy {
        name: "slaPolicies/new".into(),
        sources: vec![],
        targets: vec![PolicyTarget {
            priority: pb::TicketPriority::High as i32,
            first_response: Some(Duration::hours(8)),
            resolution: None,
        }],
    };
    // Three hours later the policy moves to 8 hours: the breach at 2 hours stands.
    apply(&mut ticket, Some(&lenient), std::slice::from_ref(&stored), created + Duration::hours(3));
    assert_eq!(
        ticket.sla,
        [pb::SlaTarget { state: pb::SlaState::Breached as i32, ..stored.clone() }]
    );
    // One hour in, the same target was still running: it is recomputed under the new policy.
    let mut early = pb::Ticket { sla: vec![], ..ticket.clone() };
    apply(&mut early, Some(&lenient), &[stored], created + Duration::hours(1));
    assert_eq!(early.sla.len(), 1);
    assert_eq!(early.sla[0].name_raw, "slaPolicies/new");
    assert_eq!(early.sla[0].state, pb::SlaState::Active as i32);
}
