//! Accounts: create, get, update, delete, list (filters, orders, pages), idempotency,
//! validation and scopes.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

/// A full account, every updatable field set.
fn acme() -> pb::Account {
    pb::Account {
        display_name: "Acme Corp".into(),
        primary_domain: "ACME.com".into(),
        domains: vec![
            "Acme.co.uk".into(),
            "acme.com".into(),
            "ACME.CO.UK".into(),
            "acme.io.".into(),
        ],
        external_refs: vec![pb::ExternalRef { system: "zendesk".into(), id: "1001".into() }],
        segment: pb::Segment::Enterprise as i32,
        lifecycle_stage: pb::LifecycleStage::Adoption as i32,
        owner: "jane@steward.dev".into(),
        labels: labels(&[("region", "emea"), ("tier", "gold")]),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_then_get_round_trips_with_domains_normalised() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;

    assert_eq!(created.name, "accounts/acme");
    assert_eq!(created.display_name, "Acme Corp");
    assert_eq!(created.primary_domain, "acme.com", "domains are stored lowercase");
    // "acme.io." is stored without its trailing dot.
    let extra: BTreeSet<&str> = created.domains.iter().map(String::as_str).collect();
    assert_eq!(
        extra,
        BTreeSet::from(["acme.co.uk", "acme.io"]),
        "duplicates and the primary domain are dropped"
    );
    assert_eq!(created.domains.len(), 2, "no duplicates: {:?}", created.domains);
    assert_eq!(
        created.external_refs,
        [pb::ExternalRef { system: "zendesk".into(), id: "1001".into() }]
    );
    assert_eq!(created.segment, pb::Segment::Enterprise as i32);
    assert_eq!(created.lifecycle_stage, pb::LifecycleStage::Adoption as i32);
    assert_eq!(created.owner, "jane@steward.dev");
    assert_eq!(created.labels, labels(&[("region", "emea"), ("tier", "gold")]));
    assert!(created.create_time.is_some(), "create_time is set");
    assert!(created.update_time.is_some(), "update_time is set");
    assert!(!created.etag.is_empty(), "etag is set");
    assert_eq!(created.arr, None, "no contract, no ARR");
    assert_eq!(created.renewal_date, None, "no contract, no renewal date");

    let got = get_account(&mut client, "accounts/acme").await;
    assert_eq!(got, created, "get answers what create answered");
}

#[tokio::test]
async fn create_without_an_id_assigns_a_uuid_and_ignores_output_only_fields() {
    let (_db, _server, mut client) = start().await;
    let input = pb::Account {
        name: "accounts/chosen-by-caller".into(),
        etag: "made-up".into(),
        arr: usd(999),
        renewal_date: date(2030, 1, 1),
        ..account("Globex", "globex.com")
    };
    let created = create_account(&mut client, "", input).await;
    let id = created.name.strip_prefix("accounts/").expect("an accounts/ name");
    uuid::Uuid::parse_str(id).expect("a server-assigned id is a UUID");
    assert_ne!(created.etag, "made-up", "etag is the server's");
    assert_eq!(created.arr, None, "arr is output only");
    assert_eq!(created.renewal_date, None, "renewal_date is output only");
    let req = pb::GetAccountRequest { name: "accounts/chosen-by-caller".into() };
    let err = client.get_account(req).await.expect_err("name is ignored on create");
    assert_not_found(&err);
}

#[tokio::test]
async fn a_taken_account_id_is_already_exists() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: Some(account("Another Acme", "another.com")),
        request_id: request_id(),
    };
    let err = client.create_account(req).await.expect_err("id taken");
    assert_code(&err, Code::AlreadyExists, "ACCOUNT_EXISTS");
    let all = list_all(&mut client).await;
    assert_eq!(display_names(&all), ["Acme"], "the first account is untouched");
}

#[tokio::test]
async fn a_retried_create_answers_the_same_account_and_writes_once() {
    let (_db, _server, mut client) = start().await;
    // A server-assigned id: the retry must not mint a second one.
    let input = pb::Account { labels: BTreeMap::new(), ..acme() };
    let req = pb::CreateAccountRequest {
        account_id: String::new(),
        account: Some(input),
        request_id: request_id(),
    };
    let first = client.create_account(req.clone()).await.expect("create").into_inner();
    let retry = client.create_account(req.clone()).await.expect("retry").into_inner();
    assert_eq!(retry, first, "a retry answers the original result");
    let all = list_all(&mut client).await;
    assert_eq!(all.len(), 1, "one account only: {all:?}");
    assert_eq!(all[0].name, first.name);
}

