//! The shipped renewal preparation through real services: a contract created through the
//! account service sets the renewal date, tickets move the health score. Renewal in 60
//! days while YELLOW starts one run with the evidence; the same renewal while GREEN, or a
//! renewal 150 days away while YELLOW, starts nothing, and the dry run says why.

use chrono::Duration;
use pb::NotFiringReason as R;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;

use crate::support::*;

const RENEWAL: &str = "playbooks/renewal-preparation";

/// Three URGENT tickets from `domain` in the last hours: 53.13, YELLOW (severity 25 points
/// × 25, backlog 100 points × 15, over 40).
async fn three_urgent(s: &mut Suite, domain: &str) {
    for i in 0..3 {
        let age = Duration::hours(1 + i);
        ingest(&mut s.tickets, domain, &format!("{domain}-{i}"), TicketPriority::Urgent, age).await;
    }
}

#[tokio::test]
async fn a_renewal_in_60_days_while_yellow_starts_one_renewal_preparation_and_not_while_green() {
    let mut s = start().await;
    // Probes for the accounts that must not fire: one fires on the same renewal while GREEN,
    // the other on entering YELLOW, each in the evaluation that must leave renewal alone.
    let renewal_90 =
        pb::trigger::Kind::RenewalWithin(pb::RenewalWithinTrigger { within: days(90) });
    let green = pb::Audience { bands: vec![pb::HealthBand::Green as i32], ..Default::default() };
    create_probe(&mut s.client, "renewal-while-green", renewal_90, Some(green)).await;
    let yellow = pb::trigger::Kind::BandEntered(pb::BandEnteredTrigger {
        band: pb::HealthBand::Yellow as i32,
        within: None,
    });
    create_probe(&mut s.client, "entered-yellow", yellow, None).await;

    let due = create_account(&mut s.accounts, "due.example").await;
    let healthy = create_account(&mut s.accounts, "healthy.example").await;
    let far = create_account(&mut s.accounts, "far.example").await;
    // Contracts ending in 59 days renew in 60; one ending in 149 days renews in 150.
    create_contract(&mut s.accounts, &due, 59).await;
    create_contract(&mut s.accounts, &healthy, 59).await;
    create_contract(&mut s.accounts, &far, 149).await;
    three_urgent(&mut s, "due.example").await;
    three_urgent(&mut s, "far.example").await;

    let run = run_when(&s.client, &due, RENEWAL).await;
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => {
            assert_eq!(
                (a.trigger_index, a.trigger_kind),
                (0, pb::TriggerKind::RenewalWithin as i32)
            );
        }
        other => panic!("automatic origin expected, got {other:?}"),
    }
    assert_eq!(reading(&run.evidence, "days_to_renewal"), ("60", "<=", "90", true));
    assert_eq!(reading(&run.evidence, "health_band"), ("YELLOW", "in", "YELLOW,RED", true));
    assert!(
        run.trigger_summary.ends_with(", in 60 days (within 90 days)"),
        "{}",
        run.trigger_summary
    );
    assert_eq!(step(&run, "risk_review").state, pb::StepState::Active as i32);
    let e = evaluation(&mut s.client, &due, RENEWAL).await;
    assert_eq!((e.reason, e.active_run.as_str()), (R::ActiveRunExists as i32, run.name.as_str()));
    assert_eq!(runs_of_playbook(&mut s.client, &due, RENEWAL).await, [run]);

    // GREEN with the same renewal: in the window, outside the audience.
    run_when(&s.client, &healthy, "playbooks/renewal-while-green").await;
    assert!(runs_of_playbook(&mut s.client, &healthy, RENEWAL).await.is_empty());
    let e = evaluation(&mut s.client, &healthy, RENEWAL).await;
    assert_eq!(e.reason, R::AudienceMismatch as i32);
    assert!(e.triggers[0].satisfied, "{e:?}");
    assert_eq!(trigger_value(&e, 0, "days_to_renewal"), "60");
    assert_eq!(reading(&e.audience_evidence, "health_band"), ("GREEN", "in", "YELLOW,RED", false));

    // YELLOW, renewing in 150 days: in the audience, outside the window.
    run_when(&s.client, &far, "playbooks/entered-yellow").await;
    assert!(runs_of_playbook(&mut s.client, &far, RENEWAL).await.is_empty());
    let e = evaluation(&mut s.client, &far, RENEWAL).await;
    assert_eq!(
        (e.reason, e.triggers[0].reason),
        (R::OutsideWindow as i32, R::OutsideWindow as i32)
    );
    assert!(e.audience_matched, "{e:?}");
    assert_eq!(reading(&e.triggers[0].evidence, "days_to_renewal"), ("150", "<=", "90", false));
}
