//! What the service's clock does when time passes (the run's stored times moved back, see
//! `age_run`): a WAIT step ends DONE by itself at its wake time and the next step becomes
//! ACTIVE; the lease of a step's last attempt expiring fails the step and the run.

use chrono::Duration;
use steward_proto::playbook::v1 as pb;
use tonic::Code;

use crate::support::*;
use steward_proto::playbook::v1::StepState as S;

async fn get(client: &mut Client, run: &str) -> pb::PlaybookRun {
    let req = pb::GetPlaybookRunRequest { name: run.into() };
    client.get_playbook_run(req).await.expect("get run").into_inner()
}

#[tokio::test]
async fn a_wait_ends_by_itself_at_its_wake_time_and_the_next_step_becomes_active() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "wait.example").await;
    // churn-risk: two tasks, then a 14-day wait, then "check_recovery".
    let run = start_run(&mut s.client, "churn-risk", &account).await;
    for id in ["review_risk", "sponsor_call"] {
        let req = pb::CompleteRunStepRequest {
            run: run.name.clone(),
            step_id: id.into(),
            ..Default::default()
        };
        s.client.complete_run_step(req).await.expect("complete");
    }
    let waiting = get(&mut s.client, &run.name).await;
    let wait = step(&waiting, "recovery_wait");
    assert_eq!(wait.state, S::Active as i32);
    let Some(pb::run_step::Content::Wait(w)) = &wait.content else { panic!("{wait:?}") };
    let wake = w.wake_time.expect("wake time").seconds;
    let activated = wait.activate_time.expect("activated").seconds;
    assert_eq!(wake - activated, 14 * 86_400);
    // Not yet due: it stays active.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(step(&get(&mut s.client, &run.name).await, "recovery_wait").state, S::Active as i32);

    age_run(&s.db, &run.name, Duration::days(14) + Duration::seconds(1)).await;
    let woke = eventually("the wait to end", || {
        let mut client = s.client.clone();
        let name = run.name.clone();
        async move {
            let run = get(&mut client, &name).await;
            (step(&run, "recovery_wait").state == S::Done as i32).then_some(run)
        }
    })
    .await;
    let done = step(&woke, "recovery_wait");
    assert_eq!(done.ended_by, "steward");
    assert_eq!(step(&woke, "check_recovery").state, S::Active as i32);
    assert_eq!(woke.current_step_id, "check_recovery");
    assert_eq!(woke.state, pb::RunState::Active as i32);
}

#[tokio::test]
async fn the_last_attempts_lease_expiring_fails_the_step_and_the_run() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "expire.example").await;
    create_playbook(
        &mut s.client,
        "notify-once",
        vec![action("notify", 1), task("follow_up", "Follow up")],
    )
    .await;
    let run = start_run(&mut s.client, "notify-once", &account).await;
    let claim = pb::ClaimRunStepsRequest {
        worker_id: "worker-a".into(),
        action_types: vec!["slack.notify".into()],
        max_steps: 1,
        lease_duration: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
        wait_time: None,
    };
    let claimed = s.client.claim_run_steps(claim.clone()).await.expect("claim").into_inner();
    let c = claimed.steps[0].clone();
    assert_eq!((c.attempt, c.step.as_ref().map(|st| st.max_attempts)), (1, Some(1)));

    age_run(&s.db, &run.name, Duration::seconds(61)).await;
    let failed = eventually("the expired last attempt to fail the run", || {
        let mut client = s.client.clone();
        let name = run.name.clone();
        async move {
            let run = get(&mut client, &name).await;
            (run.state == pb::RunState::Failed as i32).then_some(run)
        }
    })
    .await;
    let notify = step(&failed, "notify");
    assert_eq!(notify.state, S::Failed as i32);
    assert_eq!(
        (notify.last_error.as_str(), notify.ended_by.as_str()),
        ("lease expired", "worker-a")
    );
    assert!(notify.lease_holder.is_empty() && notify.lease_expire_time.is_none());
    assert_eq!(step(&failed, "follow_up").state, S::Skipped as i32);

    // Nothing left to claim, and the late worker's report is refused: the step has ended.
    let none = s.client.claim_run_steps(claim).await.expect("claim").into_inner();
    assert!(none.steps.is_empty(), "{none:?}");
    let complete = pb::CompleteRunStepRequest {
        run: c.run.clone(),
        step_id: c.step_id.clone(),
        lease_token: c.lease_token.clone(),
        ..Default::default()
    };
    let err = s.client.complete_run_step(complete).await.expect_err("ended");
    assert_code(&err, Code::FailedPrecondition, "STEP_NOT_ACTIVE");
}
