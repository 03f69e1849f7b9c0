//! Re-scoring operations: the ones scorecard writes start over the accounts they affect, and
//! `RescoreAccounts` with its filters; progress through Get, List and Watch.

use futures_util::StreamExt;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use tonic::Code;

use crate::scorecards::{card, create, severity, try_update};
use crate::support::*;

use pb::RescoreState as State;
use pb::Segment as Seg;

/// The operation `name` once it has ended.
async fn ended(client: &Client, name: &str) -> pb::RescoreOperation {
    eventually("the operation to end", || {
        let mut client = client.clone();
        let req = pb::GetRescoreOperationRequest { name: name.into() };
        async move {
            let op = client.get_rescore_operation(req).await.ok()?.into_inner();
            matches!(op.state(), State::Succeeded | State::Failed).then_some(op)
        }
    })
    .await
}

/// Two SMB accounts and one ENTERPRISE account, scored by the default (100 each, no
/// tickets); names in that order.
async fn accounts(s: &mut Suite) -> [String; 3] {
    let a = create_account(&mut s.accounts, "a.example", account_pb::Segment::Smb).await;
    let b = create_account(&mut s.accounts, "b.example", account_pb::Segment::Smb).await;
    let c = create_account(&mut s.accounts, "c.example", account_pb::Segment::Enterprise).await;
    for account in [&a, &b, &c] {
        score_when(&s.client, account, "the default's score", |h| h.score == Some(100.0)).await;
    }
    [a, b, c]
}

#[tokio::test]
async fn scorecard_writes_rescore_the_accounts_they_affect() {
    let mut s = start().await;
    let [a, b, c] = accounts(&mut s).await;

    // A new SMB scorecard takes a and b: 0 tickets → 30 points.
    let smb = create(&mut s.client, "smb", card("SMB", &[Seg::Smb], false)).await;
    assert!(smb.rescore_operation.starts_with("rescoreOperations/"), "{smb:?}");
    let op = ended(&s.client, &smb.rescore_operation).await;
    assert_eq!(op.state(), State::Succeeded);
    assert_eq!(op.cause(), pb::RescoreCause::ScorecardChanged);
    assert_eq!((op.scorecard.as_str(), op.scorecard_version), ("scorecards/smb", 1));
    assert_eq!((op.total_count, op.done_count, op.failed_count, op.changed_count), (2, 2, 0, 2));
    assert!(op.start_time.is_some() && op.end_time.is_some());
    for account in [&a, &b] {
        let score = score_when(&s.client, account, "the SMB score", |_| true).await;
        assert_eq!(
            (score.score, score.scorecard.as_str(), score.scorecard_version),
            (Some(30.0), "scorecards/smb", 1)
        );
    }
    let by_scorecard = |c: &[pb::HealthChange]| {
        c.iter().filter(|c| c.reason() == pb::HealthChangeReason::ScorecardChanged).count() >= 2
    };
    let changes = changes_when(&s.client, "", "the re-scores' changes", by_scorecard).await;
    let rescored: Vec<_> =
        changes.iter().filter(|c| c.reason() == pb::HealthChangeReason::ScorecardChanged).collect();
    assert_eq!(rescored.len(), 2, "{changes:?}");
    let untouched = score_when(&s.client, &c, "c's score", |_| true).await;
    assert_eq!(untouched.scorecard, "scorecards/default");

    // A new model: its accounts now name version 2.
    let mut input = smb.clone();
    input.components = vec![severity(30, 45.0, 80.0)];
    let v2 = try_update(&mut s.client, input, &["components"]).await.expect("update");
    let op = ended(&s.client, &v2.rescore_operation).await;
    assert_eq!(
        (op.total_count, op.done_count, op.changed_count, op.scorecard_version),
        (2, 2, 2, 2)
    );
    for account in [&a, &b] {
        let score = score_when(&s.client, account, "the v2 score", |_| true).await;
        assert_eq!((score.score, score.scorecard_version), (Some(45.0), 2));
    }

    // Narrowing it to nothing hands a and b back to the default.
    let mut input = v2.clone();
    input.assignment = Some(pb::Assignment::default());
    let v3 = try_update(&mut s.client, input, &["assignment"]).await.expect("retire");
    let op = ended(&s.client, &v3.rescore_operation).await;
    assert_eq!((op.total_count, op.changed_count), (2, 2));
    let score = score_when(&s.client, &a, "a back on the default", |_| true).await;
    assert_eq!((score.score, score.scorecard.as_str()), (Some(100.0), "scorecards/default"));

    // A write that affects no account starts nothing; a description alone neither.
    let strategic =
        create(&mut s.client, "strategic", card("Strategic", &[Seg::Strategic], false)).await;
    assert_eq!(strategic.rescore_operation, "");
    let mut input = v3.clone();
    input.description = "retired".into();
    let v4 = try_update(&mut s.client, input, &["description"]).await.expect("describe");
    assert_eq!((v4.version, v4.rescore_operation.as_str()), (4, ""));
}

