//! Worked scores with the shipped default scorecard (weights 25 severity, 20 CSAT, 15
//! backlog, 15 volume, 10 reopens, 15 usage) and with one-component scorecards for banding.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_proto::health::v1 as pb;

use super::{round_to, score};
use crate::domain::measures::Reading;
use crate::domain::scorecard::default_scorecard;
use pb::ComponentState as S;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

fn value(v: f64, unit: &str, fact: &str) -> Reading {
    Reading::Value {
        value: v,
        unit: unit.into(),
        sample: None,
        data_time: now(),
        facts: vec![fact.into()],
    }
}

fn missing(reason: &str) -> Reading {
    Reading::Missing { unit: String::new(), reason: reason.into() }
}

/// Severity 2 tickets → 55 points; CSAT 0.86 → 80; backlog p90 10 days → 74.07…;
/// volume 1.5 → 75; reopens 0.10 → 80; usage 0.5 → 50.
fn readings() -> Vec<Reading> {
    vec![
        value(2.0, "tickets", "2 URGENT tickets in 30 days"),
        value(0.86, "share", "43 of 50 CSAT ratings GOOD in 90 days (86%)"),
        value(10.0, "days", "4 tickets open, 90th percentile age 10 days"),
        value(1.5, "ratio", "6 tickets created in 30 days vs a usual 4 per 30 days (1.5×)"),
        value(0.10, "share", "1 of 10 tickets solved in 90 days reopened (10%)"),
        value(0.5, "ratio", "active_user_ratio 0.5 observed 2026-03-10"),
    ]
}

fn contributions(c: &super::Computed) -> Vec<f64> {
    c.components.iter().map(|c| c.contribution).collect()
}

fn cents_sum(xs: &[f64]) -> i64 {
    xs.iter().map(|x| (x * 100.0).round() as i64).sum()
}

/// All six included: 13.75 + 16 + 11.111… + 11.25 + 8 + 7.5 = 67.611… → 67.61 YELLOW.
#[test]
fn default_scorecard_all_included() {
    let c = score(&default_scorecard(), &readings());
    assert_eq!(c.score, Some(67.61));
    assert_eq!(c.band, pb::HealthBand::Yellow);
    assert_eq!(c.coverage, 1.0);
    assert_eq!(contributions(&c), [13.75, 16.0, 11.11, 11.25, 8.0, 7.5]);
    let backlog = &c.components[2];
    assert_eq!((backlog.points, backlog.effective_weight, backlog.weight), (74.07, 0.15, 15.0));
    assert_eq!(backlog.state, S::Included as i32);
    assert_eq!(backlog.value, Some(10.0));
    assert_eq!(backlog.unit, "days");
    assert_eq!(backlog.fact, "4 tickets open, 90th percentile age 10 days");
    assert_eq!(backlog.data_time, Some(steward_kit::time::timestamp(now())));
    assert_eq!(backlog.component_id, "backlog_age");
}

/// Usage never recorded: the other weights are renormalized over 85 (severity 25/85 =
/// 0.2941, …). Contributions 16.176 + 18.824 + 13.072 + 13.235 + 9.412 = 70.719 → 70.72,
/// GREEN: with usage at 50 points it was YELLOW. Rounded down to cents they sum to 70.70;
/// the 2 missing cents go to the largest remainders (severity .647, volume .529), so the
/// breakdown reads 16.18 + 18.82 + 13.07 + 13.24 + 9.41 = 70.72 exactly.
#[test]
fn usage_missing_renormalizes_the_other_weights() {
    let mut r = readings();
    r[5] = missing("No active_user_ratio measurement recorded");
    let c = score(&default_scorecard(), &r);
    assert_eq!(c.score, Some(70.72));
    assert_eq!(c.band, pb::HealthBand::Green);
    assert_eq!(c.coverage, 0.85);
    assert_eq!(contributions(&c), [16.18, 18.82, 13.07, 13.24, 9.41, 0.0]);
    let weights: Vec<f64> = c.components.iter().map(|c| c.effective_weight).collect();
    assert_eq!(weights, [0.2941, 0.2353, 0.1765, 0.1765, 0.1176, 0.0]);
    let usage = &c.components[5];
    assert_eq!(usage.state, S::Missing as i32);
    assert_eq!((usage.value, usage.points, usage.weight, usage.data_time), (None, 0.0, 15.0, None));
    assert_eq!(
        usage.fact,
        "No active_user_ratio measurement recorded; left out, other weights renormalized"
    );
}

