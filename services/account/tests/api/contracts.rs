//! Contracts: create, get, list, update, delete; validation, one currency per account,
//! status from dates, and the account's ARR and renewal date derived from its contracts.

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;
use tonic::Code;

use crate::support::*;

async fn list(client: &mut Client, parent: &str) -> Vec<pb::Contract> {
    let req = pb::ListContractsRequest { parent: parent.into(), ..Default::default() };
    client.list_contracts(req).await.expect("list contracts").into_inner().contracts
}

fn end_date_mask() -> Option<FieldMask> {
    Some(FieldMask { paths: vec!["end_date".into()] })
}

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let input = pb::Contract {
        external_ref: Some(pb::ExternalRef { system: "salesforce".into(), id: "OPP-1".into() }),
        description: "Enterprise plan, 250 seats".into(),
        ..contract(1_250_000, "USD", days_from_today(-30), days_from_today(334))
    };
    let req = pb::CreateContractRequest {
        parent: "accounts/acme".into(),
        contract_id: "deal-2026".into(),
        contract: Some(input.clone()),
        request_id: request_id(),
    };
    let deal = client.create_contract(req).await.expect("create").into_inner();
    assert_eq!(deal.name, "accounts/acme/contracts/deal-2026");
    assert_eq!(deal.arr, usd(1_250_000));
    assert_eq!((deal.start_date, deal.end_date), (input.start_date, input.end_date));
    assert_eq!(deal.external_ref, input.external_ref);
    assert_eq!(deal.description, "Enterprise plan, 250 seats");
    assert_eq!(deal.status, pb::ContractStatus::Active as i32);
    assert!(deal.create_time.is_some() && deal.update_time.is_some() && !deal.etag.is_empty());

    let get = pb::GetContractRequest { name: deal.name.clone() };
    assert_eq!(client.get_contract(get.clone()).await.expect("get").into_inner(), deal);
    assert_eq!(list(&mut client, "accounts/acme").await, std::slice::from_ref(&deal));

    // Only the masked field changes.
    let change = pb::Contract {
        name: deal.name.clone(),
        description: "Not in the mask".into(),
        arr: usd(1_500_000),
        etag: deal.etag.clone(),
        ..Default::default()
    };
    let req = pb::UpdateContractRequest {
        contract: Some(change),
        update_mask: Some(FieldMask { paths: vec!["arr".into()] }),
    };
    let updated = client.update_contract(req).await.expect("update").into_inner();
    let want = pb::Contract {
        arr: usd(1_500_000),
        etag: updated.etag.clone(),
        update_time: updated.update_time,
        ..deal.clone()
    };
    assert_eq!(updated, want);
    assert_ne!(updated.etag, deal.etag);
    let acme = get_account(&mut client, "accounts/acme").await;
    assert_eq!(acme.arr, usd(1_500_000), "the account's ARR follows its contracts");

    let req = pb::DeleteContractRequest { name: deal.name.clone(), etag: updated.etag.clone() };
    client.delete_contract(req.clone()).await.expect("delete");
    let err = client.get_contract(get).await.expect_err("deleted");
    assert_not_found(&err);
    let err = client.delete_contract(req).await.expect_err("deleted twice");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let acme = get_account(&mut client, "accounts/acme").await;
    assert_eq!((acme.arr, acme.renewal_date), (None, None), "no contract left");
}

#[tokio::test]
async fn status_follows_the_dates_relative_to_today() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let cases = [
        (1, 365, pb::ContractStatus::Pending), // starts tomorrow
        (0, 0, pb::ContractStatus::Active),    // one day: today
        (-365, 0, pb::ContractStatus::Active), // last day is today
        (-30, 30, pb::ContractStatus::Active),
        (-365, -1, pb::ContractStatus::Ended), // last day was yesterday
    ];
    for (start, end, want) in cases {
        let created = create_usd_contract(
            &mut client,
            "accounts/acme",
            100,
            days_from_today(start),
            days_from_today(end),
        )
        .await;
        assert_eq!(created.status, want as i32, "from {start} to {end} days");
        let get = pb::GetContractRequest { name: created.name };
        let got = client.get_contract(get).await.expect("get").into_inner();
        assert_eq!(got.status, want as i32, "from {start} to {end} days, as read");
    }
}

