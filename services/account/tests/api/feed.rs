//! The account change feed: ListAccountChanges and WatchAccountChanges.

use std::time::Duration;

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;

use crate::support::*;

use pb::AccountChangeKind as Kind;

async fn changes_after(
    client: &mut Client,
    after_cursor: &str,
    page_size: i32,
) -> pb::ListAccountChangesResponse {
    let req = pb::ListAccountChangesRequest { after_cursor: after_cursor.into(), page_size };
    client.list_account_changes(req).await.expect("list changes").into_inner()
}

/// Every change after `after_cursor` readable now, following `next_cursor` to the end.
async fn all_changes_after(client: &mut Client, after_cursor: &str) -> Vec<pb::AccountChange> {
    let mut out = Vec::new();
    let mut cursor = after_cursor.to_owned();
    for _ in 0..100 {
        let page = changes_after(client, &cursor, 1000).await;
        if page.changes.is_empty() {
            return out;
        }
        out.extend(page.changes);
        cursor = page.next_cursor;
    }
    panic!("the feed should end");
}

/// The changes after `after_cursor` once at least `n` are readable. The feed serves an entry
/// once every transaction older than it has ended (its gap safety, cluster-wide), so a change
/// may show up a moment after its write returned.
async fn wait_for_changes(
    client: &mut Client,
    after_cursor: &str,
    n: usize,
) -> Vec<pb::AccountChange> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = all_changes_after(client, after_cursor).await;
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} changes became readable: {:?}",
            got.len(),
            kinds(&got)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn kinds(changes: &[pb::AccountChange]) -> Vec<Kind> {
    changes.iter().map(|c| Kind::try_from(c.kind).expect("a known kind")).collect()
}

/// The next message of a watch, within a few seconds.
async fn next_change(stream: &mut tonic::Streaming<pb::AccountChange>) -> pb::AccountChange {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change arrives in time")
        .expect("the stream does not fail")
        .expect("the stream does not end")
}

#[tokio::test]
async fn each_write_appends_one_change_in_order() {
    let (_db, _server, mut client) = start().await;
    let input = pb::Account { segment: pb::Segment::Smb as i32, ..account("Acme", "acme.com") };
    let created = create_account(&mut client, "acme", input).await;
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            name: created.name.clone(),
            segment: pb::Segment::Enterprise as i32,
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["segment".into()] }),
    };
    let updated = client.update_account(req).await.expect("update").into_inner();
    let bob = create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    let deal = create_usd_contract(
        &mut client,
        "accounts/acme",
        1000,
        days_from_today(-10),
        days_from_today(100),
    )
    .await;
    let req = pb::DeleteAccountRequest { name: "accounts/acme".into(), etag: String::new() };
    client.delete_account(req).await.expect("delete");

    let changes = wait_for_changes(&mut client, "", 5).await;
    assert_eq!(
        kinds(&changes),
        [
            Kind::AccountCreated,
            Kind::AccountUpdated,
            Kind::ContactCreated,
            Kind::ContractCreated,
            Kind::AccountDeleted
        ],
        "one change per write; deleting the account appends nothing for its children"
    );
    assert!(changes.iter().all(|c| c.account == "accounts/acme"), "every change names the account");
    let resources: Vec<&str> = changes.iter().map(|c| c.resource.as_str()).collect();
    assert_eq!(
        resources,
        ["accounts/acme", "accounts/acme", bob.name.as_str(), deal.name.as_str(), "accounts/acme"]
    );

    // changed_fields: every set field on create, the changed ones on update, none on delete.
    for field in ["display_name", "primary_domain", "segment"] {
        assert!(
            changes[0].changed_fields.iter().any(|f| f == field),
            "{field} in {:?}",
            changes[0].changed_fields
        );
    }
    assert_eq!(changes[1].changed_fields, ["segment"]);
    assert!(
        changes[2].changed_fields.iter().any(|f| f == "email"),
        "{:?}",
        changes[2].changed_fields
    );
    assert!(
        changes[3].changed_fields.iter().any(|f| f == "arr"),
        "{:?}",
        changes[3].changed_fields
    );
    assert!(changes[4].changed_fields.is_empty(), "{:?}", changes[4].changed_fields);

    // Snapshots: the account after each change (with ARR as of the commit), none on delete.
    assert_eq!(changes[0].account_snapshot.as_ref(), Some(&created));
    assert_eq!(changes[1].account_snapshot.as_ref(), Some(&updated));
    let after_contract = changes[3].account_snapshot.clone().expect("snapshot");
    assert_eq!(after_contract.arr, usd(1000));
    assert_eq!(after_contract.renewal_date, day_of(days_from_today(101)));
    assert_eq!(after_contract.segment, pb::Segment::Enterprise as i32);
    assert!(changes[2].account_snapshot.is_some());
    assert_eq!(changes[4].account_snapshot, None, "the account is gone");
    assert_eq!(changes[2].contact_snapshot.as_ref(), Some(&bob));
    assert_eq!(changes[3].contract_snapshot.as_ref(), Some(&deal));
    assert_eq!(changes[0].contact_snapshot, None);
    assert_eq!(changes[0].contract_snapshot, None);

    // Cursors are distinct and advance; commit times are set and never go back.
    for pair in changes.windows(2) {
        assert!(!pair[0].cursor.is_empty() && pair[0].cursor != pair[1].cursor);
        let (a, b) = (pair[0].commit_time.expect("time"), pair[1].commit_time.expect("time"));
        assert!((a.seconds, a.nanos) <= (b.seconds, b.nanos), "commit times in order");
    }

    // From the returned cursor: nothing new, and the cursor stays.
    let page = changes_after(&mut client, "", 100).await;
    assert_eq!(page.changes, changes, "one page holds them all");
    let rest = changes_after(&mut client, &page.next_cursor, 100).await;
    assert!(rest.changes.is_empty(), "{:?}", rest.changes);
    assert_eq!(rest.next_cursor, page.next_cursor);

    // From a change's cursor: the changes after it.
    let tail = changes_after(&mut client, &changes[1].cursor, 100).await;
    assert_eq!(tail.changes, changes[2..]);

    // In pages of two.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    let mut sizes = Vec::new();
    for _ in 0..10 {
        let page = changes_after(&mut client, &cursor, 2).await;
        if page.changes.is_empty() {
            break;
        }
        sizes.push(page.changes.len());
        paged.extend(page.changes);
        cursor = page.next_cursor;
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(paged, changes);
}

