//! Unit tests of trigger evaluation with worked numbers: each kind at, just inside and just
//! outside its threshold and window, its reasons for not firing, and its evidence.

use super::*;
use crate::domain::duration::days;
use crate::domain::testing::{self, Ticket, csat, day, facts, now, summary, ticket};
use steward_proto::health::v1 as health_pb;
use steward_proto::ticket::v1::TicketPriority as P;

const D14: i64 = 14 * DAY;
const D30: i64 = 30 * DAY;

fn ticket_count(
    min_count: i32,
    min_priority: pb::TicketPriority,
    category: &str,
    within_days: i64,
) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::TicketCount(pb::TicketCountTrigger {
            min_count,
            min_priority: min_priority as i32,
            category: category.into(),
            within: Some(days(within_days)),
        })),
    }
}

fn with_tickets(window: i64, tickets: &[Ticket]) -> Facts {
    let mut f = facts();
    f.summaries.insert(window, summary(TimeDelta::seconds(window), tickets));
    f
}

fn eval(t: &pb::Trigger, f: &Facts) -> pb::TriggerEvaluation {
    evaluate(0, t, f, &[]).evaluation
}

/// (name, value, comparison, threshold, satisfied) of each evidence item.
fn ev(e: &pb::TriggerEvaluation) -> Vec<(String, String, String, String, bool)> {
    e.evidence
        .iter()
        .map(|x| {
            (
                x.name.clone(),
                x.value.clone(),
                x.comparison.clone(),
                x.threshold.clone(),
                x.satisfied,
            )
        })
        .collect()
}

fn row(
    name: &str,
    value: &str,
    cmp: &str,
    threshold: &str,
    ok: bool,
) -> (String, String, String, String, bool) {
    (name.into(), value.into(), cmp.into(), threshold.into(), ok)
}

fn reason(e: &pb::TriggerEvaluation) -> R {
    R::try_from(e.reason).expect("known reason")
}

// --- ticket_count ---------------------------------------------------------------------

#[test]
fn three_high_tickets_on_days_13_5_1_fire_a_3_in_14_days_trigger() {
    let f = with_tickets(
        D14,
        &[ticket(13, P::High, "billing"), ticket(5, P::High, "api"), ticket(1, P::High, "api")],
    );
    let e = eval(&ticket_count(3, pb::TicketPriority::High, "", 14), &f);
    assert!(e.satisfied);
    assert_eq!(reason(&e), R::Unspecified);
    assert_eq!(e.kind, pb::TriggerKind::TicketCount as i32);
    assert_eq!(ev(&e), [row("high_priority_tickets_14d", "3", ">=", "3", true)]);
    assert_eq!(e.summary, "3 HIGH or higher tickets in 14 days (threshold 3)");
    assert_eq!(e.evidence[0].fact, "3 HIGH or higher tickets in the last 14 days");
}

#[test]
fn urgent_counts_as_high_or_higher_but_normal_does_not() {
    // 1 URGENT + 1 HIGH + 5 NORMAL = 2 HIGH or higher: below 3.
    let mut tickets = vec![ticket(2, P::Urgent, ""), ticket(3, P::High, "")];
    tickets.extend((1..=5).map(|d| ticket(d, P::Normal, "")));
    let f = with_tickets(D14, &tickets);
    let e = eval(&ticket_count(3, pb::TicketPriority::High, "", 14), &f);
    assert!(!e.satisfied);
    assert_eq!(reason(&e), R::BelowThreshold);
    assert_eq!(ev(&e), [row("high_priority_tickets_14d", "2", ">=", "3", false)]);
    // Every priority, including none: 7 tickets.
    let any = eval(&ticket_count(7, pb::TicketPriority::Unspecified, "", 14), &f);
    assert_eq!(ev(&any), [row("tickets_14d", "7", ">=", "7", true)]);
    let urgent = eval(&ticket_count(1, pb::TicketPriority::Urgent, "", 14), &f);
    assert_eq!(urgent.summary, "1 URGENT tickets in 14 days (threshold 1)");
}

