//! Inputs at the edges: unknown enum values, extreme times, clock skew, sub-second times.

use chrono::{DateTime, Duration, Utc};
use pb::TicketStatus as Status;
use steward_proto::ticket::v1 as pb;

use super::fixture::{counts, t, ticket, tickets};
use crate::domain::figures::{Csat, SlaFact, TicketFacts, figures, kpis, summary};

/// Absurd inputs give figures, not panics: windows reaching past the earliest time, far too
/// many history windows (capped at 12), negative or zero windows, unknown enum values.
#[test]
fn absurd_inputs_do_not_panic() {
    let mut odd = tickets();
    odd[0].priority = 99;
    odd[0].source = -1;
    odd[1].sla.push(SlaFact { metric: 42, due: Some(t(9, 0)), completed: None, state: 77 });
    odd[2].csat = Some(Csat { sentiment: 9, rate_time: t(9, 0) });
    let s = summary(&odd, Duration::days(365 * 100_000), DateTime::<Utc>::MIN_UTC, usize::MAX);
    assert_eq!(s.tickets_created_history.len(), 12);
    let s = summary(&odd, Duration::days(-7), DateTime::<Utc>::MAX_UTC, 2);
    assert_eq!(s.current.map(|c| c.tickets_created), Some(0));
    let s = summary(&odd, Duration::zero(), t(15, 0), 1);
    assert_eq!(s.tickets_created_history, [0]);
    let f = figures(&odd, t(8, 0), t(15, 0));
    // A's unknown priority counts as UNSPECIFIED; the bogus target and rating don't count.
    assert_eq!(f.by_priority, counts([2, 0, 1, 1, 1]));
    assert_eq!((f.sla_targets_due, f.csat_responses), (7, 3));
    let k =
        kpis(&odd, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, pb::KpiDimension::Source);
    assert_eq!(k.tickets_created, 10);
    assert_eq!(k.groups.first().map(|g| g.key.as_str()), Some("SOURCE_ZENDESK"));
}

/// A first response stamped before creation counts as zero, and sub-second times survive:
/// responses after 0s (clamped from −5s) and 1.5s → median 0s, p90 1.5s.
#[test]
fn durations_keep_nanoseconds_and_never_go_negative() {
    use pb::TicketPriority::Normal;
    let created = t(8, 0);
    let early = TicketFacts {
        first_response: Some(created - Duration::seconds(5)),
        ..ticket(Normal, "x", Status::Open, created)
    };
    let late = TicketFacts {
        first_response: Some(created + Duration::milliseconds(1_500)),
        ..ticket(Normal, "x", Status::Open, created)
    };
    let f = figures(&[early, late], t(8, 0), t(9, 0));
    assert_eq!(f.first_response_median, Some(prost_types::Duration { seconds: 0, nanos: 0 }));
    assert_eq!(
        f.first_response_p90,
        Some(prost_types::Duration { seconds: 1, nanos: 500_000_000 })
    );
}
