//! The orchestrator's lease protocol: claims, extensions, completion and failure with the
//! lease token, stale tokens refused, retries with backoff up to the maximum, expired leases
//! claimable again, and concurrent claimers never sharing a step.

use std::collections::HashSet;

use chrono::Utc;
use futures_util::future::join_all;
use steward_proto::playbook::v1 as pb;
use tonic::Code;

use crate::support::*;
use steward_proto::playbook::v1::StepState as S;

fn claim(worker: &str, max_steps: i32) -> pb::ClaimRunStepsRequest {
    pb::ClaimRunStepsRequest {
        worker_id: worker.into(),
        action_types: vec!["slack.notify".into()],
        max_steps,
        lease_duration: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
        wait_time: None,
    }
}

fn fail(c: &pb::ClaimedStep, retryable: bool) -> pb::FailRunStepRequest {
    pb::FailRunStepRequest {
        run: c.run.clone(),
        step_id: c.step_id.clone(),
        lease_token: c.lease_token.clone(),
        error_message: "slack answered 503".into(),
        retryable,
        retry_after: None,
    }
}

fn complete(c: &pb::ClaimedStep, token: &str) -> pb::CompleteRunStepRequest {
    pb::CompleteRunStepRequest {
        run: c.run.clone(),
        step_id: c.step_id.clone(),
        lease_token: token.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_claimed_step_is_extended_and_completed_with_its_token_only() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "lease.example").await;
    create_playbook(
        &mut s.client,
        "notify",
        vec![action("notify", 3), task("follow_up", "Follow up")],
    )
    .await;
    let run = start_run(&mut s.client, "notify", &account).await;
    assert_eq!(step(&run, "notify").state, S::Active as i32);

    let claimed = s.client.claim_run_steps(claim("worker-a", 0)).await.expect("claim").into_inner();
    assert_eq!(claimed.steps.len(), 1);
    let c = &claimed.steps[0];
    assert_eq!((c.run.as_str(), c.step_id.as_str(), c.attempt), (run.name.as_str(), "notify", 1));
    assert_eq!(c.idempotency_key, format!("{}/steps/notify", run.name));
    assert_eq!(c.variables.get("account.display_name").map(String::as_str), Some("lease.example"));
    match c.step.as_ref().and_then(|st| st.content.as_ref()) {
        Some(pb::run_step::Content::Action(a)) => {
            let text = a.parameters.as_ref().and_then(|p| p.fields.get("text"));
            assert_eq!(
                text.and_then(|v| v.kind.clone()),
                Some(prost_types::value::Kind::StringValue("lease.example needs attention".into()))
            );
        }
        other => panic!("action content expected, got {other:?}"),
    }
    let held =
        s.client.get_playbook_run(pb::GetPlaybookRunRequest { name: run.name.clone() }).await;
    assert_eq!(step(held.as_ref().expect("get").get_ref(), "notify").lease_holder, "worker-a");
    let none = s.client.claim_run_steps(claim("worker-b", 0)).await.expect("claim").into_inner();
    assert!(none.steps.is_empty(), "held by worker-a");

    let extend = pb::ExtendStepLeaseRequest {
        run: c.run.clone(),
        step_id: c.step_id.clone(),
        lease_token: c.lease_token.clone(),
        lease_duration: Some(prost_types::Duration { seconds: 120, nanos: 0 }),
    };
    let extended = s.client.extend_step_lease(extend.clone()).await.expect("extend").into_inner();
    assert!(extended.lease_expire_time.expect("set").seconds >= Utc::now().timestamp() + 100);

    let err = s.client.complete_run_step(complete(c, "not-the-token")).await.expect_err("stale");
    assert_code(&err, Code::FailedPrecondition, "LEASE_LOST");
    let err = s.client.complete_run_step(complete(c, "")).await.expect_err("no token");
    assert_invalid(&err, "lease_token");
    let done = s.client.complete_run_step(complete(c, &c.lease_token)).await.expect("complete");
    let done = done.into_inner();
    assert_eq!(step(&done, "notify").state, S::Done as i32);
    assert_eq!(step(&done, "notify").ended_by, "worker-a");
    assert_eq!(step(&done, "follow_up").state, S::Active as i32);
    let again = s.client.complete_run_step(complete(c, &c.lease_token)).await.expect("repeat");
    assert_eq!(again.into_inner(), done, "a repeated completion answers unchanged");
    let err = s.client.extend_step_lease(extend).await.expect_err("ended");
    assert_code(&err, Code::FailedPrecondition, "STEP_NOT_ACTIVE");
}