#[test]
fn a_ticket_exactly_14_days_old_is_in_the_window_and_one_a_second_older_is_not() {
    // Ticket-ingest's window is [as_of − 14 d, as_of): the start is included.
    let edge = Ticket { created: now() - TimeDelta::days(14), priority: P::High, category: "" };
    let older = Ticket { created: edge.created - TimeDelta::seconds(1), ..edge };
    let two = [ticket(5, P::High, ""), ticket(1, P::High, "")];
    let t = ticket_count(3, pb::TicketPriority::High, "", 14);

    let at_edge = eval(&t, &with_tickets(D14, &[&two[..], &[edge]].concat()));
    assert!(at_edge.satisfied, "{at_edge:?}");
    let outside = eval(&t, &with_tickets(D14, &[&two[..], &[older]].concat()));
    assert_eq!(ev(&outside), [row("high_priority_tickets_14d", "2", ">=", "3", false)]);
}

#[test]
fn a_category_counts_only_its_own_tickets_case_insensitively() {
    let f = with_tickets(
        D14,
        &[
            ticket(1, P::High, "billing"),
            ticket(2, P::Urgent, "billing"),
            ticket(3, P::High, "api"),
            ticket(4, P::Low, "billing"),
        ],
    );
    let e = eval(&ticket_count(2, pb::TicketPriority::High, "Billing", 14), &f);
    assert_eq!(ev(&e), [row("high_priority_tickets_14d", "2", ">=", "2", true)]);
    assert_eq!(
        e.summary,
        "2 HIGH or higher tickets in category \"billing\" in 14 days (threshold 2)"
    );
    let none = eval(&ticket_count(1, pb::TicketPriority::High, "security", 14), &f);
    assert_eq!(ev(&none), [row("high_priority_tickets_14d", "0", ">=", "1", false)]);
}

#[test]
fn without_the_summary_of_its_window_a_ticket_trigger_has_no_data() {
    let f = with_tickets(D30, &[ticket(1, P::High, "")]);
    let e = eval(&ticket_count(1, pb::TicketPriority::High, "", 14), &f);
    assert_eq!(reason(&e), R::NoData);
    assert_eq!(ev(&e), [row("high_priority_tickets_14d", "", ">=", "1", false)]);
}

#[test]
fn windows_in_evidence_names_are_days_when_whole_else_hours() {
    let t = pb::Trigger {
        kind: Some(Kind::TicketCount(pb::TicketCountTrigger {
            min_count: 1,
            min_priority: pb::TicketPriority::Urgent as i32,
            category: String::new(),
            within: Some(prost_types::Duration { seconds: 36 * 3600, nanos: 0 }),
        })),
    };
    let mut f = facts();
    f.summaries.insert(36 * 3600, summary(TimeDelta::hours(36), &[ticket(1, P::Urgent, "")]));
    assert_eq!(ev(&eval(&t, &f)), [row("urgent_priority_tickets_36h", "1", ">=", "1", true)]);
}

// --- repeated_category ----------------------------------------------------------------

fn repeated(min_count: i32, categories: &[&str]) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::RepeatedCategory(pb::RepeatedCategoryTrigger {
            min_count,
            within: Some(days(30)),
            categories: categories.iter().map(|c| (*c).into()).collect(),
        })),
    }
}

#[test]
fn repeated_questions_count_the_largest_listed_category() {
    // billing 5, onboarding 3, how-to 2, uncategorized 4.
    let mut tickets = Vec::new();
    tickets.extend((1..=5).map(|d| ticket(d, P::Normal, "billing")));
    tickets.extend((1..=3).map(|d| ticket(d, P::Normal, "onboarding")));
    tickets.extend((1..=2).map(|d| ticket(d, P::Normal, "how-to")));
    tickets.extend((1..=4).map(|d| ticket(d, P::Normal, "")));
    let f = with_tickets(D30, &tickets);

    let listed = eval(&repeated(3, &["Onboarding", "how-to"]), &f);
    assert!(listed.satisfied);
    assert_eq!(
        ev(&listed),
        [
            row("max_tickets_in_category_30d", "3", ">=", "3", true),
            row("category", "onboarding", "", "", true)
        ]
    );
    assert_eq!(listed.summary, "3 tickets in category \"onboarding\" in 30 days (threshold 3)");

    let any = eval(&repeated(6, &[]), &f);
    assert_eq!(reason(&any), R::BelowThreshold);
    assert_eq!(
        ev(&any),
        [
            row("max_tickets_in_category_30d", "5", ">=", "6", false),
            row("category", "billing", "", "", true)
        ]
    );
}