/// Nothing usable: no score, no band, coverage 0, every component says why.
#[test]
fn all_missing_gives_no_score() {
    let r: Vec<Reading> = (0..6).map(|_| missing("No data")).collect();
    let c = score(&default_scorecard(), &r);
    assert_eq!((c.score, c.band, c.coverage), (None, pb::HealthBand::Unspecified, 0.0));
    assert!(c.components.iter().all(|c| c.state == S::Missing as i32 && c.contribution == 0.0));
    assert_eq!(c.components[0].fact, "No data; left out");
    // No readings at all (fewer readings than components) is the same.
    assert_eq!(score(&default_scorecard(), &[]).score, None);
}

/// Usage 40 days old against its 35-day limit: STALE, its old value shown, weight 0.
#[test]
fn stale_component_is_left_out_with_its_value() {
    let mut r = readings();
    r[5] = Reading::Stale {
        value: 0.3,
        unit: "ratio".into(),
        data_time: now() - Duration::days(40),
        age: Duration::days(40),
        max_age: Duration::days(35),
        facts: vec!["active_user_ratio 0.3 observed 2026-02-03".into()],
    };
    let c = score(&default_scorecard(), &r);
    let usage = &c.components[5];
    assert_eq!(usage.state, S::Stale as i32);
    assert_eq!((usage.value, usage.effective_weight, usage.contribution), (Some(0.3), 0.0, 0.0));
    assert_eq!(
        usage.fact,
        "active_user_ratio 0.3 observed 2026-02-03; data 40 days old (limit 35 days); left \
         out, other weights renormalized"
    );
    assert_eq!(c.score, Some(70.72));
}

/// One component scored linearly 0 → 0, 100 → 100, so the score is the value itself.
fn identity(v: f64) -> super::Computed {
    let card = pb::Scorecard {
        components: vec![pb::Component {
            id: "x".into(),
            weight: 1.0,
            scoring: Some(pb::component::Scoring::Linear(pb::LinearScoring {
                zero_points_value: 0.0,
                full_points_value: 100.0,
            })),
            ..Default::default()
        }],
        ..Default::default()
    };
    score(&card, &[value(v, "x", "x")])
}

/// The rounded score decides the band (default bands 40 and 70): 39.995 rounds to 40.00 →
/// YELLOW although the double nearest 39.995 is 39.99499999…; 39.994 → 39.99 RED; 69.995 →
/// 70.00 GREEN; 70 exactly GREEN; 40 exactly YELLOW; 0 RED; 100 GREEN.
#[test]
fn bands_at_exact_thresholds() {
    let cases = [
        (39.995, 40.0, pb::HealthBand::Yellow),
        (39.994, 39.99, pb::HealthBand::Red),
        (69.995, 70.0, pb::HealthBand::Green),
        (69.994_999, 69.99, pb::HealthBand::Yellow),
        (70.0, 70.0, pb::HealthBand::Green),
        (40.0, 40.0, pb::HealthBand::Yellow),
        (0.0, 0.0, pb::HealthBand::Red),
        (100.0, 100.0, pb::HealthBand::Green),
    ];
    for (v, s, b) in cases {
        let c = identity(v);
        assert_eq!((c.score, c.band), (Some(s), b), "{v}");
        assert_eq!(contributions(&c), [s], "{v}");
    }
}

/// Three equal components at 10.005 points: each contributes 3.335, the score 10.005 →
/// 10.01. Floors give 3.33 × 3 = 9.99; the two missing cents go to the first two (equal
/// remainders keep the scorecard order): 3.34 + 3.34 + 3.33 = 10.01.
#[test]
fn largest_remainder_ties_go_to_the_earlier_component() {
    let mut card = default_scorecard();
    card.components.truncate(3);
    for c in &mut card.components {
        c.weight = 7.0;
        c.scoring = Some(pb::component::Scoring::Linear(pb::LinearScoring {
            zero_points_value: 0.0,
            full_points_value: 100.0,
        }));
    }
    let r: Vec<Reading> = (0..3).map(|_| value(10.005, "x", "x")).collect();
    let c = score(&card, &r);
    assert_eq!(c.score, Some(10.01));
    assert_eq!(contributions(&c), [3.34, 3.34, 3.33]);
}

