//! Live scoring: accounts and tickets arriving through the other services' feeds move
//! scores, and every change is announced once on the health feed.

use chrono::Duration;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn a_new_account_is_scored_from_the_support_data_it_has() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;

    let score = score_when(&s.client, &acme, "a first score", |_| true).await;
    // No tickets: severity (0 HIGH/URGENT → 100 points, weight 25) and backlog age (none
    // open → 100 points, weight 15) count; the rest have no data and are left out.
    assert_eq!(score.score, Some(100.0));
    assert_eq!(score.band(), pb::HealthBand::Green);
    assert_eq!(score.scorecard, "scorecards/default");
    assert_eq!(score.scorecard_version, 1);
    assert_eq!(score.coverage, 0.4);
    let states: Vec<(&str, pb::ComponentState)> =
        score.components.iter().map(|c| (c.component_id.as_str(), c.state())).collect();
    assert_eq!(
        states,
        [
            ("support_severity", pb::ComponentState::Included),
            ("csat", pb::ComponentState::Missing),
            ("backlog_age", pb::ComponentState::Included),
            ("ticket_volume", pb::ComponentState::Missing),
            ("reopen_rate", pb::ComponentState::Missing),
            ("usage", pb::ComponentState::Missing),
        ]
    );
    assert_eq!(component(&score, "support_severity").effective_weight, 0.625);
    assert_eq!(component(&score, "support_severity").contribution, 62.5);

    let changes = changes_when(&s.client, "", "the first change", |c| !c.is_empty()).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let first = &changes[0];
    assert_eq!((first.old_score, first.new_score), (None, Some(100.0)));
    assert_eq!(first.new_band(), pb::HealthBand::Green);
    assert_eq!(first.reason(), pb::HealthChangeReason::AccountChanged);
    assert_eq!(first.account, acme);
}

#[tokio::test]
async fn urgent_tickets_pull_the_score_down_and_the_change_says_why() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    score_when(&s.client, &acme, "a first score", |h| h.score == Some(100.0)).await;
    let first = changes_when(&s.client, "", "the first change", |c| !c.is_empty()).await;
    let cursor = first.last().expect("first change").cursor.clone();

    for (id, hours) in [("u1", 1), ("u2", 2), ("u3", 3)] {
        ingest(
            &mut s.tickets,
            ticket("acme.com", id, TicketPriority::Urgent, Duration::hours(hours)),
        )
        .await;
    }
    // Severity: 3 URGENT → 25 points × 25; backlog p90 age ≈ 0.1 days → 100 points × 15:
    // (625 + 1500) / 40 = 53.125 → 53.13, YELLOW.
    let score = score_when(&s.client, &acme, "the score after 3 urgent tickets", |h| {
        h.score == Some(53.13)
    })
    .await;
    assert_eq!(score.band(), pb::HealthBand::Yellow);
    assert_eq!(score.previous_band(), pb::HealthBand::Green);
    let severity = component(&score, "support_severity");
    assert_eq!((severity.value, severity.points), (Some(3.0), 25.0));
    // The breakdown accounts for every point: contributions sum exactly to the score.
    let cents: i64 = score.components.iter().map(|c| (c.contribution * 100.0).round() as i64).sum();
    assert_eq!(cents, 5313);
    assert!(severity.fact.contains("3 URGENT"), "{}", severity.fact);

    let announced = |c: &[pb::HealthChange]| c.last().is_some_and(|l| l.new_score == Some(53.13));
    let changes = changes_when(&s.client, &cursor, "the change to 53.13", announced).await;
    let last = changes.last().expect("a change");
    assert_eq!(last.new_score, Some(53.13));
    assert_eq!(last.new_band(), pb::HealthBand::Yellow);
    assert_eq!(last.reason(), pb::HealthChangeReason::SupportActivity);
    assert_eq!(last.top_movers[0].component_id, "support_severity");
    assert!(last.top_movers[0].points_delta < 0.0);
    // Every change is a real move: no two consecutive entries carry the same score.
    for pair in changes.windows(2) {
        assert_ne!(pair[0].new_score, pair[1].new_score);
    }
    // History records each change the feed announced, in order.
    let history = s
        .client
        .get_score_history(pb::GetScoreHistoryRequest {
            account: acme.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .points;
    let all = changes_when(&s.client, "", "every change", announced).await;
    let announced: Vec<Option<f64>> = all.iter().map(|c| c.new_score).collect();
    let recorded: Vec<Option<f64>> = history.iter().map(|p| p.score).collect();
    assert_eq!(recorded, announced);

    let explained = s
        .client
        .explain_health_score(pb::ExplainHealthScoreRequest {
            account: acme.clone(),
            compare_time: None,
        })
        .await
        .expect("explain")
        .into_inner();
    let comparison = explained.comparison.expect("compared with the previous score");
    assert_eq!(comparison.earlier_score, last.old_score);
    let moved: f64 = comparison.movers.iter().map(|m| m.contribution_delta).sum();
    assert!((moved - comparison.score_delta).abs() < 1e-9, "{moved} vs {}", comparison.score_delta);
    assert_eq!(comparison.movers[0].component_id, "support_severity");
    assert!(explained.summary[0].contains("53.13"), "{:?}", explained.summary);
}

#[tokio::test]
async fn a_deleted_account_loses_its_score_and_the_feed_says_so() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    score_when(&s.client, &acme, "a first score", |_| true).await;

    let req = account_pb::DeleteAccountRequest { name: acme.clone(), ..Default::default() };
    s.accounts.delete_account(req).await.expect("delete");
    let gone = eventually("the score to go", || {
        let mut client = s.client.clone();
        let name = format!("{acme}/healthScore");
        async move { client.get_health_score(pb::GetHealthScoreRequest { name }).await.err() }
    })
    .await;
    assert_code(&gone, Code::NotFound, "ACCOUNT_NOT_FOUND");
    let changes = changes_when(&s.client, "", "the lost score", |c| {
        c.last().is_some_and(|l| l.new_score.is_none())
    })
    .await;
    let last = changes.last().expect("changes");
    assert_eq!((last.old_score, last.new_score), (Some(100.0), None));
    assert_eq!(last.new_band(), pb::HealthBand::Unspecified);
    assert_eq!(last.reason(), pb::HealthChangeReason::AccountChanged);
    assert!(last.scorecard.is_empty());
}