#[test]
fn uncategorized_tickets_never_repeat_a_question() {
    let f = with_tickets(D30, &(1..=9).map(|d| ticket(d, P::Normal, "")).collect::<Vec<_>>());
    let e = eval(&repeated(2, &[]), &f);
    assert_eq!(ev(&e)[0], row("max_tickets_in_category_30d", "0", ">=", "2", false));
    assert_eq!(e.summary, "No categorized tickets in 30 days (threshold 2)");
}

// --- csat_decline ---------------------------------------------------------------------

fn csat_trigger(below: Option<f64>, drop: Option<f64>) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::CsatDecline(pb::CsatDeclineTrigger {
            below_share: below,
            drop_points: drop,
            window: None,
            min_responses: 0,
        })),
    }
}

fn with_csat(current: (i32, i32), previous: (i32, i32)) -> Facts {
    let mut f = facts();
    let mut s = summary(TimeDelta::days(30), &[]);
    s.current = Some(csat(current.0, current.1));
    s.previous = Some(csat(previous.0, previous.1));
    f.summaries.insert(D30, s);
    f
}

#[test]
fn a_csat_fall_from_85_to_65_percent_is_exactly_20_points_and_fires() {
    // 17/20 = 0.85 before, 13/20 = 0.65 now: 20.00 points down, 20 ratings in each window.
    let e = eval(&csat_trigger(None, Some(20.0)), &with_csat((13, 20), (17, 20)));
    assert!(e.satisfied, "{e:?}");
    assert_eq!(
        ev(&e),
        [
            row("csat_good_share_30d", "0.65", "", "", true),
            row("csat_drop_points_30d", "20.00", ">=", "20.00", true),
            row("csat_responses_30d", "20", ">=", "5", true),
            row("csat_previous_responses_30d", "20", ">=", "5", true),
        ]
    );
    assert_eq!(
        e.summary,
        "CSAT good share 0.65 in 30 days, down 20.00 points from 0.85 (threshold down 20.00 points)"
    );
    // 14/20 = 0.70: 15 points down, below the threshold.
    let e = eval(&csat_trigger(None, Some(20.0)), &with_csat((14, 20), (17, 20)));
    assert_eq!(reason(&e), R::BelowThreshold);
}

#[test]
fn fewer_than_min_responses_in_either_window_is_no_data() {
    // 0/4 now is a 100-point fall, but 4 ratings are fewer than the default 5.
    let e = eval(&csat_trigger(None, Some(20.0)), &with_csat((0, 4), (5, 5)));
    assert_eq!(reason(&e), R::NoData);
    let e = eval(&csat_trigger(None, Some(20.0)), &with_csat((0, 5), (4, 4)));
    assert_eq!(reason(&e), R::NoData);
    // Without drop_points the previous window is not needed.
    let e = eval(&csat_trigger(Some(0.5), None), &with_csat((1, 5), (0, 0)));
    assert!(e.satisfied, "{e:?}");
}

#[test]
fn both_csat_conditions_must_hold_when_both_are_set() {
    // 0.60 now (12/20), 0.75 before (15/20): below 0.7 but only 15 points down.
    let t = csat_trigger(Some(0.7), Some(20.0));
    let e = eval(&t, &with_csat((12, 20), (15, 20)));
    assert_eq!(reason(&e), R::BelowThreshold);
    assert_eq!(ev(&e)[0], row("csat_good_share_30d", "0.60", "<", "0.70", true));
    assert_eq!(ev(&e)[1], row("csat_drop_points_30d", "15.00", ">=", "20.00", false));
    // A share of exactly 0.70 is not below 0.70.
    let e = eval(&csat_trigger(Some(0.7), None), &with_csat((14, 20), (0, 0)));
    assert_eq!(reason(&e), R::BelowThreshold);
}

