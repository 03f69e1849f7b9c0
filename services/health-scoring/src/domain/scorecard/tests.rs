//! Unit tests of scorecards: the shipped default, every validation rule with the field it
//! names, the defaults the scorer applies, bands and content comparison.

use super::*;
use pb::component::Scoring;

/// The fields `check` names, in order; empty when valid.
fn violations(scorecard: &pb::Scorecard) -> Vec<String> {
    match check(scorecard, "scorecard") {
        Ok(()) => vec![],
        Err(Error::InvalidArgument(fields)) => fields.into_iter().map(|f| f.field).collect(),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// The default scorecard with one component changed by `edit`; violations of it.
fn with_component(i: usize, edit: impl FnOnce(&mut pb::Component)) -> Vec<String> {
    let mut s = default_scorecard();
    edit(&mut s.components[i]);
    violations(&s)
}

fn dur(seconds: i64, nanos: i32) -> Option<Duration> {
    Some(Duration { seconds, nanos })
}

fn measure(kind: Kind) -> Option<pb::Measure> {
    Some(pb::Measure { kind: Some(kind) })
}

fn custom_measure(key: &str, aggregation: pb::Aggregation) -> Option<pb::Measure> {
    measure(Kind::Custom(pb::CustomMeasure { key: key.into(), aggregation: aggregation as i32 }))
}

fn component_with(m: Option<pb::Measure>) -> pb::Component {
    pb::Component { measure: m, ..Default::default() }
}

// --- the shipped default --------------------------------------------------------------

#[test]
fn the_default_scorecard_is_valid() {
    assert_eq!(violations(&default_scorecard()), Vec::<String>::new());
}

#[test]
fn the_default_scorecard_is_the_documented_table() {
    let s = default_scorecard();
    assert_eq!(s.name, "scorecards/default");
    assert_eq!(
        s.assignment,
        Some(pb::Assignment { default_scorecard: true, ..Default::default() })
    );
    assert_eq!(s.bands, Some(pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 70.0 }));
    assert!(s.description.contains("85%"), "says why: {}", s.description);

    let row = |id: &str| s.components.iter().find(|c| c.id == id).expect("component present");
    let ids: Vec<_> = s.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["support_severity", "csat", "backlog_age", "ticket_volume", "reopen_rate", "usage"]
    );
    let weights: Vec<_> = s.components.iter().map(|c| c.weight).collect();
    assert_eq!(weights, [25.0, 20.0, 15.0, 15.0, 10.0, 15.0]);
    // Support measures carry 85 of the 100 weight points.
    let support: f64 =
        s.components.iter().filter(|c| builtin(c).is_some_and(is_support)).map(|c| c.weight).sum();
    assert_eq!(support, 85.0);

    // (id, measure, window in days, min sample size)
    let b = |m: B| measure(Kind::Builtin(m as i32));
    let table = [
        ("support_severity", b(B::HighUrgentTickets), 30, 0),
        ("csat", b(B::CsatGoodShare), 90, 5),
        ("backlog_age", b(B::BacklogAgeP90Days), 30, 0),
        ("ticket_volume", b(B::TicketVolumeRatio), 30, 0),
        ("reopen_rate", b(B::ReopenRate), 90, 5),
        ("usage", custom_measure("active_user_ratio", pb::Aggregation::Latest), 30, 0),
    ];
    for (id, m, window_days, min_sample) in table {
        let c = row(id);
        assert_eq!(c.measure, m, "{id}");
        assert_eq!(window(c), TimeDelta::days(window_days), "{id}");
        assert_eq!(min_sample_size(c), min_sample, "{id}");
    }
    // Backlog age is taken "now": no window is configured for it.
    assert_eq!(row("backlog_age").window, None);
    assert_eq!(max_data_age(row("usage")), TimeDelta::days(35));
    assert_eq!(row("usage").max_data_age, dur(35 * DAY, 0));
    assert_eq!(max_data_age(row("csat")), TimeDelta::days(1));
}

