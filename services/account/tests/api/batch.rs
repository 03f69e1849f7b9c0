//! BatchUpsertAccounts: items apply one by one, in order, each with its own result; a replay
//! answers UNCHANGED and writes nothing.

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;
use tonic::Code;
use tonic_types::RpcStatusExt;

use crate::support::*;

const CREATED: i32 = pb::UpsertOutcome::Created as i32;
const UPDATED: i32 = pb::UpsertOutcome::Updated as i32;
const UNCHANGED: i32 = pb::UpsertOutcome::Unchanged as i32;
const FAILED: i32 = pb::UpsertOutcome::Unspecified as i32;

fn crm(id: &str) -> pb::ExternalRef {
    pb::ExternalRef { system: "crm".into(), id: id.into() }
}

fn item(key: &str, account: pb::Account) -> pb::UpsertAccountItem {
    pb::UpsertAccountItem { key: Some(crm(key)), account: Some(account), update_mask: None }
}

/// Five companies; the third has a malformed domain.
fn five() -> Vec<pb::UpsertAccountItem> {
    vec![
        item("c-0", pb::Account { owner: "jane".into(), ..account("Company 0", "company0.com") }),
        item("c-1", account("Company 1", "company1.com")),
        item("c-2", account("Company 2", "not a domain")),
        item(
            "c-3",
            pb::Account {
                segment: pb::Segment::Smb as i32,
                ..account("Company 3", "company3.com")
            },
        ),
        item("c-4", account("Company 4", "company4.com")),
    ]
}

async fn upsert(
    client: &mut Client,
    items: Vec<pb::UpsertAccountItem>,
) -> Vec<pb::UpsertAccountResult> {
    let req = pb::BatchUpsertAccountsRequest { items };
    client.batch_upsert_accounts(req).await.expect("batch upsert").into_inner().results
}

fn outcomes(results: &[pb::UpsertAccountResult]) -> Vec<i32> {
    results.iter().map(|r| r.outcome).collect()
}

/// Every result's `index` is its position; successful ones carry an account and no error.
#[track_caller]
fn check_shape(results: &[pb::UpsertAccountResult], len: usize) {
    assert_eq!(results.len(), len, "one result per item");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.index, i as i32, "results are in the order of the items");
        if r.outcome == FAILED {
            assert!(r.account.is_none(), "a failed item has no account: {r:?}");
            assert_ne!(r.error.as_ref().map_or(0, |e| e.code), 0, "a failed item has an error");
        } else {
            assert!(r.account.is_some(), "a successful item has its account: {r:?}");
            assert_eq!(r.error.as_ref().map_or(0, |e| e.code), 0, "no error on success: {r:?}");
        }
    }
}

/// The bad item's error: INVALID_ARGUMENT (google.rpc code 3) naming the field under its
/// `items[i]`.
#[track_caller]
fn check_bad_domain(result: &pb::UpsertAccountResult) {
    assert_eq!(result.outcome, FAILED);
    let error = result.error.as_ref().expect("an error");
    assert_eq!(error.code, Code::InvalidArgument as i32, "{error:?}");
    let fields: Vec<String> = error
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["items[2].account.primary_domain"], "{error:?}");
    let info = error.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.domain, "steward.dev");
}

#[tokio::test]
async fn one_bad_item_fails_alone_and_a_replay_changes_nothing() {
    let (_db, _server, mut client) = start().await;
    let first = upsert(&mut client, five()).await;
    check_shape(&first, 5);
    assert_eq!(outcomes(&first), [CREATED, CREATED, FAILED, CREATED, CREATED]);
    check_bad_domain(&first[2]);
    for (i, r) in first.iter().enumerate().filter(|(i, _)| *i != 2) {
        let a = r.account.as_ref().expect("account");
        assert_eq!(a.display_name, format!("Company {i}"));
        assert!(a.external_refs.contains(&crm(&format!("c-{i}"))), "the key is a ref: {a:?}");
    }
    let after_first = list_all(&mut client).await;
    let names: Vec<&str> = after_first.iter().map(|a| a.display_name.as_str()).collect();
    assert_eq!(names, ["Company 0", "Company 1", "Company 3", "Company 4"]);
    let stored = first[3].account.clone().expect("account");
    assert_eq!(
        get_account(&mut client, &stored.name).await,
        stored,
        "the result is the stored account"
    );

    // The same batch again: nothing to do, nothing written (the etags stay).
    let replay = upsert(&mut client, five()).await;
    check_shape(&replay, 5);
    assert_eq!(outcomes(&replay), [UNCHANGED, UNCHANGED, FAILED, UNCHANGED, UNCHANGED]);
    check_bad_domain(&replay[2]);
    for i in [0, 1, 3, 4] {
        assert_eq!(replay[i].account, first[i].account, "item {i} answers the stored account");
    }
    assert_eq!(list_all(&mut client).await, after_first, "the replay wrote nothing");

    // One field of one item changes: that item alone is UPDATED.
    let mut changed = five();
    changed[3].account.as_mut().expect("account").owner = "bob".into();
    let third = upsert(&mut client, changed).await;
    check_shape(&third, 5);
    assert_eq!(outcomes(&third), [UNCHANGED, UNCHANGED, FAILED, UPDATED, UNCHANGED]);
    let now = list_all(&mut client).await;
    for (before, after) in after_first.iter().zip(&now) {
        if before.display_name == "Company 3" {
            assert_eq!(after.owner, "bob");
            assert_ne!(after.etag, before.etag, "an update changes the etag");
            assert_eq!(after.name, before.name, "the same account, found by its key");
        } else {
            assert_eq!(after, before, "the other accounts are untouched");
        }
    }
}

