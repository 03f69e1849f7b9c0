//! Which stored tickets a figure can need. A ticket SOLVED or CLOSED now counts in no window
//! that starts after every time it ever carried (its backlog ended, its responses, ratings
//! and SLA decisions all lie before), so the store keeps each ticket's latest time and reads
//! only tickets open now or with a latest time inside the figures' span.

use chrono::{DateTime, Utc};
use steward_kit::time::from_timestamp;
use steward_proto::ticket::v1 as pb;

/// The latest platform time `ticket` carries: every time the figures or the lifecycle events
/// derived from it can use (events fall back to `source_update_time`). Service-set times
/// (`create_time`, `update_time`, `ingest_time`) are not platform times and don't count.
/// `None` when it carries none (a valid ticket always has its creation and update times).
pub fn latest_time(ticket: &pb::Ticket) -> Option<DateTime<Utc>> {
    let t = ticket;
    let sla = t.sla.iter().flat_map(|s| [&s.due_time, &s.completed_time]);
    let csat = t.csat.iter().map(|c| &c.rate_time);
    [
        &t.created_time,
        &t.updated_time,
        &t.source_update_time,
        &t.first_response_time,
        &t.first_resolved_time,
        &t.resolved_time,
        &t.closed_time,
        &t.last_reopened_time,
    ]
    .into_iter()
    .chain(sla)
    .chain(csat)
    .filter_map(|ts| ts.as_ref().and_then(from_timestamp))
    .max()
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;

    use super::*;

    fn ts(secs: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds: secs, nanos: 0 })
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).expect("in range")
    }

    #[test]
    fn the_latest_of_every_platform_time_counts() {
        let base = pb::Ticket {
            created_time: ts(100),
            source_update_time: ts(200),
            update_time: ts(9_000), // the service's own time: not counted
            ingest_time: ts(9_000),
            ..Default::default()
        };
        assert_eq!(latest_time(&base), Some(at(200)));
        // Each later platform time moves it on, wherever it sits in the snapshot.
        let later: [fn(&mut pb::Ticket); 6] = [
            |t| t.resolved_time = ts(500),
            |t| t.last_reopened_time = ts(500),
            |t| t.updated_time = ts(500),
            |t| {
                t.sla.push(pb::SlaTarget { due_time: ts(500), ..Default::default() });
            },
            |t| {
                t.sla.push(pb::SlaTarget { completed_time: ts(500), ..Default::default() });
            },
            |t| t.csat = Some(pb::CsatRating { rate_time: ts(500), ..Default::default() }),
        ];
        for set in later {
            let mut t = base.clone();
            set(&mut t);
            assert_eq!(latest_time(&t), Some(at(500)));
        }
    }

    #[test]
    fn a_ticket_without_times_has_none() {
        assert_eq!(latest_time(&pb::Ticket::default()), None);
    }
}
