//! Trigger evaluation through real services: the dry run says which playbook would fire and
//! why the others would not, with evidence; the live evaluation follows the feeds and starts
//! exactly one churn-risk run for three HIGH tickets, none more while it is active or in
//! its cooldown.

use std::time::Duration;

use pb::NotFiringReason as R;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;

use crate::support::*;

fn evidence<'a>(t: &'a pb::TriggerEvaluation, name: &str) -> &'a pb::Evidence {
    t.evidence.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name} in {t:?}"))
}

fn by_name<'a>(r: &'a pb::EvaluateTriggersResponse, name: &str) -> &'a pb::PlaybookEvaluation {
    r.evaluations.iter().find(|e| e.playbook == name).unwrap_or_else(|| panic!("{name} in {r:?}"))
}

async fn high_tickets(s: &mut Suite, domain: &str, from: usize, n: usize) {
    for i in from..from + n {
        let age = chrono::Duration::days(1 + i as i64);
        ingest(&mut s.tickets, domain, &format!("{domain}-{i}"), TicketPriority::High, age).await;
    }
}

#[tokio::test]
async fn a_dry_run_says_churn_risk_fires_for_three_high_tickets_and_why_the_others_do_not() {
    let mut s = start().await;
    // Disabled first, so that the live evaluation starts nothing while we look.
    s.client
        .disable_playbook(pb::DisablePlaybookRequest {
            name: "playbooks/churn-risk".into(),
            etag: String::new(),
        })
        .await
        .expect("disable");
    let account = create_account(&mut s.accounts, "risk.example").await;
    high_tickets(&mut s, "risk.example", 0, 3).await;

    let only = pb::EvaluateTriggersRequest {
        account: account.clone(),
        playbook: "playbooks/churn-risk".into(),
    };
    let answer = eventually("three HIGH tickets counted", || {
        let mut client = s.client.clone();
        let only = only.clone();
        async move {
            let r = client.evaluate_triggers(only).await.ok()?.into_inner();
            let t = r.evaluations.first()?.triggers.first()?.clone();
            t.satisfied.then_some(r)
        }
    })
    .await;
    let churn = &answer.evaluations[0];
    assert_eq!(churn.reason, R::Disabled as i32, "would fire but for being disabled");
    assert_eq!(churn.firing_trigger_index, Some(0));
    assert!(churn.audience_matched);
    let count = evidence(&churn.triggers[0], "high_priority_tickets_14d");
    assert_eq!(
        (count.value.as_str(), count.comparison.as_str(), count.threshold.as_str()),
        ("3", ">=", "3")
    );
    assert!(count.satisfied);
    assert!(churn.triggers[0].summary.contains("14 days"), "{}", churn.triggers[0].summary);

    // Every enabled playbook: none fires, and each says why.
    let all = s
        .client
        .evaluate_triggers(pb::EvaluateTriggersRequest {
            account: account.clone(),
            playbook: String::new(),
        })
        .await
        .expect("evaluate")
        .into_inner();
    let names: Vec<_> = all.evaluations.iter().map(|e| e.playbook.as_str()).collect();
    assert_eq!(
        names,
        ["playbooks/adoption", "playbooks/renewal-preparation", "playbooks/sentiment-check-in"]
    );
    assert!(all.evaluations.iter().all(|e| !e.would_fire), "{all:?}");
    let adoption = by_name(&all, "playbooks/adoption");
    assert_eq!(adoption.reason, R::AudienceMismatch as i32, "ESTABLISHED is not onboarding");
    assert!(!adoption.audience_matched);
    assert!(
        adoption
            .audience_evidence
            .iter()
            .any(|e| e.name == "lifecycle_stage" && e.value == "ESTABLISHED")
    );
    let sentiment = by_name(&all, "playbooks/sentiment-check-in");
    assert_eq!(sentiment.reason, R::NoData as i32, "no CSAT ratings: {sentiment:?}");
    let renewal = by_name(&all, "playbooks/renewal-preparation");
    assert_ne!(renewal.reason, R::Unspecified as i32);

    let err = s
        .client
        .evaluate_triggers(pb::EvaluateTriggersRequest {
            account: "accounts/nobody".into(),
            playbook: String::new(),
        })
        .await
        .expect_err("unknown account");
    assert_code(&err, tonic::Code::NotFound, "ACCOUNT_NOT_FOUND");
    let err = s
        .client
        .evaluate_triggers(pb::EvaluateTriggersRequest {
            account: "nobody".into(),
            playbook: String::new(),
        })
        .await
        .expect_err("malformed");
    assert_invalid(&err, "account");
}

