//! Playbook definitions: the shipped defaults, create/get/list/versions, request-id replay
//! and reuse, masked updates, no-op updates, etags, enable/disable, delete, validation.

use prost_types::FieldMask;
use steward_proto::playbook::v1 as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn the_shipped_defaults_are_seeded_enabled_at_version_1() {
    let mut s = start().await;
    let list = s.client.list_playbooks(pb::ListPlaybooksRequest::default()).await.expect("list");
    let names: Vec<_> = list.get_ref().playbooks.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "playbooks/adoption",
            "playbooks/churn-risk",
            "playbooks/renewal-preparation",
            "playbooks/sentiment-check-in"
        ]
    );
    assert!(list.get_ref().playbooks.iter().all(|p| p.enabled && p.version == 1));
    let by_kind = pb::ListPlaybooksRequest {
        trigger_kind: pb::TriggerKind::BandEntered as i32,
        ..Default::default()
    };
    let list = s.client.list_playbooks(by_kind).await.expect("list by kind").into_inner();
    assert_eq!(list.playbooks.len(), 1);
    assert_eq!(list.playbooks[0].name, "playbooks/churn-risk");
}

#[tokio::test]
async fn playbooks_are_created_once_per_request_id_and_versioned_by_updates() {
    let mut s = start().await;
    let playbook = pb::Playbook {
        display_name: "Check in".into(),
        steps: vec![task("call", "Call")],
        ..Default::default()
    };
    let create = pb::CreatePlaybookRequest {
        playbook_id: "check-in".into(),
        playbook: Some(playbook.clone()),
        request_id: request_id(),
    };
    let created = s.client.create_playbook(create.clone()).await.expect("create").into_inner();
    assert_eq!(
        (created.name.as_str(), created.version, created.enabled),
        ("playbooks/check-in", 1, false)
    );
    assert_eq!(created.cooldown.map(|c| c.seconds), Some(30 * 86_400), "default cooldown");

    // A retry answers the same playbook; the same id with a new request id clashes.
    let again = s.client.create_playbook(create.clone()).await.expect("replay").into_inner();
    assert_eq!(again, created);
    let mut reused = create.clone();
    reused.playbook_id = "other".into();
    let err = s.client.create_playbook(reused).await.expect_err("reused request id");
    assert_code(&err, Code::InvalidArgument, "REQUEST_ID_REUSED");
    let mut clash = create.clone();
    clash.request_id = request_id();
    let err = s.client.create_playbook(clash).await.expect_err("taken id");
    assert_code(&err, Code::AlreadyExists, "PLAYBOOK_EXISTS");

    // A masked update writes version 2; the same content again writes nothing.
    let update = pb::UpdatePlaybookRequest {
        playbook: Some(pb::Playbook {
            name: created.name.clone(),
            display_name: "Check in, kindly".into(),
            etag: created.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["display_name".into()] }),
    };
    let v2 = s.client.update_playbook(update.clone()).await.expect("update").into_inner();
    assert_eq!((v2.version, v2.display_name.as_str()), (2, "Check in, kindly"));
    assert_eq!(v2.steps, created.steps, "unmasked fields kept");
    let err = s.client.update_playbook(update.clone()).await.expect_err("stale etag");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    let mut same = update.clone();
    same.playbook.as_mut().expect("set").etag = v2.etag.clone();
    let unchanged = s.client.update_playbook(same).await.expect("no-op").into_inner();
    assert_eq!(unchanged.version, 2);
    let mut enabled = update.clone();
    enabled.update_mask = Some(FieldMask { paths: vec!["enabled".into()] });
    let err = s.client.update_playbook(enabled).await.expect_err("enabled is not updatable");
    assert_invalid(&err, "update_mask.paths[0]");

    let versions = s
        .client
        .list_playbook_versions(pb::ListPlaybookVersionsRequest {
            name: created.name.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("versions")
        .into_inner();
    assert_eq!(versions.playbooks.iter().map(|p| p.version).collect::<Vec<_>>(), [2]);
    assert!(!versions.next_page_token.is_empty());
    let v1 = s
        .client
        .get_playbook(pb::GetPlaybookRequest { name: created.name.clone(), version: 1 })
        .await
        .expect("version 1")
        .into_inner();
    assert_eq!(v1.display_name, "Check in");
    let err = s
        .client
        .get_playbook(pb::GetPlaybookRequest { name: created.name.clone(), version: 7 })
        .await
        .expect_err("no version 7");
    assert_code(&err, Code::NotFound, "PLAYBOOK_VERSION_NOT_FOUND");

    // Enabling changes the etag but not the version; enabling again changes nothing.
    let on = s
        .client
        .enable_playbook(pb::EnablePlaybookRequest {
            name: created.name.clone(),
            etag: v2.etag.clone(),
        })
        .await
        .expect("enable")
        .into_inner();
    assert!(on.enabled);
    assert_eq!(on.version, 2);
    assert_ne!(on.etag, v2.etag);
    let on_again = s
        .client
        .enable_playbook(pb::EnablePlaybookRequest {
            name: created.name.clone(),
            etag: String::new(),
        })
        .await
        .expect("enable again")
        .into_inner();
    assert_eq!(on_again.etag, on.etag);
    let list = s
        .client
        .list_playbooks(pb::ListPlaybooksRequest { enabled: Some(false), ..Default::default() })
        .await
        .expect("disabled ones")
        .into_inner();
    assert!(list.playbooks.is_empty(), "{list:?}");

    // Deleted: gone, and its id is never reused.
    s.client
        .delete_playbook(pb::DeletePlaybookRequest {
            name: created.name.clone(),
            ..Default::default()
        })
        .await
        .expect("delete");
    let err = s
        .client
        .get_playbook(pb::GetPlaybookRequest { name: created.name.clone(), version: 0 })
        .await
        .expect_err("deleted");
    assert_code(&err, Code::NotFound, "PLAYBOOK_NOT_FOUND");
    let mut recreate = create;
    recreate.request_id = request_id();
    let err = s.client.create_playbook(recreate).await.expect_err("deleted ids are not reused");
    assert_code(&err, Code::AlreadyExists, "PLAYBOOK_EXISTS");
}

#[tokio::test]
async fn invalid_definitions_are_refused_naming_each_field() {
    let mut s = start().await;
    let within = |seconds| Some(prost_types::Duration { seconds, nanos: 0 });
    let mut bad_title = task("review", "Review");
    if let Some(pb::step::Kind::Task(t)) = &mut bad_title.kind {
        t.title = "Review {{account.mood}}".into();
    }
    let playbook = pb::Playbook {
        display_name: String::new(),
        triggers: vec![
            pb::Trigger { kind: None },
            pb::Trigger {
                kind: Some(pb::trigger::Kind::TicketCount(pb::TicketCountTrigger {
                    min_count: 3,
                    within: within(-86_400),
                    ..Default::default()
                })),
            },
        ],
        steps: vec![bad_title],
        ..Default::default()
    };
    let req = pb::CreatePlaybookRequest {
        playbook_id: "broken".into(),
        playbook: Some(playbook.clone()),
        request_id: request_id(),
    };
    let err = s.client.create_playbook(req).await.expect_err("invalid");
    assert_eq!(
        violations(&err),
        [
            "playbook.display_name",
            "playbook.triggers[0]",
            "playbook.triggers[1].ticket_count.within",
            "playbook.steps[0].task.title",
        ]
    );
    let no_steps = pb::Playbook { display_name: "Empty".into(), ..Default::default() };
    let req = pb::CreatePlaybookRequest {
        playbook_id: "Bad_Id".into(),
        playbook: Some(no_steps),
        request_id: request_id(),
    };
    let err = s.client.create_playbook(req).await.expect_err("bad id");
    assert_invalid(&err, "playbook_id");
    let req = pb::CreatePlaybookRequest {
        playbook_id: "empty".into(),
        playbook: Some(pb::Playbook { display_name: "Empty".into(), ..Default::default() }),
        request_id: request_id(),
    };
    let err = s.client.create_playbook(req).await.expect_err("no steps");
    assert_eq!(violations(&err), ["playbook.steps"]);
    let req = pb::CreatePlaybookRequest {
        playbook_id: "no-request-id".into(),
        playbook: Some(playbook),
        request_id: String::new(),
    };
    let err = s.client.create_playbook(req).await.expect_err("no request id");
    assert_invalid(&err, "request_id");
}

#[tokio::test]
async fn deleting_a_playbook_with_active_runs_needs_force_which_cancels_them() {
    let mut s = start().await;
    create_playbook(&mut s.client, "check", vec![task("call", "Call")]).await;
    let mut runs = Vec::new();
    for domain in ["one.example", "two.example"] {
        let account = create_account(&mut s.accounts, domain).await;
        runs.push(start_run(&mut s.client, "check", &account).await);
    }
    let delete = |force| pb::DeletePlaybookRequest {
        name: "playbooks/check".into(),
        force,
        ..Default::default()
    };

    let err = s.client.delete_playbook(delete(false)).await.expect_err("active runs");
    assert_code(&err, Code::FailedPrecondition, "PLAYBOOK_HAS_ACTIVE_RUNS");
    let info = tonic_types::StatusExt::get_error_details(&err);
    let count = info.error_info().expect("error info").metadata.get("active_runs").cloned();
    assert_eq!(count.as_deref(), Some("2"));
    let still = s
        .client
        .get_playbook(pb::GetPlaybookRequest { name: "playbooks/check".into(), version: 0 });
    still.await.expect("not deleted");

    s.client.delete_playbook(delete(true)).await.expect("forced");
    for run in &runs {
        let req = pb::GetPlaybookRunRequest { name: run.name.clone() };
        let after = s.client.get_playbook_run(req).await.expect("runs stay readable");
        let after = after.into_inner();
        assert_eq!(after.state, pb::RunState::Cancelled as i32);
        assert_eq!(after.cancel_reason, "playbook deleted");
        assert_eq!(step(&after, "call").state, pb::StepState::Skipped as i32);
    }
    let err = s
        .client
        .get_playbook(pb::GetPlaybookRequest { name: "playbooks/check".into(), version: 0 })
        .await
        .expect_err("deleted");
    assert_code(&err, Code::NotFound, "PLAYBOOK_NOT_FOUND");
    let err = s.client.delete_playbook(delete(true)).await.expect_err("already deleted");
    assert_code(&err, Code::NotFound, "PLAYBOOK_NOT_FOUND");
}