#[tokio::test]
async fn a_retried_create_with_several_labels_is_still_the_same_request() {
    let (_db, _server, mut client) = start().await;
    // The same request bytes, whatever order a map happens to be encoded in.
    let many: Vec<(String, String)> =
        (0..8).map(|i| (format!("key-{i}"), format!("value-{i}"))).collect();
    let input = pb::Account { labels: many.into_iter().collect(), ..acme() };
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: Some(input),
        request_id: request_id(),
    };
    let first = client.create_account(req.clone()).await.expect("create").into_inner();
    for attempt in 0..3 {
        let retry = client.create_account(req.clone()).await;
        let retry =
            retry.unwrap_or_else(|e| panic!("retry {attempt} is a retry, not a reuse: {e:?}"));
        assert_eq!(retry.into_inner(), first, "a retry answers the original result");
    }
    assert_eq!(list_all(&mut client).await, [first], "one account only");
}

#[tokio::test]
async fn a_reused_request_id_with_another_request_is_invalid() {
    let (_db, _server, mut client) = start().await;
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: Some(account("Acme", "acme.com")),
        request_id: request_id(),
    };
    client.create_account(req.clone()).await.expect("create");

    let other_body = pb::CreateAccountRequest {
        account_id: "globex".into(),
        account: Some(account("Globex", "globex.com")),
        ..req.clone()
    };
    let err = client.create_account(other_body).await.expect_err("request id reused");
    assert_invalid(&err, "request_id");
    let reason = err.get_error_details().error_info().map(|i| i.reason.clone());

    // Only the display name differs: still another request.
    let renamed =
        pb::CreateAccountRequest { account: Some(account("Acme Inc", "acme.com")), ..req };
    let err = client.create_account(renamed).await.expect_err("request id reused");
    assert_invalid(&err, "request_id");

    let all = list_all(&mut client).await;
    assert_eq!(display_names(&all), ["Acme"], "nothing else was written");
    assert_eq!(reason.as_deref(), Some("REQUEST_ID_REUSED"), "the README's reason");
}

#[tokio::test]
async fn invalid_accounts_name_the_field_and_write_nothing() {
    let (_db, _server, mut client) = start().await;
    let long_name = "x".repeat(201);
    let long_id = "a".repeat(64);
    let cases: Vec<(&str, pb::Account, &str)> = vec![
        ("", account("", "acme.com"), "account.display_name"),
        ("", account("   ", "acme.com"), "account.display_name"),
        ("", account(&long_name, "acme.com"), "account.display_name"),
        ("", account("Acme", "not a domain"), "account.primary_domain"),
        ("", account("Acme", "acme"), "account.primary_domain"),
        (
            "",
            pb::Account {
                domains: vec!["acme.co.uk".into(), "acme".into()],
                ..account("Acme", "acme.com")
            },
            "account.domains[1]",
        ),
        (
            "",
            pb::Account {
                domains: vec!["not a domain".into(), "acme.io".into()],
                ..account("Acme", "acme.com")
            },
            "account.domains[0]",
        ),
        ("", pb::Account { segment: 99, ..account("Acme", "acme.com") }, "account.segment"),
        (
            "",
            pb::Account { lifecycle_stage: 42, ..account("Acme", "acme.com") },
            "account.lifecycle_stage",
        ),
        (
            "",
            pb::Account { owner: "o".repeat(201), ..account("Acme", "acme.com") },
            "account.owner",
        ),
        ("Not-An-Id", account("Acme", "acme.com"), "account_id"),
        ("1acme", account("Acme", "acme.com"), "account_id"),
        ("acme-", account("Acme", "acme.com"), "account_id"),
        ("acme_corp", account("Acme", "acme.com"), "account_id"),
        (&long_id, account("Acme", "acme.com"), "account_id"),
    ];
    for (account_id, input, field) in cases {
        let req = pb::CreateAccountRequest {
            account_id: account_id.into(),
            account: Some(input.clone()),
            request_id: request_id(),
        };
        let err = client.create_account(req).await.expect_err(field);
        assert_invalid(&err, field);
    }

    // Paths the proto leaves open (a map key, a repeated message): the violation is under
    // the field.
    let too_many_domains: Vec<String> = (0..51).map(|i| format!("d{i}.acme.com")).collect();
    let too_many_labels = (0..65).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let long_domain = format!("{}.com", vec!["a".repeat(60); 5].join("."));
    let open_cases: Vec<(pb::Account, &str)> = vec![
        (
            pb::Account { domains: too_many_domains, ..account("Acme", "acme.com") },
            "account.domains",
        ),
        (pb::Account { labels: too_many_labels, ..account("Acme", "acme.com") }, "account.labels"),
        (account("Acme", &long_domain), "account.primary_domain"),
        (
            pb::Account { labels: labels(&[("Bad Key", "x")]), ..account("Acme", "acme.com") },
            "account.labels",
        ),
        (
            pb::Account {
                labels: labels(&[("tier", &"v".repeat(201))]),
                ..account("Acme", "acme.com")
            },
            "account.labels",
        ),
        (
            pb::Account {
                external_refs: vec![
                    pb::ExternalRef { system: "zendesk".into(), id: "1".into() },
                    pb::ExternalRef { system: "zendesk".into(), id: "2".into() },
                ],
                ..account("Acme", "acme.com")
            },
            "account.external_refs",
        ),
        (
            pb::Account {
                external_refs: vec![pb::ExternalRef { system: "Zendesk!".into(), id: "1".into() }],
                ..account("Acme", "acme.com")
            },
            "account.external_refs",
        ),
    ];
    for (input, prefix) in open_cases {
        let req = pb::CreateAccountRequest {
            account_id: String::new(),
            account: Some(input),
            request_id: request_id(),
        };
        let err = client.create_account(req).await.expect_err(prefix);
        assert_invalid_under(&err, prefix);
    }

    assert!(list_all(&mut client).await.is_empty(), "a refused create writes nothing");
}

