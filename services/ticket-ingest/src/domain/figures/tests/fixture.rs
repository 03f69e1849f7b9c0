//! The worked example: one account's tickets over two weeks.
//!
//! Times are `t(day, hour)` = 2026-03-{day} {hour}:00 UTC (day ≤ 0 counts back into
//! February: `t(0, 0)` is Feb 28). The summary is as of `t(15, 0)` with a 7-day window:
//! current `[t(8,0), t(15,0))`, previous `[t(1,0), t(8,0))`, history windows
//! `[t(-6,0), t(1,0))`, `[t(-13,0), t(-6,0))`, `[t(-20,0), t(-13,0))`.
//!
//! | ticket | created | priority / category | what happens |
//! | --- | --- | --- | --- |
//! | A | t(8,9) | HIGH billing | replied t(8,10), solved t(8,17); GOOD t(9,0); FR and RES targets MET |
//! | B | t(9,0) | URGENT billing | replied t(9,4), solved t(10,0), reopened t(11,0), solved t(12,0); BAD t(12,6); FR and RES BREACHED |
//! | C | t(10,12) | NORMAL login | replied t(11,12), PENDING since; FR BREACHED, RES ACTIVE past due |
//! | D | t(14,6) | HIGH, uncategorized | NEW; FR ACTIVE due after the window; unlinked |
//! | E | t(12,0) | UNSPECIFIED login | OPEN, replied t(15,2) (after the window); NEXT_RESPONSE ACTIVE met in time |
//! | F | t(2,0) | HIGH billing | replied t(2,2), closed t(3,0); GOOD t(3,6); FR MET |
//! | G | t(6,0) | NORMAL billing | replied t(6,1), solved t(7,12), reopened t(9,0), solved t(9,12); NEUTRAL t(10,0); RES MET |
//! | H | t(-20,0) | LOW login | ON_HOLD since t(-19,0); FR BREACHED long ago |
//! | I | t(-10,0) | NORMAL billing | no events (legacy): SOLVED t(9,0), the platform counts a reopen (time unknown) |
//! | J | t(-3,0) | LOW login | closed t(-2,0); an unanswered CSAT offer |

use chrono::{DateTime, Duration, TimeZone, Utc};
use pb::{SlaMetric as Metric, SlaState as Sla, TicketEventKind as Kind, TicketStatus as Status};
use steward_proto::ticket::v1 as pb;

use super::super::{Csat, EventFact, SlaFact, TicketFacts};

pub(super) fn t(day: i64, hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("valid time")
        + Duration::days(day - 1)
        + Duration::hours(hour)
}

pub(super) fn hours(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: n * 3600, nanos: 0 })
}

pub(super) fn minutes(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: n * 60, nanos: 0 })
}

pub(super) fn ev(kind: Kind, time: DateTime<Utc>, status: Option<Status>) -> EventFact {
    EventFact { kind: kind as i32, time, status: status.map(|s| s as i32) }
}

pub(super) fn sla(
    metric: Metric,
    due: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
    state: Sla,
) -> SlaFact {
    SlaFact { metric: metric as i32, due, completed, state: state as i32 }
}

pub(super) fn csat(sentiment: pb::CsatSentiment, rate_time: DateTime<Utc>) -> Option<Csat> {
    Some(Csat { sentiment: sentiment as i32, rate_time })
}

pub(super) fn ticket(
    priority: pb::TicketPriority,
    category: &str,
    status: Status,
    created: DateTime<Utc>,
) -> TicketFacts {
    TicketFacts {
        source: pb::Source::Zendesk as i32,
        segment: "SEGMENT_SMB".into(),
        priority: priority as i32,
        category: category.into(),
        status: status as i32,
        created,
        first_response: None,
        first_resolved: None,
        resolved: None,
        csat: None,
        sla: Vec::new(),
        events: vec![ev(Kind::Created, created, Some(Status::New))],
        platform_reopened: false,
        last_reopened: None,
    }
}

pub(super) fn counts(by_priority: [i32; 5]) -> Vec<pb::PriorityCount> {
    use pb::TicketPriority as P;
    [P::Unspecified, P::Low, P::Normal, P::High, P::Urgent]
        .into_iter()
        .zip(by_priority)
        .map(|(p, count)| pb::PriorityCount { priority: p as i32, count })
        .collect()
}

pub(super) fn category(name: &str, by_priority: [i32; 5]) -> pb::CategoryCount {
    pb::CategoryCount {
        category: name.into(),
        count: by_priority.iter().sum(),
        by_priority: counts(by_priority),
    }
}