// --- renewal_within -------------------------------------------------------------------

fn renewal(within_days: i64) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::RenewalWithin(pb::RenewalWithinTrigger {
            within: Some(days(within_days)),
        })),
    }
}

#[test]
fn renewal_47_days_away_is_within_47_but_not_46_days() {
    // Acme renews on 2026-05-01; now is 2026-03-15: 47 days.
    let e = eval(&renewal(47), &facts());
    assert!(e.satisfied);
    assert_eq!(ev(&e), [row("days_to_renewal", "47", "<=", "47", true)]);
    assert_eq!(e.summary, "Renewal on 2026-05-01, in 47 days (within 47 days)");
    let e = eval(&renewal(46), &facts());
    assert_eq!(reason(&e), R::OutsideWindow);
}

#[test]
fn a_renewal_today_fires_a_past_one_does_not_and_no_contract_is_no_data() {
    let mut f = facts();
    let date =
        |d: u32| Some(steward_proto::google::r#type::Date { year: 2026, month: 3, day: d as i32 });
    f.account.as_mut().expect("account").renewal_date = date(15);
    assert_eq!(ev(&eval(&renewal(90), &f)), [row("days_to_renewal", "0", "<=", "90", true)]);
    f.account.as_mut().expect("account").renewal_date = date(14);
    let past = eval(&renewal(90), &f);
    assert_eq!(reason(&past), R::OutsideWindow);
    assert_eq!(past.evidence[0].value, "-1");
    f.account.as_mut().expect("account").renewal_date = None;
    assert_eq!(reason(&eval(&renewal(90), &f)), R::NoData);
}

// --- band_entered, lifecycle_stage_entered ---------------------------------------------

fn band_entered(band: pb::HealthBand, within: Option<i64>) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::BandEntered(pb::BandEnteredTrigger {
            band: band as i32,
            within: within.map(|h| prost_types::Duration { seconds: h * 3600, nanos: 0 }),
        })),
    }
}

fn red_since(hours_ago: i64) -> Facts {
    let mut f = facts();
    f.score = Some(testing::score(35.0, health_pb::HealthBand::Red));
    f.band_entered = Some(now() - TimeDelta::hours(hours_ago));
    f
}

#[test]
fn entering_red_fires_for_a_day_by_default_then_is_outside_the_window() {
    let t = band_entered(pb::HealthBand::Red, None);
    let o = evaluate(0, &t, &red_since(5), &[]);
    assert!(o.evaluation.satisfied);
    assert_eq!(o.entry_time, Some(now() - TimeDelta::hours(5)));
    assert_eq!(
        ev(&o.evaluation),
        [
            row("health_band", "RED", "=", "RED", true),
            row("band_entered_hours_ago", "5", "<=", "24", true)
        ]
    );
    assert!(eval(&t, &red_since(24)).satisfied, "exactly `within` ago still fires");
    let late = eval(&t, &red_since(25));
    assert_eq!(reason(&late), R::OutsideWindow);
    assert_eq!(ev(&late)[1], row("band_entered_hours_ago", "25", "<=", "24", false));
}

#[test]
fn a_band_entry_fires_once() {
    let t = band_entered(pb::HealthBand::Red, Some(48));
    let entry = now() - TimeDelta::hours(5);
    let fired = [Entry { kind: pb::TriggerKind::BandEntered, time: entry }];
    assert_eq!(reason(&evaluate(0, &t, &red_since(5), &fired).evaluation), R::AlreadyFired);
    // A later entry (the account left RED and came back) fires again.
    assert!(evaluate(0, &t, &red_since(2), &fired).evaluation.satisfied);
    // A stage entry at the same instant is another entry.
    let stage = [Entry { kind: pb::TriggerKind::LifecycleStageEntered, time: entry }];
    assert!(evaluate(0, &t, &red_since(5), &stage).evaluation.satisfied);
}

