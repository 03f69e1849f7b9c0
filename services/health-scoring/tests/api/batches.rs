//! Re-scoring in batches: accounts dirtied together are scored together, each announced
//! once with its own score; a re-score of every account that changes nothing announces
//! nothing and adds no history, yet moves each evaluation time.

use futures_util::future::join_all;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use crate::support::*;

/// The newest health change's cursor (empty when there is none).
async fn newest_cursor(client: &mut Client) -> String {
    let mut cursor = String::new();
    loop {
        let req = pb::ListHealthChangesRequest { after_cursor: cursor.clone(), page_size: 1000 };
        let page = client.list_health_changes(req).await.expect("list changes").into_inner();
        if page.changes.is_empty() {
            return cursor;
        }
        cursor = page.next_cursor;
    }
}

#[tokio::test]
async fn accounts_dirtied_together_are_announced_once_each_and_a_no_op_rescore_announces_nothing() {
    let mut s = start().await;
    let mut accounts = Vec::new();
    for i in 0..6 {
        let domain = format!("batch{i}.example");
        accounts.push(create_account(&mut s.accounts, &domain, account_pb::Segment::Smb).await);
    }
    for account in &accounts {
        score_when(&s.client, account, "a first score", |h| h.score == Some(100.0)).await;
    }
    let cursor = newest_cursor(&mut s.client).await;

    // An URGENT ticket for each of the first three accounts at once.
    let tickets = (0..3).map(|i| {
        let mut tickets = s.tickets.clone();
        let t = ticket(
            &format!("batch{i}.example"),
            &format!("urgent-{i}"),
            ticket_pb::TicketPriority::Urgent,
            chrono::Duration::hours(1),
        );
        async move { ingest(&mut tickets, t).await }
    });
    join_all(tickets).await;
    let changes = changes_when(&s.client, &cursor, "three changes", |c| c.len() >= 3).await;
    let mut moved: Vec<&str> = changes.iter().map(|c| c.account.as_str()).collect();
    moved.sort_unstable();
    assert_eq!(moved, [&accounts[0], &accounts[1], &accounts[2]], "one change per account");
    for change in &changes {
        assert_eq!(change.reason(), pb::HealthChangeReason::SupportActivity);
        assert_eq!(change.old_score, Some(100.0));
        assert!(change.new_score < Some(100.0), "an URGENT ticket lowers the score: {change:?}");
        assert_eq!(change.new_score, changes[0].new_score, "same tickets, same score");
    }
    let before = score_when(&s.client, &accounts[0], "the lowered score", |h| {
        h.score == changes[0].new_score
    })
    .await;

    // Re-score everything: nothing changed, so nothing is announced or added to history.
    let cursor = newest_cursor(&mut s.client).await;
    let req = pb::RescoreAccountsRequest { request_id: request_id(), ..Default::default() };
    let started = s.client.rescore_accounts(req).await.expect("rescore").into_inner();
    let op = eventually("the operation to end", || {
        let mut client = s.client.clone();
        let req = pb::GetRescoreOperationRequest { name: started.name.clone() };
        async move {
            let op = client.get_rescore_operation(req).await.ok()?.into_inner();
            (op.state() == pb::RescoreState::Succeeded).then_some(op)
        }
    })
    .await;
    assert_eq!((op.total_count, op.done_count, op.changed_count), (6, 6, 0));
    assert_eq!(changes_after(&mut s.client, &cursor).await, []);
    let after = score_when(&s.client, &accounts[0], "a newer evaluation", |h| {
        h.evaluate_time != before.evaluate_time
    })
    .await;
    assert_eq!((after.score, after.compute_time), (before.score, before.compute_time));
    let history = s
        .client
        .get_score_history(pb::GetScoreHistoryRequest {
            account: accounts[0].clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    let scores: Vec<Option<f64>> = history.points.iter().map(|p| p.score).collect();
    assert_eq!(scores, [Some(100.0), before.score], "the first score and the lowered one");
}
