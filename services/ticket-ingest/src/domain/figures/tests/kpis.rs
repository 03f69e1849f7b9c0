//! The KPIs of the fixture and their breakdowns, worked by hand.

use steward_proto::google::r#type::Interval;
use steward_proto::ticket::v1 as pb;

use super::fixture::{hours, minutes, t, tickets};
use crate::domain::figures::kpis;

/// The KPIs of the current window: the same samples as `current_figures`, plus means:
/// first response (1h + 4h + 24h) / 3 = 9h40m; first resolution (8h + 24h + 456h) / 3 =
/// 162h40m.
///
/// By category (tickets A B F G I billing; C E H J login; D uncategorized):
/// - billing: created A B; solved A 8h, B 24h, I 456h; backlog none; first response A 1h,
///   B 4h → mean 2h30m, median rank 1 → 1h, p90 4h; SLA A 2 met, B 2 breached → 2/4, tickets
///   1 of 2 breached → 0.5; CSAT A GOOD, B BAD, G NEUTRAL → 1/3.
/// - login: created C E; backlog C E H = 3; first response C 24h; SLA C 2 breached, E 1 met →
///   1/3, tickets 1 of 2 breached → 0.5; no ratings (J's is unanswered).
/// - uncategorized: created D, in the backlog.
///
/// billing and login tie at 2 created, so by key; the uncategorized group comes last despite
/// its key sorting first.
#[test]
fn kpis_worked_by_hand() {
    let period = Interval {
        start_time: Some(steward_kit::time::timestamp(t(8, 0))),
        end_time: Some(steward_kit::time::timestamp(t(15, 0))),
    };
    let k = kpis(&tickets(), t(8, 0), t(15, 0), pb::KpiDimension::Category);
    let billing = pb::SupportKpis {
        period: Some(period),
        tickets_created: 2,
        tickets_solved: 3,
        backlog_at_end: 0,
        first_response_mean: minutes(150),
        first_response_median: hours(1),
        first_response_p90: hours(4),
        resolution_mean: minutes(162 * 60 + 40),
        resolution_median: hours(24),
        resolution_p90: hours(456),
        sla_adherence: Some(0.5),
        csat_good_share: Some(1.0 / 3.0),
        csat_responses: 3,
        csat_good: 1,
        sla_ticket_adherence: Some(0.5),
        sla_tickets: 2,
        groups: Vec::new(),
    };
    let login = pb::SupportKpis {
        period: Some(period),
        tickets_created: 2,
        backlog_at_end: 3,
        first_response_mean: hours(24),
        first_response_median: hours(24),
        first_response_p90: hours(24),
        sla_adherence: Some(1.0 / 3.0),
        sla_ticket_adherence: Some(0.5),
        sla_tickets: 2,
        ..Default::default()
    };
    let uncategorized = pb::SupportKpis {
        period: Some(period),
        tickets_created: 1,
        backlog_at_end: 1,
        ..Default::default()
    };
    let group = |key: &str, kpis: pb::SupportKpis| pb::SupportKpisGroup {
        key: key.into(),
        kpis: Some(kpis),
    };
    assert_eq!(
        k,
        pb::SupportKpis {
            period: Some(period),
            tickets_created: 5,
            tickets_solved: 3,
            backlog_at_end: 4,
            first_response_mean: minutes(9 * 60 + 40),
            first_response_median: hours(4),
            first_response_p90: hours(24),
            resolution_mean: minutes(162 * 60 + 40),
            resolution_median: hours(24),
            resolution_p90: hours(456),
            sla_adherence: Some(3.0 / 7.0),
            csat_good_share: Some(1.0 / 3.0),
            csat_responses: 3,
            csat_good: 1,
            sla_ticket_adherence: Some(0.5),
            sla_tickets: 4,
            groups: vec![
                group("billing", billing),
                group("login", login),
                group("", uncategorized)
            ],
        }
    );
}

/// By source: Zendesk has A–G and I (5 created), Intercom only H (in the backlog, so
/// listed), Freshdesk only J (closed before the period, rating unanswered: nothing to report,
/// so not listed). By segment: D is unlinked (key "").
#[test]
fn kpi_groups_skip_values_without_figures() {
    let keys = |dimension| -> Vec<(String, i32)> {
        kpis(&tickets(), t(8, 0), t(15, 0), dimension)
            .groups
            .into_iter()
            .map(|g| (g.key, g.kpis.map_or(-1, |k| k.tickets_created)))
            .collect()
    };
    assert_eq!(
        keys(pb::KpiDimension::Source),
        [("SOURCE_ZENDESK".into(), 5), ("SOURCE_INTERCOM".into(), 0)]
    );
    assert_eq!(keys(pb::KpiDimension::Segment), [("SEGMENT_SMB".into(), 4), (String::new(), 1)]);
    assert_eq!(
        keys(pb::KpiDimension::Priority),
        [
            ("TICKET_PRIORITY_HIGH".into(), 2),
            ("TICKET_PRIORITY_NORMAL".into(), 1),
            ("TICKET_PRIORITY_UNSPECIFIED".into(), 1),
            ("TICKET_PRIORITY_URGENT".into(), 1),
            ("TICKET_PRIORITY_LOW".into(), 0),
        ]
    );
    assert!(kpis(&tickets(), t(8, 0), t(15, 0), pb::KpiDimension::Unspecified).groups.is_empty());
}