#[tokio::test]
async fn list_is_ordered_by_start_date_and_pages() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    create_account(&mut client, "globex", account("Globex", "")).await;
    // Created out of order; two share a start date and sort by id then.
    let seed = [
        ("c-third", 2026, 3),
        ("b-second", 2026, 2),
        ("a-first", 2026, 1),
        ("z-fourth", 2026, 3),
        ("d-fifth", 2026, 6),
    ];
    for (id, year, month) in seed {
        let req = pb::CreateContractRequest {
            parent: "accounts/acme".into(),
            contract_id: id.into(),
            contract: Some(contract(100, "USD", ymd(year, month, 1), ymd(year + 1, month, 1))),
            request_id: request_id(),
        };
        client.create_contract(req).await.expect("create");
    }
    create_usd_contract(&mut client, "accounts/globex", 100, ymd(2020, 1, 1), ymd(2020, 12, 31))
        .await;

    let all = list(&mut client, "accounts/acme").await;
    let ids: Vec<&str> =
        all.iter().map(|c| c.name.rsplit('/').next().unwrap_or_default()).collect();
    assert_eq!(ids, ["a-first", "b-second", "c-third", "z-fourth", "d-fifth"]);

    let mut seen = Vec::new();
    let mut page_token = String::new();
    for _ in 0..5 {
        let req = pb::ListContractsRequest {
            parent: "accounts/acme".into(),
            page_size: 2,
            page_token: page_token.clone(),
        };
        let page = client.list_contracts(req).await.expect("page").into_inner();
        seen.extend(page.contracts);
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, all, "pages add up to the whole list");
}

#[tokio::test]
async fn invalid_contracts_name_the_field_and_write_nothing() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let (jan, dec) = (ymd(2026, 1, 1), ymd(2026, 12, 31));
    let cases: Vec<(pb::Contract, &str)> = vec![
        (contract(-1, "USD", jan, dec), "contract.arr.amount_minor"),
        (contract(100, "XYZ", jan, dec), "contract.arr.currency_code"),
        (contract(100, "", jan, dec), "contract.arr.currency_code"),
        (contract(100, "USD", dec, jan), "contract.end_date"),
        (
            pb::Contract { start_date: None, ..contract(100, "USD", jan, dec) },
            "contract.start_date",
        ),
        (
            pb::Contract {
                end_date: Some(steward_proto::google::r#type::Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                }),
                ..contract(100, "USD", jan, dec)
            },
            "contract.end_date",
        ),
        (
            pb::Contract { description: "d".repeat(2001), ..contract(100, "USD", jan, dec) },
            "contract.description",
        ),
    ];
    for (input, field) in cases {
        let err = try_create_contract(&mut client, "accounts/acme", input).await.expect_err(field);
        assert_invalid(&err, field);
    }
    assert!(list(&mut client, "accounts/acme").await.is_empty(), "nothing written");
    assert_eq!(get_account(&mut client, "accounts/acme").await.arr, None);

    // A one-day contract (start = end) is valid.
    try_create_contract(&mut client, "accounts/acme", contract(100, "USD", jan, jan))
        .await
        .expect("start_date <= end_date");
}

#[tokio::test]
async fn an_account_keeps_one_currency() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let first = create_usd_contract(
        &mut client,
        "accounts/acme",
        1000,
        days_from_today(-400),
        days_from_today(-35),
    )
    .await;
    let eur = contract(500, "EUR", days_from_today(0), days_from_today(365));
    let err =
        try_create_contract(&mut client, "accounts/acme", eur).await.expect_err("other currency");
    assert_code(&err, Code::FailedPrecondition, "CURRENCY_MISMATCH");
    assert_eq!(
        list(&mut client, "accounts/acme").await,
        std::slice::from_ref(&first),
        "nothing written"
    );

    // Another account may use another currency.
    create_account(&mut client, "globex", account("Globex", "")).await;
    let eur = contract(500, "EUR", days_from_today(0), days_from_today(365));
    let globex =
        try_create_contract(&mut client, "accounts/globex", eur).await.expect("EUR elsewhere");
    let globex_account = get_account(&mut client, "accounts/globex").await;
    assert_eq!(
        globex_account.arr,
        Some(pb::Money { amount_minor: 500, currency_code: "EUR".into() })
    );

    // With two contracts, moving one to another currency is refused.
    let second = create_usd_contract(
        &mut client,
        "accounts/acme",
        2000,
        days_from_today(0),
        days_from_today(365),
    )
    .await;
    let req = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: second.name.clone(),
            arr: Some(pb::Money { amount_minor: 2000, currency_code: "EUR".into() }),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["arr".into()] }),
    };
    let err = client.update_contract(req).await.expect_err("other currency");
    assert_code(&err, Code::FailedPrecondition, "CURRENCY_MISMATCH");
    assert_eq!(list(&mut client, "accounts/acme").await, [first, second], "nothing changed");

    // An account's only contract may change currency.
    let req = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: globex.name.clone(),
            arr: Some(pb::Money { amount_minor: 600, currency_code: "GBP".into() }),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["arr".into()] }),
    };
    client.update_contract(req).await.expect("the only contract may change currency");
}

