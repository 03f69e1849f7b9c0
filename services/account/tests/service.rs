//! The account service through its real gRPC client, against real Postgres.

use chrono::{Datelike, Days, NaiveDate, Utc};
use prost_types::FieldMask;
use steward_account::AccountService;
use steward_kit::client::Intercepted;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::account::v1::{self as pb, resolve_account_request::Key};
use steward_proto::google::r#type::Date;
use steward_testkit::{TestDb, TestServer, spawn};
use tonic::Code;
use tonic_types::StatusExt;

type Client = AccountServiceClient<Intercepted>;

struct Env {
    _db: TestDb,
    server: TestServer,
    client: Client,
}

async fn start() -> Env {
    let db = TestDb::new().await;
    let server = spawn::<AccountService>(&db, Default::default()).await.expect("service starts");
    let client = AccountServiceClient::new(server.channel());
    Env { _db: db, server, client }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn date(d: NaiveDate) -> Option<Date> {
    Some(Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn account(name: &str, domain: &str) -> pb::Account {
    pb::Account {
        display_name: name.into(),
        primary_domain: domain.into(),
        segment: pb::Segment::MidMarket as i32,
        lifecycle_stage: pb::LifecycleStage::Established as i32,
        ..Default::default()
    }
}

async fn create(client: &mut Client, id: &str, account: pb::Account) -> pb::Account {
    let req = pb::CreateAccountRequest {
        account_id: id.into(),
        account: Some(account),
        request_id: request_id(),
    };
    client.create_account(req).await.expect("create account").into_inner()
}

async fn contract(client: &mut Client, account: &str, arr: i64, start: NaiveDate, end: NaiveDate) {
    contract_in(client, account, arr, "USD", start, end).await.expect("create contract");
}

async fn contract_in(
    client: &mut Client,
    account: &str,
    arr: i64,
    currency: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<pb::Contract, tonic::Status> {
    let req = pb::CreateContractRequest {
        parent: format!("accounts/{account}"),
        contract: Some(pb::Contract {
            arr: Some(pb::Money { amount_minor: arr, currency_code: currency.into() }),
            start_date: date(start),
            end_date: date(end),
            ..Default::default()
        }),
        request_id: request_id(),
        ..Default::default()
    };
    client.create_contract(req).await.map(tonic::Response::into_inner)
}

async fn all_accounts(client: &mut Client) -> Vec<pb::Account> {
    let req = pb::ListAccountsRequest { page_size: 1000, ..Default::default() };
    client.list_accounts(req).await.expect("list").into_inner().accounts
}

/// `INVALID_ARGUMENT` naming exactly `field`.
fn assert_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let fields: Vec<&str> = details
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, [field], "{status:?}");
}

fn assert_reason(status: &tonic::Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status.get_error_details().error_info().cloned().expect("ErrorInfo");
    assert_eq!(info.reason, reason);
}

#[tokio::test]
async fn create_normalises_and_a_retried_create_writes_once() {
    let Env { mut client, _db, server: _s } = start().await;
    let mut input = account("  Acme Corp ", "ACME.com");
    input.domains = vec!["acme.co.uk".into(), "acme.com".into(), "Acme.co.uk".into()];
    let req = pb::CreateAccountRequest {
        account_id: "acme".into(),
        account: Some(input),
        request_id: request_id(),
    };
    let first = client.create_account(req.clone()).await.expect("create").into_inner();
    assert_eq!(first.name, "accounts/acme");
    assert_eq!(first.display_name, "Acme Corp");
    assert_eq!(first.primary_domain, "acme.com");
    assert_eq!(first.domains, ["acme.co.uk"]);
    assert!(!first.etag.is_empty() && first.create_time.is_some());

    let retry = client.create_account(req.clone()).await.expect("retry").into_inner();
    assert_eq!(retry, first, "a retry answers the first call's result");
    assert_eq!(all_accounts(&mut client).await.len(), 1);

    let mut reused = req.clone();
    reused.account_id = "other".into();
    let err = client.create_account(reused).await.expect_err("request id reused");
    assert_invalid(&err, "request_id");

    let mut again = req;
    again.request_id = request_id();
    let err = client.create_account(again).await.expect_err("id taken");
    assert_reason(&err, Code::AlreadyExists, "ACCOUNT_EXISTS");
}

#[tokio::test]
async fn invalid_input_names_the_field_and_writes_nothing() {
    let Env { mut client, _db, server: _s } = start().await;
    let cases: Vec<(pb::Account, &str)> = vec![
        (account(" ", "acme.com"), "account.display_name"),
        (account("Acme", "not a domain"), "account.primary_domain"),
        (
            pb::Account { domains: vec!["ok.com".into(), "acme".into()], ..account("Acme", "") },
            "account.domains[1]",
        ),
        (pb::Account { segment: 99, ..account("Acme", "") }, "account.segment"),
        (pb::Account { lifecycle_stage: 42, ..account("Acme", "") }, "account.lifecycle_stage"),
        (
            pb::Account {
                labels: [("Bad Key".to_owned(), "x".to_owned())].into(),
                ..account("Acme", "")
            },
            "account.labels[\"Bad Key\"]",
        ),
    ];
    for (input, field) in cases {
        let req = pb::CreateAccountRequest {
            account: Some(input),
            request_id: request_id(),
            ..Default::default()
        };
        let err = client.create_account(req).await.expect_err(field);
        assert_invalid(&err, field);
    }
    let req = pb::CreateAccountRequest {
        account_id: "Not-An-Id".into(),
        account: Some(account("Acme", "")),
        request_id: request_id(),
    };
    assert_invalid(&client.create_account(req).await.expect_err("bad id"), "account_id");
    assert!(all_accounts(&mut client).await.is_empty(), "nothing was written");

    create(&mut client, "acme", account("Acme", "acme.com")).await;
    let cases = [
        (-1, "USD", ymd(2026, 1, 1), ymd(2026, 12, 31), "contract.arr.amount_minor"),
        (100, "XYZ", ymd(2026, 1, 1), ymd(2026, 12, 31), "contract.arr.currency_code"),
        (100, "USD", ymd(2026, 12, 31), ymd(2026, 1, 1), "contract.end_date"),
    ];
    for (arr, currency, start, end, field) in cases {
        let err =
            contract_in(&mut client, "acme", arr, currency, start, end).await.expect_err(field);
        assert_invalid(&err, field);
    }
    let req = pb::ListContractsRequest { parent: "accounts/acme".into(), ..Default::default() };
    assert!(client.list_contracts(req).await.expect("list").into_inner().contracts.is_empty());
}

#[tokio::test]
async fn updates_follow_the_mask_and_refuse_stale_etags() {
    let Env { mut client, _db, server: _s } = start().await;
    let created = create(&mut client, "acme", account("Acme", "acme.com")).await;
    let change = pb::Account {
        name: created.name.clone(),
        owner: "jane@example.com".into(),
        display_name: "Ignored, not in the mask".into(),
        etag: created.etag.clone(),
        ..Default::default()
    };
    let mask = FieldMask { paths: vec!["owner".into()] };
    let req =
        pb::UpdateAccountRequest { account: Some(change.clone()), update_mask: Some(mask.clone()) };
    let updated = client.update_account(req.clone()).await.expect("update").into_inner();
    assert_eq!(
        (updated.owner.as_str(), updated.display_name.as_str()),
        ("jane@example.com", "Acme")
    );
    assert_ne!(updated.etag, created.etag);

    // The same update with the old etag: someone changed the account since.
    let stale = pb::UpdateAccountRequest {
        account: Some(pb::Account { owner: "bob@example.com".into(), ..change }),
        update_mask: Some(mask),
    };
    let err = client.update_account(stale).await.expect_err("stale etag");
    assert_reason(&err, Code::Aborted, "ETAG_MISMATCH");
    let get = pb::GetAccountRequest { name: created.name.clone() };
    assert_eq!(client.get_account(get).await.expect("get").into_inner().owner, "jane@example.com");

    let bad_mask = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: created.name.clone(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["create_time".into()] }),
    };
    assert_invalid(
        &client.update_account(bad_mask).await.expect_err("mask"),
        "update_mask.paths[0]",
    );

    let missing = pb::GetAccountRequest { name: "accounts/nobody".into() };
    assert_eq!(client.get_account(missing).await.expect_err("missing").code(), Code::NotFound);
}

