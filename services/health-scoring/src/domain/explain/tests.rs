//! Worked explanations with the shipped default scorecard. The baseline readings (as in
//! `compute`'s tests, but no HIGH or URGENT tickets: 100 points) score 78.86 GREEN with
//! contributions 25.00 severity, 16.00 CSAT, 11.11 backlog, 11.25 volume, 8.00 reopens, 7.50
//! usage. Earlier scores are computed on 2026-03-01, current ones on 2026-03-15.

use chrono::{DateTime, TimeZone, Utc};
use steward_proto::health::v1 as pb;

use super::{changed, compare, mover_line, moves, summary};
use crate::domain::compute::score;
use crate::domain::measures::Reading;
use crate::domain::scorecard::default_scorecard;

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap()
}

fn value(v: f64, fact: &str) -> Reading {
    Reading::Value {
        value: v,
        unit: "u".into(),
        sample: None,
        data_time: day(1),
        facts: vec![fact.into()],
    }
}

fn missing(reason: &str) -> Reading {
    Reading::Missing { unit: String::new(), reason: reason.into() }
}

fn readings() -> Vec<Reading> {
    vec![
        value(0.0, "No HIGH or URGENT tickets in 30 days"),
        value(0.86, "43 of 50 CSAT ratings GOOD in 90 days (86%)"),
        value(10.0, "4 tickets open, 90th percentile age 10 days"),
        value(1.5, "6 tickets created in 30 days vs a usual 4 per 30 days (1.5×)"),
        value(0.10, "1 of 10 tickets solved in 90 days reopened (10%)"),
        value(0.5, "active_user_ratio 0.5 observed 2026-03-10"),
    ]
}

fn scored(card: &pb::Scorecard, r: &[Reading], at: DateTime<Utc>) -> pb::HealthScore {
    score(card, r).health_score("accounts/acme", card, at, pb::InputFreshness::default())
}

/// Severity 0 tickets (100 points, 25.00) before, 3 URGENT (25 points, 6.25) now:
/// 78.86 GREEN → 60.11 YELLOW, −18.75 all from support severity.
#[test]
fn one_component_moves_the_score() {
    let card = default_scorecard();
    let before = scored(&card, &readings(), day(1));
    let mut r = readings();
    r[0] = value(3.0, "3 URGENT tickets in 30 days");
    let after = scored(&card, &r, day(15));
    assert_eq!((before.score, after.score), (Some(78.86), Some(60.11)));

    let c = compare(&before, &after);
    assert_eq!(c.score_delta, -18.75);
    assert_eq!((c.earlier_score, c.earlier_band), (Some(78.86), pb::HealthBand::Green as i32));
    assert_eq!(c.compare_time, before.compute_time);
    assert_eq!(c.movers.len(), 1);
    let m = &c.movers[0];
    assert_eq!(m.component_id, "support_severity");
    assert_eq!((m.earlier_points, m.current_points), (100.0, 25.0));
    assert_eq!(
        (m.earlier_contribution, m.current_contribution, m.contribution_delta),
        (25.0, 6.25, -18.75)
    );
    assert_eq!(
        summary(&after, Some(&c)),
        [
            "Score 60.11 (YELLOW), down 18.75 from 78.86 (GREEN) since 2026-03-01.",
            "3 URGENT tickets in 30 days: Support severity \u{2212}18.75 points.",
        ]
    );
}

