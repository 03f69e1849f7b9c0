//! Unit tests of the scoring functions, worked with the default scorecard's own scorings.

use super::*;

fn range(lower: Option<f64>, upper: Option<f64>, points: f64) -> pb::ThresholdRange {
    pb::ThresholdRange { lower_bound: lower, upper_bound: upper, points }
}

/// The default scorecard's support severity: 0 → 100, 1 → 80, 2 → 55, 3–4 → 25, 5+ → 0.
fn severity() -> Scoring {
    Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(None, Some(1.0), 100.0),
            range(Some(1.0), Some(2.0), 80.0),
            range(Some(2.0), Some(3.0), 55.0),
            range(Some(3.0), Some(5.0), 25.0),
            range(Some(5.0), None, 0.0),
        ],
    })
}

fn linear(zero: f64, full: f64) -> Scoring {
    Scoring::Linear(pb::LinearScoring { zero_points_value: zero, full_points_value: full })
}

fn violations(scoring: Option<&Scoring>) -> Vec<String> {
    let mut v = Violations::default();
    check(scoring, "scorecard.components[2]", &mut v);
    match v.finish() {
        Ok(()) => vec![],
        Err(steward_kit::Error::InvalidArgument(fields)) => {
            fields.into_iter().map(|f| f.field).collect()
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn threshold_ranges_are_lower_inclusive_and_upper_exclusive() {
    let s = severity();
    let cases = [(-3.0, 100.0), (0.0, 100.0), (0.99, 100.0), (1.0, 80.0), (2.0, 55.0), (2.5, 55.0)];
    for (value, expected) in cases {
        assert_eq!(points(&s, value), expected, "value {value}");
    }
    // 3 and 4 urgent tickets are both 25 points; 5 is the first value of the last range.
    assert_eq!(points(&s, 3.0), 25.0);
    assert_eq!(points(&s, 4.999), 25.0);
    assert_eq!(points(&s, 5.0), 0.0);
    assert_eq!(points(&s, 1e300), 0.0);
    assert_eq!(points(&s, f64::INFINITY), 0.0);
    assert_eq!(points(&s, f64::NEG_INFINITY), 100.0);
}

#[test]
fn a_single_unbounded_range_gives_its_points_to_every_value() {
    let s = Scoring::Thresholds(pb::ThresholdScoring { ranges: vec![range(None, None, 42.0)] });
    assert_eq!(points(&s, -1e9), 42.0);
    assert_eq!(points(&s, 7.0), 42.0);
}

#[test]
fn linear_scoring_ramps_between_its_anchors_and_clamps() {
    // CSAT: 0.50 → 0, 0.95 → 100. 0.86: 100 × 0.36 / 0.45 = 80.
    let csat = linear(0.50, 0.95);
    assert!((points(&csat, 0.86) - 80.0).abs() < 1e-9);
    assert_eq!(points(&csat, 0.50), 0.0);
    assert_eq!(points(&csat, 0.95), 100.0);
    assert_eq!(points(&csat, 0.2), 0.0);
    assert_eq!(points(&csat, 1.0), 100.0);
}

#[test]
fn linear_scoring_with_the_full_anchor_below_rewards_lower_values() {
    // Backlog age: 30 days → 0, 3 days → 100. 12 days: 100 × (12 − 30) / (3 − 30) = 66.67.
    let backlog = linear(30.0, 3.0);
    assert!((points(&backlog, 12.0) - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(points(&backlog, 0.0), 100.0);
    assert_eq!(points(&backlog, 45.0), 0.0);
    // Ticket volume: 3.0 → 0, 1.0 → 100. Twice the usual volume: 100 × (2 − 3) / (1 − 3).
    assert_eq!(points(&linear(3.0, 1.0), 2.0), 50.0);
}

#[test]
fn points_never_panic_nor_leave_0_to_100() {
    let scorings = [
        severity(),
        linear(0.0, 1.0),
        linear(1.0, 0.0),
        linear(-1e308, 1e308),
        linear(f64::MAX, -f64::MAX),
        // Refused by `check`, but a stored oddity must not take the scorer down.
        linear(1.0, 1.0),
        linear(f64::NAN, 1.0),
        linear(f64::NEG_INFINITY, f64::INFINITY),
        Scoring::Thresholds(pb::ThresholdScoring::default()),
        Scoring::Thresholds(pb::ThresholdScoring {
            ranges: vec![range(None, None, f64::NAN), range(None, None, 1e9)],
        }),
    ];
    let values = [0.0, -0.0, 1.0, -1e308, 1e308, f64::MAX, f64::INFINITY, f64::NAN];
    for s in &scorings {
        for value in values {
            let p = points(s, value);
            assert!((0.0..=100.0).contains(&p), "{s:?} at {value} gave {p}");
        }
    }
}

#[test]
fn huge_anchors_keep_their_proportions() {
    // The span overflows to infinity; halved terms still put 0 half-way: 50 points.
    assert_eq!(points(&linear(-1e308, 1e308), 0.0), 50.0);
    assert_eq!(points(&linear(f64::MAX, -f64::MAX), 0.0), 50.0);
    // A value beyond the span overflows `value − zero` to +inf: full points, not NaN.
    assert_eq!(points(&linear(-1e308, 0.0), 1e308), 100.0);
}

#[test]
fn a_nan_value_earns_nothing() {
    assert_eq!(points(&linear(0.0, 1.0), f64::NAN), 0.0);
    assert_eq!(points(&severity(), f64::NAN), 0.0);
}

#[test]
fn valid_scorings_pass() {
    assert!(violations(Some(&severity())).is_empty());
    assert!(violations(Some(&linear(30.0, 3.0))).is_empty());
    let one = Scoring::Thresholds(pb::ThresholdScoring { ranges: vec![range(None, None, 0.0)] });
    assert!(violations(Some(&one)).is_empty());
    let twenty: Vec<_> = (0..20)
        .map(|i| {
            let lower = (i > 0).then_some(f64::from(i));
            let upper = (i < 19).then_some(f64::from(i + 1));
            range(lower, upper, f64::from(i * 5))
        })
        .collect();
    let twenty = Scoring::Thresholds(pb::ThresholdScoring { ranges: twenty });
    assert!(violations(Some(&twenty)).is_empty());
}

#[test]
fn scoring_is_required() {
    assert_eq!(violations(None), ["scorecard.components[2].scoring"]);
}

#[test]
fn threshold_range_count_is_1_to_20() {
    let none = Scoring::Thresholds(pb::ThresholdScoring::default());
    assert_eq!(violations(Some(&none)), ["scorecard.components[2].thresholds.ranges"]);
    let ranges = (0..21)
        .map(|i| {
            let lower = (i > 0).then_some(f64::from(i));
            let upper = (i < 20).then_some(f64::from(i + 1));
            range(lower, upper, 50.0)
        })
        .collect();
    let many = Scoring::Thresholds(pb::ThresholdScoring { ranges });
    assert_eq!(violations(Some(&many)), ["scorecard.components[2].thresholds.ranges"]);
}

#[test]
fn outer_bounds_must_be_open_and_inner_ones_set() {
    let s = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(Some(0.0), Some(1.0), 100.0),
            range(None, None, 50.0),
            range(Some(2.0), Some(9.0), 0.0),
        ],
    });
    let p = "scorecard.components[2].thresholds.ranges";
    assert_eq!(
        violations(Some(&s)),
        [
            format!("{p}[0].lower_bound"),
            format!("{p}[1].lower_bound"),
            format!("{p}[1].upper_bound"),
            format!("{p}[2].upper_bound"),
        ]
    );
}

#[test]
fn inner_bounds_must_be_finite() {
    let s = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![range(None, Some(f64::NAN), 100.0), range(Some(f64::INFINITY), None, 0.0)],
    });
    let p = "scorecard.components[2].thresholds.ranges";
    // Each bad number is reported once, not again as a gap between the ranges.
    assert_eq!(
        violations(Some(&s)),
        [format!("{p}[0].upper_bound"), format!("{p}[1].lower_bound")]
    );
}