#[tokio::test]
async fn external_refs_are_unique_and_delete_takes_the_children() {
    let Env { mut client, _db, server } = start().await;
    let with_ref = |name: &str| pb::Account {
        external_refs: vec![pb::ExternalRef { system: "zendesk".into(), id: "42".into() }],
        ..account(name, "")
    };
    create(&mut client, "acme", with_ref("Acme")).await;
    let req = pb::CreateAccountRequest {
        account: Some(with_ref("Other")),
        request_id: request_id(),
        ..Default::default()
    };
    let err = client.create_account(req).await.expect_err("ref taken");
    assert_reason(&err, Code::AlreadyExists, "EXTERNAL_REF_TAKEN");

    let contact = pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact: Some(pb::Contact { email: "Bob@Acme.com".into(), ..Default::default() }),
        request_id: request_id(),
        ..Default::default()
    };
    let bob = client.create_contact(contact.clone()).await.expect("contact").into_inner();
    assert_eq!(bob.email, "bob@acme.com");
    create(&mut client, "globex", account("Globex", "")).await;
    let dup = pb::CreateContactRequest {
        parent: "accounts/globex".into(),
        request_id: request_id(),
        ..contact
    };
    let err = client.create_contact(dup).await.expect_err("email taken");
    assert_reason(&err, Code::AlreadyExists, "CONTACT_EMAIL_TAKEN");

    // A reader may read but not write.
    let mut reader =
        AccountServiceClient::new(server.channel_with(steward_testkit::server::READ_TOKEN));
    let req = pb::DeleteAccountRequest { name: "accounts/acme".into(), etag: String::new() };
    assert_eq!(
        reader.delete_account(req.clone()).await.expect_err("read only").code(),
        Code::PermissionDenied
    );

    client.delete_account(req.clone()).await.expect("delete");
    let get = pb::GetContactRequest { name: bob.name };
    assert_eq!(client.get_contact(get).await.expect_err("gone").code(), Code::NotFound);
    assert_eq!(client.delete_account(req).await.expect_err("twice").code(), Code::NotFound);
}