#[tokio::test]
async fn contact_and_contract_changes_carry_their_snapshots() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let bob = create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    let deal = create_usd_contract(
        &mut client,
        "accounts/acme",
        1000,
        days_from_today(-10),
        days_from_today(100),
    )
    .await;
    let start_cursor =
        wait_for_changes(&mut client, "", 3).await.last().expect("three changes").cursor.clone();

    let req = pb::UpdateContactRequest {
        contact: Some(pb::Contact {
            name: bob.name.clone(),
            title: "CTO".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let bob_cto = client.update_contact(req).await.expect("update contact").into_inner();
    let req = pb::DeleteContactRequest { name: bob.name.clone(), etag: String::new() };
    client.delete_contact(req).await.expect("delete contact");
    let req = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: deal.name.clone(),
            end_date: day_of(days_from_today(50)),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["end_date".into()] }),
    };
    let shorter = client.update_contract(req).await.expect("update contract").into_inner();
    let req = pb::DeleteContractRequest { name: deal.name.clone(), etag: String::new() };
    client.delete_contract(req).await.expect("delete contract");

    let changes = wait_for_changes(&mut client, &start_cursor, 4).await;
    assert_eq!(
        kinds(&changes),
        [Kind::ContactUpdated, Kind::ContactDeleted, Kind::ContractUpdated, Kind::ContractDeleted]
    );
    assert_eq!(changes[0].changed_fields, ["title"]);
    assert_eq!(changes[0].contact_snapshot.as_ref(), Some(&bob_cto), "after the change");
    assert_eq!(changes[1].contact_snapshot.as_ref(), Some(&bob_cto), "before the delete");
    assert!(changes[1].changed_fields.is_empty());
    assert_eq!(changes[2].changed_fields, ["end_date"]);
    assert_eq!(changes[2].contract_snapshot.as_ref(), Some(&shorter));
    let account_then = changes[2].account_snapshot.clone().expect("account snapshot");
    assert_eq!(account_then.renewal_date, day_of(days_from_today(51)), "as of the commit");
    assert_eq!(changes[3].contract_snapshot.as_ref(), Some(&shorter), "before the delete");
    let account_after = changes[3].account_snapshot.clone().expect("the account still exists");
    assert_eq!((account_after.arr, account_after.renewal_date), (None, None), "no contract left");
    for (c, resource) in changes.iter().zip([&bob.name, &bob.name, &deal.name, &deal.name]) {
        assert_eq!(&c.resource, resource);
        assert_eq!(c.account, "accounts/acme");
    }
}

