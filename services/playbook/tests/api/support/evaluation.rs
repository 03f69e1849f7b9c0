//! Waiting for the evaluator and reading its answers: the runs of one playbook, a dry run
//! once it shows what a test waits for, evidence by name, and probe playbooks that prove the
//! playbooks under test were evaluated with the final data.

use steward_proto::playbook::v1 as pb;

use super::{Client, eventually, request_id, task};

/// `n` days as a proto duration.
pub(crate) fn days(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: n * 86_400, nanos: 0 })
}

/// The runs of `playbook` (`playbooks/{id}`) for `account`, newest first.
pub(crate) async fn runs_of_playbook(
    client: &mut Client,
    account: &str,
    playbook: &str,
) -> Vec<pb::PlaybookRun> {
    let req = pb::ListPlaybookRunsRequest {
        account: account.into(),
        playbook: playbook.into(),
        page_size: 1000,
        ..Default::default()
    };
    client.list_playbook_runs(req).await.expect("list runs").into_inner().playbook_runs
}

/// The first run of `playbook` for `account`, once the evaluator has started it.
pub(crate) async fn run_when(client: &Client, account: &str, playbook: &str) -> pb::PlaybookRun {
    eventually(&format!("a run of {playbook} for {account}"), || {
        let mut client = client.clone();
        async move { runs_of_playbook(&mut client, account, playbook).await.pop() }
    })
    .await
}

/// `playbook`'s dry run for `account` now.
pub(crate) async fn evaluation(
    client: &mut Client,
    account: &str,
    playbook: &str,
) -> pb::PlaybookEvaluation {
    let req = pb::EvaluateTriggersRequest { account: account.into(), playbook: playbook.into() };
    let mut answer = client.evaluate_triggers(req).await.expect("evaluate").into_inner();
    assert_eq!(answer.evaluations.len(), 1, "{answer:?}");
    answer.evaluations.remove(0)
}

/// `playbook`'s dry run for `account`, once `ready` holds for it (the data it reads has
/// reached the other services).
pub(crate) async fn evaluation_when(
    client: &Client,
    account: &str,
    playbook: &str,
    what: &str,
    ready: impl Fn(&pb::PlaybookEvaluation) -> bool,
) -> pb::PlaybookEvaluation {
    eventually(what, || {
        let mut client = client.clone();
        let ready = &ready;
        async move { Some(evaluation(&mut client, account, playbook).await).filter(|e| ready(e)) }
    })
    .await
}

/// The evidence named `name` in `list`.
pub(crate) fn fact<'a>(list: &'a [pb::Evidence], name: &str) -> &'a pb::Evidence {
    list.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name} in {list:?}"))
}

/// Evidence `name` of `list` as (value, comparison, threshold, satisfied), to compare whole.
pub(crate) fn reading<'a>(
    list: &'a [pb::Evidence],
    name: &str,
) -> (&'a str, &'a str, &'a str, bool) {
    let e = fact(list, name);
    (&e.value, &e.comparison, &e.threshold, e.satisfied)
}

/// The value of evidence `name` of trigger `index` in `evaluation`.
pub(crate) fn trigger_value<'a>(
    e: &'a pb::PlaybookEvaluation,
    index: usize,
    name: &str,
) -> &'a str {
    &fact(&e.triggers[index].evidence, name).value
}

/// Creates an enabled probe playbook `id` firing on `trigger` for `audience`, without a
/// cooldown. The evaluator reads an account's facts once and evaluates every enabled
/// playbook against that reading, so once a probe's run has started, every playbook under
/// test was evaluated with the facts that fired the probe: a playbook that has no run then
/// did not fire on them.
pub(crate) async fn create_probe(
    client: &mut Client,
    id: &str,
    trigger: pb::trigger::Kind,
    audience: Option<pb::Audience>,
) {
    let playbook = pb::Playbook {
        display_name: format!("Probe {id}"),
        enabled: true,
        triggers: vec![pb::Trigger { kind: Some(trigger) }],
        audience,
        cooldown: Some(prost_types::Duration { seconds: 0, nanos: 0 }),
        steps: vec![task("look", "Look")],
        ..Default::default()
    };
    let req = pb::CreatePlaybookRequest {
        playbook_id: id.into(),
        playbook: Some(playbook),
        request_id: request_id(),
    };
    client.create_playbook(req).await.expect("create probe");
}

/// A probe trigger: at least `n` tickets of any priority created in the last 30 days.
pub(crate) fn tickets_in_30_days(n: i32) -> pb::trigger::Kind {
    pb::trigger::Kind::TicketCount(pb::TicketCountTrigger {
        min_count: n,
        within: days(30),
        ..Default::default()
    })
}
