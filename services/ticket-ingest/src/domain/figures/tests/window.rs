//! The window figures and the summary of the fixture, worked by hand.

use chrono::Duration;
use steward_proto::ticket::v1 as pb;

use super::fixture::{category, counts, hours, t, tickets};
use crate::domain::figures::{figures, summary};

/// The current window `[t(8,0), t(15,0))`.
///
/// - created: A B C D E = 5; by priority UNSPECIFIED E, LOW –, NORMAL C, HIGH A D, URGENT B;
///   HIGH+URGENT = 3; billing A B (2), login C E (2), uncategorized D (1): billing and login
///   tie, so by name; both repeated.
/// - backlog at t(15,0): C (PENDING, 4d12h), D (NEW, 18h), E (OPEN, 3d), H (ON_HOLD, 35d) = 4;
///   actionable D E = 2. A B F G J are solved or closed by their events, I by its
///   `resolved` time. Ages: <1d D; 3–7d E C; ≥30d H; p90 = rank ⌈0.9·4⌉ = 4 = 35d = oldest.
/// - first response: A 1h, B 4h, C 24h (E replied after the window, D not at all):
///   median rank ⌈1.5⌉ = 2 → 4h; p90 rank ⌈2.7⌉ = 3 → 24h.
/// - first resolved: A 8h, B 24h, I 19d = 456h → median 24h, p90 456h; solved = 3.
/// - reopened by t(15,0): B (event t(11,0)), I (platform, time unknown) → 2/3.
/// - resolved (latest): A 8h, B t(12,0)−t(9,0) = 72h, G t(9,12)−t(6,0) = 84h, I 456h:
///   median rank 2 → 72h; p90 rank ⌈3.6⌉ = 4 → 456h.
/// - ratio to the RESOLUTION target: A 8h/24h = 1/3, B 72h/8h = 9, G 84h/48h = 1.75 →
///   median 1.75 (I has no target).
/// - SLA decided: A FR MET t(8,10), RES MET t(8,17); B FR BREACHED t(9,1), RES BREACHED t(9,8);
///   C FR BREACHED t(10,20), RES (ACTIVE, past due) BREACHED t(13,12); E NEXT MET t(12,6)
///   = 7 targets, 4 breached → 3/7; tickets A B C E = 4, breached B C = 2 → 1 − 2/4 = 0.5.
///   D's target is due after the window, E's paused one has no due time, G's and F's were
///   decided in the previous window.
/// - CSAT: A GOOD, B BAD, G NEUTRAL (J's unanswered offer doesn't count) → 1/3.
fn current_figures() -> pb::SupportFigures {
    pb::SupportFigures {
        tickets_created: 5,
        by_priority: counts([1, 0, 1, 2, 1]),
        high_urgent_tickets: 3,
        by_category: vec![
            category("billing", [0, 0, 0, 1, 1]),
            category("login", [1, 0, 1, 0, 0]),
            category("", [0, 0, 0, 1, 0]),
        ],
        repeated_categories: vec![
            category("billing", [0, 0, 0, 1, 1]),
            category("login", [1, 0, 1, 0, 0]),
        ],
        open_backlog: 4,
        actionable_backlog: 2,
        backlog_age: Some(pb::AgeDistribution {
            under_1_day: 1,
            days_1_to_3: 0,
            days_3_to_7: 2,
            days_7_to_30: 0,
            over_30_days: 1,
            p90: hours(35 * 24),
            oldest: hours(35 * 24),
        }),
        first_response_median: hours(4),
        first_response_p90: hours(24),
        first_responses: 3,
        resolution_median: hours(24),
        resolution_p90: hours(456),
        tickets_solved: 3,
        full_resolution_median: hours(72),
        full_resolution_p90: hours(456),
        tickets_resolved: 4,
        resolution_sla_ratio_median: Some(1.75),
        resolution_sla_ratio_tickets: 3,
        sla_breaches: 4,
        sla_targets_due: 7,
        sla_adherence: Some(3.0 / 7.0),
        sla_tickets: 4,
        sla_breached_tickets: 2,
        sla_ticket_adherence: Some(0.5),
        csat_responses: 3,
        csat_good: 1,
        csat_neutral: 1,
        csat_bad: 1,
        csat_good_share: Some(1.0 / 3.0),
        tickets_reopened: 2,
        reopen_rate: Some(2.0 / 3.0),
    }
}

