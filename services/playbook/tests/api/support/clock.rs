//! Moving a run's clock: every time stored for it shifted into the past, as if it had
//! started earlier, so that waits, due dates and leases come due without a test waiting
//! for them. The service's own clock then does what it would have done.

use prost::Message;
use steward_proto::playbook::v1 as pb;
use steward_testkit::TestDb;

/// Shifts every stored time of run `name` (`playbookRuns/{id}`) — its body, its columns and
/// its lease rows — `by` into the past, in one transaction under the run's row lock.
pub(crate) async fn age_run(db: &TestDb, name: &str, by: chrono::Duration) {
    let id = uuid::Uuid::parse_str(name.trim_start_matches("playbookRuns/")).expect("run id");
    let pool = db.pool().await;
    let mut tx = pool.begin().await.expect("begin");
    let body: Vec<u8> =
        sqlx::query_scalar("SELECT body FROM playbook.runs WHERE run_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .expect("the run");
    let mut run = pb::PlaybookRun::decode(body.as_slice()).expect("a run body");
    let secs = by.num_seconds();
    let back = |t: &mut Option<prost_types::Timestamp>| {
        if let Some(t) = t {
            t.seconds -= secs;
        }
    };
    back(&mut run.create_time);
    back(&mut run.update_time);
    back(&mut run.end_time);
    for step in &mut run.steps {
        back(&mut step.activate_time);
        back(&mut step.due_time);
        back(&mut step.end_time);
        back(&mut step.next_attempt_time);
        back(&mut step.lease_expire_time);
        if let Some(pb::run_step::Content::Wait(w)) = &mut step.content {
            back(&mut w.wake_time);
        }
    }
    sqlx::query(
        "UPDATE playbook.runs SET body = $3,
             create_time = create_time - make_interval(secs => $2),
             end_time = end_time - make_interval(secs => $2),
             due_time = due_time - make_interval(secs => $2),
             wake_time = wake_time - make_interval(secs => $2)
         WHERE run_id = $1",
    )
    .bind(id)
    .bind(secs as f64)
    .bind(run.encode_to_vec())
    .execute(&mut *tx)
    .await
    .expect("age the run");
    sqlx::query(
        "UPDATE playbook.step_leases SET ready_time = ready_time - make_interval(secs => $2),
             lease_expire_time = lease_expire_time - make_interval(secs => $2)
         WHERE run_id = $1",
    )
    .bind(id)
    .bind(secs as f64)
    .execute(&mut *tx)
    .await
    .expect("age the leases");
    tx.commit().await.expect("commit");
}
