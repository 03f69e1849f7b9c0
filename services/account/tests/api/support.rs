//! Shared setup: a fresh database and a running service per test, a connected client, and
//! builders and assertions for the requests and errors every module uses.

use chrono::{Datelike, Days, NaiveDate, Utc};
use steward_account::AccountService;
use steward_kit::client::Intercepted;
use steward_proto::account::v1 as pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::google::r#type::Date;
pub(crate) use steward_testkit::status::{
    assert_code, assert_error_info, assert_invalid, assert_invalid_under, assert_not_found,
    violations,
};
use steward_testkit::{TestDb, TestServer, spawn};

/// The generated client over a channel that carries a token.
pub(crate) type Client = AccountServiceClient<Intercepted>;

/// A fresh database, the service on a loopback port and an admin client. Keep the first two
/// alive for the whole test: dropping them drops the database and stops the server.
pub(crate) async fn start() -> (TestDb, TestServer, Client) {
    let db = TestDb::new().await;
    let server = spawn::<AccountService>(&db, Default::default()).await.expect("service starts");
    let client = AccountServiceClient::new(server.channel());
    (db, server, client)
}

/// A client that carries `token` (e.g. `steward_testkit::server::READ_TOKEN`).
pub(crate) fn client_with(server: &TestServer, token: &str) -> Client {
    AccountServiceClient::new(server.channel_with(token))
}

/// A new idempotency key.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A `google.type.Date`, as the proto fields take it.
pub(crate) fn date(year: i32, month: u32, day: u32) -> Option<Date> {
    day_of(NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date"))
}

/// `d` as a `google.type.Date`.
pub(crate) fn day_of(d: NaiveDate) -> Option<Date> {
    Some(Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

/// Today in UTC, the day contract statuses and account ARR are computed for.
pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `n` days after today.
pub(crate) fn days_from_today(n: i64) -> NaiveDate {
    let t = today();
    if n >= 0 {
        t.checked_add_days(Days::new(n.unsigned_abs())).expect("date in range")
    } else {
        t.checked_sub_days(Days::new(n.unsigned_abs())).expect("date in range")
    }
}

/// A calendar date.
pub(crate) fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date")
}

/// An account with a name and (unless empty) a primary domain; everything else default.
pub(crate) fn account(display_name: &str, domain: &str) -> pb::Account {
    pb::Account {
        display_name: display_name.into(),
        primary_domain: domain.into(),
        ..Default::default()
    }
}

/// Creates `account` as `accounts/{account_id}` (server-assigned when empty); panics on error.
pub(crate) async fn create_account(
    client: &mut Client,
    account_id: &str,
    account: pb::Account,
) -> pb::Account {
    let req = pb::CreateAccountRequest {
        account_id: account_id.into(),
        account: Some(account),
        request_id: request_id(),
    };
    client.create_account(req).await.expect("create account").into_inner()
}

/// Reads an account; panics when it cannot.
pub(crate) async fn get_account(client: &mut Client, name: &str) -> pb::Account {
    let req = pb::GetAccountRequest { name: name.into() };
    client.get_account(req).await.expect("get account").into_inner()
}

/// Every account, in the default order (display name), following the page tokens.
pub(crate) async fn list_all(client: &mut Client) -> Vec<pb::Account> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::ListAccountsRequest { page_size: 1000, page_token, ..Default::default() };
        let page = client.list_accounts(req).await.expect("list accounts").into_inner();
        out.extend(page.accounts);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// A contact with this email, everything else default.
pub(crate) fn contact(email: &str) -> pb::Contact {
    pb::Contact { email: email.into(), ..Default::default() }
}

/// Adds `contact` to `parent` (`accounts/{account}`); the error when refused.
pub(crate) async fn try_create_contact(
    client: &mut Client,
    parent: &str,
    contact: pb::Contact,
) -> Result<pb::Contact, tonic::Status> {
    let req = pb::CreateContactRequest {
        parent: parent.into(),
        contact_id: String::new(),
        contact: Some(contact),
        request_id: request_id(),
    };
    client.create_contact(req).await.map(tonic::Response::into_inner)
}

/// Adds a contact with `email` to `parent`; panics on error.
pub(crate) async fn create_contact(client: &mut Client, parent: &str, email: &str) -> pb::Contact {
    try_create_contact(client, parent, contact(email)).await.expect("create contact")
}

/// A contract of `amount_minor` in `currency` from `start` to `end` (inclusive).
pub(crate) fn contract(
    amount_minor: i64,
    currency: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> pb::Contract {
    pb::Contract {
        arr: Some(pb::Money { amount_minor, currency_code: currency.into() }),
        start_date: day_of(start),
        end_date: day_of(end),
        ..Default::default()
    }
}

/// Adds `contract` to `parent` (`accounts/{account}`); the error when refused.
pub(crate) async fn try_create_contract(
    client: &mut Client,
    parent: &str,
    contract: pb::Contract,
) -> Result<pb::Contract, tonic::Status> {
    let req = pb::CreateContractRequest {
        parent: parent.into(),
        contract_id: String::new(),
        contract: Some(contract),
        request_id: request_id(),
    };
    client.create_contract(req).await.map(tonic::Response::into_inner)
}

/// Adds a USD contract to `parent`; panics on error.
pub(crate) async fn create_usd_contract(
    client: &mut Client,
    parent: &str,
    amount_minor: i64,
    start: NaiveDate,
    end: NaiveDate,
) -> pb::Contract {
    try_create_contract(client, parent, contract(amount_minor, "USD", start, end))
        .await
        .expect("create contract")
}

/// A USD amount.
pub(crate) fn usd(amount_minor: i64) -> Option<pb::Money> {
    Some(pb::Money { amount_minor, currency_code: "USD".into() })
}

/// Labels from pairs.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The display names of `accounts`, in order.
pub(crate) fn display_names(accounts: &[pb::Account]) -> Vec<String> {
    accounts.iter().map(|a| a.display_name.clone()).collect()
}