#[tokio::test]
async fn rescore_accounts_selects_by_filters_and_reports_progress() {
    let mut s = start().await;
    let [a, b, c] = accounts(&mut s).await;
    let smb = create(&mut s.client, "smb", card("SMB", &[Seg::Smb], false)).await;
    ended(&s.client, &smb.rescore_operation).await;

    let client = s.client.clone();
    let rescore = |req: pb::RescoreAccountsRequest| {
        let mut client = client.clone();
        async move { client.rescore_accounts(req).await.map(tonic::Response::into_inner) }
    };
    let by_segment = pb::RescoreAccountsRequest {
        request_id: request_id(),
        segments: vec![Seg::Enterprise as i32],
        ..Default::default()
    };
    let started = rescore(by_segment.clone()).await.expect("rescore");
    assert_eq!(started.cause(), pb::RescoreCause::Requested);
    assert_eq!(started.requested_by, "admin");
    assert_eq!(started.request.as_ref(), Some(&by_segment));
    let op = ended(&s.client, &started.name).await;
    assert_eq!(
        (op.total_count, op.done_count, op.changed_count),
        (1, 1, 0),
        "c's score is unchanged"
    );
    // A retry answers the same operation; the id with another filter is refused.
    assert_eq!(rescore(by_segment.clone()).await.expect("replay").name, started.name);
    let mut reused = by_segment.clone();
    reused.segments = vec![Seg::Smb as i32];
    assert_code(
        &rescore(reused).await.expect_err("reused"),
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );

    let by_scorecard = pb::RescoreAccountsRequest {
        request_id: request_id(),
        scorecard: "scorecards/smb".into(),
        ..Default::default()
    };
    let op = ended(&s.client, &rescore(by_scorecard).await.expect("rescore").name).await;
    assert_eq!((op.total_count, op.scorecard.as_str()), (2, "scorecards/smb"));
    let by_name = pb::RescoreAccountsRequest {
        request_id: request_id(),
        accounts: vec![a.clone(), c.clone()],
        segments: vec![Seg::Smb as i32],
        ..Default::default()
    };
    let op = ended(&s.client, &rescore(by_name).await.expect("rescore").name).await;
    assert_eq!(op.total_count, 1, "filters combine by AND: only a");
    let every = pb::RescoreAccountsRequest { request_id: request_id(), ..Default::default() };
    let all = rescore(every).await.expect("rescore");

    // Watch: the current state at once, the final one last, then the stream ends.
    let req = pb::WatchRescoreOperationRequest { name: all.name.clone() };
    let mut stream = s.client.watch_rescore_operation(req).await.expect("watch").into_inner();
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        seen.push(item.expect("a snapshot"));
    }
    let last = seen.last().expect("at least one snapshot");
    assert_eq!(last.state(), State::Succeeded);
    assert_eq!((last.total_count, last.done_count), (3, 3));
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "a snapshot only on progress");

    // Newest first.
    let list = s.client.list_rescore_operations(pb::ListRescoreOperationsRequest::default()).await;
    let ops = list.expect("list").into_inner().rescore_operations;
    assert_eq!(ops.len(), 5);
    assert_eq!(ops[0].name, all.name);
    assert_eq!(ops[4].name, smb.rescore_operation);

    // Bad requests.
    let unknown = pb::RescoreAccountsRequest {
        request_id: request_id(),
        accounts: vec![b.clone(), "accounts/nope".into()],
        ..Default::default()
    };
    assert_invalid(&rescore(unknown).await.expect_err("unknown"), "accounts[1]");
    let unknown = pb::RescoreAccountsRequest {
        request_id: request_id(),
        scorecard: "scorecards/nope".into(),
        ..Default::default()
    };
    assert_code(
        &rescore(unknown).await.expect_err("unknown"),
        Code::NotFound,
        "SCORECARD_NOT_FOUND",
    );
    let no_id = pb::RescoreAccountsRequest::default();
    assert_invalid(&rescore(no_id).await.expect_err("no id"), "request_id");
    let err = s
        .client
        .get_rescore_operation(pb::GetRescoreOperationRequest {
            name: format!("rescoreOperations/{}", uuid::Uuid::new_v4()),
        })
        .await
        .expect_err("unknown");
    assert_code(&err, Code::NotFound, "RESCORE_OPERATION_NOT_FOUND");
}

#[tokio::test]
async fn accounts_that_keep_failing_are_given_up_after_three_attempts() {
    let mut s = start().await;
    let [a, b, c] = accounts(&mut s).await;
    // Without ticket-ingest no support summary can be read: every attempt fails.
    s.ticket.kill();
    let req = pb::RescoreAccountsRequest { request_id: request_id(), ..Default::default() };
    let started = s.client.rescore_accounts(req).await.expect("rescore").into_inner();
    let op = ended(&s.client, &started.name).await;
    assert_eq!(op.state(), State::Failed);
    assert_eq!((op.total_count, op.done_count, op.failed_count, op.changed_count), (3, 0, 3, 0));
    let mut failed: Vec<&str> = op.failures.iter().map(|f| f.account.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, [a.as_str(), b.as_str(), c.as_str()]);
    assert!(op.failures.iter().all(|f| f.message.contains("ticket-ingest")), "{:?}", op.failures);
    assert!(op.end_time.is_some());
    // The scores stay as they were.
    let score = score_when(&s.client, &a, "a's score", |_| true).await;
    assert_eq!(score.score, Some(100.0));
}
