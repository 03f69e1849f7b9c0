//! Worked readings. The compute time is `now` = 2026-03-15 12:00 UTC; support summaries are
//! as of `now` over 30 days (current `[Feb 13 12:00, Mar 15 12:00)`) and 90 days; the
//! account feed caught up one hour before `now`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Date;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::{Inputs, Observation, Reading, arr_windows_needed, freshness, read, windows_needed};
use pb::BuiltinMeasure as B;
use ticket_pb::TicketPriority as P;

const DAY: i64 = 86_400;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 12, 0, 0).unwrap()
}

fn stamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    steward_kit::time::timestamp(t)
}

fn days(n: i64) -> prost_types::Duration {
    prost_types::Duration { seconds: n * DAY, nanos: 0 }
}

fn builtin(m: B, window_days: Option<i64>) -> pb::Component {
    pb::Component {
        id: "c".into(),
        display_name: "C".into(),
        measure: Some(pb::Measure { kind: Some(pb::measure::Kind::Builtin(m as i32)) }),
        weight: 10.0,
        window: window_days.map(days),
        ..Default::default()
    }
}

fn custom(key: &str, agg: pb::Aggregation, min: i32) -> pb::Component {
    pb::Component {
        id: "usage".into(),
        display_name: "Usage".into(),
        measure: Some(pb::Measure {
            kind: Some(pb::measure::Kind::Custom(pb::CustomMeasure {
                key: key.into(),
                aggregation: agg as i32,
            })),
        }),
        weight: 15.0,
        min_sample_size: min,
        ..Default::default()
    }
}

fn summary(window_days: i64, current: ticket_pb::SupportFigures) -> ticket_pb::SupportSummary {
    ticket_pb::SupportSummary {
        account: "accounts/acme".into(),
        window: Some(days(window_days)),
        as_of: Some(stamp(now())),
        current: Some(current),
        previous: Some(ticket_pb::SupportFigures::default()),
        tickets_created_history: vec![4, 5, 3],
        first_ticket_create_time: Some(stamp(now() - Duration::days(400))),
        ..Default::default()
    }
}

/// Inputs with a 30-day and a 90-day summary (empty figures), the account, no measurements.
fn inputs() -> Inputs {
    let mut summaries = BTreeMap::new();
    summaries.insert(30 * DAY, summary(30, ticket_pb::SupportFigures::default()));
    summaries.insert(90 * DAY, summary(90, ticket_pb::SupportFigures::default()));
    Inputs {
        summaries,
        account: Some(account_pb::Account {
            name: "accounts/acme".into(),
            lifecycle_stage: account_pb::LifecycleStage::Adoption as i32,
            arr: Some(account_pb::Money { amount_minor: 9_000_000, currency_code: "USD".into() }),
            renewal_date: Some(Date { year: 2026, month: 4, day: 14 }),
            ..Default::default()
        }),
        account_seen: Some(now() - Duration::hours(1)),
        arr_then: BTreeMap::from([(365 * DAY, Some(10_000_000))]),
        measurements: vec![],
        now: now(),
    }
}

/// Sets the figures of the `window_days` summary.
fn with(window_days: i64, figures: ticket_pb::SupportFigures) -> Inputs {
    let mut i = inputs();
    if let Some(s) = i.summaries.get_mut(&(window_days * DAY)) {
        s.current = Some(figures);
    }
    i
}

/// The value and facts of a fresh reading; fails the test otherwise.
fn value(r: &Reading) -> (f64, String) {
    match r {
        Reading::Value { value, facts, .. } => (*value, facts.join("; ")),
        other => panic!("expected a value, got {other:?}"),
    }
}

fn missing(r: &Reading) -> &str {
    match r {
        Reading::Missing { reason, .. } => reason,
        other => panic!("expected MISSING, got {other:?}"),
    }
}

