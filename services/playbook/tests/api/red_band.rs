//! The shipped churn-risk playbook's second trigger through real services: five HIGH
//! tickets from 15 to 19 days ago are outside its 14-day ticket window, but they turn the
//! account RED, and entering RED starts one run. The same entry never fires again, even
//! after the run ends; an entry older than a day is outside the window.

use chrono::Duration;
use pb::NotFiringReason as R;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;

use crate::support::*;

const CHURN: &str = "playbooks/churn-risk";

#[tokio::test]
async fn entering_red_starts_one_churn_risk_run_and_the_same_entry_never_fires_again() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "red.example").await;
    // Severity: 5 HIGH in 30 days → 0 points; backlog p90 ≈ 19 days → about 40 points; the
    // score ≈ 15, RED. None of them within 14 days.
    for i in 0..5 {
        let age = Duration::days(19 - i);
        ingest(&mut s.tickets, "red.example", &format!("red-{i}"), TicketPriority::High, age).await;
    }

    let run = run_when(&s.client, &account, CHURN).await;
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => {
            assert_eq!((a.trigger_index, a.trigger_kind), (1, pb::TriggerKind::BandEntered as i32));
            assert!(a.entry_time.is_some(), "the entry that fired is recorded: {a:?}");
        }
        other => panic!("automatic origin expected, got {other:?}"),
    }
    assert_eq!(reading(&run.evidence, "health_band"), ("RED", "=", "RED", true));
    let ago = fact(&run.evidence, "band_entered_hours_ago");
    assert_eq!((ago.comparison.as_str(), ago.threshold.as_str()), ("<=", "24"));
    assert!(ago.value.parse::<f64>().expect("hours") < 1.0, "{ago:?}");
    assert!(run.trigger_summary.starts_with("Entered RED "), "{}", run.trigger_summary);

    // The dry run: the ticket trigger (first, so it names the reason) sees none in 14 days;
    // the band trigger's entry already fired.
    let e = evaluation(&mut s.client, &account, CHURN).await;
    assert_eq!(e.reason, R::BelowThreshold as i32);
    assert_eq!(e.firing_trigger_index, None);
    assert_eq!(
        reading(&e.triggers[0].evidence, "high_priority_tickets_14d"),
        ("0", ">=", "3", false)
    );
    assert_eq!(e.triggers[1].reason, R::AlreadyFired as i32);
    assert_eq!(e.active_run, run.name);

    // Ended: the entry still does not fire again (and the cooldown would hold it anyway).
    let cancel = pb::CancelPlaybookRunRequest { name: run.name.clone(), ..Default::default() };
    s.client.cancel_playbook_run(cancel).await.expect("cancel");
    let e = evaluation(&mut s.client, &account, CHURN).await;
    assert_eq!(e.triggers[1].reason, R::AlreadyFired as i32);
    assert!(e.active_run.is_empty() && e.cooldown_end_time.is_some(), "{e:?}");

    // Two days later the entry is outside the trigger's one-day window.
    let pool = s.db.pool().await;
    sqlx::query("UPDATE playbook.signals SET band_entered = band_entered - interval '2 days'")
        .execute(&pool)
        .await
        .expect("move the entry back");
    let e = evaluation(&mut s.client, &account, CHURN).await;
    assert_eq!(e.triggers[1].reason, R::OutsideWindow as i32);
    assert!(!reading(&e.triggers[1].evidence, "band_entered_hours_ago").3);
    assert_eq!(runs_of_playbook(&mut s.client, &account, CHURN).await.len(), 1);
}
