//! Replaying a stream changes nothing. A 1,200-ticket stream over 30 accounts is sent twice
//! through StreamIngestTickets: the second pass answers UNCHANGED for every ticket, and once
//! a marker ticket sent after it has gone all the way through, the support and health feeds
//! hold nothing new but the marker's, no score history gained a point and the playbook runs
//! are exactly as they were.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use steward_e2e::Suite;
use steward_e2e::data::{Priority, Stage, create_account, ingest, ticket};
use steward_e2e::outcome::{all_runs, health_changes, score_history, support_changes};
use steward_e2e::settle::settle;
use steward_e2e::stream::{Plan, Tally};
use steward_testkit::eventually;
use tokio::sync::watch;

#[tokio::test]
async fn a_stream_sent_twice_changes_nothing_the_second_time() {
    let mut s = Suite::start().await;
    let now = Utc::now();
    let plan = Plan::new(7, 30, 40, now);
    let domains = plan.create_accounts(&s.accounts).await;
    let marker = create_account(&mut s.accounts, "marker.example", Stage::Established).await;
    let (progress, _) = watch::channel(0);
    let n = plan.ticket_count();
    let first = plan.ingest(&mut s.tickets, &progress).await;
    assert_eq!(first, Tally { created: n, ..Tally::default() });
    settle(&s).await;

    let (_, support_head) = support_changes(&mut s.tickets, "").await;
    let (_, health_head) = health_changes(&mut s.health, "").await;
    let mut histories = BTreeMap::new();
    for account in domains.keys() {
        histories.insert(account.clone(), score_history(&mut s.health, account).await);
    }
    let runs = all_runs(&mut s.playbooks).await;
    assert!(!runs.is_empty(), "the stream should start some runs");

    let second = plan.ingest(&mut s.tickets, &progress).await;
    assert_eq!(second, Tally { unchanged: n, ..Tally::default() });

    // The marker's change becomes visible only after every earlier commit has: what the
    // feed shows then is all the replay wrote.
    let high = ticket("marker.example", "marker-1", Priority::High, now - Duration::hours(1));
    ingest(&mut s.tickets, high).await;
    let new_support = eventually("the marker's support change", || {
        let mut tickets = s.tickets.clone();
        let after = support_head.clone();
        async move { Some(support_changes(&mut tickets, &after).await.0).filter(|c| !c.is_empty()) }
    })
    .await;
    assert!(new_support.iter().all(|c| c.account == marker), "{new_support:?}");
    settle(&s).await;

    let (new_health, _) = health_changes(&mut s.health, &health_head).await;
    assert!(!new_health.is_empty(), "the marker's HIGH ticket moves its score");
    assert!(new_health.iter().all(|c| c.account == marker), "{new_health:?}");
    for (account, before) in &histories {
        assert_eq!(&score_history(&mut s.health, account).await, before, "{account}");
    }
    assert_eq!(all_runs(&mut s.playbooks).await, runs);
}