#[test]
fn the_default_scoring_functions_give_the_documented_points() {
    let s = default_scorecard();
    let pts = |id: &str, value: f64| {
        let c = s.components.iter().find(|c| c.id == id).expect("component present");
        scoring::points(c.scoring.as_ref().expect("scoring set"), value)
    };
    // Support severity: 0 → 100, 1 → 80, 2 → 55, 3–4 → 25, 5+ → 0.
    let severity: Vec<_> = (0..=6).map(|n| pts("support_severity", f64::from(n))).collect();
    assert_eq!(severity, [100.0, 80.0, 55.0, 25.0, 25.0, 0.0, 0.0]);
    // CSAT 0.50 → 0, 0.95 → 100: 0.77 is 100 × 0.27 / 0.45 = 60.
    assert!((pts("csat", 0.77) - 60.0).abs() < 1e-9);
    // Backlog age 30 → 0, 3 → 100: 16.5 days is half-way, 50.
    assert_eq!(pts("backlog_age", 16.5), 50.0);
    // Ticket volume 3.0 → 0, 1.0 → 100: 1.5× the usual volume is 75.
    assert_eq!(pts("ticket_volume", 1.5), 75.0);
    // Reopen rate 0.30 → 0, 0.05 → 100: 0.10 is 100 × (0.10 − 0.30) / (0.05 − 0.30) = 80.
    assert!((pts("reopen_rate", 0.10) - 80.0).abs() < 1e-9);
    // Usage 0.20 → 0, 0.80 → 100: 0.65 is 100 × 0.45 / 0.60 = 75.
    assert!((pts("usage", 0.65) - 75.0).abs() < 1e-9);
}

// --- validation ------------------------------------------------------------------------

#[test]
fn display_name_is_1_to_200_characters() {
    let mut s = default_scorecard();
    s.display_name = "é".repeat(200);
    assert!(violations(&s).is_empty(), "characters, not bytes, are counted");
    for bad in [String::new(), "   ".into(), "x".repeat(201)] {
        s.display_name = bad;
        assert_eq!(violations(&s), ["scorecard.display_name"]);
    }
}

#[test]
fn description_is_at_most_2000_characters() {
    let mut s = default_scorecard();
    s.description = String::new();
    assert!(violations(&s).is_empty());
    s.description = "d".repeat(2000);
    assert!(violations(&s).is_empty());
    s.description = "d".repeat(2001);
    assert_eq!(violations(&s), ["scorecard.description"]);
}

#[test]
fn a_scorecard_has_1_to_20_components() {
    let mut s = default_scorecard();
    s.components.clear();
    assert_eq!(violations(&s), ["scorecard.components"]);
    let template = default_scorecard().components[0].clone();
    s.components =
        (0..20).map(|i| pb::Component { id: format!("c{i}"), ..template.clone() }).collect();
    assert!(violations(&s).is_empty());
    s.components.push(pb::Component { id: "c20".into(), ..template });
    assert_eq!(violations(&s), ["scorecard.components"]);
}

#[test]
fn component_ids_are_snake_case_and_unique() {
    for bad in ["", "Support", "1st", "_x", "with-hyphen", "é", &"a".repeat(64)] {
        assert_eq!(
            with_component(1, |c| c.id = bad.into()),
            ["scorecard.components[1].id"],
            "{bad:?}"
        );
    }
    assert!(with_component(1, |c| c.id = "a".repeat(63)).is_empty());
    assert!(with_component(1, |c| c.id = "x9_".into()).is_empty());
    // The later of two equal ids is the one named.
    assert_eq!(with_component(4, |c| c.id = "csat".into()), ["scorecard.components[4].id"]);
}

