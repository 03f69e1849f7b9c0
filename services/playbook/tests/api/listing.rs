//! Reading runs back: `ListPlaybookRuns` in pages (newest first, tokens bound to their
//! filters) and its overdue filter; `WatchPlaybookRuns` resumed from a cursor, filtered or
//! not, and refusing a malformed one.

use chrono::Duration;
use steward_proto::playbook::v1 as pb;
use tokio_stream::StreamExt;

use crate::support::*;
use steward_proto::playbook::v1::RunChangeKind as K;

/// Five runs of `playbooks/check`, one per account, oldest first.
async fn five_runs(s: &mut Suite) -> Vec<pb::PlaybookRun> {
    create_playbook(&mut s.client, "check", vec![task("first", "First"), task("second", "Second")])
        .await;
    let mut runs = Vec::new();
    for i in 0..5 {
        let account = create_account(&mut s.accounts, &format!("page{i}.example")).await;
        runs.push(start_run(&mut s.client, "check", &account).await);
    }
    runs
}

fn names(runs: &[pb::PlaybookRun]) -> Vec<&str> {
    runs.iter().map(|r| r.name.as_str()).collect()
}

#[tokio::test]
async fn runs_list_newest_first_in_pages_and_the_overdue_filter_finds_late_tasks() {
    let mut s = start().await;
    let runs = five_runs(&mut s).await;
    let newest_first: Vec<&str> = names(&runs).into_iter().rev().collect();

    let mut req = pb::ListPlaybookRunsRequest {
        playbook: "playbooks/check".into(),
        page_size: 2,
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = s.client.list_playbook_runs(req.clone()).await.expect("page").into_inner();
        pages.push(page.playbook_runs);
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let listed: Vec<pb::PlaybookRun> = pages.concat();
    assert_eq!(names(&listed), newest_first);

    // A token is only valid with the filters it was issued for.
    let first = pb::ListPlaybookRunsRequest { page_token: String::new(), ..req.clone() };
    let token =
        s.client.list_playbook_runs(first).await.expect("page").into_inner().next_page_token;
    let other = pb::ListPlaybookRunsRequest {
        playbook: String::new(),
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let err = s.client.list_playbook_runs(other).await.expect_err("token of other filters");
    assert_invalid(&err, "page_token");

    // Every first task is due in a day: none overdue until the third run is two days old.
    let overdue = pb::ListPlaybookRunsRequest { overdue: true, ..Default::default() };
    let none = s.client.list_playbook_runs(overdue.clone()).await.expect("overdue").into_inner();
    assert!(none.playbook_runs.is_empty(), "{none:?}");
    age_run(&s.db, &runs[2].name, Duration::days(2)).await;
    let late = s.client.list_playbook_runs(overdue.clone()).await.expect("overdue").into_inner();
    assert_eq!(names(&late.playbook_runs), [runs[2].name.as_str()]);
    let mine = pb::ListPlaybookRunsRequest { account: runs[0].account.clone(), ..overdue.clone() };
    let other_account = s.client.list_playbook_runs(mine).await.expect("overdue").into_inner();
    assert!(other_account.playbook_runs.is_empty(), "filters combine by AND");

    // Done late is no longer overdue: the next task is due a day from now.
    let complete = pb::CompleteRunStepRequest {
        run: runs[2].name.clone(),
        step_id: "first".into(),
        ..Default::default()
    };
    s.client.complete_run_step(complete).await.expect("complete");
    let after = s.client.list_playbook_runs(overdue).await.expect("overdue").into_inner();
    assert!(after.playbook_runs.is_empty(), "{after:?}");
}

#[tokio::test]
async fn a_watch_resumes_after_the_cursor_it_is_given() {
    let mut s = start().await;
    let runs = five_runs(&mut s).await;
    let base = s.client.clone();
    let watch = move |after_cursor: String, account: String| {
        let mut client = base.clone();
        async move {
            let req = pb::WatchPlaybookRunsRequest {
                after_cursor,
                account,
                playbook: "playbooks/check".into(),
            };
            client.watch_playbook_runs(req).await.map(|r| r.into_inner())
        }
    };
    // Five runs started: RUN_STARTED and STEP_ACTIVATED each, in order.
    let mut all = watch(String::new(), String::new()).await.expect("watch");
    let mut seen = Vec::new();
    while seen.len() < 10 {
        seen.push(all.next().await.expect("a change").expect("not an error"));
    }
    let kinds: Vec<(K, &str)> =
        seen.iter().map(|c| (K::try_from(c.kind).expect("known kind"), c.run.as_str())).collect();
    let expected: Vec<(K, &str)> = runs
        .iter()
        .flat_map(|r| [(K::RunStarted, r.name.as_str()), (K::StepActivated, r.name.as_str())])
        .collect();
    assert_eq!(kinds, expected);

    // Resumed after the fourth change: the fifth comes first.
    let mut resumed = watch(seen[3].cursor.clone(), String::new()).await.expect("watch");
    let next = resumed.next().await.expect("a change").expect("not an error");
    assert_eq!(next, seen[4]);
    // Filtered by account, resumed from a change of another account: that account's
    // changes after it, then the new one as it commits.
    let account = runs[3].account.clone();
    let mut filtered = watch(seen[1].cursor.clone(), account).await.expect("watch");
    assert_eq!(filtered.next().await.expect("a change").expect("ok"), seen[6]);
    assert_eq!(filtered.next().await.expect("a change").expect("ok"), seen[7]);
    let complete = pb::CompleteRunStepRequest {
        run: runs[3].name.clone(),
        step_id: "first".into(),
        ..Default::default()
    };
    s.client.complete_run_step(complete).await.expect("complete");
    let live = filtered.next().await.expect("a change").expect("ok");
    assert_eq!((live.kind, live.step_id.as_str()), (K::StepCompleted as i32, "first"));
    assert_eq!(live.run, runs[3].name);

    let err = watch("not-a-cursor".into(), String::new()).await.expect_err("malformed");
    assert_invalid(&err, "after_cursor");
}