#[tokio::test]
async fn refused_and_retried_writes_append_nothing() {
    let (_db, _server, mut client) = start().await;
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: Some(account("Acme", "acme.com")),
        request_id: request_id(),
    };
    let created = client.create_account(req.clone()).await.expect("create").into_inner();
    client.create_account(req).await.expect("retry");
    let bad = pb::CreateAccountRequest {
        account_id: String::new(),
        account: Some(account(" ", "acme.com")),
        request_id: request_id(),
    };
    client.create_account(bad).await.expect_err("invalid");
    let stale = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            name: created.name.clone(),
            owner: "x".into(),
            etag: "stale".into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["owner".into()] }),
    };
    client.update_account(stale).await.expect_err("stale etag");
    let currency = contract(5, "XYZ", ymd(2026, 1, 1), ymd(2026, 2, 1));
    try_create_contract(&mut client, "accounts/acme", currency).await.expect_err("bad currency");

    // A marker write: once it is readable, everything before it is too.
    create_account(&mut client, "zz-marker", account("Marker", "")).await;
    let changes = wait_for_changes(&mut client, "", 2).await;
    let accounts: Vec<&str> = changes.iter().map(|c| c.account.as_str()).collect();
    assert_eq!(accounts, ["accounts/acme", "accounts/zz-marker"], "{:?}", kinds(&changes));
    assert_eq!(
        kinds(&changes),
        [Kind::AccountCreated, Kind::AccountCreated],
        "only the two creates"
    );
}

#[tokio::test]
async fn watch_streams_the_backlog_then_new_changes() {
    let (_db, server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    create_account(&mut client, "globex", account("Globex", "globex.com")).await;

    // A reader may watch.
    let mut reader = client_with(&server, steward_testkit::server::READ_TOKEN);
    let req = pb::WatchAccountChangesRequest { after_cursor: String::new() };
    let mut stream = reader.watch_account_changes(req).await.expect("watch").into_inner();
    let first = next_change(&mut stream).await;
    let second = next_change(&mut stream).await;
    assert_eq!(
        (first.kind, first.account.as_str()),
        (Kind::AccountCreated as i32, "accounts/acme")
    );
    assert_eq!(
        (second.kind, second.account.as_str()),
        (Kind::AccountCreated as i32, "accounts/globex")
    );

    // A change made after the watch started arrives too.
    create_contact(&mut client, "accounts/globex", "bob@globex.com").await;
    let third = next_change(&mut stream).await;
    assert_eq!(
        (third.kind, third.account.as_str()),
        (Kind::ContactCreated as i32, "accounts/globex")
    );
    let req = pb::DeleteAccountRequest { name: "accounts/acme".into(), etag: String::new() };
    client.delete_account(req).await.expect("delete");
    let fourth = next_change(&mut stream).await;
    assert_eq!(
        (fourth.kind, fourth.account.as_str()),
        (Kind::AccountDeleted as i32, "accounts/acme")
    );

    // The watch delivers what the list does.
    let listed = wait_for_changes(&mut client, "", 4).await;
    assert_eq!(listed, [first, second, third, fourth]);
}

#[tokio::test]
async fn watch_from_a_cursor_resumes_after_it() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    create_account(&mut client, "globex", account("Globex", "globex.com")).await;
    let listed = wait_for_changes(&mut client, "", 2).await;
    assert_eq!(listed.len(), 2);

    let req = pb::WatchAccountChangesRequest { after_cursor: listed[0].cursor.clone() };
    let mut stream = client.watch_account_changes(req).await.expect("watch").into_inner();
    assert_eq!(next_change(&mut stream).await, listed[1], "resumes after the cursor");
    create_account(&mut client, "initech", account("Initech", "initech.com")).await;
    let next = next_change(&mut stream).await;
    assert_eq!(next.account, "accounts/initech");

    // Watching from the newest cursor: nothing until the next write.
    let req = pb::WatchAccountChangesRequest { after_cursor: next.cursor.clone() };
    let mut quiet = client.watch_account_changes(req).await.expect("watch").into_inner();
    let nothing = tokio::time::timeout(Duration::from_millis(500), quiet.message()).await;
    assert!(nothing.is_err(), "no backlog after the newest cursor: {nothing:?}");
    create_account(&mut client, "hooli", account("Hooli", "hooli.com")).await;
    assert_eq!(next_change(&mut quiet).await.account, "accounts/hooli");
}

#[tokio::test]
async fn a_malformed_cursor_is_invalid() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    for cursor in ["not-a-cursor", "%%%"] {
        let req = pb::ListAccountChangesRequest { after_cursor: cursor.into(), page_size: 10 };
        let err = client.list_account_changes(req).await.expect_err(cursor);
        assert_invalid(&err, "after_cursor");

        // A watch may refuse at the call or as the stream's first message.
        let req = pb::WatchAccountChangesRequest { after_cursor: cursor.into() };
        let err = match client.watch_account_changes(req).await {
            Err(err) => err,
            Ok(response) => {
                let mut stream = response.into_inner();
                tokio::time::timeout(Duration::from_secs(10), stream.message())
                    .await
                    .expect("an answer in time")
                    .expect_err("a malformed cursor fails the watch")
            }
        };
        assert_invalid(&err, "after_cursor");
    }
}