fn approx(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

/// 12 tickets against a history of 4, 5, 3 (mean 4) → 3.0; an empty history floors the
/// baseline at 1 ticket → 2 tickets give 2.0.
#[test]
fn ticket_volume_ratio_against_the_three_windows_before() {
    let c = builtin(B::TicketVolumeRatio, None);
    let i = with(30, ticket_pb::SupportFigures { tickets_created: 12, ..Default::default() });
    let r = read(&c, &i);
    assert_eq!(
        value(&r),
        (3.0, "12 tickets created in 30 days vs a usual 4 per 30 days (3×)".into())
    );
    assert_eq!(r.unit(), "ratio");

    let mut i = with(30, ticket_pb::SupportFigures { tickets_created: 2, ..Default::default() });
    if let Some(s) = i.summaries.get_mut(&(30 * DAY)) {
        s.tickets_created_history = vec![0, 0, 0];
    }
    assert_eq!(value(&read(&c, &i)).0, 2.0);
}

/// Known for less than one window (first ticket 20 days ago) or not at all → MISSING; known
/// for exactly one window → a value.
#[test]
fn ticket_volume_needs_one_window_of_history() {
    let c = builtin(B::TicketVolumeRatio, None);
    let mut i = with(30, ticket_pb::SupportFigures { tickets_created: 6, ..Default::default() });
    let set_first = |i: &mut Inputs, t: Option<DateTime<Utc>>| {
        if let Some(s) = i.summaries.get_mut(&(30 * DAY)) {
            s.first_ticket_create_time = t.map(stamp);
        }
    };
    set_first(&mut i, Some(now() - Duration::days(20)));
    assert_eq!(
        missing(&read(&c, &i)),
        "First ticket on 2026-02-23; volume needs 30 days of history"
    );
    set_first(&mut i, None);
    assert_eq!(missing(&read(&c, &i)), "No tickets yet; volume needs 30 days of history");
    set_first(&mut i, Some(now() - Duration::days(30)));
    assert_eq!(value(&read(&c, &i)).0, 1.5);
}

#[test]
fn high_urgent_tickets_by_priority() {
    let c = builtin(B::HighUrgentTickets, None);
    let count = |p: P, n| ticket_pb::PriorityCount { priority: p as i32, count: n };
    let f = ticket_pb::SupportFigures {
        high_urgent_tickets: 3,
        by_priority: vec![count(P::Normal, 7), count(P::High, 1), count(P::Urgent, 2)],
        ..Default::default()
    };
    assert_eq!(
        value(&read(&c, &with(30, f))),
        (3.0, "2 URGENT and 1 HIGH tickets in 30 days".into())
    );
    let f = ticket_pb::SupportFigures {
        high_urgent_tickets: 1,
        by_priority: vec![count(P::Urgent, 1)],
        ..Default::default()
    };
    assert_eq!(value(&read(&c, &with(30, f))).1, "1 URGENT ticket in 30 days");
    assert_eq!(value(&read(&c, &inputs())), (0.0, "No HIGH or URGENT tickets in 30 days".into()));
}

/// p90 12 days 12 hours → 12.5 days; oldest 40 days; no open tickets → 0.
#[test]
fn backlog_ages_in_fractional_days() {
    let f = ticket_pb::SupportFigures {
        open_backlog: 4,
        backlog_age: Some(ticket_pb::AgeDistribution {
            p90: Some(prost_types::Duration { seconds: 12 * DAY + 12 * 3600, nanos: 0 }),
            oldest: Some(days(40)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let i = with(30, f);
    let p90 = read(&builtin(B::BacklogAgeP90Days, None), &i);
    assert_eq!(value(&p90), (12.5, "4 tickets open, 90th percentile age 12.5 days".into()));
    assert_eq!(p90.unit(), "days");
    assert_eq!(value(&read(&builtin(B::BacklogOldestAgeDays, None), &i)).0, 40.0);
    let none = read(&builtin(B::BacklogOldestAgeDays, None), &inputs());
    assert_eq!(value(&none), (0.0, "No open tickets".into()));
}

/// The backlog is taken at an instant: any summary serves when its own window's is absent.
#[test]
fn backlog_reads_any_summary() {
    let mut i = inputs();
    i.summaries.remove(&(30 * DAY));
    assert_eq!(value(&read(&builtin(B::BacklogAgeP90Days, Some(30)), &i)).0, 0.0);
    i.summaries.clear();
    assert_eq!(
        missing(&read(&builtin(B::BacklogAgeP90Days, None), &i)),
        "No support summary over 30 days available"
    );
}

/// 18 GOOD of 20 ratings over 90 days → 0.9; 4 ratings is below the default 5 → MISSING.
#[test]
fn csat_good_share_needs_five_ratings() {
    let c = builtin(B::CsatGoodShare, Some(90));
    let f = ticket_pb::SupportFigures { csat_responses: 20, csat_good: 18, ..Default::default() };
    let r = read(&c, &with(90, f));
    assert_eq!(value(&r), (0.9, "18 of 20 CSAT ratings GOOD in 90 days (90%)".into()));
    assert!(matches!(r, Reading::Value { sample: Some(20), .. }));
    let f = ticket_pb::SupportFigures { csat_responses: 4, csat_good: 4, ..Default::default() };
    assert_eq!(missing(&read(&c, &with(90, f))), "4 CSAT ratings in 90 days (needs 5)");
}

/// 90% GOOD now vs 85% (17 of 20) before → +5 points; 3 ratings before → MISSING.
#[test]
fn csat_trend_in_points_needs_both_windows() {
    let c = builtin(B::CsatTrendPoints, Some(90));
    let mut i = with(
        90,
        ticket_pb::SupportFigures { csat_responses: 20, csat_good: 18, ..Default::default() },
    );
    let set_previous = |i: &mut Inputs, n, good| {
        if let Some(s) = i.summaries.get_mut(&(90 * DAY)) {
            s.previous = Some(ticket_pb::SupportFigures {
                csat_responses: n,
                csat_good: good,
                ..Default::default()
            });
        }
    };
    set_previous(&mut i, 20, 17);
    let (points, fact) = value(&read(&c, &i));
    approx(points, 5.0);
    assert_eq!(fact, "CSAT 90% GOOD in 90 days vs 85% in the 90 days before (+5.0 points)");
    set_previous(&mut i, 3, 3);
    assert_eq!(missing(&read(&c, &i)), "3 CSAT ratings in the 90 days before (needs 5)");
}

/// 2 of 10 solved reopened → 0.2; 2 solved is below the default 3 → MISSING.
#[test]
fn reopen_rate_needs_three_solved() {
    let c = builtin(B::ReopenRate, Some(90));
    let f =
        ticket_pb::SupportFigures { tickets_solved: 10, tickets_reopened: 2, ..Default::default() };
    assert_eq!(
        value(&read(&c, &with(90, f))),
        (0.2, "2 of 10 tickets solved in 90 days reopened (20%)".into())
    );
    let f = ticket_pb::SupportFigures { tickets_solved: 2, ..Default::default() };
    assert_eq!(missing(&read(&c, &with(90, f))), "2 tickets solved in 90 days (needs 3)");
}

/// Per ticket: 2 of 10 tickets breached → 0.8; the resolution ratio is the summary's median.
#[test]
fn sla_measures() {
    let f = ticket_pb::SupportFigures {
        sla_tickets: 10,
        sla_breached_tickets: 2,
        sla_ticket_adherence: Some(0.8),
        // Per target it is different (3 of 12 targets): the measure is per ticket.
        sla_targets_due: 12,
        sla_breaches: 3,
        sla_adherence: Some(0.75),
        resolution_sla_ratio_median: Some(1.4),
        resolution_sla_ratio_tickets: 7,
        ..Default::default()
    };
    let i = with(30, f);
    assert_eq!(
        value(&read(&builtin(B::SlaAdherence, None), &i)),
        (
            0.8,
            "2 of 10 tickets with an SLA target due in 30 days breached it (80% adherence)".into()
        )
    );
    assert_eq!(
        value(&read(&builtin(B::ResolutionTimeSlaRatio, None), &i)),
        (1.4, "Median resolution at 1.4× the SLA target over 7 tickets resolved in 30 days".into())
    );
    let sla = read(&builtin(B::SlaAdherence, None), &inputs());
    assert_eq!(missing(&sla), "0 tickets with an SLA target due in 30 days (needs 3)");
}

/// Uncategorized tickets never count: 5 uncategorized, 3 billing, 3 login → 3 (billing).
#[test]
fn max_tickets_in_one_category() {
    let cat = |c: &str, n| ticket_pb::CategoryCount {
        category: c.into(),
        count: n,
        ..Default::default()
    };
    let f = ticket_pb::SupportFigures {
        by_category: vec![cat("", 5), cat("billing", 3), cat("login", 3)],
        ..Default::default()
    };
    let c = builtin(B::MaxTicketsInCategory, None);
    assert_eq!(
        value(&read(&c, &with(30, f))),
        (3.0, "3 tickets in category \"billing\" in 30 days".into())
    );
    assert_eq!(value(&read(&c, &inputs())), (0.0, "No categorized tickets in 30 days".into()));
}

/// Support data is as old as the summary's as-of: 24 hours still counts (default limit 1
/// day), 25 hours is STALE with the old value kept.
#[test]
fn support_staleness_by_summary_as_of() {
    let c = builtin(B::HighUrgentTickets, None);
    let mut i =
        with(30, ticket_pb::SupportFigures { high_urgent_tickets: 2, ..Default::default() });
    i.now = now() + Duration::hours(24);
    assert_eq!(value(&read(&c, &i)).0, 2.0);
    i.now = now() + Duration::hours(25);
    match read(&c, &i) {
        Reading::Stale { value, age, max_age, data_time, .. } => {
            assert_eq!(
                (value, age, max_age, data_time),
                (2.0, Duration::hours(25), Duration::days(1), now())
            );
        }
        other => panic!("expected STALE, got {other:?}"),
    }
    assert_eq!(
        missing(&read(&builtin(B::HighUrgentTickets, Some(7)), &i)),
        "No support summary over 7 days available"
    );
}

/// Renewal on Apr 14 seen from Mar 15 → 30 days; Mar 5 → −10 (overdue); no contract → MISSING.
#[test]
fn days_to_renewal_from_today_utc() {
    let c = builtin(B::DaysToRenewal, None);
    let mut i = inputs();
    assert_eq!(value(&read(&c, &i)), (30.0, "Renewal on 2026-04-14, in 30 days".into()));
    let set = |i: &mut Inputs, d: Option<Date>| {
        if let Some(a) = i.account.as_mut() {
            a.renewal_date = d;
        }
    };
    set(&mut i, Some(Date { year: 2026, month: 3, day: 5 }));
    assert_eq!(
        value(&read(&c, &i)),
        (-10.0, "Renewal overdue since 2026-03-05 (10 days ago)".into())
    );
    set(&mut i, Some(Date { year: 2026, month: 2, day: 30 }));
    assert_eq!(missing(&read(&c, &i)), "The renewal date is not a valid date");
    set(&mut i, None);
    assert_eq!(missing(&read(&c, &i)), "No contract, so no renewal date");
}

#[test]
fn lifecycle_stage_ordinal() {
    let c = builtin(B::LifecycleStage, None);
    let mut i = inputs();
    assert_eq!(value(&read(&c, &i)), (2.0, "Lifecycle stage ADOPTION (2)".into()));
    if let Some(a) = i.account.as_mut() {
        a.lifecycle_stage = 0;
    }
    assert_eq!(missing(&read(&c, &i)), "Lifecycle stage not set");
}

/// 90,000.00 now vs 100,000.00 a year ago → −0.1; no ARR then → MISSING.
#[test]
fn arr_trend_over_the_window() {
    let c = builtin(B::ArrTrend, Some(365));
    let mut i = inputs();
    let (trend, fact) = value(&read(&c, &i));
    approx(trend, -0.1);
    assert_eq!(fact, "ARR down 10% over 365 days");
    i.arr_then.insert(365 * DAY, Some(0));
    assert_eq!(missing(&read(&c, &i)), "No ARR 365 days ago to compare with");
}

/// Account data is as old as the feed's catch-up: 8 days is past the default 7 → STALE; an
/// account never received → MISSING.
#[test]
fn account_staleness_and_absence() {
    let c = builtin(B::LifecycleStage, None);
    let mut i = inputs();
    i.account_seen = Some(now() - Duration::days(8));
    assert!(matches!(read(&c, &i), Reading::Stale { value: 2.0, .. }));
    i.account = None;
    assert_eq!(missing(&read(&c, &i)), "Account data not received yet");
}

fn observe(key: &str, value: f64, days_ago: i64) -> Observation {
    Observation {
        key: key.into(),
        value,
        observe_time: now() - Duration::days(days_ago),
        unit: "ratio".into(),
        source: "product-analytics".into(),
    }
}

/// LATEST takes the newest (0.42, 5 days ago) whatever its age; 40 days old it is STALE
/// (default 35 days); never recorded → MISSING.
#[test]
fn custom_latest() {
    let c = custom("active_user_ratio", pb::Aggregation::Unspecified, 0);
    let mut i = inputs();
    i.measurements = vec![
        observe("active_user_ratio", 0.5, 20),
        observe("active_user_ratio", 0.42, 5),
        observe("nps", 9.0, 1),
    ];
    let r = read(&c, &i);
    assert_eq!(
        value(&r),
        (0.42, "active_user_ratio 0.42 observed 2026-03-10 (product-analytics)".into())
    );
    assert_eq!((r.unit(), r.data_time()), ("ratio", Some(now() - Duration::days(5))));
    i.measurements = vec![observe("active_user_ratio", 0.5, 40)];
    assert!(matches!(read(&c, &i), Reading::Stale { value: 0.5, .. }));
    i.measurements.clear();
    assert_eq!(missing(&read(&c, &i)), "No active_user_ratio measurement recorded");
}

/// Over the default 30 days: 10 (1 day ago), 20 (5), 30 (10) count, 1000 (40) does not →
/// mean 20, sum 60, min 10, max 30; a NaN is ignored; needing 4 makes it MISSING.
#[test]
fn custom_aggregates_over_the_window() {
    let mut i = inputs();
    i.measurements = vec![
        observe("nps", 10.0, 1),
        observe("nps", 20.0, 5),
        observe("nps", 30.0, 10),
        observe("nps", 1000.0, 40),
        observe("nps", f64::NAN, 2),
    ];
    let agg = |a| value(&read(&custom("nps", a, 3), &i));
    assert_eq!(
        agg(pb::Aggregation::Mean),
        (20.0, "Mean nps 20 over 3 measurements in 30 days (product-analytics)".into())
    );
    assert_eq!(agg(pb::Aggregation::Sum).0, 60.0);
    assert_eq!(agg(pb::Aggregation::Min).0, 10.0);
    assert_eq!(agg(pb::Aggregation::Max).0, 30.0);
    let r = read(&custom("nps", pb::Aggregation::Mean, 3), &i);
    assert!(matches!(r, Reading::Value { sample: Some(3), .. }));
    assert_eq!(r.data_time(), Some(now() - Duration::days(1)));
    let r = read(&custom("nps", pb::Aggregation::Mean, 4), &i);
    assert_eq!(missing(&r), "3 nps measurements in 30 days (needs 4)");
    i.measurements.retain(|o| o.value > 100.0);
    assert_eq!(
        missing(&read(&custom("nps", pb::Aggregation::Sum, 0), &i)),
        "No nps measurement in 30 days"
    );
}

/// A sum past f64's range is not a value; the mean of huge values still is.
#[test]
fn custom_overflow_is_missing_not_infinite() {
    let mut i = inputs();
    i.measurements = vec![observe("x", f64::MAX, 1), observe("x", f64::MAX, 2)];
    assert_eq!(
        missing(&read(&custom("x", pb::Aggregation::Sum, 0), &i)),
        "The measured value is not a finite number"
    );
    assert_eq!(value(&read(&custom("x", pb::Aggregation::Mean, 0), &i)).0, f64::MAX);
}

fn scorecard(components: Vec<pb::Component>) -> pb::Scorecard {
    pb::Scorecard { components, ..Default::default() }
}

/// The default scorecard's support measures need the 30- and 90-day summaries; the backlog
/// alone needs one (its own window); ARR trends need their windows' ARR.
#[test]
fn windows_to_fetch() {
    let default_like = scorecard(vec![
        builtin(B::HighUrgentTickets, None),
        builtin(B::CsatGoodShare, Some(90)),
        builtin(B::BacklogAgeP90Days, None),
        builtin(B::TicketVolumeRatio, None),
        builtin(B::ReopenRate, Some(90)),
        custom("active_user_ratio", pb::Aggregation::Latest, 0),
    ]);
    assert_eq!(windows_needed(&default_like).into_iter().collect::<Vec<_>>(), [30 * DAY, 90 * DAY]);
    let backlog =
        scorecard(vec![builtin(B::BacklogAgeP90Days, Some(7)), builtin(B::LifecycleStage, None)]);
    assert_eq!(windows_needed(&backlog).into_iter().collect::<Vec<_>>(), [7 * DAY]);
    let arr = scorecard(vec![builtin(B::ArrTrend, None), builtin(B::ArrTrend, Some(90))]);
    assert!(windows_needed(&arr).is_empty());
    assert_eq!(arr_windows_needed(&arr).into_iter().collect::<Vec<_>>(), [90 * DAY, 365 * DAY]);
}

#[test]
fn freshness_of_the_inputs() {
    let card = scorecard(vec![
        builtin(B::HighUrgentTickets, None),
        custom("active_user_ratio", pb::Aggregation::Latest, 0),
    ]);
    let mut i = inputs();
    i.measurements = vec![observe("active_user_ratio", 0.6, 3)];
    let readings: Vec<Reading> = card.components.iter().map(|c| read(c, &i)).collect();
    let f = freshness(&card, &readings, &i);
    assert_eq!(f.support_as_of, Some(stamp(now())));
    assert_eq!(f.account_as_of, Some(stamp(now() - Duration::hours(1))));
    assert_eq!(f.latest_measurement_time, Some(stamp(now() - Duration::days(3))));
    let f = freshness(&card, &readings, &Inputs { now: now(), ..Default::default() });
    assert_eq!((f.support_as_of, f.account_as_of), (None, None));
}

/// Absurd inputs give readings, not panics: times at chrono's limits, negative and huge
/// durations, unknown enum values, components without a measure.
#[test]
fn absurd_inputs_do_not_panic() {
    let mut i = with(
        30,
        ticket_pb::SupportFigures {
            tickets_created: i32::MAX,
            open_backlog: 3,
            csat_responses: -5,
            tickets_solved: i32::MIN,
            backlog_age: Some(ticket_pb::AgeDistribution {
                p90: Some(prost_types::Duration { seconds: i64::MIN, nanos: -5 }),
                oldest: Some(prost_types::Duration { seconds: i64::MAX, nanos: 999_999_999 }),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    i.measurements = vec![observe("x", 1.0, 1)];
    if let Some(a) = i.account.as_mut() {
        a.renewal_date = Some(Date { year: i32::MAX, month: -1, day: 99 });
        a.lifecycle_stage = 99;
        a.arr = Some(account_pb::Money { amount_minor: i64::MIN, currency_code: String::new() });
    }
    i.arr_then.insert(365 * DAY, Some(i64::MAX));
    let mut odd = vec![
        pb::Component::default(),
        builtin(B::Unspecified, None),
        pb::Component {
            measure: Some(pb::Measure { kind: Some(pb::measure::Kind::Builtin(77)) }),
            ..Default::default()
        },
        custom("x", pb::Aggregation::Last, 0),
        custom("x", pb::Aggregation::Mean, i32::MAX),
    ];
    for m in 1..=13 {
        if let Ok(b) = B::try_from(m) {
            odd.push(builtin(b, None));
            odd.push(pb::Component {
                window: Some(prost_types::Duration { seconds: i64::MIN, nanos: 0 }),
                max_data_age: Some(prost_types::Duration { seconds: i64::MAX, nanos: 0 }),
                ..builtin(b, None)
            });
        }
    }
    for t in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, now()] {
        i.now = t;
        i.account_seen =
            Some(if t == now() { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC });
        for c in &odd {
            if let Some(v) = read(c, &i).value() {
                assert!(v.is_finite(), "{c:?}");
            }
        }
    }
    assert!(matches!(read(&pb::Component::default(), &i), Reading::Missing { .. }));
}
