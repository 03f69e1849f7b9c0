//! Test fixtures shared by the domain's unit tests: a fixed clock, an account, and support
//! figures built from a list of tickets the way ticket-ingest counts them.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Date;
use steward_proto::health::v1 as health_pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::facts::Facts;

/// The evaluation time of every test: 2026-03-15 12:00 UTC.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).single().expect("valid time")
}

/// `now` moved by `days` (negative = earlier).
pub(crate) fn day(days: i64) -> DateTime<Utc> {
    now() + TimeDelta::days(days)
}

/// Acme: ENTERPRISE, ESTABLISHED, owned by jane@example.com, ARR 120,000.00 USD, renewing
/// on 2026-05-01 (47 days after `now`).
pub(crate) fn account() -> account_pb::Account {
    account_pb::Account {
        name: "accounts/acme".into(),
        display_name: "Acme".into(),
        segment: account_pb::Segment::Enterprise as i32,
        lifecycle_stage: account_pb::LifecycleStage::Established as i32,
        owner: "jane@example.com".into(),
        arr: Some(account_pb::Money { amount_minor: 12_000_000, currency_code: "USD".into() }),
        renewal_date: Some(Date { year: 2026, month: 5, day: 1 }),
        ..Default::default()
    }
}

/// A health score of `score` in `band`.
pub(crate) fn score(score: f64, band: health_pb::HealthBand) -> health_pb::HealthScore {
    health_pb::HealthScore {
        account: "accounts/acme".into(),
        score: Some(score),
        band: band as i32,
        ..Default::default()
    }
}

/// Facts of Acme at `now` with nothing else known.
pub(crate) fn facts() -> Facts {
    Facts { now: now(), account: Some(account()), ..Default::default() }
}

/// One ticket for [`figures`]: created `days_ago` days (may be fractional via seconds)
/// before `now`, with a priority and a category.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub(crate) created: DateTime<Utc>,
    pub(crate) priority: ticket_pb::TicketPriority,
    pub(crate) category: &'static str,
}

pub(crate) fn ticket(
    days_ago: i64,
    priority: ticket_pb::TicketPriority,
    category: &'static str,
) -> Ticket {
    Ticket { created: day(-days_ago), priority, category }
}

/// The support summary over `[now − window, now)` of `tickets`, counted as ticket-ingest
/// documents `SupportFigures`: created in the window, by priority in enum order, HIGH or
/// URGENT, by category most first then by name, each category by priority.
pub(crate) fn summary(window: TimeDelta, tickets: &[Ticket]) -> ticket_pb::SupportSummary {
    let start = now() - window;
    let inside: Vec<_> =
        tickets.iter().filter(|t| t.created >= start && t.created < now()).collect();
    let by_priority = |list: &[&Ticket]| -> Vec<ticket_pb::PriorityCount> {
        (0..=4)
            .map(|p| ticket_pb::PriorityCount {
                priority: p,
                count: list.iter().filter(|t| t.priority as i32 == p).count() as i32,
            })
            .collect()
    };
    let mut categories: Vec<&str> = inside.iter().map(|t| t.category).collect();
    categories.sort();
    categories.dedup();
    let mut by_category: Vec<ticket_pb::CategoryCount> = categories
        .iter()
        .map(|c| {
            let of: Vec<&Ticket> = inside.iter().copied().filter(|t| t.category == *c).collect();
            ticket_pb::CategoryCount {
                category: (*c).into(),
                count: of.len() as i32,
                by_priority: by_priority(&of),
            }
        })
        .collect();
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));
    let high_urgent = inside
        .iter()
        .filter(|t| {
            matches!(
                t.priority,
                ticket_pb::TicketPriority::High | ticket_pb::TicketPriority::Urgent
            )
        })
        .count() as i32;
    ticket_pb::SupportSummary {
        account: "accounts/acme".into(),
        window: Some(prost_types::Duration { seconds: window.num_seconds(), nanos: 0 }),
        as_of: Some(timestamp(now())),
        current: Some(ticket_pb::SupportFigures {
            tickets_created: inside.len() as i32,
            by_priority: by_priority(&inside),
            high_urgent_tickets: high_urgent,
            by_category,
            ..Default::default()
        }),
        previous: Some(ticket_pb::SupportFigures::default()),
        ..Default::default()
    }
}

/// CSAT figures: `good` GOOD of `responses` ratings.
pub(crate) fn csat(good: i32, responses: i32) -> ticket_pb::SupportFigures {
    ticket_pb::SupportFigures {
        csat_responses: responses,
        csat_good: good,
        csat_good_share: (responses > 0).then(|| f64::from(good) / f64::from(responses)),
        ..Default::default()
    }
}