#[test]
fn component_display_name_is_1_to_100_characters() {
    assert_eq!(
        with_component(0, |c| c.display_name = " ".into()),
        ["scorecard.components[0].display_name"]
    );
    assert_eq!(
        with_component(0, |c| c.display_name = "n".repeat(101)),
        ["scorecard.components[0].display_name"]
    );
    assert!(with_component(0, |c| c.display_name = "n".repeat(100)).is_empty());
}

#[test]
fn a_measure_is_required_and_must_be_known() {
    let p = "scorecard.components[2].measure";
    assert_eq!(with_component(2, |c| c.measure = None), [p]);
    assert_eq!(with_component(2, |c| c.measure = Some(pb::Measure::default())), [p]);
    assert_eq!(
        with_component(2, |c| c.measure = measure(Kind::Builtin(0))),
        [format!("{p}.builtin")]
    );
    assert_eq!(
        with_component(2, |c| c.measure = measure(Kind::Builtin(99))),
        [format!("{p}.builtin")]
    );
    assert!(
        with_component(2, |c| c.measure = measure(Kind::Builtin(B::ArrTrend as i32))).is_empty()
    );
}

#[test]
fn a_custom_measure_needs_a_snake_case_key_and_a_measurement_aggregation() {
    let p = "scorecard.components[5].measure.custom";
    use pb::Aggregation as A;
    for ok in [A::Unspecified, A::Latest, A::Mean, A::Sum, A::Min, A::Max] {
        assert!(with_component(5, |c| c.measure = custom_measure("nps", ok)).is_empty(), "{ok:?}");
    }
    // LAST is the score history's "score at the end of the bucket", meaningless here.
    assert_eq!(
        with_component(5, |c| c.measure = custom_measure("nps", A::Last)),
        [format!("{p}.aggregation")]
    );
    assert_eq!(
        with_component(5, |c| {
            c.measure =
                measure(Kind::Custom(pb::CustomMeasure { key: "nps".into(), aggregation: 42 }))
        }),
        [format!("{p}.aggregation")]
    );
    assert_eq!(
        with_component(5, |c| c.measure = custom_measure("Active-Users", A::Latest)),
        [format!("{p}.key")]
    );
    assert_eq!(
        with_component(5, |c| c.measure = custom_measure("", A::Latest)),
        [format!("{p}.key")]
    );
}

#[test]
fn weights_are_finite_above_0_and_at_most_100() {
    for bad in [0.0, -0.0, -1.0, 100.001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX] {
        assert_eq!(
            with_component(3, |c| c.weight = bad),
            ["scorecard.components[3].weight"],
            "{bad}"
        );
    }
    for ok in [f64::MIN_POSITIVE, 0.5, 100.0] {
        assert!(with_component(3, |c| c.weight = ok).is_empty(), "{ok}");
    }
}

#[test]
fn windows_are_whole_hours_from_1_hour_to_365_days() {
    let f = ["scorecard.components[0].window"];
    for bad in [
        dur(0, 0),
        dur(1800, 0),
        dur(5400, 0),
        dur(HOUR, 1),
        dur(366 * DAY, 0),
        dur(-HOUR, 0),
        dur(i64::MAX, 0),
        dur(i64::MIN, -999_999_999),
    ] {
        assert_eq!(with_component(0, |c| c.window = bad), f, "{bad:?}");
    }
    for ok in [dur(HOUR, 0), dur(7 * DAY, 0), dur(365 * DAY, 0)] {
        assert!(with_component(0, |c| c.window = ok).is_empty(), "{ok:?}");
    }
}

#[test]
fn max_data_age_is_1_minute_to_400_days() {
    let f = ["scorecard.components[1].max_data_age"];
    for bad in [
        dur(59, 999_999_999),
        dur(400 * DAY, 1),
        dur(-60, 0),
        dur(120, -5),
        dur(120, 1_000_000_000),
        dur(i64::MAX, 0),
    ] {
        assert_eq!(with_component(1, |c| c.max_data_age = bad), f, "{bad:?}");
    }
    for ok in [dur(60, 0), dur(90, 500), dur(400 * DAY, 0)] {
        assert!(with_component(1, |c| c.max_data_age = ok).is_empty(), "{ok:?}");
    }
}