#[tokio::test]
async fn three_high_tickets_start_exactly_one_churn_risk_run_with_evidence_then_cooldown() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "live.example").await;
    high_tickets(&mut s, "live.example", 0, 3).await;

    let run = eventually("a churn-risk run", || {
        let mut client = s.client.clone();
        let account = account.clone();
        async move {
            let runs = runs_of(&mut client, &account).await;
            runs.into_iter().find(|r| r.playbook == "playbooks/churn-risk")
        }
    })
    .await;
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => {
            assert_eq!((a.trigger_index, a.trigger_kind), (0, pb::TriggerKind::TicketCount as i32));
        }
        other => panic!("automatic origin expected, got {other:?}"),
    }
    let count =
        run.evidence.iter().find(|e| e.name == "high_priority_tickets_14d").expect("evidence");
    assert_eq!(count.value, "3");
    assert!(run.evidence.iter().any(|e| e.name == "lifecycle_stage"), "audience evidence too");
    assert!(run.trigger_summary.contains("HIGH"), "{}", run.trigger_summary);

    // More tickets while it is active: no second run.
    high_tickets(&mut s, "live.example", 3, 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let churn_runs = |runs: Vec<pb::PlaybookRun>| {
        runs.into_iter().filter(|r| r.playbook == "playbooks/churn-risk").count()
    };
    assert_eq!(churn_runs(runs_of(&mut s.client, &account).await), 1);
    let only = pb::EvaluateTriggersRequest {
        account: account.clone(),
        playbook: "playbooks/churn-risk".into(),
    };
    let r = s.client.evaluate_triggers(only.clone()).await.expect("evaluate").into_inner();
    assert_eq!(r.evaluations[0].reason, R::ActiveRunExists as i32);
    assert_eq!(r.evaluations[0].active_run, run.name);

    // Cancelled: the cooldown holds the next run back.
    s.client
        .cancel_playbook_run(pb::CancelPlaybookRunRequest {
            name: run.name.clone(),
            ..Default::default()
        })
        .await
        .expect("cancel");
    high_tickets(&mut s, "live.example", 5, 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(churn_runs(runs_of(&mut s.client, &account).await), 1, "in cooldown");
    let r = s.client.evaluate_triggers(only).await.expect("evaluate").into_inner();
    let e = &r.evaluations[0];
    assert_eq!(e.reason, R::InCooldown as i32);
    let end = e.cooldown_end_time.expect("cooldown end").seconds;
    let expected = chrono::Utc::now().timestamp() + 30 * 86_400;
    assert!((expected - 60..=expected + 5).contains(&end), "{end} vs {expected}");
}

#[tokio::test]
async fn signals_that_arrive_while_the_service_is_down_start_the_run_after_restart_once() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "down.example").await;
    s.stop_playbook().await;
    high_tickets(&mut s, "down.example", 0, 4).await;
    // Let ticket-ingest and health scoring publish while the playbook service is down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.restart_playbook().await;

    let run = eventually("the churn-risk run after restart", || {
        let mut client = s.client.clone();
        let account = account.clone();
        async move {
            let runs = runs_of(&mut client, &account).await;
            runs.into_iter().find(|r| r.playbook == "playbooks/churn-risk")
        }
    })
    .await;
    let count =
        run.evidence.iter().find(|e| e.name == "high_priority_tickets_14d").expect("evidence");
    assert_eq!(count.value, "4");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let runs = runs_of(&mut s.client, &account).await;
    assert_eq!(runs.len(), 1, "once: {runs:?}");
}
