//! The shipped sentiment check-in through real services: CSAT ratings on real tickets in
//! two 30-day windows, the good share computed by ticket-ingest. A fall of 23 points starts
//! one check-in with the evidence (none more while it runs); a fall of 10 points starts
//! nothing, and the dry run says it is below the threshold.

use chrono::Duration;
use pb::NotFiringReason as R;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1::{CsatSentiment, TicketPriority};

use crate::support::*;

const SENTIMENT: &str = "playbooks/sentiment-check-in";

/// Solved NORMAL tickets from `domain`, one per entry of `ratings`, created (and rated an
/// hour later) on consecutive days from `first_day_ago` days ago towards today, in order.
async fn rated_tickets(
    s: &mut Suite,
    domain: &str,
    first_id: usize,
    first_day_ago: i64,
    ratings: &[CsatSentiment],
) {
    for (i, sentiment) in ratings.iter().enumerate() {
        let age = Duration::days(first_day_ago - i as i64);
        let t = ticket(domain, &format!("{domain}-{}", first_id + i), TicketPriority::Normal, age);
        ingest_ticket(&mut s.tickets, rated(t, *sentiment, age - Duration::hours(1))).await;
    }
}

/// `good` GOOD ratings followed by `bad` BAD ones.
fn ratings(good: usize, bad: usize) -> Vec<CsatSentiment> {
    let mut r = vec![CsatSentiment::Good; good];
    r.extend(vec![CsatSentiment::Bad; bad]);
    r
}

#[tokio::test]
async fn csat_falling_23_points_starts_one_check_in_and_falling_10_points_does_not() {
    let mut s = start().await;
    // Fires when the last window's share is under 0.85: for `dip` only with its last rating.
    let below = pb::trigger::Kind::CsatDecline(pb::CsatDeclineTrigger {
        below_share: Some(0.85),
        window: days(30),
        ..Default::default()
    });
    create_probe(&mut s.client, "csat-below", below, None).await;
    let fall = create_account(&mut s.accounts, "fall.example").await;
    let dip = create_account(&mut s.accounts, "dip.example").await;
    // The previous window (30 to 60 days ago): 9 GOOD, 1 BAD = 0.90 for both, first, so that
    // the drop is computed only once the last window has ratings. Then the last 30 days,
    // GOOD ratings first: the share only falls, and crosses the line with the last rating.
    for domain in ["fall.example", "dip.example"] {
        rated_tickets(&mut s, domain, 0, 50, &ratings(9, 1)).await;
    }
    // fall: 6 GOOD, 3 BAD = 0.67, 23.33 points down (it was 15.00 down before the last).
    rated_tickets(&mut s, "fall.example", 10, 20, &ratings(6, 3)).await;
    // dip: 8 GOOD, 2 BAD = 0.80, 10.00 points down.
    rated_tickets(&mut s, "dip.example", 10, 20, &ratings(8, 2)).await;

    let run = run_when(&s.client, &fall, SENTIMENT).await;
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Automatic(a)) => {
            assert_eq!((a.trigger_index, a.trigger_kind), (0, pb::TriggerKind::CsatDecline as i32));
        }
        other => panic!("automatic origin expected, got {other:?}"),
    }
    assert_eq!(reading(&run.evidence, "csat_drop_points_30d"), ("23.33", ">=", "20.00", true));
    assert_eq!(fact(&run.evidence, "csat_good_share_30d").value, "0.67");
    assert_eq!(reading(&run.evidence, "csat_responses_30d"), ("9", ">=", "5", true));
    assert_eq!(reading(&run.evidence, "csat_previous_responses_30d"), ("10", ">=", "5", true));
    assert_eq!(
        run.trigger_summary,
        "CSAT good share 0.67 in 30 days, down 23.33 points from 0.90 (threshold down 20.00 points)"
    );
    assert_eq!(step(&run, "read_ratings").state, pb::StepState::Active as i32);

    // Another BAD rating while the check-in is active: no second run.
    rated_tickets(&mut s, "fall.example", 19, 1, &ratings(0, 1)).await;
    let e = evaluation_when(&s.client, &fall, SENTIMENT, "ten ratings counted", |e| {
        trigger_value(e, 0, "csat_responses_30d") == "10"
    })
    .await;
    assert_eq!((e.reason, e.active_run.as_str()), (R::ActiveRunExists as i32, run.name.as_str()));
    assert_eq!(trigger_value(&e, 0, "csat_drop_points_30d"), "30.00");
    assert_eq!(runs_of_playbook(&mut s.client, &fall, SENTIMENT).await, [run]);

    // dip: evaluated with all its ratings (the probe fired on them), and not fired.
    run_when(&s.client, &dip, "playbooks/csat-below").await;
    assert!(runs_of_playbook(&mut s.client, &dip, SENTIMENT).await.is_empty());
    let e = evaluation(&mut s.client, &dip, SENTIMENT).await;
    assert_eq!(
        (e.reason, e.triggers[0].reason),
        (R::BelowThreshold as i32, R::BelowThreshold as i32)
    );
    assert!(e.audience_matched);
    assert_eq!(
        reading(&e.triggers[0].evidence, "csat_drop_points_30d"),
        ("10.00", ">=", "20.00", false)
    );
    assert_eq!(trigger_value(&e, 0, "csat_good_share_30d"), "0.80");
    assert_eq!(trigger_value(&e, 0, "csat_responses_30d"), "10");
}