/// Over many mixed readings, the contributions sum to the score to the cent and each lies
/// within 0.01 of points × effective weight.
#[test]
fn contributions_always_sum_to_the_score() {
    let card = default_scorecard();
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        // A 64-bit LCG (Knuth's MMIX constants): enough spread, no dependency.
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..2_000 {
        let r: Vec<Reading> = [8.0, 1.0, 40.0, 4.0, 0.4, 1.0]
            .iter()
            .map(|scale| if next() < 0.2 { missing("x") } else { value(next() * scale, "u", "f") })
            .collect();
        let c = score(&card, &r);
        let Some(s) = c.score else { continue };
        assert_eq!(cents_sum(&contributions(&c)), (s * 100.0).round() as i64, "{r:?}");
        let included_weight: f64 =
            c.components.iter().filter(|p| p.state == S::Included as i32).map(|p| p.weight).sum();
        for p in c.components.iter().filter(|p| p.state == S::Included as i32) {
            let exact = p.points * p.weight / included_weight;
            assert!((p.contribution - exact).abs() <= 0.01 + 0.005 * p.weight / included_weight);
        }
    }
}

/// A scorecard that slipped past validation does not panic: a NaN or negative weight or
/// no scoring makes that component MISSING; NaN and infinite readings never reach the sum.
#[test]
fn invalid_scorecards_and_values_do_not_panic() {
    let mut card = default_scorecard();
    card.components[0].weight = f64::NAN;
    card.components[1].weight = -3.0;
    card.components[2].scoring = None;
    card.bands = None;
    let mut r = readings();
    r[3] = value(f64::NAN, "ratio", "nan");
    r[4] = value(f64::INFINITY, "share", "inf");
    let c = score(&card, &r);
    let states: Vec<i32> = c.components.iter().map(|c| c.state).collect();
    let (m, i) = (S::Missing as i32, S::Included as i32);
    assert_eq!(states, [m, m, m, m, m, i]);
    assert_eq!(
        c.components[2].fact,
        "The component has no scoring function; left out, other weights renormalized"
    );
    // Usage alone: 50 points, weight 1; the default bands apply when none are set. Coverage
    // counts the valid weights only: 15 / (15 + 15 + 10 + 15) = 0.2727.
    assert_eq!((c.score, c.band), (Some(50.0), pb::HealthBand::Yellow));
    assert_eq!(c.coverage, 0.2727);
    let empty = score(&pb::Scorecard::default(), &readings());
    assert_eq!((empty.score, empty.components.len(), empty.coverage), (None, 0, 0.0));
}

#[test]
fn decimal_rounding() {
    assert_eq!(round_to(39.995, 2), 40.0);
    assert_eq!(round_to(-39.995, 2), -40.0);
    assert_eq!(round_to(2.675, 2), 2.68);
    assert_eq!(round_to(0.29411764, 4), 0.2941);
    assert_eq!(round_to(74.074074, 2), 74.07);
    assert!(round_to(f64::NAN, 2).is_nan());
    assert_eq!(round_to(1e300, 2), 1e300);
}

/// The score's wire form carries the scorecard, version and times.
#[test]
fn health_score_message() {
    let mut card = default_scorecard();
    card.version = 3;
    let hs = score(&card, &readings()).health_score(
        "accounts/acme",
        &card,
        now(),
        pb::InputFreshness::default(),
    );
    assert_eq!(hs.name, "accounts/acme/healthScore");
    assert_eq!((hs.scorecard.as_str(), hs.scorecard_version), ("scorecards/default", 3));
    assert_eq!((hs.score, hs.band), (Some(67.61), pb::HealthBand::Yellow as i32));
    assert_eq!(hs.compute_time, Some(steward_kit::time::timestamp(now())));
    assert_eq!(hs.components.len(), 6);
}