/// The tickets of the table in the header.
pub(super) fn tickets() -> Vec<TicketFacts> {
    use pb::CsatSentiment::{Bad, Good, Neutral, Unspecified as Unrated};
    use pb::TicketPriority::{High, Low, Normal, Unspecified, Urgent};
    let a = TicketFacts {
        first_response: Some(t(8, 10)),
        first_resolved: Some(t(8, 17)),
        resolved: Some(t(8, 17)),
        csat: csat(Good, t(9, 0)),
        sla: vec![
            // Cancelled: not the RESOLUTION target the ratio uses, and never decided.
            sla(Metric::Resolution, Some(t(8, 10)), None, Sla::Cancelled),
            sla(Metric::FirstResponse, Some(t(8, 13)), Some(t(8, 10)), Sla::Met),
            sla(Metric::Resolution, Some(t(9, 9)), Some(t(8, 17)), Sla::Met),
        ],
        events: vec![
            ev(Kind::Created, t(8, 9), Some(Status::New)),
            ev(Kind::Solved, t(8, 17), Some(Status::Solved)),
        ],
        ..ticket(High, "billing", Status::Solved, t(8, 9))
    };
    let b = TicketFacts {
        first_response: Some(t(9, 4)),
        first_resolved: Some(t(10, 0)),
        resolved: Some(t(12, 0)),
        csat: csat(Bad, t(12, 6)),
        sla: vec![
            sla(Metric::FirstResponse, Some(t(9, 1)), Some(t(9, 4)), Sla::Breached),
            sla(Metric::Resolution, Some(t(9, 8)), Some(t(10, 0)), Sla::Breached),
        ],
        // In any order across times: the figures look for the latest one before an instant.
        events: vec![
            ev(Kind::Solved, t(12, 0), Some(Status::Solved)),
            ev(Kind::Created, t(9, 0), Some(Status::New)),
            ev(Kind::Reopened, t(11, 0), Some(Status::Open)),
            ev(Kind::Solved, t(10, 0), Some(Status::Solved)),
        ],
        ..ticket(Urgent, "billing", Status::Solved, t(9, 0))
    };
    let c = TicketFacts {
        first_response: Some(t(11, 12)),
        sla: vec![
            sla(Metric::FirstResponse, Some(t(10, 20)), Some(t(11, 12)), Sla::Breached),
            // Stored ACTIVE, due t(13,12), unfulfilled: BREACHED at t(13,12).
            sla(Metric::Resolution, Some(t(13, 12)), None, Sla::Active),
        ],
        events: vec![
            ev(Kind::Created, t(10, 12), Some(Status::New)),
            ev(Kind::StatusChanged, t(11, 12), Some(Status::Pending)),
        ],
        ..ticket(Normal, "login", Status::Pending, t(10, 12))
    };
    let d = TicketFacts {
        segment: String::new(),
        sla: vec![sla(Metric::FirstResponse, Some(t(15, 6)), None, Sla::Active)],
        ..ticket(High, "", Status::New, t(14, 6))
    };
    let e = TicketFacts {
        first_response: Some(t(15, 2)),
        sla: vec![
            sla(Metric::FirstResponse, None, None, Sla::Paused),
            // Stored ACTIVE but fulfilled before due: MET at t(12,6).
            sla(Metric::NextResponse, Some(t(13, 0)), Some(t(12, 6)), Sla::Active),
        ],
        events: vec![ev(Kind::Created, t(12, 0), Some(Status::Open))],
        ..ticket(Unspecified, "login", Status::Open, t(12, 0))
    };
    let f = TicketFacts {
        first_response: Some(t(2, 2)),
        first_resolved: Some(t(3, 0)),
        resolved: Some(t(3, 0)),
        csat: csat(Good, t(3, 6)),
        sla: vec![sla(Metric::FirstResponse, Some(t(2, 4)), Some(t(2, 2)), Sla::Met)],
        events: vec![
            ev(Kind::Created, t(2, 0), Some(Status::New)),
            ev(Kind::StatusChanged, t(3, 0), Some(Status::Closed)),
            ev(Kind::Closed, t(3, 0), Some(Status::Closed)),
        ],
        ..ticket(High, "billing", Status::Closed, t(2, 0))
    };
    let g = TicketFacts {
        first_response: Some(t(6, 1)),
        first_resolved: Some(t(7, 12)),
        resolved: Some(t(9, 12)),
        csat: csat(Neutral, t(10, 0)),
        sla: vec![sla(Metric::Resolution, Some(t(8, 0)), Some(t(7, 12)), Sla::Met)],
        events: vec![
            ev(Kind::Created, t(6, 0), Some(Status::New)),
            ev(Kind::Solved, t(7, 12), Some(Status::Solved)),
            ev(Kind::Reopened, t(9, 0), Some(Status::Open)),
            ev(Kind::Solved, t(9, 12), Some(Status::Solved)),
        ],
        ..ticket(Normal, "billing", Status::Solved, t(6, 0))
    };
    let h = TicketFacts {
        source: pb::Source::Intercom as i32,
        sla: vec![sla(Metric::FirstResponse, Some(t(-19, 0)), None, Sla::Breached)],
        events: vec![
            ev(Kind::Created, t(-20, 0), Some(Status::New)),
            ev(Kind::StatusChanged, t(-19, 0), Some(Status::OnHold)),
        ],
        ..ticket(Low, "login", Status::OnHold, t(-20, 0))
    };
    let i = TicketFacts {
        first_resolved: Some(t(9, 0)),
        resolved: Some(t(9, 0)),
        events: Vec::new(),
        platform_reopened: true,
        ..ticket(Normal, "billing", Status::Solved, t(-10, 0))
    };
    let j = TicketFacts {
        source: pb::Source::Freshdesk as i32,
        first_resolved: Some(t(-2, 0)),
        resolved: Some(t(-2, 0)),
        csat: csat(Unrated, t(10, 0)),
        events: vec![
            ev(Kind::Created, t(-3, 0), Some(Status::New)),
            ev(Kind::Closed, t(-2, 0), Some(Status::Closed)),
        ],
        ..ticket(Low, "login", Status::Closed, t(-3, 0))
    };
    vec![a, b, c, d, e, f, g, h, i, j]
}
