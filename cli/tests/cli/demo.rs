//! `steward demo` against the real services: a small book replayed as fast as the services
//! take it starts exactly the playbooks each scenario is built for, leaves the healthy
//! accounts GREEN without runs, and a second run changes nothing.

use std::collections::BTreeSet;

use steward_cli::demo::{Scenario, book};
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as pb;
use steward_testkit::eventually;

use crate::support::{Suite, start_playbook};

const SEED: &str = "7";
const ACCOUNTS: &str = "9";

/// (account id, playbook id) of every run, and the run names.
async fn runs(suite: &Suite) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let request = pb::ListPlaybookRunsRequest { page_size: 1000, ..Default::default() };
    let page = suite.playbook_client().list_playbook_runs(request).await.expect("list runs");
    let runs = page.into_inner().playbook_runs;
    let short = |name: &str| name.rsplit('/').next().unwrap_or_default().to_owned();
    let pairs = runs.iter().map(|r| (short(&r.account), short(&r.playbook))).collect();
    (pairs, runs.into_iter().map(|r| r.name).collect())
}

#[tokio::test]
async fn the_demo_starts_each_scenarios_playbooks_keeps_healthy_accounts_green_and_replays_as_a_no_op()
 {
    let suite = start_playbook().await;
    let args = ["demo", "--demo-seed", SEED, "--demo-accounts", ACCOUNTS, "--demo-speed", "max"];
    let book = book(7, 9);
    let expected: BTreeSet<(String, String)> = book
        .iter()
        .flat_map(|a| a.scenario.playbooks().iter().map(|p| (a.id.clone(), (*p).to_owned())))
        .collect();
    assert_eq!(expected.len(), 7, "every shipped playbook has a scenario: {expected:?}");

    let first = suite.steward(&args).await;

    assert_eq!(first.code, Some(0), "{first:#?}");
    let out = &first.stdout;
    assert!(out.contains("default scorecard: default@1 (seeded by health-scoring)"), "{out}");
    assert!(
        out.contains(
            "default playbooks: adoption, churn-risk, renewal-preparation, sentiment-check-in"
        ),
        "{out}"
    );
    assert!(out.contains("accounts: 9 created, 0 already there"), "{out}");
    let red = book.iter().find(|a| a.scenario == Scenario::RedRenewal).expect("one red renewal");
    assert!(out.contains(&format!("try: steward 360 {}", red.id)), "{out}");
    // The demo waits for the suite to settle; a run that trails it would still be caught.
    let (started, names) = eventually("the scenarios' runs", || async {
        let runs = runs(&suite).await;
        (runs.0.len() >= expected.len()).then_some(runs)
    })
    .await;
    assert_eq!(started, expected, "exactly the intended playbooks, for the intended accounts");
    let mut health = suite.health_client();
    for a in book.iter().filter(|a| a.scenario == Scenario::Healthy) {
        let name = format!("accounts/{}/healthScore", a.id);
        let score = health.get_health_score(health_pb::GetHealthScoreRequest { name }).await;
        let score = score.expect("a healthy account's score").into_inner();
        assert_eq!(score.band, health_pb::HealthBand::Green as i32, "{}: {score:?}", a.id);
    }
    let red_score = health
        .get_health_score(health_pb::GetHealthScoreRequest {
            name: format!("accounts/{}/healthScore", red.id),
        })
        .await
        .expect("the red account's score")
        .into_inner();
    assert_eq!(red_score.band, health_pb::HealthBand::Red as i32, "{red_score:?}");

    let second = suite.steward(&args).await;

    assert_eq!(second.code, Some(0), "{second:#?}");
    let out = &second.stdout;
    assert!(out.contains("accounts: 0 created, 9 already there"), "{out}");
    assert!(out.contains("contracts created 0, contacts created 0"), "{out}");
    let tickets = first
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("tickets: ")?.split(' ').next()?.parse::<u64>().ok())
        .expect("the first run's ticket count");
    assert!(
        out.contains(&format!(
            "tickets: {tickets} read; created 0, updated 0, unchanged {tickets}, stale 0, invalid 0"
        )),
        "{out}"
    );
    assert!(out.contains("Nothing changed: this demo was loaded before"), "{out}");
    assert_eq!(runs(&suite).await.1, names, "no run started twice");
}

#[tokio::test]
async fn the_demo_refuses_to_mix_its_book_with_an_account_it_did_not_create() {
    let suite = start_playbook().await;
    let taken = &book(7, 9)[2].id;
    let created =
        suite.steward(&["accounts", "create", "--display-name", "Ours", "--id", taken]).await;
    assert_eq!(created.code, Some(0), "{created:#?}");

    let run = suite.steward(&["demo", "--demo-seed", SEED, "--demo-accounts", ACCOUNTS]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains(&format!("accounts/{taken} exists and is not a demo account")),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("replaying"), "no ticket sent: {run:#?}");
}
