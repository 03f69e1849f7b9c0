//! Runs: manual starts (idempotent by request id, one active run per account and playbook
//! even under concurrent starts, disabled playbooks refused), steps moving in order to the
//! run's completion, cancel, list filters and the run change stream.

use futures_util::future::join_all;
use steward_proto::playbook::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;
use steward_proto::playbook::v1::{RunChangeKind as K, StepState as S};

#[tokio::test]
async fn a_manual_start_is_idempotent_by_request_id_and_one_run_is_active_per_pair() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "acme.example").await;
    let req = pb::StartPlaybookRunRequest {
        playbook: "playbooks/churn-risk".into(),
        account: account.clone(),
        request_id: request_id(),
        note: "Escalation from the CEO".into(),
        actor: "jane@steward.dev".into(),
    };
    let run = s.client.start_playbook_run(req.clone()).await.expect("start").into_inner();
    assert_eq!(run.state, pb::RunState::Active as i32);
    assert_eq!(run.trigger_summary, "Started manually by jane@steward.dev");
    match run.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Manual(m)) => assert_eq!(m.note, "Escalation from the CEO"),
        other => panic!("manual origin expected, got {other:?}"),
    }
    let first = step(&run, "review_risk");
    assert_eq!(first.state, S::Active as i32);
    assert_eq!(first.assignee, "csm@steward.dev", "tasks go to the account owner");
    assert!(first.due_time.is_some());
    match &first.content {
        Some(pb::run_step::Content::Task(t)) => assert!(t.title.contains("acme.example"), "{t:?}"),
        other => panic!("task content expected, got {other:?}"),
    }
    assert!(
        run.evidence.iter().any(|e| e.name == "high_priority_tickets_14d"),
        "{:?}",
        run.evidence
    );

    let again = s.client.start_playbook_run(req.clone()).await.expect("replay").into_inner();
    assert_eq!(again, run);
    let mut reused = req.clone();
    reused.note = "something else".into();
    let err = s.client.start_playbook_run(reused).await.expect_err("reused request id");
    assert_code(&err, Code::InvalidArgument, "REQUEST_ID_REUSED");

    let mut second = req.clone();
    second.request_id = request_id();
    let err = s.client.start_playbook_run(second).await.expect_err("already active");
    assert_code(&err, Code::FailedPrecondition, "ACTIVE_RUN_EXISTS");
    let info = tonic_types::StatusExt::get_error_details(&err);
    assert_eq!(info.error_info().expect("error info").metadata.get("run"), Some(&run.name));

    let err = s
        .client
        .start_playbook_run(pb::StartPlaybookRunRequest {
            playbook: "playbooks/missing".into(),
            account: account.clone(),
            request_id: request_id(),
            ..Default::default()
        })
        .await
        .expect_err("no such playbook");
    assert_code(&err, Code::NotFound, "PLAYBOOK_NOT_FOUND");
    let err = s
        .client
        .start_playbook_run(pb::StartPlaybookRunRequest {
            playbook: "playbooks/adoption".into(),
            account: "accounts/nobody".into(),
            request_id: request_id(),
            ..Default::default()
        })
        .await
        .expect_err("no such account");
    assert_code(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");

    s.client
        .disable_playbook(pb::DisablePlaybookRequest {
            name: "playbooks/adoption".into(),
            etag: String::new(),
        })
        .await
        .expect("disable");
    let err = s
        .client
        .start_playbook_run(pb::StartPlaybookRunRequest {
            playbook: "playbooks/adoption".into(),
            account,
            request_id: request_id(),
            ..Default::default()
        })
        .await
        .expect_err("disabled");
    assert_code(&err, Code::FailedPrecondition, "PLAYBOOK_DISABLED");
}