#[test]
fn ranges_must_be_contiguous_sorted_and_non_empty() {
    let p = "scorecard.components[2].thresholds.ranges";
    // A gap: [.., 1) then [2, ..).
    let gap = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![range(None, Some(1.0), 100.0), range(Some(2.0), None, 0.0)],
    });
    assert_eq!(violations(Some(&gap)), [format!("{p}[1].lower_bound")]);
    // Descending: [.., 5), [5, 3), [3, ..): range 1 is empty (5 ≥ 3).
    let descending = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(None, Some(5.0), 0.0),
            range(Some(5.0), Some(3.0), 50.0),
            range(Some(3.0), None, 100.0),
        ],
    });
    assert_eq!(violations(Some(&descending)), [format!("{p}[1].upper_bound")]);
    // Overlapping: [.., 3) then [2, ..).
    let overlap = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![range(None, Some(3.0), 100.0), range(Some(2.0), None, 0.0)],
    });
    assert_eq!(violations(Some(&overlap)), [format!("{p}[1].lower_bound")]);
    // Empty: [1, 1).
    let empty = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(None, Some(1.0), 100.0),
            range(Some(1.0), Some(1.0), 50.0),
            range(Some(1.0), None, 0.0),
        ],
    });
    assert_eq!(violations(Some(&empty)), [format!("{p}[1].upper_bound")]);
}

#[test]
fn points_must_be_finite_and_0_to_100() {
    let s = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(None, Some(1.0), 100.5),
            range(Some(1.0), Some(2.0), -1.0),
            range(Some(2.0), Some(3.0), f64::NAN),
            range(Some(3.0), None, f64::INFINITY),
        ],
    });
    let p = "scorecard.components[2].thresholds.ranges";
    assert_eq!(
        violations(Some(&s)),
        (0..4).map(|i| format!("{p}[{i}].points")).collect::<Vec<_>>()
    );
}

#[test]
fn linear_anchors_must_be_finite_and_different() {
    let p = "scorecard.components[2].linear";
    assert_eq!(violations(Some(&linear(1.0, 1.0))), [format!("{p}.full_points_value")]);
    assert_eq!(
        violations(Some(&linear(f64::NAN, f64::NEG_INFINITY))),
        [format!("{p}.zero_points_value"), format!("{p}.full_points_value")]
    );
    assert_eq!(violations(Some(&linear(0.0, f64::INFINITY))), [format!("{p}.full_points_value")]);
}