#[tokio::test]
async fn pages_have_no_gaps_or_duplicates_while_rows_are_added() {
    let Env { mut client, _db, server: _s } = start().await;
    for i in 0..25 {
        create(&mut client, &format!("a{i:02}"), account(&format!("Acct {:02}", i * 2), "")).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListAccountsRequest {
            page_size: 7,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = client.list_accounts(req).await.expect("page").into_inner();
        seen.extend(page.accounts.iter().map(|a| a.display_name.clone()));
        pages += 1;
        if pages == 1 {
            // Rows that sort before and after the page boundary arrive between pages.
            create(&mut client, "early", account("Acct 00a", "")).await;
            create(&mut client, "late", account("Acct 99", "")).await;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let originals: Vec<String> = (0..25).map(|i| format!("Acct {:02}", i * 2)).collect();
    for name in &originals {
        assert_eq!(seen.iter().filter(|s| *s == name).count(), 1, "{name} seen once");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages are in order");
    assert!(seen.contains(&"Acct 99".to_owned()), "a row added after the boundary is served");

    let req = pb::ListAccountsRequest { page_size: 7, ..Default::default() };
    let token = client.list_accounts(req).await.expect("page").into_inner().next_page_token;
    let other = pb::ListAccountsRequest {
        page_size: 7,
        page_token: token,
        owner: "someone".into(),
        ..Default::default()
    };
    assert_invalid(&client.list_accounts(other).await.expect_err("filters changed"), "page_token");
    let bad = pb::ListAccountsRequest { order_by: "color".into(), ..Default::default() };
    assert_invalid(&client.list_accounts(bad).await.expect_err("order"), "order_by");
}

#[tokio::test]
async fn lists_filter_and_order_by_arr_and_renewal() {
    let Env { mut client, _db, server: _s } = start().await;
    let today = Utc::now().date_naive();
    let mut big = account("Big", "big.com");
    big.segment = pb::Segment::Enterprise as i32;
    big.labels = [("region".to_owned(), "emea".to_owned())].into();
    big.owner = "jane".into();
    create(&mut client, "big", big).await;
    create(&mut client, "small", account("Small", "small.com")).await;
    create(&mut client, "none", account("None", "")).await;
    contract(&mut client, "big", 90_000, today - Days::new(30), today + Days::new(200)).await;
    contract(&mut client, "small", 10_000, today - Days::new(30), today + Days::new(20)).await;

    let names = |accounts: Vec<pb::Account>| {
        accounts.into_iter().map(|a| a.display_name).collect::<Vec<_>>()
    };
    let list = async |client: &mut Client, req: pb::ListAccountsRequest| {
        names(client.list_accounts(req).await.expect("list").into_inner().accounts)
    };
    let by = |order: &str| pb::ListAccountsRequest { order_by: order.into(), ..Default::default() };
    assert_eq!(list(&mut client, by("arr desc")).await, ["Big", "Small", "None"]);
    assert_eq!(list(&mut client, by("arr")).await, ["Small", "Big", "None"]);
    assert_eq!(list(&mut client, by("renewal_date")).await, ["Small", "Big", "None"]);
    assert_eq!(list(&mut client, by("display_name desc")).await, ["Small", "None", "Big"]);

    let filtered = |f: fn(&mut pb::ListAccountsRequest)| {
        let mut req = pb::ListAccountsRequest::default();
        f(&mut req);
        req
    };
    let cases: [(pb::ListAccountsRequest, &[&str]); 5] = [
        (filtered(|r| r.segments = vec![pb::Segment::Enterprise as i32]), &["Big"]),
        (filtered(|r| r.owner = "jane".into()), &["Big"]),
        (filtered(|r| r.domain = "SMALL.com".into()), &["Small"]),
        (filtered(|r| r.labels = vec!["region=emea".into()]), &["Big"]),
        (filtered(|r| r.labels = vec!["region".into(), "tier".into()]), &[]),
    ];
    for (req, want) in cases {
        assert_eq!(list(&mut client, req.clone()).await, want, "{req:?}");
    }

    let big = client
        .get_account(pb::GetAccountRequest { name: "accounts/big".into() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(big.arr, Some(pb::Money { amount_minor: 90_000, currency_code: "USD".into() }));
    assert_eq!(big.renewal_date, date(today + Days::new(201)));
}

#[tokio::test]
async fn contracts_share_a_currency_and_derive_status() {
    let Env { mut client, _db, server: _s } = start().await;
    let today = Utc::now().date_naive();
    create(&mut client, "acme", account("Acme", "")).await;
    contract(&mut client, "acme", 500, today + Days::new(10), today + Days::new(375)).await;
    let ended =
        contract_in(&mut client, "acme", 400, "USD", today - Days::new(400), today - Days::new(35))
            .await
            .expect("ended");
    assert_eq!(ended.status, pb::ContractStatus::Ended as i32);
    let err = contract_in(&mut client, "acme", 1, "EUR", today, today).await.expect_err("currency");
    assert_reason(&err, Code::FailedPrecondition, "CURRENCY_MISMATCH");

    let req = pb::ListContractsRequest {
        parent: "accounts/acme".into(),
        page_size: 1,
        ..Default::default()
    };
    let page = client.list_contracts(req.clone()).await.expect("list").into_inner();
    assert_eq!(page.contracts[..], [ended.clone()][..], "ordered by start date");
    let next = pb::ListContractsRequest { page_token: page.next_page_token, ..req };
    let page = client.list_contracts(next).await.expect("list").into_inner();
    assert_eq!(page.contracts[0].status, pb::ContractStatus::Pending as i32);
    assert!(page.next_page_token.is_empty());

    // Ending a contract early is an update of its end date.
    let update = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: ended.name.clone(),
            end_date: date(today + Days::new(5)),
            etag: ended.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["end_date".into()] }),
    };
    let active = client.update_contract(update.clone()).await.expect("update").into_inner();
    assert_eq!(active.status, pb::ContractStatus::Active as i32);
    assert_reason(
        &client.update_contract(update).await.expect_err("stale"),
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    let acme = client
        .get_account(pb::GetAccountRequest { name: "accounts/acme".into() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(acme.arr.map(|m| m.amount_minor), Some(400));
    assert_eq!(acme.renewal_date, date(today + Days::new(6)), "the earliest end not yet passed");

    client
        .delete_contract(pb::DeleteContractRequest {
            name: active.name.clone(),
            etag: String::new(),
        })
        .await
        .expect("delete");
    let get = pb::GetContractRequest { name: active.name };
    assert_eq!(client.get_contract(get).await.expect_err("gone").code(), Code::NotFound);
}

async fn resolve(client: &mut Client, key: Key) -> pb::ResolveAccountResponse {
    let req = pb::ResolveAccountRequest { key: Some(key) };
    client.resolve_account(req).await.expect("resolve").into_inner()
}

#[tokio::test]
async fn resolution_prefers_refs_then_contacts_then_domains_and_never_guesses() {
    let Env { mut client, _db, server: _s } = start().await;
    let mut acme = account("Acme", "acme.com");
    acme.external_refs = vec![pb::ExternalRef { system: "zendesk".into(), id: "42".into() }];
    create(&mut client, "acme", acme).await;
    create(&mut client, "globex", account("Globex", "globex.com")).await;
    let mut shared = account("Shared A", "shared.io");
    shared.domains = vec!["gmail.com".into()];
    create(&mut client, "shared-a", shared).await;
    create(&mut client, "shared-b", account("Shared B", "shared.io")).await;
    // A Globex consultant who mails from an acme.com address belongs to Globex.
    let contact = pb::CreateContactRequest {
        parent: "accounts/globex".into(),
        contact: Some(pb::Contact { email: "consultant@acme.com".into(), ..Default::default() }),
        request_id: request_id(),
        ..Default::default()
    };
    let consultant = client.create_contact(contact).await.expect("contact").into_inner();
    let private = pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact: Some(pb::Contact { email: "ceo.acme@gmail.com".into(), ..Default::default() }),
        request_id: request_id(),
        ..Default::default()
    };
    client.create_contact(private).await.expect("contact");

    let r = resolve(
        &mut client,
        Key::ExternalRef(pb::ExternalRef { system: "zendesk".into(), id: "42".into() }),
    )
    .await;
    assert_eq!((r.account.as_str(), r.r#match()), ("accounts/acme", pb::MatchKind::ExternalRef));
    let r = resolve(
        &mut client,
        Key::ExternalRef(pb::ExternalRef { system: "hubspot".into(), id: "42".into() }),
    )
    .await;
    assert_eq!(r.resolution(), pb::Resolution::NotFound, "refs match within their system only");

    let r = resolve(&mut client, Key::Email("Consultant@ACME.com".into())).await;
    assert_eq!((r.account.as_str(), r.r#match()), ("accounts/globex", pb::MatchKind::ContactEmail));
    assert_eq!(r.contact, consultant.name);
    let r = resolve(&mut client, Key::Email("someone@acme.com".into())).await;
    assert_eq!((r.account.as_str(), r.r#match()), ("accounts/acme", pb::MatchKind::EmailDomain));

    // Free mail: a known contact still resolves; anyone else never does by domain.
    let r = resolve(&mut client, Key::Email("ceo.acme@gmail.com".into())).await;
    assert_eq!((r.account.as_str(), r.r#match()), ("accounts/acme", pb::MatchKind::ContactEmail));
    let r = resolve(&mut client, Key::Email("stranger@gmail.com".into())).await;
    assert_eq!((r.resolution(), r.account.as_str()), (pb::Resolution::FreeMail, ""));
    let r = resolve(&mut client, Key::Domain("gmail.com".into())).await;
    assert_eq!(r.resolution(), pb::Resolution::FreeMail);

    let r = resolve(&mut client, Key::Domain("Shared.IO".into())).await;
    assert_eq!(r.resolution(), pb::Resolution::Ambiguous);
    assert_eq!(r.candidates, ["accounts/shared-a", "accounts/shared-b"]);
    assert!(r.account.is_empty(), "ambiguity is reported, not guessed");
    let r = resolve(&mut client, Key::Domain("unknown.org".into())).await;
    assert_eq!(r.resolution(), pb::Resolution::NotFound);

    let err = client
        .resolve_account(pb::ResolveAccountRequest { key: Some(Key::Email("not-an-email".into())) })
        .await
        .expect_err("bad email");
    assert_invalid(&err, "email");
}

fn item(system: &str, id: &str, name: &str, domain: &str) -> pb::UpsertAccountItem {
    pb::UpsertAccountItem {
        key: Some(pb::ExternalRef { system: system.into(), id: id.into() }),
        account: Some(account(name, domain)),
        update_mask: None,
    }
}

#[tokio::test]
async fn batch_upsert_is_idempotent_per_item_and_survives_a_bad_item() {
    let Env { mut client, _db, server: _s } = start().await;
    let items = vec![
        item("salesforce", "001A", "Acme", "acme.com"),
        item("salesforce", "001B", "Globex", "globex.com"),
        item("salesforce", "001C", "Broken", "not a domain"),
        item("salesforce", "001D", "Initech", "initech.com"),
    ];
    let req = pb::BatchUpsertAccountsRequest { items: items.clone() };
    let outcomes = |r: &pb::BatchUpsertAccountsResponse| {
        r.results
            .iter()
            .map(|r| (r.index, r.outcome(), r.error.as_ref().map_or(0, |e| e.code)))
            .collect::<Vec<_>>()
    };
    let first = client.batch_upsert_accounts(req.clone()).await.expect("batch").into_inner();
    use pb::UpsertOutcome::{Created, Unchanged, Unspecified, Updated};
    let invalid = Code::InvalidArgument as i32;
    assert_eq!(
        outcomes(&first),
        [(0, Created, 0), (1, Created, 0), (2, Unspecified, invalid), (3, Created, 0)]
    );
    let state = all_accounts(&mut client).await;
    assert_eq!(state.len(), 3);

    let replay = client.batch_upsert_accounts(req).await.expect("replay").into_inner();
    assert_eq!(
        outcomes(&replay),
        [(0, Unchanged, 0), (1, Unchanged, 0), (2, Unspecified, invalid), (3, Unchanged, 0)]
    );
    assert_eq!(all_accounts(&mut client).await, state, "a replay changes nothing");

    let mut changed = items;
    changed[1] = item("salesforce", "001B", "Globex Corporation", "globex.com");
    let third = client
        .batch_upsert_accounts(pb::BatchUpsertAccountsRequest { items: changed })
        .await
        .expect("third")
        .into_inner();
    assert_eq!(third.results[1].outcome(), Updated);
    assert_eq!(third.results[0].outcome(), Unchanged);
    let globex = third.results[1].account.clone().expect("account");
    assert_eq!(globex.display_name, "Globex Corporation");
    assert!(
        globex
            .external_refs
            .contains(&pb::ExternalRef { system: "salesforce".into(), id: "001B".into() })
    );

    let empty = pb::BatchUpsertAccountsRequest { items: vec![] };
    assert_invalid(&client.batch_upsert_accounts(empty).await.expect_err("empty"), "items");
    let huge = pb::BatchUpsertAccountsRequest { items: vec![item("crm", "x", "X", ""); 1001] };
    assert_invalid(&client.batch_upsert_accounts(huge).await.expect_err("too many"), "items");
}

/// Q1 2026 (`[2026-01-01, 2026-04-01)`), worked by hand, amounts in USD cents:
///
/// | account | segment    | contracts                                           | s (Jan 1) | e (Apr 1) | movement          |
/// | flat    | SMB        | 1,000 for 2026                                      | 1,000     | 1,000     | —                 |
/// | grow    | ENTERPRISE | 2,000 to Jan 31; 3,000 from Feb 1                   | 2,000     | 3,000     | expansion 1,000   |
/// | shrink  | ENTERPRISE | 4,000 to Feb 28; 2,500 from Mar 1                   | 4,000     | 2,500     | contraction 1,500 |
/// | gone    | SMB        | 500 to Jan 31                                       | 500       | 0         | churned 500       |
/// | fresh   | SMB        | 800 from Feb 15                                     | 0         | 800       | new 800           |
///
/// starting 7,500; ending 7,300 = 7,500 + 800 + 1,000 − 1,500 − 500.
/// NRR = (7,500 + 1,000 − 1,500 − 500) / 7,500 = 6,500 / 7,500 = 0.8667
/// GRR = (7,500 − 1,500 − 500) / 7,500 = 5,500 / 7,500 = 0.7333
/// revenue churn = 2,000 / 7,500 = 0.2667; logo churn = 1 / 4 = 0.25
/// SMB: starting 1,500, new 800, churned 500, ending 1,800; NRR = 1,000 / 1,500 = 0.6667.
/// ENTERPRISE: starting 6,000, expansion 1,000, contraction 1,500, ending 5,500; NRR 0.9167.
/// January alone (`[Jan 1, Feb 1)`): ARR on Feb 1 is flat 1,000 + grow 3,000 + shrink 4,000 =
/// 8,000; grow expands 1,000 and gone churns 500: NRR = (7,500 + 1,000 − 500) / 7,500 = 1.0667.
#[tokio::test]
async fn revenue_metrics_match_a_quarter_worked_by_hand() {
    let Env { mut client, _db, server: _s } = start().await;
    let seg = |name: &str, segment: pb::Segment| pb::Account {
        segment: segment as i32,
        ..account(name, "")
    };
    create(&mut client, "flat", seg("Flat", pb::Segment::Smb)).await;
    create(&mut client, "grow", seg("Grow", pb::Segment::Enterprise)).await;
    create(&mut client, "shrink", seg("Shrink", pb::Segment::Enterprise)).await;
    create(&mut client, "gone", seg("Gone", pb::Segment::Smb)).await;
    create(&mut client, "fresh", seg("Fresh", pb::Segment::Smb)).await;
    contract(&mut client, "flat", 1_000, ymd(2026, 1, 1), ymd(2026, 12, 31)).await;
    contract(&mut client, "grow", 2_000, ymd(2025, 2, 1), ymd(2026, 1, 31)).await;
    contract(&mut client, "grow", 3_000, ymd(2026, 2, 1), ymd(2027, 1, 31)).await;
    contract(&mut client, "shrink", 4_000, ymd(2025, 3, 1), ymd(2026, 2, 28)).await;
    contract(&mut client, "shrink", 2_500, ymd(2026, 3, 1), ymd(2027, 2, 28)).await;
    contract(&mut client, "gone", 500, ymd(2025, 2, 1), ymd(2026, 1, 31)).await;
    contract(&mut client, "fresh", 800, ymd(2026, 2, 15), ymd(2027, 2, 14)).await;

    let req = pb::GetRevenueMetricsRequest {
        start_date: date(ymd(2026, 1, 1)),
        end_date: date(ymd(2026, 4, 1)),
        by_segment: true,
        by_month: true,
        ..Default::default()
    };
    let r = client.get_revenue_metrics(req.clone()).await.expect("metrics").into_inner();
    assert_eq!(r.currency_code, "USD");
    let t = r.total.expect("total");
    assert_eq!(
        (
            t.starting_arr_minor,
            t.new_arr_minor,
            t.expansion_arr_minor,
            t.contraction_arr_minor,
            t.churned_arr_minor,
            t.ending_arr_minor
        ),
        (7_500, 800, 1_000, 1_500, 500, 7_300)
    );
    let close = |got: Option<f64>, want: f64| {
        assert!((got.expect("ratio") - want).abs() < 1e-4, "{got:?} != {want}")
    };
    close(t.nrr, 0.8667);
    close(t.grr, 0.7333);
    close(t.revenue_churn, 0.2667);
    close(t.logo_churn, 0.25);
    assert_eq!(
        (t.starting_accounts, t.new_accounts, t.churned_accounts, t.ending_accounts),
        (4, 1, 1, 4)
    );

    let segments: Vec<(i32, i64, i64)> = r
        .by_segment
        .iter()
        .map(|s| {
            let m = s.metrics.as_ref().expect("metrics");
            (s.segment, m.starting_arr_minor, m.ending_arr_minor)
        })
        .collect();
    assert_eq!(
        segments,
        [(pb::Segment::Smb as i32, 1_500, 1_800), (pb::Segment::Enterprise as i32, 6_000, 5_500)]
    );
    close(r.by_segment[0].metrics.as_ref().and_then(|m| m.nrr), 0.6667);
    close(r.by_segment[1].metrics.as_ref().and_then(|m| m.nrr), 0.9167);

    assert_eq!(r.by_month.len(), 3);
    let jan = r.by_month[0].metrics.expect("january");
    assert_eq!(r.by_month[0].end_date, date(ymd(2026, 2, 1)));
    assert_eq!(
        (
            jan.starting_arr_minor,
            jan.ending_arr_minor,
            jan.expansion_arr_minor,
            jan.churned_arr_minor
        ),
        (7_500, 8_000, 1_000, 500)
    );
    close(jan.nrr, 1.0667);

    // Another currency: refused unless a currency is chosen, then left out and counted.
    create(&mut client, "euro", account("Euro", "")).await;
    contract_in(&mut client, "euro", 9_000, "EUR", ymd(2026, 1, 1), ymd(2026, 12, 31))
        .await
        .expect("EUR");
    let err = client.get_revenue_metrics(req.clone()).await.expect_err("mixed");
    assert_reason(&err, Code::FailedPrecondition, "MIXED_CURRENCIES");
    let usd = pb::GetRevenueMetricsRequest { currency_code: "usd".into(), ..req.clone() };
    let r = client.get_revenue_metrics(usd).await.expect("usd").into_inner();
    assert_eq!((r.excluded_contract_count, r.total.map(|t| t.ending_arr_minor)), (1, Some(7_300)));

    let backwards = pb::GetRevenueMetricsRequest { end_date: date(ymd(2025, 12, 1)), ..req };
    assert_invalid(
        &client.get_revenue_metrics(backwards).await.expect_err("backwards"),
        "end_date",
    );
}

#[tokio::test]
async fn the_feed_reports_every_change_with_what_changed() {
    use futures_util::StreamExt;
    let Env { mut client, _db, server: _s } = start().await;
    let watch = client
        .watch_account_changes(pb::WatchAccountChangesRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let created = create(&mut client, "acme", account("Acme", "acme.com")).await;
    let update = pb::UpdateAccountRequest {
        account: Some(pb::Account {
            name: created.name.clone(),
            segment: pb::Segment::Strategic as i32,
            ..Default::default()
        }),
        update_mask: None,
    };
    client.update_account(update).await.expect("update");
    let today = Utc::now().date_naive();
    contract(&mut client, "acme", 1_200, today, today + Days::new(364)).await;
    client
        .delete_account(pb::DeleteAccountRequest {
            name: created.name.clone(),
            etag: String::new(),
        })
        .await
        .expect("delete");

    // A change becomes listable once no older transaction in the cluster is still running
    // (the feed's safe point), so a reader may briefly see fewer: poll.
    let mut page = pb::ListAccountChangesResponse::default();
    for _ in 0..600 {
        page = client
            .list_account_changes(pb::ListAccountChangesRequest::default())
            .await
            .expect("list")
            .into_inner();
        if page.changes.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    use pb::AccountChangeKind as K;
    let kinds: Vec<K> = page.changes.iter().map(|c| c.kind()).collect();
    assert_eq!(
        kinds,
        [K::AccountCreated, K::AccountUpdated, K::ContractCreated, K::AccountDeleted]
    );
    assert!(page.changes.iter().all(|c| c.account == "accounts/acme" && c.commit_time.is_some()));
    assert_eq!(page.changes[1].changed_fields, ["segment"]);
    assert_eq!(
        page.changes[1].account_snapshot.as_ref().map(|a| a.segment),
        Some(pb::Segment::Strategic as i32)
    );
    let arr = page.changes[2].account_snapshot.as_ref().and_then(|a| a.arr.clone());
    assert_eq!(arr.map(|m| m.amount_minor), Some(1_200), "the snapshot carries the new ARR");
    assert!(page.changes[2].resource.starts_with("accounts/acme/contracts/"));
    assert!(page.changes[3].account_snapshot.is_none());

    let after =
        pb::ListAccountChangesRequest { after_cursor: page.next_cursor.clone(), page_size: 10 };
    let rest = client.list_account_changes(after).await.expect("list").into_inner();
    assert!(rest.changes.is_empty());
    assert_eq!(rest.next_cursor, page.next_cursor);

    let streamed: Vec<pb::AccountChange> = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        watch.take(4).map(|c| c.expect("change")).collect(),
    )
    .await
    .expect("the watch delivers all four changes");
    assert_eq!(streamed, page.changes);

    let bad = pb::ListAccountChangesRequest { after_cursor: "garbage".into(), page_size: 0 };
    assert_invalid(&client.list_account_changes(bad).await.expect_err("cursor"), "after_cursor");
}