#[tokio::test]
async fn concurrent_starts_leave_exactly_one_active_run() {
    let s = start().await;
    let mut accounts = s.accounts.clone();
    let account = create_account(&mut accounts, "race.example").await;
    let starts = (0..8).map(|_| {
        let mut client = s.client.clone();
        let req = pb::StartPlaybookRunRequest {
            playbook: "playbooks/sentiment-check-in".into(),
            account: account.clone(),
            request_id: request_id(),
            ..Default::default()
        };
        async move { client.start_playbook_run(req).await }
    });
    let results = join_all(starts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_code(err, Code::FailedPrecondition, "ACTIVE_RUN_EXISTS");
    }
    let mut client = s.client.clone();
    assert_eq!(runs_of(&mut client, &account).await.len(), 1);
}

#[tokio::test]
async fn steps_move_in_order_until_the_run_completes_and_the_stream_tells_it_all() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "steps.example").await;
    create_playbook(
        &mut s.client,
        "two-tasks",
        vec![task("first", "First"), task("second", "Second")],
    )
    .await;
    let mut watch = s
        .client
        .watch_playbook_runs(pb::WatchPlaybookRunsRequest {
            playbook: "playbooks/two-tasks".into(),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let run = start_run(&mut s.client, "two-tasks", &account).await;
    let complete = |step_id: &str| pb::CompleteRunStepRequest {
        run: run.name.clone(),
        step_id: step_id.into(),
        note: "done".into(),
        ..Default::default()
    };
    // The second step cannot be completed before it is active; an unknown one is not found.
    let err = s.client.complete_run_step(complete("second")).await.expect_err("pending");
    assert_code(&err, Code::FailedPrecondition, "STEP_NOT_ACTIVE");
    let err = s.client.complete_run_step(complete("third")).await.expect_err("unknown");
    assert_code(&err, Code::NotFound, "STEP_NOT_FOUND");
    let mut with_token = complete("first");
    with_token.lease_token = "x".into();
    let err = s.client.complete_run_step(with_token).await.expect_err("token on a task");
    assert_invalid(&err, "lease_token");

    let after_first =
        s.client.complete_run_step(complete("first")).await.expect("first").into_inner();
    assert_eq!(step(&after_first, "first").state, S::Done as i32);
    assert_eq!(step(&after_first, "second").state, S::Active as i32);
    assert_eq!(after_first.current_step_id, "second");
    assert_ne!(after_first.etag, run.etag);
    let repeat = s.client.complete_run_step(complete("first")).await.expect("repeat").into_inner();
    assert_eq!(repeat, after_first, "a repeated completion changes nothing");

    // The assignee and overdue filters see the active task.
    let by_assignee = pb::ListPlaybookRunsRequest {
        assignee: "csm@steward.dev".into(),
        playbook: "playbooks/two-tasks".into(),
        ..Default::default()
    };
    let listed = s.client.list_playbook_runs(by_assignee.clone()).await.expect("list").into_inner();
    assert_eq!(listed.playbook_runs.len(), 1);
    let overdue = pb::ListPlaybookRunsRequest { overdue: true, ..Default::default() };
    let listed = s.client.list_playbook_runs(overdue).await.expect("overdue").into_inner();
    assert!(listed.playbook_runs.is_empty(), "due in a day");

    let done = s.client.complete_run_step(complete("second")).await.expect("second").into_inner();
    assert_eq!(done.state, pb::RunState::Completed as i32);
    assert!(done.end_time.is_some());
    assert!(done.current_step_id.is_empty());
    let listed = s.client.list_playbook_runs(by_assignee).await.expect("list").into_inner();
    assert!(listed.playbook_runs.is_empty(), "no active task any more");
    let skip_done = pb::SkipRunStepRequest {
        run: run.name.clone(),
        step_id: "first".into(),
        ..Default::default()
    };
    let err = s.client.skip_run_step(skip_done).await.expect_err("run ended");
    assert_code(&err, Code::FailedPrecondition, "RUN_ENDED");
    let completed = pb::ListPlaybookRunsRequest {
        states: vec![pb::RunState::Completed as i32],
        account: account.clone(),
        ..Default::default()
    };
    let listed = s.client.list_playbook_runs(completed).await.expect("completed").into_inner();
    assert_eq!(listed.playbook_runs, std::slice::from_ref(&done));

    let mut kinds = Vec::new();
    while kinds.len() < 6 {
        let change = watch.next().await.expect("a change").expect("not an error");
        assert_eq!(change.run, run.name);
        kinds.push((K::try_from(change.kind).expect("known kind"), change.step_id));
    }
    let step = |k, s: &str| (k, s.to_owned());
    assert_eq!(
        kinds,
        [
            step(K::RunStarted, ""),
            step(K::StepActivated, "first"),
            step(K::StepCompleted, "first"),
            step(K::StepActivated, "second"),
            step(K::StepCompleted, "second"),
            step(K::RunCompleted, ""),
        ]
    );
}

#[tokio::test]
async fn skips_and_cancels_end_steps_and_runs_and_a_wait_cannot_be_completed() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "cancel.example").await;
    let run = start_run(&mut s.client, "churn-risk", &account).await;
    let skip = |step_id: &str| pb::SkipRunStepRequest {
        run: run.name.clone(),
        step_id: step_id.into(),
        reason: "not needed".into(),
        actor: "lead@steward.dev".into(),
    };
    // Skipping a pending step passes it over when reached.
    let skipped =
        s.client.skip_run_step(skip("sponsor_call")).await.expect("skip pending").into_inner();
    assert_eq!(step(&skipped, "sponsor_call").state, S::Skipped as i32);
    assert_eq!(step(&skipped, "sponsor_call").ended_by, "lead@steward.dev");
    let moved =
        s.client.skip_run_step(skip("review_risk")).await.expect("skip active").into_inner();
    let wait = step(&moved, "recovery_wait");
    assert_eq!(wait.state, S::Active as i32, "{moved:?}");
    let err = s
        .client
        .complete_run_step(pb::CompleteRunStepRequest {
            run: run.name.clone(),
            step_id: "recovery_wait".into(),
            ..Default::default()
        })
        .await
        .expect_err("a wait ends by itself");
    assert_code(&err, Code::FailedPrecondition, "STEP_NOT_COMPLETABLE");

    let cancel = pb::CancelPlaybookRunRequest {
        name: run.name.clone(),
        reason: "customer renewed".into(),
        etag: run.etag.clone(),
        ..Default::default()
    };
    let err = s.client.cancel_playbook_run(cancel.clone()).await.expect_err("stale etag");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    let mut fresh = cancel.clone();
    fresh.etag = moved.etag.clone();
    let cancelled = s.client.cancel_playbook_run(fresh.clone()).await.expect("cancel").into_inner();
    assert_eq!(cancelled.state, pb::RunState::Cancelled as i32);
    assert_eq!(cancelled.cancel_reason, "customer renewed");
    assert!(
        cancelled
            .steps
            .iter()
            .all(|st| st.state != S::Pending as i32 && st.state != S::Active as i32)
    );
    fresh.etag.clear();
    let again = s.client.cancel_playbook_run(fresh).await.expect("cancel again").into_inner();
    assert_eq!(again, cancelled);
    // Skipping a skipped step answers unchanged, even in an ended run.
    let same = s.client.skip_run_step(skip("check_recovery")).await.expect("skipped already");
    assert_eq!(same.into_inner(), cancelled);

    let err = s
        .client
        .get_playbook_run(pb::GetPlaybookRunRequest { name: "playbookRuns/nope".into() })
        .await
        .expect_err("unknown run");
    assert_code(&err, Code::NotFound, "RUN_NOT_FOUND");
    let err = s
        .client
        .get_playbook_run(pb::GetPlaybookRunRequest { name: "runs/x".into() })
        .await
        .expect_err("malformed");
    assert_invalid(&err, "name");
}