#[test]
fn min_sample_size_is_0_to_10000() {
    let f = ["scorecard.components[1].min_sample_size"];
    assert_eq!(with_component(1, |c| c.min_sample_size = -1), f);
    assert_eq!(with_component(1, |c| c.min_sample_size = 10_001), f);
    assert_eq!(with_component(1, |c| c.min_sample_size = i32::MIN), f);
    assert!(with_component(1, |c| c.min_sample_size = 0).is_empty());
    assert!(with_component(1, |c| c.min_sample_size = 10_000).is_empty());
}

#[test]
fn scoring_functions_are_checked_under_their_component() {
    assert_eq!(with_component(4, |c| c.scoring = None), ["scorecard.components[4].scoring"]);
    assert_eq!(
        with_component(4, |c| {
            c.scoring = Some(Scoring::Linear(pb::LinearScoring {
                zero_points_value: 0.3,
                full_points_value: 0.3,
            }))
        }),
        ["scorecard.components[4].linear.full_points_value"]
    );
}

#[test]
fn bands_are_ordered_within_0_to_100() {
    let bands = |yellow: f64, green: f64| {
        let mut s = default_scorecard();
        s.bands = Some(pb::BandThresholds { yellow_min_score: yellow, green_min_score: green });
        violations(&s)
    };
    let (y, g) = ("scorecard.bands.yellow_min_score", "scorecard.bands.green_min_score");
    assert!(bands(0.01, 100.0).is_empty());
    assert!(bands(50.0, 50.5).is_empty());
    assert_eq!(bands(0.0, 70.0), [y]);
    assert_eq!(bands(-5.0, 70.0), [y]);
    assert_eq!(bands(f64::NAN, 70.0), [y]);
    assert_eq!(bands(40.0, 100.5), [g]);
    assert_eq!(bands(40.0, f64::INFINITY), [g]);
    assert_eq!(bands(70.0, 40.0), [g]);
    assert_eq!(bands(50.0, 50.0), [g]);
    assert_eq!(bands(0.0, 0.0), [y], "an empty bands message is not the defaults");
    let mut s = default_scorecard();
    s.bands = None;
    assert!(violations(&s).is_empty(), "unset bands take the defaults");
}

#[test]
fn the_assignment_is_checked_under_its_field() {
    let mut s = default_scorecard();
    s.assignment = Some(pb::Assignment { segments: vec![0], ..Default::default() });
    assert_eq!(violations(&s), ["scorecard.assignment.segments[0]"]);
    s.assignment = None;
    assert!(violations(&s).is_empty());
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut s = default_scorecard();
    s.display_name.clear();
    s.components[0].weight = f64::NAN;
    s.components[2].id = "csat".into();
    s.components[5].window = dur(1, 0);
    s.bands = Some(pb::BandThresholds { yellow_min_score: 80.0, green_min_score: 70.0 });
    assert_eq!(
        violations(&s),
        [
            "scorecard.display_name",
            "scorecard.components[0].weight",
            "scorecard.components[2].id",
            "scorecard.components[5].window",
            "scorecard.bands.green_min_score",
        ]
    );
}

#[test]
fn output_only_fields_are_not_validated() {
    let mut s = default_scorecard();
    s.name = "anything at all".into();
    s.version = -3;
    s.etag = "\u{0}".into();
    s.assigned_account_count = -1;
    assert!(violations(&s).is_empty());
}

// --- defaults the scorer applies -------------------------------------------------------