/// Usage recorded at last: before, usage MISSING and the rest renormalized over 85; now
/// every component counts. Each support component gives up weight (−2.43 severity, …) and
/// usage brings 7.50; the movers sum to the score delta −3.11 = 67.61 − 70.72.
#[test]
fn renormalization_moves_every_component() {
    let card = default_scorecard();
    let mut r = readings();
    r[0] = value(2.0, "2 URGENT tickets in 30 days");
    let mut earlier = r.clone();
    earlier[5] = missing("No active_user_ratio measurement recorded");
    let before = scored(&card, &earlier, day(1));
    let after = scored(&card, &r, day(15));
    assert_eq!((before.score, after.score), (Some(70.72), Some(67.61)));

    let c = compare(&before, &after);
    let got: Vec<(&str, f64)> =
        c.movers.iter().map(|m| (m.component_id.as_str(), m.contribution_delta)).collect();
    assert_eq!(
        got,
        [
            ("usage", 7.5),
            ("csat", -2.82),
            ("support_severity", -2.43),
            ("ticket_volume", -1.99),
            ("backlog_age", -1.96),
            ("reopen_rate", -1.41),
        ]
    );
    let sum: i64 = c.movers.iter().map(|m| (m.contribution_delta * 100.0).round() as i64).sum();
    assert_eq!((sum, c.score_delta), (-311, -3.11));
    let lines = summary(&after, Some(&c));
    assert_eq!(lines[0], "Score 67.61 (YELLOW), down 3.11 from 70.72 (GREEN) since 2026-03-01.");
    assert_eq!(lines[1], "active_user_ratio 0.5 observed 2026-03-10: Product usage +7.50 points.");
    assert_eq!(
        lines[2],
        "43 of 50 CSAT ratings GOOD in 90 days (86%): CSAT \u{2212}2.82 points (weights \
         renormalized)."
    );
    assert_eq!(lines.len(), 7);

    // The feed entry keeps the top 3, with the current facts.
    let top = moves(Some(&before), &after);
    let ids: Vec<&str> = top.iter().map(|m| m.component_id.as_str()).collect();
    assert_eq!(ids, ["usage", "csat", "support_severity"]);
    assert_eq!(top[0].fact, "active_user_ratio 0.5 observed 2026-03-10");
    assert_eq!(top[0].points_delta, 7.5);

    // The other way round, usage is left out: its line says so.
    let back = compare(&after, &before);
    assert_eq!(
        summary(&before, Some(&back))[1],
        "No active_user_ratio measurement recorded: Product usage left out, other weights \
         renormalized, \u{2212}7.50 points."
    );
}

/// A new scorecard version without the reopen rate: the component is matched by id, counts
/// 0 now, keeps its earlier name and fact; the model change gets its own line.
#[test]
fn removed_component_and_model_change() {
    let mut card = default_scorecard();
    card.version = 1;
    let before = scored(&card, &readings(), day(1));
    let mut v2 = default_scorecard();
    v2.version = 2;
    v2.components.remove(4);
    let mut r = readings();
    r.remove(4);
    let after = scored(&v2, &r, day(15));
    let c = compare(&before, &after);
    let removed = c.movers.iter().find(|m| m.component_id == "reopen_rate");
    let removed =
        removed.map(|m| (m.display_name.as_str(), m.current_contribution, m.current_fact.as_str()));
    assert_eq!(removed, Some(("Reopen rate", 0.0, "")));
    let lines = summary(&after, Some(&c));
    assert_eq!(
        lines[1],
        "Scored by scorecards/default version 2 (was scorecards/default version 1): part of the \
         change comes from the model."
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "1 of 10 tickets solved in 90 days reopened (10%): Reopen rate removed, \u{2212}"
        )),
        "{lines:?}"
    );
    let sum: i64 = c.movers.iter().map(|m| (m.contribution_delta * 100.0).round() as i64).sum();
    assert_eq!(sum, (c.score_delta * 100.0).round() as i64);
}