#[tokio::test]
async fn an_item_without_a_field_leaves_the_stored_value_alone() {
    let (_db, _server, mut client) = start().await;
    let input = pb::Account {
        owner: "jane".into(),
        labels: [("tier".to_owned(), "gold".to_owned())].into(),
        ..account("Acme", "acme.com")
    };
    let created = upsert(&mut client, vec![item("acme", input)]).await;
    assert_eq!(outcomes(&created), [CREATED]);

    // A sync that only knows the segment.
    let partial = pb::Account { segment: pb::Segment::Enterprise as i32, ..Default::default() };
    let results = upsert(&mut client, vec![item("acme", partial)]).await;
    assert_eq!(outcomes(&results), [UPDATED]);
    let a = results[0].account.clone().expect("account");
    assert_eq!(a.segment, pb::Segment::Enterprise as i32);
    assert_eq!(
        (a.display_name.as_str(), a.owner.as_str()),
        ("Acme", "jane"),
        "unknown fields kept"
    );
    assert_eq!(a.labels.get("tier").map(String::as_str), Some("gold"));

    // A mask clears what it names.
    let clear = pb::UpsertAccountItem {
        update_mask: Some(FieldMask { paths: vec!["owner".into()] }),
        ..item("acme", pb::Account::default())
    };
    let results = upsert(&mut client, vec![clear]).await;
    assert_eq!(outcomes(&results), [UPDATED]);
    let a = results[0].account.clone().expect("account");
    assert_eq!((a.owner.as_str(), a.display_name.as_str()), ("", "Acme"));
    assert_eq!(list_all(&mut client).await, [a], "still one account");
}

#[tokio::test]
async fn an_existing_account_with_the_key_is_updated_and_refs_stay_unique() {
    let (_db, _server, mut client) = start().await;
    let existing = pb::Account { external_refs: vec![crm("77")], ..account("Acme", "acme.com") };
    let acme = create_account(&mut client, "acme", existing).await;
    let zendesk = pb::ExternalRef { system: "zendesk".into(), id: "1".into() };
    let globex =
        pb::Account { external_refs: vec![zendesk.clone()], ..account("Globex", "globex.com") };
    create_account(&mut client, "globex", globex).await;

    let items = vec![
        item("77", pb::Account { owner: "jane".into(), ..Default::default() }),
        // Claims Globex's zendesk ref for a new account.
        item(
            "88",
            pb::Account { external_refs: vec![zendesk], ..account("Initech", "initech.com") },
        ),
        item("99", account("Hooli", "hooli.com")),
    ];
    let results = upsert(&mut client, items).await;
    check_shape(&results, 3);
    assert_eq!(outcomes(&results), [UPDATED, FAILED, CREATED]);
    let updated = results[0].account.clone().expect("account");
    assert_eq!(updated.name, acme.name, "the account holding the key");
    assert_eq!(updated.owner, "jane");
    let error = results[1].error.clone().expect("error");
    assert_eq!(error.code, Code::AlreadyExists as i32, "{error:?}");
    let info = error.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "EXTERNAL_REF_TAKEN");

    let names: Vec<String> =
        list_all(&mut client).await.into_iter().map(|a| a.display_name).collect();
    assert_eq!(names, ["Acme", "Globex", "Hooli"], "Initech was not created");
}

#[tokio::test]
async fn two_items_with_one_key_apply_in_order() {
    let (_db, _server, mut client) = start().await;
    let items =
        vec![item("k", account("First", "first.com")), item("k", account("Second", "first.com"))];
    let results = upsert(&mut client, items).await;
    check_shape(&results, 2);
    assert_eq!(outcomes(&results), [CREATED, UPDATED]);
    let all = list_all(&mut client).await;
    assert_eq!(all.len(), 1, "one account: {all:?}");
    assert_eq!(all[0].display_name, "Second");
    assert_eq!(Some(&all[0]), results[1].account.as_ref());
}

#[tokio::test]
async fn a_batch_holds_one_to_a_thousand_items() {
    let (_db, server, mut client) = start().await;
    let req = pb::BatchUpsertAccountsRequest { items: vec![] };
    let err = client.batch_upsert_accounts(req).await.expect_err("no items");
    assert_invalid_under(&err, "items");

    let many = |n: usize| -> Vec<pb::UpsertAccountItem> {
        (0..n)
            .map(|i| item(&format!("k-{i:04}"), account(&format!("Company {i:04}"), "")))
            .collect()
    };
    let req = pb::BatchUpsertAccountsRequest { items: many(1001) };
    let err = client.batch_upsert_accounts(req).await.expect_err("too many items");
    assert_invalid_under(&err, "items");
    assert!(list_all(&mut client).await.is_empty(), "a refused batch writes nothing");

    let mut reader = client_with(&server, steward_testkit::server::READ_TOKEN);
    let req = pb::BatchUpsertAccountsRequest { items: many(1) };
    let err = reader.batch_upsert_accounts(req).await.expect_err("needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let results = upsert(&mut client, many(1000)).await;
    check_shape(&results, 1000);
    assert!(results.iter().all(|r| r.outcome == CREATED), "a full batch applies");
    assert_eq!(list_all(&mut client).await.len(), 1000);
}