/// The previous window `[t(1,0), t(8,0))`, reopens judged by the summary's `as_of` t(15,0).
///
/// - created: F (HIGH), G (NORMAL), both billing.
/// - backlog at t(8,0): H (ON_HOLD, 28d) and I (open until t(9,0); no events, so OPEN:
///   actionable; 18d) = 2, actionable 1; both 7–30d; p90 rank ⌈1.8⌉ = 2 → 28d.
/// - first response: G 1h, F 2h → median rank 1 → 1h (the lower middle); p90 → 2h.
/// - first resolved: F 24h, G 36h → median 24h, p90 36h; G was reopened at t(9,0), before
///   `as_of` → 1 of 2.
/// - resolved (latest) in the window: only F (G's latest resolution is t(9,12)) → 24h; F has
///   no RESOLUTION target, so no ratio.
/// - SLA: F FR MET t(2,2), G RES MET t(7,12) → 2 of 2 met. CSAT: F GOOD.
fn previous_figures() -> pb::SupportFigures {
    pb::SupportFigures {
        tickets_created: 2,
        by_priority: counts([0, 0, 1, 1, 0]),
        high_urgent_tickets: 1,
        by_category: vec![category("billing", [0, 0, 1, 1, 0])],
        repeated_categories: vec![category("billing", [0, 0, 1, 1, 0])],
        open_backlog: 2,
        actionable_backlog: 1,
        backlog_age: Some(pb::AgeDistribution {
            days_7_to_30: 2,
            p90: hours(28 * 24),
            oldest: hours(28 * 24),
            ..Default::default()
        }),
        first_response_median: hours(1),
        first_response_p90: hours(2),
        first_responses: 2,
        resolution_median: hours(24),
        resolution_p90: hours(36),
        tickets_solved: 2,
        full_resolution_median: hours(24),
        full_resolution_p90: hours(24),
        tickets_resolved: 1,
        resolution_sla_ratio_median: None,
        resolution_sla_ratio_tickets: 0,
        sla_breaches: 0,
        sla_targets_due: 2,
        sla_adherence: Some(1.0),
        sla_tickets: 2,
        sla_breached_tickets: 0,
        sla_ticket_adherence: Some(1.0),
        csat_responses: 1,
        csat_good: 1,
        csat_neutral: 0,
        csat_bad: 0,
        csat_good_share: Some(1.0),
        tickets_reopened: 1,
        reopen_rate: Some(0.5),
    }
}

#[test]
fn the_current_window_worked_by_hand() {
    assert_eq!(figures(&tickets(), t(8, 0), t(15, 0)), current_figures());
}

/// History: `[t(-6,0), t(1,0))` holds J, `[t(-13,0), t(-6,0))` I, and `[t(-20,0), t(-13,0))`
/// H, created exactly at its start (windows include their start).
#[test]
fn a_summary_worked_by_hand() {
    let s = summary(&tickets(), Duration::days(7), t(15, 0), 4);
    assert_eq!(
        s,
        pb::SupportSummary {
            window: hours(7 * 24),
            as_of: Some(steward_kit::time::timestamp(t(15, 0))),
            current: Some(current_figures()),
            previous: Some(previous_figures()),
            tickets_created_history: vec![2, 1, 1, 1],
            ..Default::default()
        }
    );
    // The default of the request (3 windows), resolved by the caller.
    assert_eq!(
        summary(&tickets(), Duration::days(7), t(15, 0), 3).tickets_created_history,
        [2, 1, 1]
    );
}

/// Standing alone, the previous window judges reopens by its own end: G's reopen at t(9,0)
/// comes after t(8,0), so nothing was reopened yet (0 of 2), unlike in the summary.
#[test]
fn a_standalone_window_judges_reopens_by_its_end() {
    let f = figures(&tickets(), t(1, 0), t(8, 0));
    assert_eq!((f.tickets_reopened, f.reopen_rate), (0, Some(0.0)));
    assert_eq!(
        f,
        pb::SupportFigures { tickets_reopened: 0, reopen_rate: Some(0.0), ..previous_figures() }
    );
}

#[test]
fn empty_samples_leave_figures_unset() {
    let f = figures(&[], t(1, 0), t(8, 0));
    assert_eq!(
        f,
        pb::SupportFigures {
            by_priority: counts([0; 5]),
            backlog_age: Some(pb::AgeDistribution::default()),
            ..Default::default()
        }
    );
}