#[tokio::test]
async fn an_external_ref_names_one_account_only() {
    let (_db, _server, mut client) = start().await;
    let with_ref = |name: &str, system: &str, id: &str| pb::Account {
        external_refs: vec![pb::ExternalRef { system: system.into(), id: id.into() }],
        ..account(name, "")
    };
    create_account(&mut client, "acme", with_ref("Acme", "zendesk", "42")).await;

    let req = pb::CreateAccountRequest {
        account_id: "globex".into(),
        account: Some(with_ref("Globex", "zendesk", "42")),
        request_id: request_id(),
    };
    let err = client.create_account(req).await.expect_err("ref taken");
    assert_code(&err, Code::AlreadyExists, "EXTERNAL_REF_TAKEN");
    assert_eq!(display_names(&list_all(&mut client).await), ["Acme"], "nothing written");

    // The same id in another system is another ref.
    let globex =
        create_account(&mut client, "globex", with_ref("Globex", "salesforce", "42")).await;

    // Taking the ref by update is refused the same way, and changes nothing.
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: globex.name.clone(), ..with_ref("", "zendesk", "42") }),
        update_mask: mask(&["external_refs"]),
    };
    let err = client.update_account(req).await.expect_err("ref taken");
    assert_code(&err, Code::AlreadyExists, "EXTERNAL_REF_TAKEN");
    assert_eq!(get_account(&mut client, "accounts/globex").await, globex);
}