#[tokio::test]
async fn account_arr_and_renewal_date_come_from_the_contracts() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    // In service today: 1,000 (ends in 50 days) and 500 (ends in 200 days). Pending: 700
    // (starts in 51 days). Ended: 300 (ended 101 days ago).
    // ARR today = 1,000 + 500 = 1,500. Renewal = the day after the earliest end among
    // contracts not ended = the day after "in 50 days" = in 51 days.
    let acme = "accounts/acme";
    create_usd_contract(&mut client, acme, 1000, days_from_today(-100), days_from_today(50)).await;
    create_usd_contract(&mut client, acme, 500, days_from_today(-10), days_from_today(200)).await;
    create_usd_contract(&mut client, acme, 700, days_from_today(51), days_from_today(400)).await;
    create_usd_contract(&mut client, acme, 300, days_from_today(-400), days_from_today(-101)).await;
    let got = get_account(&mut client, acme).await;
    assert_eq!(got.arr, usd(1500));
    assert_eq!(got.renewal_date, day_of(days_from_today(51)));

    // Only ended contracts: ARR 0, renewal the day after the latest end (overdue).
    create_account(&mut client, "lapsed", account("Lapsed", "")).await;
    let lapsed = "accounts/lapsed";
    create_usd_contract(&mut client, lapsed, 300, days_from_today(-400), days_from_today(-101))
        .await;
    create_usd_contract(&mut client, lapsed, 400, days_from_today(-100), days_from_today(-31))
        .await;
    let got = get_account(&mut client, lapsed).await;
    assert_eq!(got.arr, usd(0), "contracts but none in service today");
    assert_eq!(got.renewal_date, day_of(days_from_today(-30)));

    // Only a pending contract: ARR 0 today, renewal after its end.
    create_account(&mut client, "future", account("Future", "")).await;
    create_usd_contract(
        &mut client,
        "accounts/future",
        900,
        days_from_today(10),
        days_from_today(375),
    )
    .await;
    let got = get_account(&mut client, "accounts/future").await;
    assert_eq!(got.arr, usd(0));
    assert_eq!(got.renewal_date, day_of(days_from_today(376)));

    // A contract ending today is still in service and not ended.
    create_account(&mut client, "edge", account("Edge", "")).await;
    create_usd_contract(
        &mut client,
        "accounts/edge",
        250,
        days_from_today(-364),
        days_from_today(0),
    )
    .await;
    let got = get_account(&mut client, "accounts/edge").await;
    assert_eq!(got.arr, usd(250));
    assert_eq!(got.renewal_date, day_of(days_from_today(1)));

    // The list shows the same derived values.
    let listed = list_all(&mut client).await;
    let acme_listed = listed.iter().find(|a| a.name == acme).expect("acme listed");
    assert_eq!(acme_listed.arr, usd(1500));
    assert_eq!(acme_listed.renewal_date, day_of(days_from_today(51)));
}