#[test]
fn another_band_is_below_threshold_and_no_score_is_no_data() {
    let t = band_entered(pb::HealthBand::Yellow, None);
    let e = eval(&t, &red_since(1));
    assert_eq!(reason(&e), R::BelowThreshold);
    assert_eq!(e.summary, "In band RED, not YELLOW");
    let e = eval(&t, &facts());
    assert_eq!(reason(&e), R::NoData);
    assert_eq!(ev(&e)[0], row("health_band", "", "=", "YELLOW", false));
}

#[test]
fn entering_a_lifecycle_stage_fires_within_its_window() {
    let t = pb::Trigger {
        kind: Some(Kind::LifecycleStageEntered(pb::LifecycleStageEnteredTrigger {
            stage: pb::LifecycleStage::Established as i32,
            within: Some(days(2)),
        })),
    };
    let mut f = facts();
    f.stage_entered = Some(day(-2));
    let o = evaluate(0, &t, &f, &[]);
    assert!(o.evaluation.satisfied);
    assert_eq!(ev(&o.evaluation)[1], row("stage_entered_hours_ago", "48", "<=", "48", true));
    f.stage_entered = Some(day(-2) - TimeDelta::minutes(30));
    assert_eq!(ev(&eval(&t, &f))[1], row("stage_entered_hours_ago", "48.5", "<=", "48", false));
    f.stage_entered = None;
    assert_eq!(reason(&eval(&t, &f)), R::NoData);
}

// --- score_dropped --------------------------------------------------------------------

fn point(days_ago: i64, score: f64) -> health_pb::ScorePoint {
    health_pb::ScorePoint {
        time: Some(steward_kit::time::timestamp(day(-days_ago))),
        score: Some(score),
        ..Default::default()
    }
}

fn dropped(min_points: f64, within_days: i64) -> pb::Trigger {
    pb::Trigger {
        kind: Some(Kind::ScoreDropped(pb::ScoreDroppedTrigger {
            min_points,
            within: Some(days(within_days)),
        })),
    }
}

#[test]
fn a_score_drop_compares_with_the_highest_score_in_effect_in_the_window() {
    // 80 from day −10, 72 from day −5, 58 from day −1 (current).
    let mut f = facts();
    f.score = Some(testing::score(58.0, health_pb::HealthBand::Yellow));
    f.score_history = vec![point(10, 80.0), point(5, 72.0), point(1, 58.0)];
    // 7 days: 80 was in effect when the window began: 22 points.
    let e = eval(&dropped(20.0, 7), &f);
    assert!(e.satisfied);
    assert_eq!(
        ev(&e),
        [
            row("score_drop_7d", "22.00", ">=", "20.00", true),
            row("health_score", "58.00", "", "", true),
            row("max_score_7d", "80.00", "", "", true),
        ]
    );
    assert_eq!(
        e.summary,
        "Score fell 22.00 points in 7 days, from 80.00 to 58.00 (threshold 20.00)"
    );
    // 3 days: 72 was in effect: 14 points.
    assert_eq!(
        ev(&eval(&dropped(20.0, 3), &f))[0],
        row("score_drop_3d", "14.00", ">=", "20.00", false)
    );
    // Exactly 22 points is enough for a 22-point trigger.
    assert!(eval(&dropped(22.0, 7), &f).satisfied);
    // Without a current score: no data.
    f.score = None;
    assert_eq!(reason(&eval(&dropped(20.0, 7), &f)), R::NoData);
}

// --- what the evaluation needs --------------------------------------------------------

#[test]
fn the_windows_needed_are_each_support_trigger_s_and_30_days() {
    let p = pb::Playbook {
        triggers: vec![
            ticket_count(3, pb::TicketPriority::High, "", 14),
            csat_trigger(None, Some(20.0)),
            dropped(10.0, 7),
            renewal(90),
        ],
        ..Default::default()
    };
    assert_eq!(windows_needed([&p]).into_iter().collect::<Vec<_>>(), [D14, D30]);
    assert_eq!(history_needed([&p]), TimeDelta::days(7));
}