#[tokio::test]
async fn an_update_replaces_only_the_masked_fields() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;

    let change = pb::Account {
        name: created.name.clone(),
        display_name: "Not in the mask".into(),
        primary_domain: "other.com".into(),
        owner: "bob@steward.dev".into(),
        segment: pb::Segment::Strategic as i32,
        labels: labels(&[("region", "amer")]),
        etag: created.etag.clone(),
        ..Default::default()
    };
    let req = pb::UpdateAccountRequest {
        account: Some(change),
        update_mask: mask(&["owner", "segment", "labels"]),
    };
    let updated = client.update_account(req).await.expect("update").into_inner();

    let want = pb::Account {
        owner: "bob@steward.dev".into(),
        segment: pb::Segment::Strategic as i32,
        labels: labels(&[("region", "amer")]), // maps are replaced whole
        etag: updated.etag.clone(),
        update_time: updated.update_time,
        ..created.clone()
    };
    assert_eq!(updated, want, "only owner, segment and labels changed");
    assert_ne!(updated.etag, created.etag, "the etag changes with every update");
    assert_eq!(get_account(&mut client, "accounts/acme").await, updated, "the update is stored");

    // No mask: the fields set in the request are replaced, the others kept.
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            name: created.name.clone(),
            lifecycle_stage: pb::LifecycleStage::Renewal as i32,
            ..Default::default()
        }),
        update_mask: None,
    };
    let second = client.update_account(req).await.expect("update").into_inner();
    assert_eq!(second.lifecycle_stage, pb::LifecycleStage::Renewal as i32);
    assert_eq!(second.display_name, "Acme Corp", "an unset field is left alone");
    assert_eq!(second.owner, "bob@steward.dev");
    assert_eq!(second.domains.len(), 2);

    // `*` replaces every updatable field: unset ones are cleared.
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: created.name.clone(), ..account("Acme Two", "") }),
        update_mask: mask(&["*"]),
    };
    let star = client.update_account(req).await.expect("update *").into_inner();
    assert_eq!(star.display_name, "Acme Two");
    assert_eq!(star.primary_domain, "");
    assert!(star.domains.is_empty() && star.labels.is_empty() && star.external_refs.is_empty());
    assert_eq!(star.owner, "");
    assert_eq!(star.create_time, created.create_time, "create_time never changes");
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_changes_nothing() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;
    let update = |owner: &str, etag: &str| pb::UpdateAccountRequest {
        account: Some(pb::Account {
            name: created.name.clone(),
            owner: owner.into(),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: mask(&["owner"]),
    };
    let first = client.update_account(update("bob", &created.etag)).await.expect("update");
    let first = first.into_inner();

    let err = client.update_account(update("carol", &created.etag)).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(get_account(&mut client, "accounts/acme").await, first, "nothing changed");

    let req = pb::DeleteAccountRequest { name: created.name.clone(), etag: created.etag.clone() };
    let err = client.delete_account(req).await.expect_err("stale delete");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(get_account(&mut client, "accounts/acme").await, first, "not deleted");

    // The current etag passes.
    let req = pb::DeleteAccountRequest { name: first.name.clone(), etag: first.etag.clone() };
    client.delete_account(req).await.expect("delete with the current etag");
}

#[tokio::test]
async fn an_update_with_an_unknown_or_output_only_path_is_invalid() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;
    for path in ["no_such_field", "create_time", "arr", "name"] {
        let req = pb::UpdateAccountRequest {
            account: Some(pb::Account { name: created.name.clone(), ..account("Renamed", "") }),
            update_mask: mask(&["display_name", path]),
        };
        let err = client.update_account(req).await.expect_err(path);
        assert_invalid_under(&err, "update_mask");
    }
    assert_eq!(get_account(&mut client, "accounts/acme").await, created, "nothing changed");
}

#[tokio::test]
async fn an_update_validates_like_a_create() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;
    let cases: Vec<(pb::Account, &str, &str)> = vec![
        (account("  ", ""), "display_name", "account.display_name"),
        (account("", "acme"), "primary_domain", "account.primary_domain"),
        (
            pb::Account {
                domains: vec!["ok.com".into(), "not a domain".into()],
                ..Default::default()
            },
            "domains",
            "account.domains[1]",
        ),
        (pb::Account { segment: 99, ..Default::default() }, "segment", "account.segment"),
    ];
    for (input, path, field) in cases {
        let req = pb::UpdateAccountRequest {
            account: Some(pb::Account { name: created.name.clone(), ..input }),
            update_mask: mask(&[path]),
        };
        let err = client.update_account(req).await.expect_err(field);
        assert_invalid(&err, field);
    }
    assert_eq!(get_account(&mut client, "accounts/acme").await, created, "nothing changed");
}

#[tokio::test]
async fn an_unknown_account_is_not_found() {
    let (_db, _server, mut client) = start().await;
    let err = client
        .get_account(pb::GetAccountRequest { name: "accounts/nobody".into() })
        .await
        .expect_err("get");
    assert_not_found(&err);

    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: "accounts/nobody".into(), ..account("Nobody", "") }),
        update_mask: mask(&["display_name"]),
    };
    let err = client.update_account(req).await.expect_err("update");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_error_info(&err);

    let req = pb::DeleteAccountRequest { name: "accounts/nobody".into(), etag: String::new() };
    let err = client.delete_account(req).await.expect_err("delete");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_error_info(&err);
    assert!(list_all(&mut client).await.is_empty(), "an update does not create");
}

#[tokio::test]
async fn a_request_id_is_required_and_is_a_uuid() {
    let (_db, _server, mut client) = start().await;
    for request_id in ["", "not-a-uuid"] {
        let req = pb::CreateAccountRequest {
            account_id: "acme".into(),
            account: Some(account("Acme", "acme.com")),
            request_id: request_id.into(),
        };
        let err = client.create_account(req).await.expect_err(request_id);
        assert_invalid(&err, "request_id");
    }
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: None,
        request_id: request_id(),
    };
    let err = client.create_account(req).await.expect_err("no account");
    assert_invalid_under(&err, "account");
    assert!(list_all(&mut client).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn contacts_and_contracts_do_not_touch_the_account_update_time() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    create_usd_contract(
        &mut client,
        "accounts/acme",
        500,
        days_from_today(-1),
        days_from_today(30),
    )
    .await;
    let got = get_account(&mut client, "accounts/acme").await;
    assert_eq!(got.arr, usd(500), "the contract counts for ARR");
    assert_eq!(got.update_time, created.update_time, "but not as a change of the account's fields");
    assert_eq!(got.create_time, created.create_time);
}

