//! Crashes change no outcome. The same 10,000-ticket stream over 200 accounts goes through
//! two suites on two fresh databases: one left alone, the other with health-scoring killed
//! (SIGKILL) and restarted halfway through the accounts' histories, and playbook a third of
//! the way through their current months, while runs are starting.
//! Once both have settled, every account has the same score and band in both, and the same
//! playbook runs — one at most per account and playbook. The stream's outcome does not
//! depend on how its processing was batched or interrupted (see `steward_e2e::stream`), so
//! any difference is something lost, repeated or done twice.

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono::Utc;
use steward_e2e::outcome::Outcome;
use steward_e2e::settle::settle;
use steward_e2e::stream::{Plan, Tally};
use steward_e2e::{Service, Suite};
use steward_proto::health::v1::HealthBand;
use tokio::sync::watch;

const PLAYBOOKS: [&str; 4] = [
    "playbooks/adoption",
    "playbooks/churn-risk",
    "playbooks/renewal-preparation",
    "playbooks/sentiment-check-in",
];

#[tokio::test]
async fn killing_health_scoring_then_playbook_mid_stream_changes_no_score_and_no_run() {
    let plan = Plan::new(42, 200, 50, Utc::now());
    assert_eq!(plan.ticket_count(), 10_000);
    let (calm, interrupted) = tokio::join!(run(&plan, false), run(&plan, true));

    // The comparison means something: the stream reaches every band and every playbook.
    for band in [HealthBand::Red, HealthBand::Yellow, HealthBand::Green] {
        assert!(calm.in_band(band) > 0, "no account ends {band:?}");
    }
    for playbook in PLAYBOOKS {
        assert!(calm.with_runs_of(playbook) > 0, "no run of {playbook}");
    }
    assert_eq!(calm.scores.len(), 200);
    assert_eq!(differences(&calm.scores, &interrupted.scores), Vec::<String>::new(), "scores");
    assert_eq!(differences(&calm.runs, &interrupted.runs), Vec::<String>::new(), "runs");
    let repeated: Vec<_> = interrupted.runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "duplicated runs: {repeated:?}");
}

/// Streams `plan` through a fresh suite, killing and restarting health-scoring and then
/// playbook on the way if `interrupt`, and reads the outcome once it has settled.
async fn run(plan: &Plan, interrupt: bool) -> Outcome {
    let mut s = Suite::start().await;
    let domains = plan.create_accounts(&s.accounts).await;
    let (progress, mut answered) = watch::channel(0);
    let mut tickets = s.tickets.clone();
    let streamed = plan.ingest(&mut tickets, &progress);
    let crashes = async {
        if interrupt {
            let _ = answered.wait_for(|n| *n >= plan.history.len() / 2).await;
            s.kill_and_restart(Service::HealthScoring).await;
            let _ = answered.wait_for(|n| *n >= plan.history.len() + plan.current.len() / 3).await;
            s.kill_and_restart(Service::Playbook).await;
        }
    };
    let (tally, ()) = tokio::join!(streamed, crashes);
    assert_eq!(tally, Tally { created: plan.ticket_count(), ..Tally::default() });
    settle(&s).await;
    Outcome::read(&s, &domains).await
}

/// The keys on which `a` and `b` differ, each with both values.
fn differences<K: Ord + Debug, V: PartialEq + Debug>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&K> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(k) != b.get(k))
        .map(|k| format!("{k:?}: {:?} vs {:?}", a.get(k), b.get(k)))
        .collect()
}