#[test]
fn with_defaults_fills_unset_bands_only() {
    let mut s = pb::Scorecard::default();
    with_defaults(&mut s);
    assert_eq!(s.bands, Some(DEFAULT_BANDS));
    let custom = pb::BandThresholds { yellow_min_score: 30.0, green_min_score: 80.0 };
    s.bands = Some(custom);
    with_defaults(&mut s);
    assert_eq!(s.bands, Some(custom));
    assert_eq!(bands(&pb::Scorecard::default()), DEFAULT_BANDS);
}

#[test]
fn windows_default_to_30_days_and_a_year_for_arr_trend() {
    let mut c = component_with(measure(Kind::Builtin(B::HighUrgentTickets as i32)));
    assert_eq!(window(&c), TimeDelta::days(30));
    c.window = dur(7 * DAY, 0);
    assert_eq!(window(&c), TimeDelta::days(7));
    let mut arr = component_with(measure(Kind::Builtin(B::ArrTrend as i32)));
    assert_eq!(window(&arr), TimeDelta::days(365));
    arr.window = dur(90 * DAY, 0);
    assert_eq!(window(&arr), TimeDelta::days(90));
    // Nonsense (refused by `check`) falls back rather than panicking or going negative.
    for bad in [dur(-HOUR, 0), dur(0, 0), dur(i64::MAX, 0), dur(5, -1)] {
        c.window = bad;
        assert_eq!(window(&c), TimeDelta::days(30), "{bad:?}");
    }
    assert_eq!(window(&pb::Component::default()), TimeDelta::days(30));
}

#[test]
fn max_data_age_defaults_by_source() {
    let b = |m: B| component_with(measure(Kind::Builtin(m as i32)));
    assert_eq!(max_data_age(&b(B::CsatGoodShare)), TimeDelta::days(1));
    assert_eq!(max_data_age(&b(B::BacklogOldestAgeDays)), TimeDelta::days(1));
    assert_eq!(max_data_age(&b(B::DaysToRenewal)), TimeDelta::days(7));
    assert_eq!(max_data_age(&b(B::ArrTrend)), TimeDelta::days(7));
    let custom = component_with(custom_measure("nps", pb::Aggregation::Mean));
    assert_eq!(max_data_age(&custom), TimeDelta::days(35));
    let set = pb::Component { max_data_age: dur(90, 0), ..b(B::LifecycleStage) };
    assert_eq!(max_data_age(&set), TimeDelta::seconds(90));
}

#[test]
fn min_sample_sizes_default_by_measure_and_apply_only_to_sampled_measures() {
    let b = |m: B, set: i32| pb::Component {
        min_sample_size: set,
        ..component_with(measure(Kind::Builtin(m as i32)))
    };
    assert_eq!(min_sample_size(&b(B::CsatGoodShare, 0)), 5);
    assert_eq!(min_sample_size(&b(B::CsatTrendPoints, 0)), 5);
    assert_eq!(min_sample_size(&b(B::ReopenRate, 0)), 3);
    assert_eq!(min_sample_size(&b(B::SlaAdherence, 0)), 3);
    assert_eq!(min_sample_size(&b(B::ResolutionTimeSlaRatio, 0)), 3);
    assert_eq!(min_sample_size(&b(B::CsatGoodShare, 12)), 12);
    assert_eq!(min_sample_size(&b(B::ReopenRate, 1)), 1);
    // Not sampled: the setting is ignored.
    assert_eq!(min_sample_size(&b(B::HighUrgentTickets, 0)), 0);
    assert_eq!(min_sample_size(&b(B::HighUrgentTickets, 7)), 0);
    assert_eq!(min_sample_size(&b(B::LifecycleStage, 7)), 0);
    // Out of range (refused by `check`): clamped, never negative.
    assert_eq!(min_sample_size(&b(B::CsatGoodShare, -4)), 5);
    assert_eq!(min_sample_size(&b(B::CsatGoodShare, i32::MAX)), 10_000);

    let c = |a: pb::Aggregation, set: i32| pb::Component {
        min_sample_size: set,
        ..component_with(custom_measure("nps", a))
    };
    assert_eq!(min_sample_size(&c(pb::Aggregation::Mean, 0)), 1);
    assert_eq!(min_sample_size(&c(pb::Aggregation::Sum, 4)), 4);
    assert_eq!(min_sample_size(&c(pb::Aggregation::Latest, 4)), 0);
    assert_eq!(min_sample_size(&c(pb::Aggregation::Unspecified, 0)), 0, "unset is LATEST");
    assert_eq!(min_sample_size(&pb::Component::default()), 0);
}