#[tokio::test]
async fn failures_retry_after_a_backoff_until_the_attempts_are_used_up() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "retry.example").await;
    create_playbook(
        &mut s.client,
        "notify",
        vec![action("notify", 2), task("follow_up", "Follow up")],
    )
    .await;
    let run = start_run(&mut s.client, "notify", &account).await;
    let pool = s.db.pool().await;

    let first = s.client.claim_run_steps(claim("worker-a", 1)).await.expect("claim").into_inner();
    let a = first.steps[0].clone();
    let before = Utc::now().timestamp();
    let retried = s.client.fail_run_step(fail(&a, true)).await.expect("fail").into_inner();
    let st = step(&retried, "notify");
    assert_eq!(st.state, S::Active as i32);
    assert_eq!(st.last_error, "slack answered 503");
    assert!(st.lease_holder.is_empty());
    let next = st.next_attempt_time.expect("retry scheduled").seconds;
    assert!((before + 29..=before + 32).contains(&next), "30 s backoff: {next} vs {before}");
    let again = s.client.fail_run_step(fail(&a, true)).await.expect("repeat").into_inner();
    assert_eq!(again, retried, "a repeated report answers unchanged");
    // The reported attempt's lease was released: it cannot be extended any more.
    let extend = pb::ExtendStepLeaseRequest {
        run: a.run.clone(),
        step_id: a.step_id.clone(),
        lease_token: a.lease_token.clone(),
        lease_duration: None,
    };
    let err = s.client.extend_step_lease(extend).await.expect_err("released");
    assert_code(&err, Code::FailedPrecondition, "LEASE_LOST");
    let none = s.client.claim_run_steps(claim("worker-b", 1)).await.expect("claim").into_inner();
    assert!(none.steps.is_empty(), "not before the backoff");

    // Time passes: the retry is due.
    sqlx::query("UPDATE playbook.step_leases SET ready_time = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("move the clock");
    let second = s.client.claim_run_steps(claim("worker-b", 1)).await.expect("claim").into_inner();
    let b = second.steps[0].clone();
    assert_eq!(b.attempt, 2);
    assert_ne!(b.lease_token, a.lease_token);
    let err = s.client.fail_run_step(fail(&a, true)).await.expect_err("a's token is stale now");
    assert_code(&err, Code::FailedPrecondition, "LEASE_LOST");

    let failed = s.client.fail_run_step(fail(&b, true)).await.expect("last attempt").into_inner();
    assert_eq!(step(&failed, "notify").state, S::Failed as i32);
    assert_eq!(failed.state, pb::RunState::Failed as i32);
    assert_eq!(step(&failed, "follow_up").state, S::Skipped as i32);
    let _ = run;
}

#[tokio::test]
async fn an_expired_lease_is_claimable_again_and_the_old_token_is_refused() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "expiry.example").await;
    create_playbook(&mut s.client, "notify", vec![action("notify", 5)]).await;
    start_run(&mut s.client, "notify", &account).await;
    let pool = s.db.pool().await;

    let first = s.client.claim_run_steps(claim("worker-a", 1)).await.expect("claim").into_inner();
    let a = first.steps[0].clone();
    sqlx::query("UPDATE playbook.step_leases SET lease_expire_time = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("expire the lease");
    let second = s.client.claim_run_steps(claim("worker-b", 1)).await.expect("claim").into_inner();
    assert_eq!(second.steps.len(), 1, "back in the queue");
    let b = second.steps[0].clone();
    assert_eq!(b.attempt, 2);
    assert_eq!(b.step.as_ref().expect("step").last_error, "lease expired");
    let extend = pb::ExtendStepLeaseRequest {
        run: a.run.clone(),
        step_id: a.step_id.clone(),
        lease_token: a.lease_token.clone(),
        lease_duration: None,
    };
    let err = s.client.extend_step_lease(extend).await.expect_err("a lost it");
    assert_code(&err, Code::FailedPrecondition, "LEASE_LOST");
    let err =
        s.client.complete_run_step(complete(&a, &a.lease_token)).await.expect_err("a lost it");
    assert_code(&err, Code::FailedPrecondition, "LEASE_LOST");
    let done = s.client.complete_run_step(complete(&b, &b.lease_token)).await.expect("b completes");
    assert_eq!(done.into_inner().state, pb::RunState::Completed as i32);
}

#[tokio::test]
async fn two_concurrent_claimers_never_get_the_same_step() {
    let mut s = start().await;
    create_playbook(&mut s.client, "notify", vec![action("notify", 5)]).await;
    let mut runs = Vec::new();
    for i in 0..12 {
        let account = create_account(&mut s.accounts, &format!("c{i}.example")).await;
        runs.push(start_run(&mut s.client, "notify", &account).await.name);
    }
    let workers = ["worker-a", "worker-b"].map(|w| {
        let mut client = s.client.clone();
        async move {
            let mut got = Vec::new();
            loop {
                let claimed =
                    client.claim_run_steps(claim(w, 2)).await.expect("claim").into_inner();
                if claimed.steps.is_empty() {
                    return got;
                }
                got.extend(claimed.steps.into_iter().map(|c| c.run));
            }
        }
    });
    let got: Vec<Vec<String>> = join_all(workers).await;
    let all: Vec<&String> = got.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), 12, "every step claimed once: {got:?}");
    assert_eq!(distinct.len(), 12);
    assert_eq!(distinct, runs.iter().collect::<HashSet<_>>());

    let err = s
        .client
        .claim_run_steps(pb::ClaimRunStepsRequest { worker_id: String::new(), ..claim("x", 1) })
        .await
        .expect_err("no worker");
    assert_invalid(&err, "worker_id");
    let err = s
        .client
        .claim_run_steps(pb::ClaimRunStepsRequest {
            action_types: vec!["Email".into()],
            ..claim("x", 1)
        })
        .await
        .expect_err("bad type");
    assert_invalid(&err, "action_types[0]");
}
