//! Unit tests of the shipped playbooks: the documented table, and each one fired by the
//! signals it is for and not by the ones it is not.

use super::*;
use crate::domain::evaluate::{History, evaluate};
use crate::domain::facts::Facts;
use crate::domain::testing::{self, csat, facts, summary, ticket};
use chrono::TimeDelta;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as health_pb;
use steward_proto::ticket::v1::TicketPriority as P;

fn by_id(id: &str) -> pb::Playbook {
    default_playbooks().into_iter().find(|p| p.name == format!("playbooks/{id}")).expect("shipped")
}

fn fires(id: &str, f: &Facts) -> bool {
    evaluate(&by_id(id), f, &History::default()).result.would_fire
}

fn reason(id: &str, f: &Facts) -> pb::NotFiringReason {
    pb::NotFiringReason::try_from(evaluate(&by_id(id), f, &History::default()).result.reason)
        .expect("known")
}

#[test]
fn the_shipped_playbooks_are_the_documented_table() {
    let all = default_playbooks();
    let names: Vec<_> = all.iter().map(|p| p.name.trim_start_matches("playbooks/")).collect();
    assert_eq!(names, SHIPPED_IDS);
    let table: Vec<_> = all
        .iter()
        .map(|p| {
            let steps: Vec<_> = p.steps.iter().map(|s| s.display_name.as_str()).collect();
            (p.display_name.as_str(), p.cooldown.map(|c| c.seconds / 86_400), steps, p.enabled)
        })
        .collect();
    assert_eq!(
        table,
        [
            (
                "Adoption help",
                Some(60),
                vec!["Offer an enablement session", "Share guides on the repeated topic"],
                true
            ),
            (
                "Churn risk",
                Some(30),
                vec![
                    "Review churn risk",
                    "Call the executive sponsor",
                    "Wait for the recovery",
                    "Check recovery"
                ],
                true
            ),
            (
                "Renewal preparation",
                Some(180),
                vec![
                    "Renewal risk review",
                    "Executive alignment call",
                    "Send the renewal proposal"
                ],
                true
            ),
            (
                "Sentiment check-in",
                Some(45),
                vec!["Read the recent low ratings", "Check-in call"],
                true
            ),
        ]
    );
    for p in &all {
        assert!(p.description.contains("Why:"), "{} says why", p.name);
        for s in &p.steps {
            let kind = crate::domain::definition::step_kind(s);
            assert!(
                matches!(kind, pb::StepKind::Task | pb::StepKind::Wait),
                "no orchestrator needed"
            );
        }
    }
    let due: Vec<_> = by_id("churn-risk")
        .steps
        .iter()
        .map(|s| match &s.kind {
            Some(pb::step::Kind::Task(t)) => t.due_offset.map(|d| d.seconds / 86_400),
            Some(pb::step::Kind::Wait(w)) => w.duration.map(|d| -d.seconds / 86_400),
            _ => None,
        })
        .collect();
    assert_eq!(due, [Some(1), Some(3), Some(-14), Some(2)], "due 1, 3, wait 14, due 2");
}

#[test]
fn churn_risk_fires_on_three_high_tickets_in_14_days_or_on_entering_red() {
    let mut f = facts();
    let three = [ticket(13, P::High, ""), ticket(5, P::Urgent, ""), ticket(1, P::High, "")];
    f.summaries.insert(14 * 86_400, summary(TimeDelta::days(14), &three));
    assert!(fires("churn-risk", &f));
    f.summaries.insert(14 * 86_400, summary(TimeDelta::days(14), &three[1..]));
    assert_eq!(
        reason("churn-risk", &f),
        pb::NotFiringReason::BelowThreshold,
        "the first trigger's reason: 2 of 3"
    );
    f.score = Some(testing::score(30.0, health_pb::HealthBand::Red));
    f.band_entered = Some(testing::now() - TimeDelta::hours(3));
    assert!(fires("churn-risk", &f));
    f.account.as_mut().expect("account").lifecycle_stage =
        account_pb::LifecycleStage::Churned as i32;
    assert_eq!(reason("churn-risk", &f), pb::NotFiringReason::AudienceMismatch);
}

#[test]
fn adoption_fires_on_three_onboarding_questions_in_30_days_during_onboarding() {
    let mut f = facts();
    let questions = [
        ticket(20, P::Normal, "onboarding"),
        ticket(9, P::Low, "onboarding"),
        ticket(2, P::Normal, "onboarding"),
    ];
    f.summaries.insert(30 * 86_400, summary(TimeDelta::days(30), &questions));
    assert_eq!(reason("adoption", &f), pb::NotFiringReason::AudienceMismatch, "ESTABLISHED");
    f.account.as_mut().expect("account").lifecycle_stage =
        account_pb::LifecycleStage::Onboarding as i32;
    assert!(fires("adoption", &f));
    // Three billing questions are not onboarding questions.
    let billing = [
        ticket(20, P::Normal, "billing"),
        ticket(9, P::Low, "billing"),
        ticket(2, P::Normal, "billing"),
    ];
    f.summaries.insert(30 * 86_400, summary(TimeDelta::days(30), &billing));
    assert_eq!(reason("adoption", &f), pb::NotFiringReason::BelowThreshold);
}

#[test]
fn sentiment_check_in_fires_on_a_20_point_csat_fall_with_5_ratings_each() {
    let mut f = facts();
    let mut s = summary(TimeDelta::days(30), &[]);
    s.current = Some(csat(3, 5)); // 0.60
    s.previous = Some(csat(8, 10)); // 0.80
    f.summaries.insert(30 * 86_400, s.clone());
    assert!(fires("sentiment-check-in", &f));
    s.current = Some(csat(3, 4)); // 4 ratings: not enough
    f.summaries.insert(30 * 86_400, s);
    assert_eq!(reason("sentiment-check-in", &f), pb::NotFiringReason::NoData);
}

#[test]
fn renewal_preparation_fires_within_90_days_only_while_yellow_or_red() {
    let mut f = facts(); // renewal in 47 days
    assert_eq!(
        reason("renewal-preparation", &f),
        pb::NotFiringReason::AudienceMismatch,
        "no score"
    );
    f.score = Some(testing::score(75.0, health_pb::HealthBand::Green));
    assert_eq!(reason("renewal-preparation", &f), pb::NotFiringReason::AudienceMismatch, "GREEN");
    f.score = Some(testing::score(55.0, health_pb::HealthBand::Yellow));
    assert!(fires("renewal-preparation", &f));
    f.now = testing::day(-44); // 91 days before the renewal
    assert_eq!(reason("renewal-preparation", &f), pb::NotFiringReason::OutsideWindow);
}