/// Without an earlier score there are no movers in a comparison (the delta is 0 by
/// definition), but a first feed entry lists the largest contributions.
#[test]
fn first_score_and_lost_score() {
    let card = default_scorecard();
    let none: Vec<Reading> = (0..6).map(|_| missing("No data")).collect();
    let empty = scored(&card, &none, day(1));
    let full = scored(&card, &readings(), day(15));
    let c = compare(&empty, &full);
    assert_eq!((c.earlier_score, c.score_delta, c.movers.len()), (None, 0.0, 0));
    assert_eq!(summary(&full, None)[0], "Score 78.86 (GREEN); no earlier score to compare with.");
    let first: Vec<(String, f64)> =
        moves(None, &full).into_iter().map(|m| (m.component_id, m.points_delta)).collect();
    assert_eq!(
        first,
        [("support_severity".into(), 25.0), ("csat".into(), 16.0), ("ticket_volume".into(), 11.25)]
    );
    let lost = summary(&empty, Some(&compare(&full, &empty)));
    assert_eq!(
        lost[0],
        "No score now, 78.86 (GREEN) since 2026-03-15: no component had usable data."
    );
    assert_eq!(lost[1], "No data: Support severity left out.");
    assert_eq!(moves(Some(&full), &empty)[0].points_delta, -25.0);
    assert_eq!(summary(&empty, None)[0], "No score: no component had usable data.");
}

/// Stored only when the rounded score, band, scorecard or version changed.
#[test]
fn changed_only_when_score_band_or_model_changed() {
    let card = default_scorecard();
    let a = scored(&card, &readings(), day(1));
    let same_later = scored(&card, &readings(), day(15));
    assert!(changed(None, &a));
    assert!(!changed(Some(&a), &same_later));
    let mut noisy = same_later.clone();
    noisy.score = noisy.score.map(|s| s + 1e-12);
    assert!(!changed(Some(&a), &noisy));
    let mut moved = same_later.clone();
    moved.score = Some(78.87);
    assert!(changed(Some(&a), &moved));
    let mut version = same_later.clone();
    version.scorecard_version += 1;
    assert!(changed(Some(&a), &version));
    let mut other = same_later.clone();
    other.scorecard = "scorecards/enterprise".into();
    assert!(changed(Some(&a), &other));
    // A breakdown that moved without moving the rounded score is no change.
    let mut reshuffled = same_later;
    reshuffled.components[0].fact = "something else".into();
    assert!(!changed(Some(&a), &reshuffled));
    let none = scored(&card, &[], day(1));
    assert!(!changed(Some(&none), &scored(&card, &[], day(2))));
    assert!(changed(Some(&none), &a));
}

/// Low coverage gets a warning, and the explanation never exceeds 10 lines.
#[test]
fn low_coverage_and_at_most_ten_lines() {
    let mut card = default_scorecard();
    let mut r = readings();
    r[1] = missing("2 CSAT ratings in 90 days (needs 5)");
    r[2] = missing("No support summary over 30 days available");
    r[3] = missing("First ticket on 2026-03-01; volume needs 30 days of history");
    r[4] = missing("2 tickets solved in 90 days (needs 3)");
    let s = scored(&card, &r, day(15));
    let lines = summary(&s, None);
    assert_eq!(
        lines[1],
        "2 CSAT ratings in 90 days (needs 5): CSAT left out, other weights renormalized."
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Only 40% of the scorecard's weight had usable data: the score rests on few signals.")
    );
    for i in 0..14 {
        let mut c = card.components[0].clone();
        c.id = format!("extra_{i}");
        card.components.push(c);
    }
    let many: Vec<Reading> = (0..20).map(|i| missing(&format!("gap {i}"))).collect();
    assert_eq!(summary(&scored(&card, &many, day(15)), None).len(), 10);
}

#[test]
fn mover_line_forms() {
    let d = pb::ComponentDelta {
        display_name: "Support severity".into(),
        earlier_points: 100.0,
        current_points: 55.0,
        earlier_contribution: 25.0,
        current_contribution: 13.75,
        contribution_delta: -11.25,
        current_fact: "2 URGENT tickets in 14 days".into(),
        ..Default::default()
    };
    assert_eq!(
        mover_line(&d),
        "2 URGENT tickets in 14 days: Support severity \u{2212}11.25 points."
    );
}
