//! Unit tests of the facts' readings: the score in effect over a window, days to renewal,
//! band entries from health changes, names and money.

use super::*;
use crate::domain::testing::{day, facts, now};
use steward_kit::time::timestamp;

fn point(days_ago: i64, score: Option<f64>) -> health_pb::ScorePoint {
    health_pb::ScorePoint { time: Some(timestamp(day(-days_ago))), score, ..Default::default() }
}

#[test]
fn the_highest_score_counts_the_one_in_effect_when_the_window_began() {
    let mut f = facts();
    f.score = Some(health_pb::HealthScore { score: Some(58.0), ..Default::default() });
    f.score_history = vec![
        point(20, Some(90.0)),
        point(10, Some(80.0)),
        point(5, Some(72.0)),
        point(1, Some(58.0)),
    ];
    assert_eq!(
        f.max_score_within(TimeDelta::days(7)),
        Some(80.0),
        "80 since day −10 was in effect at day −7"
    );
    assert_eq!(
        f.max_score_within(TimeDelta::days(10)),
        Some(80.0),
        "a point exactly at the start is in effect"
    );
    assert_eq!(f.max_score_within(TimeDelta::days(11)), Some(90.0));
    assert_eq!(f.max_score_within(TimeDelta::days(3)), Some(72.0));
    assert_eq!(f.max_score_within(TimeDelta::hours(1)), Some(58.0));
    // A period without a score does not count.
    f.score_history = vec![point(10, None), point(5, Some(60.0))];
    assert_eq!(f.max_score_within(TimeDelta::days(7)), Some(60.0));
}

#[test]
fn days_to_renewal_are_whole_calendar_days_from_today() {
    let mut f = facts();
    assert_eq!(f.days_to_renewal(), Some(47));
    f.now = now() + TimeDelta::hours(11) + TimeDelta::minutes(59); // 23:59 the same day
    assert_eq!(f.days_to_renewal(), Some(47));
    f.now = now() + TimeDelta::hours(12); // midnight
    assert_eq!(f.days_to_renewal(), Some(46));
    f.account.as_mut().expect("account").renewal_date =
        Some(steward_proto::google::r#type::Date { year: 2026, month: 2, day: 30 });
    assert_eq!(f.days_to_renewal(), None, "not a date");
}

#[test]
fn a_band_is_entered_when_a_change_moves_into_a_band() {
    let change = |old: health_pb::HealthBand, new: health_pb::HealthBand| health_pb::HealthChange {
        old_band: old as i32,
        new_band: new as i32,
        compute_time: Some(timestamp(now())),
        ..Default::default()
    };
    use health_pb::HealthBand as B;
    assert_eq!(band_entry(&change(B::Yellow, B::Red)), Some(now()));
    assert_eq!(band_entry(&change(B::Unspecified, B::Red)), Some(now()), "first score");
    assert_eq!(band_entry(&change(B::Red, B::Red)), None, "a move within the band");
    assert_eq!(band_entry(&change(B::Red, B::Unspecified)), None, "losing the score");
}

#[test]
fn names_and_money_are_written_as_the_api_writes_them() {
    let f = facts();
    assert_eq!(segment_name(f.segment()), "ENTERPRISE");
    assert_eq!(stage_name(f.stage()), "ESTABLISHED");
    assert_eq!(band_name(f.band()), "", "no score, no band");
    assert_eq!(
        priority_name(priority(steward_proto::ticket::v1::TicketPriority::High as i32)),
        "HIGH"
    );
    assert_eq!(money(12_000_000, "USD"), "120000.00 USD");
    assert_eq!(money(5, "EUR"), "0.05 EUR");
    assert_eq!(money(-150, "USD"), "-1.50 USD");
}