#[tokio::test]
async fn ending_a_contract_early_updates_status_arr_and_renewal() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let a = create_usd_contract(
        &mut client,
        "accounts/acme",
        1000,
        days_from_today(-100),
        days_from_today(265),
    )
    .await;
    create_usd_contract(
        &mut client,
        "accounts/acme",
        500,
        days_from_today(-100),
        days_from_today(300),
    )
    .await;
    assert_eq!(get_account(&mut client, "accounts/acme").await.arr, usd(1500));

    let end_early = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: a.name.clone(),
            end_date: day_of(days_from_today(-1)),
            etag: a.etag.clone(),
            ..Default::default()
        }),
        update_mask: end_date_mask(),
    };
    let ended = client.update_contract(end_early.clone()).await.expect("end early").into_inner();
    assert_eq!(ended.status, pb::ContractStatus::Ended as i32);
    assert_eq!(ended.end_date, day_of(days_from_today(-1)));
    let acme = get_account(&mut client, "accounts/acme").await;
    assert_eq!(acme.arr, usd(500), "the ended contract no longer counts");
    assert_eq!(acme.renewal_date, day_of(days_from_today(301)));

    // The same update again carries a stale etag.
    let err = client.update_contract(end_early).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    let req = pb::DeleteContractRequest { name: a.name.clone(), etag: a.etag.clone() };
    let err = client.delete_contract(req).await.expect_err("stale delete");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");

    // An end before the start is refused, and nothing changes.
    let backwards = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: a.name.clone(),
            end_date: day_of(days_from_today(-200)),
            ..Default::default()
        }),
        update_mask: end_date_mask(),
    };
    let err = client.update_contract(backwards).await.expect_err("end before start");
    assert_invalid(&err, "contract.end_date");
    let negative = pb::UpdateContractRequest {
        contract: Some(pb::Contract { name: a.name.clone(), arr: usd(-5), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["arr".into()] }),
    };
    let err = client.update_contract(negative).await.expect_err("negative");
    assert_invalid(&err, "contract.arr.amount_minor");
    let get = pb::GetContractRequest { name: a.name.clone() };
    assert_eq!(client.get_contract(get).await.expect("get").into_inner(), ended);

    let bad_mask = pb::UpdateContractRequest {
        contract: Some(pb::Contract { name: a.name.clone(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["status".into()] }),
    };
    let err = client.update_contract(bad_mask).await.expect_err("status is output only");
    assert_invalid_under(&err, "update_mask");
}

#[tokio::test]
async fn unknown_accounts_and_contracts_are_not_found() {
    let (_db, _server, mut client) = start().await;
    let err = try_create_contract(
        &mut client,
        "accounts/nobody",
        contract(1, "USD", ymd(2026, 1, 1), ymd(2026, 2, 1)),
    )
    .await
    .expect_err("no such account");
    assert_not_found(&err);
    let req = pb::ListContractsRequest { parent: "accounts/nobody".into(), ..Default::default() };
    let err = client.list_contracts(req).await.expect_err("no such account");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    create_account(&mut client, "acme", account("Acme", "")).await;
    let get = pb::GetContractRequest { name: "accounts/acme/contracts/nothing".into() };
    let err = client.get_contract(get).await.expect_err("no such contract");
    assert_not_found(&err);
    let req = pb::UpdateContractRequest {
        contract: Some(pb::Contract {
            name: "accounts/acme/contracts/nothing".into(),
            arr: usd(5),
            ..Default::default()
        }),
        update_mask: None,
    };
    let err = client.update_contract(req).await.expect_err("no such contract");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let req = pb::DeleteContractRequest {
        name: "accounts/acme/contracts/nothing".into(),
        etag: String::new(),
    };
    let err = client.delete_contract(req).await.expect_err("no such contract");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn a_missing_contract_is_reason_contract_not_found() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let get = pb::GetContractRequest { name: "accounts/acme/contracts/nothing".into() };
    let err = client.get_contract(get).await.expect_err("no such contract");
    assert_code(&err, Code::NotFound, "CONTRACT_NOT_FOUND");
}

#[tokio::test]
async fn a_taken_contract_id_and_a_retried_create() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    let req = pb::CreateContractRequest {
        parent: "accounts/acme".into(),
        contract_id: "deal".into(),
        contract: Some(contract(1000, "USD", ymd(2026, 1, 1), ymd(2026, 12, 31))),
        request_id: request_id(),
    };
    let first = client.create_contract(req.clone()).await.expect("create").into_inner();
    let retry = client.create_contract(req.clone()).await.expect("retry").into_inner();
    assert_eq!(retry, first, "a retry answers the original contract");

    let reused = pb::CreateContractRequest {
        contract: Some(contract(2000, "USD", ymd(2026, 1, 1), ymd(2026, 12, 31))),
        ..req.clone()
    };
    let err = client.create_contract(reused).await.expect_err("request id reused");
    assert_invalid(&err, "request_id");

    let again = pb::CreateContractRequest { request_id: request_id(), ..req };
    let err = client.create_contract(again).await.expect_err("id taken");
    assert_code(&err, Code::AlreadyExists, "CONTRACT_EXISTS");
    assert_eq!(list(&mut client, "accounts/acme").await, [first], "one contract only");
}