#[tokio::test]
async fn a_new_primary_domain_leaves_the_extra_domains() {
    let (_db, _server, mut client) = start().await;
    let created = create_account(&mut client, "acme", acme()).await;
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: created.name.clone(), ..account("", "ACME.io") }),
        update_mask: mask(&["primary_domain"]),
    };
    let updated = client.update_account(req).await.expect("update").into_inner();
    assert_eq!(updated.primary_domain, "acme.io");
    assert!(
        !updated.domains.contains(&"acme.io".to_owned()),
        "the primary domain is never also an extra one: {:?}",
        updated.domains
    );
    assert!(updated.domains.contains(&"acme.co.uk".to_owned()), "{:?}", updated.domains);
    assert_eq!(get_account(&mut client, "accounts/acme").await, updated);
}

#[tokio::test]
async fn a_missing_account_is_reason_account_not_found() {
    let (_db, _server, mut client) = start().await;
    let err = client
        .get_account(pb::GetAccountRequest { name: "accounts/nobody".into() })
        .await
        .expect_err("get");
    assert_code(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");
    let err = try_create_contact(&mut client, "accounts/nobody", contact("bob@nobody.com"))
        .await
        .expect_err("create contact");
    assert_code(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");
    let deal = contract(100, "USD", ymd(2026, 1, 1), ymd(2026, 12, 31));
    let err = try_create_contract(&mut client, "accounts/nobody", deal)
        .await
        .expect_err("create contract");
    assert_code(&err, Code::NotFound, "ACCOUNT_NOT_FOUND");
}

#[tokio::test]
async fn delete_takes_the_contacts_and_contracts_with_it() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let bob = create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    let deal =
        create_usd_contract(&mut client, "accounts/acme", 1000, ymd(2026, 1, 1), ymd(2026, 12, 31))
            .await;

    let req = pb::DeleteAccountRequest { name: "accounts/acme".into(), etag: String::new() };
    client.delete_account(req.clone()).await.expect("delete");

    let err = client
        .get_account(pb::GetAccountRequest { name: "accounts/acme".into() })
        .await
        .expect_err("account gone");
    assert_not_found(&err);
    let err =
        client.get_contact(pb::GetContactRequest { name: bob.name }).await.expect_err("contact");
    assert_not_found(&err);
    let err = client
        .get_contract(pb::GetContractRequest { name: deal.name })
        .await
        .expect_err("contract");
    assert_not_found(&err);

    // The contact's email is free again.
    create_account(&mut client, "globex", account("Globex", "globex.com")).await;
    create_contact(&mut client, "accounts/globex", "bob@acme.com").await;

    // A delete that already happened is NOT_FOUND.
    let err = client.delete_account(req).await.expect_err("deleted twice");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(display_names(&list_all(&mut client).await), ["Globex"]);
}

#[tokio::test]
async fn a_read_only_token_reads_but_cannot_write() {
    let (_db, server, mut admin) = start().await;
    let created = create_account(&mut admin, "acme", account("Acme", "acme.com")).await;
    let mut reader = client_with(&server, steward_testkit::server::READ_TOKEN);

    let req = pb::CreateAccountRequest {
        account_id: "globex".into(),
        account: Some(account("Globex", "globex.com")),
        request_id: request_id(),
    };
    let err = reader.create_account(req).await.expect_err("create needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: created.name.clone(), ..account("Renamed", "") }),
        update_mask: mask(&["display_name"]),
    };
    let err = reader.update_account(req).await.expect_err("update needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let req = pb::DeleteAccountRequest { name: created.name.clone(), etag: String::new() };
    let err = reader.delete_account(req).await.expect_err("delete needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    assert_eq!(get_account(&mut reader, "accounts/acme").await, created, "a reader can get");
    assert_eq!(list_all(&mut reader).await, [created], "a reader can list; nothing was written");

    let mut stranger = client_with(&server, "not-a-token-0123456789abcdef");
    let err = stranger
        .get_account(pb::GetAccountRequest { name: "accounts/acme".into() })
        .await
        .expect_err("no valid token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}
