//! The shipped adoption playbook through real services: three how-to questions in 30 days
//! from an account in ONBOARDING start one run with the evidence, none more while it runs
//! or in its 60-day cooldown; the same questions from an ESTABLISHED account, questions
//! spread over two categories, or one of them older than the window start nothing, and the
//! dry run says why.

use chrono::{Duration, Utc};
use pb::NotFiringReason as R;
use steward_proto::account::v1::LifecycleStage as Stage;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;

use crate::support::*;

const ADOPTION: &str = "playbooks/adoption";

/// A NORMAL question in `category` from `domain`, asked `days_ago` days ago.
async fn question(s: &mut Suite, domain: &str, id: usize, category: &str, days_ago: i64) {
    let mut t =
        ticket(domain, &format!("{domain}-{id}"), TicketPriority::Normal, Duration::days(days_ago));
    t.category = category.into();
    ingest_ticket(&mut s.tickets, t).await;
}

#[tokio::test]
async fn three_how_to_questions_during_onboarding_start_one_adoption_run_with_evidence() {
    let mut s = start().await;
    let account = create_account_in(&mut s.accounts, "new.example", Stage::Onboarding).await;
    for i in 0..3 {
        question(&mut s, "new.example", i, "how-to", 1 + i as i64).await;
    }

    let run = run_when(&s.client, &account, ADOPTION).await;
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => assert_eq!(
            (a.trigger_index, a.trigger_kind),
            (0, pb::TriggerKind::RepeatedCategory as i32)
        ),
        other => panic!("automatic origin expected, got {other:?}"),
    }
    assert_eq!(reading(&run.evidence, "max_tickets_in_category_30d"), ("3", ">=", "3", true));
    assert_eq!(fact(&run.evidence, "category").value, "how-to");
    assert_eq!(
        reading(&run.evidence, "lifecycle_stage"),
        ("ONBOARDING", "in", "ONBOARDING,ADOPTION", true)
    );
    assert_eq!(run.trigger_summary, "3 tickets in category \"how-to\" in 30 days (threshold 3)");
    assert_eq!(step(&run, "enablement_session").state, pb::StepState::Active as i32);

    // A fourth question while the run is active: no second run, and the dry run names it.
    question(&mut s, "new.example", 3, "how-to", 1).await;
    let e = evaluation_when(&s.client, &account, ADOPTION, "four questions counted", |e| {
        trigger_value(e, 0, "max_tickets_in_category_30d") == "4"
    })
    .await;
    assert_eq!((e.reason, e.active_run.as_str()), (R::ActiveRunExists as i32, run.name.as_str()));
    assert_eq!(
        runs_of_playbook(&mut s.client, &account, ADOPTION).await,
        std::slice::from_ref(&run)
    );

    // Ended: the 60-day cooldown holds the next one back.
    let cancel = pb::CancelPlaybookRunRequest { name: run.name.clone(), ..Default::default() };
    s.client.cancel_playbook_run(cancel).await.expect("cancel");
    question(&mut s, "new.example", 4, "how-to", 1).await;
    let e = evaluation_when(&s.client, &account, ADOPTION, "five questions counted", |e| {
        trigger_value(e, 0, "max_tickets_in_category_30d") == "5"
    })
    .await;
    assert_eq!(e.reason, R::InCooldown as i32);
    let end = e.cooldown_end_time.expect("cooldown end").seconds;
    let expected = Utc::now().timestamp() + 60 * 86_400;
    assert!((expected - 60..=expected + 5).contains(&end), "{end} vs {expected}");
    assert_eq!(runs_of_playbook(&mut s.client, &account, ADOPTION).await.len(), 1);
}

#[tokio::test]
async fn questions_outside_the_audience_below_the_count_or_outside_the_window_start_nothing() {
    let mut s = start().await;
    // Probes fire on the same 30-day summary adoption reads, once all of an account's
    // questions are in it.
    create_probe(&mut s.client, "three-tickets", tickets_in_30_days(3), None).await;
    create_probe(&mut s.client, "two-tickets", tickets_in_30_days(2), None).await;
    let established =
        create_account_in(&mut s.accounts, "steady.example", Stage::Established).await;
    let split = create_account_in(&mut s.accounts, "split.example", Stage::Onboarding).await;
    let old = create_account_in(&mut s.accounts, "old.example", Stage::Adoption).await;
    for i in 0..3 {
        question(&mut s, "steady.example", i, "how-to", 1 + i as i64).await;
    }
    question(&mut s, "split.example", 0, "how-to", 1).await;
    question(&mut s, "split.example", 1, "onboarding", 2).await;
    question(&mut s, "split.example", 2, "how-to", 3).await;
    // The oldest question first, so that the probe fires only once the last one is in.
    question(&mut s, "old.example", 0, "how-to", 40).await;
    question(&mut s, "old.example", 1, "how-to", 1).await;
    question(&mut s, "old.example", 2, "how-to", 2).await;
    run_when(&s.client, &established, "playbooks/three-tickets").await;
    run_when(&s.client, &split, "playbooks/three-tickets").await;
    run_when(&s.client, &old, "playbooks/two-tickets").await;

    // ESTABLISHED is past adoption: the trigger holds, the audience does not.
    let e = evaluation(&mut s.client, &established, ADOPTION).await;
    assert_eq!(e.reason, R::AudienceMismatch as i32);
    assert!(!e.audience_matched && e.triggers[0].satisfied, "{e:?}");
    assert_eq!(
        reading(&e.audience_evidence, "lifecycle_stage"),
        ("ESTABLISHED", "in", "ONBOARDING,ADOPTION", false)
    );
    // Three questions, but no single category has three.
    let e = evaluation(&mut s.client, &split, ADOPTION).await;
    assert_eq!(
        (e.reason, e.triggers[0].reason),
        (R::BelowThreshold as i32, R::BelowThreshold as i32)
    );
    assert_eq!(
        reading(&e.triggers[0].evidence, "max_tickets_in_category_30d"),
        ("2", ">=", "3", false)
    );
    assert_eq!(trigger_value(&e, 0, "category"), "how-to");
    // Three how-to questions, one of them 40 days ago: two in the window.
    let e = evaluation(&mut s.client, &old, ADOPTION).await;
    assert_eq!(e.reason, R::BelowThreshold as i32);
    assert!(e.audience_matched, "ADOPTION is in the audience: {e:?}");
    assert_eq!(trigger_value(&e, 0, "max_tickets_in_category_30d"), "2");

    for account in [&established, &split, &old] {
        assert!(runs_of_playbook(&mut s.client, account, ADOPTION).await.is_empty(), "{account}");
    }
}