#[tokio::test]
async fn an_account_not_scored_yet_is_not_found_with_its_reason() {
    // Re-scores wait an hour here, so the account is known but not yet scored.
    let mut s = start_with(std::time::Duration::from_secs(3600)).await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    let status = eventually("health scoring to know the account", || {
        let mut client = s.client.clone();
        let name = format!("{acme}/healthScore");
        async move {
            let err = client.get_health_score(pb::GetHealthScoreRequest { name }).await.err()?;
            let reason = reason(&err)?;
            (reason == "HEALTH_SCORE_NOT_COMPUTED").then_some(err)
        }
    })
    .await;
    assert_code(&status, Code::NotFound, "HEALTH_SCORE_NOT_COMPUTED");
    assert!(changes_after(&mut s.client, "").await.is_empty());
}

#[tokio::test]
async fn watching_the_feed_streams_the_changes_the_list_returns() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    let mut watch = s
        .client
        .watch_health_changes(pb::WatchHealthChangesRequest { after_cursor: String::new() })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("stream").expect("a change");
    assert_eq!(first.account, acme);
    ingest(&mut s.tickets, ticket("acme.com", "h1", TicketPriority::High, Duration::hours(1)))
        .await;
    let second = watch.message().await.expect("stream").expect("a second change");
    // One HIGH ticket: (80 × 25 + 100 × 15) / 40 = 87.5.
    assert_eq!(second.new_score, Some(87.5));
    let listed = changes_when(&s.client, "", "both changes", |c| c.len() >= 2).await;
    assert_eq!(listed, vec![first, second]);
}

#[tokio::test]
async fn scoring_stopped_while_tickets_arrive_catches_up_after_restart() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    let globex = create_account(&mut s.accounts, "globex.com", account_pb::Segment::Smb).await;
    for account in [&acme, &globex] {
        score_when(&s.client, account, "a first score", |h| h.score == Some(100.0)).await;
    }
    s.health.stop().await.expect("health-scoring stops");

    // While health scoring is down: acme gets 3 URGENT tickets, globex 1 HIGH, and a new
    // account appears.
    for (id, hours) in [("u1", 1), ("u2", 2), ("u3", 3)] {
        ingest(
            &mut s.tickets,
            ticket("acme.com", id, TicketPriority::Urgent, Duration::hours(hours)),
        )
        .await;
    }
    ingest(&mut s.tickets, ticket("globex.com", "h1", TicketPriority::High, Duration::hours(1)))
        .await;
    let initech = create_account(&mut s.accounts, "initech.com", account_pb::Segment::Smb).await;

    let health = start_health(&s.db, &s.account, &s.ticket, RESCORE_DELAY).await;
    let client = Client::new(health.channel());
    // The same worked scores an uninterrupted run reaches (see the tests above).
    for (account, expected) in [(&acme, 53.13), (&globex, 87.5), (&initech, 100.0)] {
        score_when(&client, account, "the caught-up score", |h| h.score == Some(expected)).await;
    }
}
