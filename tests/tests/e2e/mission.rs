//! The mission's scenarios, each on its own account of one suite: several high-severity
//! tickets start one churn-risk run; repeated onboarding questions, an adoption run; a CSAT
//! collapse, a sentiment check-in; a renewal 45 days away while RED, renewal preparation
//! (and churn risk, for entering RED). Each run carries the trigger and the facts that fired
//! it. A healthy account renewing just as soon starts nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, Utc};
use steward_e2e::Suite;
use steward_e2e::data::*;
use steward_e2e::outcome::{Outcome, runs_of};
use steward_e2e::settle::settle;
use steward_e2e::suite::Playbooks;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as pb;
use steward_testkit::eventually;

const CHURN: &str = "playbooks/churn-risk";
const ADOPTION: &str = "playbooks/adoption";
const CHECK_IN: &str = "playbooks/sentiment-check-in";
const RENEWAL: &str = "playbooks/renewal-preparation";

#[tokio::test]
async fn each_signal_starts_its_playbook_once_with_evidence_and_a_healthy_account_none() {
    let mut s = Suite::start().await;
    let now = Utc::now();
    let days = Duration::days;
    let mut domains = HashMap::new();
    let mut account = async |domain: &str, stage: Stage| {
        let name = create_account(&mut s.accounts, domain, stage).await;
        domains.insert(name.clone(), domain.to_owned());
        name
    };
    let escalating = account("escalating.example", Stage::Established).await;
    let newcomer = account("newcomer.example", Stage::Onboarding).await;
    let souring = account("souring.example", Stage::Established).await;
    let renewing = account("renewing.example", Stage::Established).await;
    let healthy = account("healthy.example", Stage::Established).await;
    create_contract(&mut s.accounts, &healthy, now.date_naive(), 45).await;
    let t = &mut s.tickets;

    // Two HIGH and one URGENT ticket this week, still open.
    for (i, p) in [Priority::High, Priority::Urgent, Priority::High].into_iter().enumerate() {
        let created = now - Duration::hours(20 + 24 * i as i64);
        ingest(t, ticket("escalating.example", &format!("esc-{i}"), p, created)).await;
    }
    // The same onboarding question three times this month.
    for i in 0..3 {
        let q = ticket(
            "newcomer.example",
            &format!("new-{i}"),
            Priority::Normal,
            now - days(2 + 7 * i),
        );
        ingest(t, in_category(q, "onboarding")).await;
    }
    // CSAT: 9 GOOD and 1 BAD 35 to 44 days ago (0.90), then 1 GOOD and 4 BAD in the last 30
    // days (0.20). Only the fifth recent rating makes the last window count (5 needed).
    let ratings = [[Sentiment::Good; 9].as_slice(), &[Sentiment::Bad]].concat();
    let recent = [Sentiment::Good, Sentiment::Bad, Sentiment::Bad, Sentiment::Bad, Sentiment::Bad];
    for (i, (sentiment, age)) in ratings
        .into_iter()
        .zip((35..45).map(days))
        .chain(recent.into_iter().zip((3..8).rev().map(days)))
        .enumerate()
    {
        let solved_ticket = solved(
            ticket("souring.example", &format!("csat-{i}"), Priority::Normal, now - age),
            Duration::hours(3),
        );
        ingest(t, rated(solved_ticket, sentiment)).await;
    }
    // Five HIGH tickets left open 15 to 19 days (outside churn risk's 14-day ticket window):
    // RED. The renewal 45 days away is signed once the account is RED, so that renewal
    // preparation fires on it.
    for i in 0..5 {
        let created = now - days(15 + i);
        ingest(t, ticket("renewing.example", &format!("red-{i}"), Priority::High, created)).await;
    }
    // The healthy account: two questions, answered and solved within hours.
    for i in 0..2 {
        let q = ticket("healthy.example", &format!("ok-{i}"), Priority::Normal, now - days(3 + i));
        ingest(t, solved(q, Duration::hours(4))).await;
    }
    let red = eventually("renewing.example turns RED", || {
        let mut health = s.health.clone();
        let name = format!("{renewing}/healthScore");
        async move {
            let req = health_pb::GetHealthScoreRequest { name };
            let score = health.get_health_score(req).await.ok()?.into_inner();
            Some(score).filter(|s| s.band() == health_pb::HealthBand::Red)
        }
    })
    .await;
    assert!(red.score.is_some_and(|v| v < 40.0), "{red:?}");
    create_contract(&mut s.accounts, &renewing, now.date_naive(), 45).await;

    settle(&s).await;
    let outcome = Outcome::read(&s, &domains).await;
    let runs: BTreeMap<(&str, &str), usize> =
        outcome.runs.iter().map(|((d, p), n)| ((d.as_str(), p.as_str()), *n)).collect();
    assert_eq!(
        runs,
        BTreeMap::from([
            (("escalating.example", CHURN), 1),
            (("newcomer.example", ADOPTION), 1),
            (("renewing.example", CHURN), 1),
            (("renewing.example", RENEWAL), 1),
            (("souring.example", CHECK_IN), 1),
        ]),
        "one run per signal, none for healthy.example"
    );
    let band = |domain: &str| outcome.scores[domain].1;
    assert_eq!(band("healthy.example"), health_pb::HealthBand::Green);
    assert_eq!(band("renewing.example"), health_pb::HealthBand::Red);

    let run = only_run(&mut s.playbooks, &escalating, CHURN).await;
    assert_eq!(origin(&run), (0, pb::TriggerKind::TicketCount));
    assert_eq!(reading(&run, "high_priority_tickets_14d"), ("3", ">=", "3", true));

    let run = only_run(&mut s.playbooks, &newcomer, ADOPTION).await;
    assert_eq!(origin(&run), (0, pb::TriggerKind::RepeatedCategory));
    assert_eq!(reading(&run, "max_tickets_in_category_30d"), ("3", ">=", "3", true));
    assert_eq!(reading(&run, "category").0, "onboarding");
    assert_eq!(reading(&run, "lifecycle_stage"), ("ONBOARDING", "in", "ONBOARDING,ADOPTION", true));

    let run = only_run(&mut s.playbooks, &souring, CHECK_IN).await;
    assert_eq!(origin(&run), (0, pb::TriggerKind::CsatDecline));
    assert_eq!(reading(&run, "csat_drop_points_30d"), ("70.00", ">=", "20.00", true));
    assert_eq!(reading(&run, "csat_good_share_30d").0, "0.20");
    assert_eq!(reading(&run, "csat_responses_30d"), ("5", ">=", "5", true));

    let run = only_run(&mut s.playbooks, &renewing, RENEWAL).await;
    assert_eq!(origin(&run), (0, pb::TriggerKind::RenewalWithin));
    assert_eq!(reading(&run, "days_to_renewal"), ("45", "<=", "90", true));
    assert_eq!(reading(&run, "health_band"), ("RED", "in", "YELLOW,RED", true));
    let run = only_run(&mut s.playbooks, &renewing, CHURN).await;
    assert_eq!(origin(&run), (1, pb::TriggerKind::BandEntered));
    assert_eq!(reading(&run, "health_band"), ("RED", "=", "RED", true));

    assert!(runs_of(&mut s.playbooks, &healthy).await.is_empty());
}