#[test]
fn every_builtin_measure_is_support_or_account() {
    let all: Vec<B> = (1..).map_while(|i| B::try_from(i).ok()).collect();
    assert_eq!(all.len(), 13);
    for m in all {
        assert!(is_support(m) != is_account(m), "{m:?}");
    }
    assert!(!is_support(B::Unspecified) && !is_account(B::Unspecified));
    assert!(is_support(B::MaxTicketsInCategory));
    assert!(is_account(B::DaysToRenewal));
}

#[test]
fn unset_aggregation_is_latest() {
    let a = |v: i32| aggregation(&pb::CustomMeasure { key: "k".into(), aggregation: v });
    assert_eq!(a(0), pb::Aggregation::Latest);
    assert_eq!(a(pb::Aggregation::Max as i32), pb::Aggregation::Max);
    assert_eq!(a(77), pb::Aggregation::Latest);
}

// --- bands -----------------------------------------------------------------------------

#[test]
fn bands_begin_at_their_thresholds() {
    use pb::HealthBand::{Green, Red, Unspecified, Yellow};
    let d = DEFAULT_BANDS;
    let cases =
        [(0.0, Red), (39.99, Red), (40.0, Yellow), (69.99, Yellow), (70.0, Green), (100.0, Green)];
    for (score, expected) in cases {
        assert_eq!(band(score, &d), expected, "{score}");
    }
    assert_eq!(band(f64::NAN, &d), Unspecified);
    let strict = pb::BandThresholds { yellow_min_score: 60.0, green_min_score: 100.0 };
    assert_eq!(band(59.99, &strict), Red);
    assert_eq!(band(99.99, &strict), Yellow);
    assert_eq!(band(100.0, &strict), Green);
}

// --- content comparison ----------------------------------------------------------------

#[test]
fn same_content_ignores_output_only_fields() {
    let a = default_scorecard();
    let b = pb::Scorecard {
        name: "scorecards/other".into(),
        version: 7,
        etag: "W/\"7\"".into(),
        create_time: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
        update_time: Some(prost_types::Timestamp { seconds: 2, nanos: 0 }),
        rescore_operation: "rescoreOperations/x".into(),
        assigned_account_count: 12,
        ..a.clone()
    };
    assert!(same_content(&a, &b));
}

#[test]
fn same_content_sees_every_writable_field() {
    let a = default_scorecard();
    let edits: [fn(&mut pb::Scorecard); 6] = [
        |s| s.display_name.push('!'),
        |s| s.description.clear(),
        |s| s.components[3].weight = 16.0,
        |s| s.components.swap(0, 1),
        |s| s.bands = Some(pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 75.0 }),
        |s| {
            s.assignment = Some(pb::Assignment {
                segments: vec![1],
                default_scorecard: true,
                ..Default::default()
            })
        },
    ];
    for (i, edit) in edits.into_iter().enumerate() {
        let mut b = a.clone();
        edit(&mut b);
        assert!(!same_content(&a, &b), "edit {i}");
    }
}

#[test]
fn unset_bands_and_assignment_equal_their_defaults() {
    let a = default_scorecard();
    let b = pb::Scorecard { bands: None, ..a.clone() };
    assert!(same_content(&a, &b));
    let draft = pb::Scorecard { assignment: None, ..a.clone() };
    let empty = pb::Scorecard { assignment: Some(pb::Assignment::default()), ..a };
    assert!(same_content(&draft, &empty));
}