/// The one run of `playbook` for `account`, which the evaluator started, with a summary of
/// why.
async fn only_run(playbooks: &mut Playbooks, account: &str, playbook: &str) -> pb::PlaybookRun {
    let mut runs: Vec<_> =
        runs_of(playbooks, account).await.into_iter().filter(|r| r.playbook == playbook).collect();
    assert_eq!(runs.len(), 1, "{playbook} for {account}: {runs:?}");
    let run = runs.remove(0);
    assert!(!run.trigger_summary.is_empty(), "{run:?}");
    assert_eq!(run.state(), pb::RunState::Active, "{run:?}");
    run
}

/// Which trigger of its playbook started `run`.
fn origin(run: &pb::PlaybookRun) -> (i32, pb::TriggerKind) {
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => (a.trigger_index, a.trigger_kind()),
        other => panic!("an automatic run expected, got {other:?}"),
    }
}

/// Evidence `name` of `run` as (value, comparison, threshold, satisfied).
fn reading<'a>(run: &'a pb::PlaybookRun, name: &str) -> (&'a str, &'a str, &'a str, bool) {
    let e = run.evidence.iter().find(|e| e.name == name);
    let e = e.unwrap_or_else(|| panic!("no evidence {name} in {:?}", run.evidence));
    (&e.value, &e.comparison, &e.threshold, e.satisfied)
}
