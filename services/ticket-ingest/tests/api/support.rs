//! Shared setup: a fresh database with the account and ticket-ingest services running on
//! loopback ports, connected clients, and builders for tickets and times.

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_account::AccountService;
use steward_kit::client::Intercepted;
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::ticket::v1 as pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, TestServer, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

pub(crate) use steward_testkit::eventually;
pub(crate) use steward_testkit::status::{assert_code, assert_invalid, violations};

/// The ticket-ingest client.
pub(crate) type Client = TicketIngestServiceClient<Intercepted>;
/// The account client.
pub(crate) type Accounts = AccountServiceClient<Intercepted>;

/// Both services on one fresh database. Keep it alive for the whole test: dropping it drops
/// the database and stops the servers.
pub(crate) struct Suite {
    pub(crate) db: TestDb,
    pub(crate) account: TestServer,
    pub(crate) ticket: TestServer,
    pub(crate) client: Client,
    pub(crate) accounts: Accounts,
}

/// Starts the account service, then ticket-ingest pointing at it.
pub(crate) async fn start() -> Suite {
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await.expect("account starts");
    let ticket = start_ticket(&db, &account).await;
    let client = TicketIngestServiceClient::new(ticket.channel());
    let accounts = AccountServiceClient::new(account.channel());
    Suite { db, account, ticket, client, accounts }
}

/// Starts (or restarts) ticket-ingest against `db` and the account service `account`.
pub(crate) async fn start_ticket(db: &TestDb, account: &TestServer) -> TestServer {
    let args = TicketIngestArgs {
        account_addr: account.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        link_cache_size: std::num::NonZeroUsize::new(1000).expect("non-zero"),
    };
    spawn::<TicketIngestService>(db, args).await.expect("ticket-ingest starts")
}

/// A new idempotency key.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fixed instant: 2026-03-02 09:00:00 UTC plus `minutes`.
pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid") + Duration::minutes(minutes)
}

/// `t` as a proto timestamp.
pub(crate) fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(timestamp(t))
}

/// A Zendesk ticket `external_id`, NEW, created and updated at `at(0)`.
pub(crate) fn ticket(external_id: &str) -> pb::Ticket {
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: "acme".into(),
        external_id: external_id.into(),
        subject: format!("ticket {external_id}"),
        status: pb::TicketStatus::New as i32,
        status_raw: "new".into(),
        priority: pb::TicketPriority::Normal as i32,
        created_time: ts(at(0)),
        source_update_time: ts(at(0)),
        ..Default::default()
    }
}

/// A ticket of `org`, created `created` hours after `at(0)`.
pub(crate) fn ticket_of(
    id: &str,
    org: &str,
    created: i64,
    priority: pb::TicketPriority,
) -> pb::Ticket {
    let mut t = ticket(id);
    t.account_ref = Some(pb::PartyRef { id: org.into(), ..Default::default() });
    t.created_time = ts(at(created * 60));
    t.source_update_time = ts(at(created * 60));
    t.priority = priority as i32;
    t
}

/// A requester with this email.
pub(crate) fn requester(email: &str) -> Option<pb::PartyRef> {
    Some(pb::PartyRef { email: email.into(), ..Default::default() })
}

/// Ingests `ticket`; panics when refused.
pub(crate) async fn ingest(client: &mut Client, ticket: pb::Ticket) -> pb::IngestTicketResponse {
    try_ingest(client, ticket).await.expect("ingest")
}

/// Ingests `ticket`; the error when refused.
pub(crate) async fn try_ingest(
    client: &mut Client,
    ticket: pb::Ticket,
) -> Result<pb::IngestTicketResponse, tonic::Status> {
    let req = pb::IngestTicketRequest { ticket: Some(ticket), request_id: String::new() };
    Ok(client.ingest_ticket(req).await?.into_inner())
}

/// Reads a ticket by name.
pub(crate) async fn get(client: &mut Client, name: &str) -> pb::Ticket {
    let req = pb::GetTicketRequest { key: Some(pb::get_ticket_request::Key::Name(name.into())) };
    client.get_ticket(req).await.expect("get ticket").into_inner()
}

/// Every ticket `req` lists, following the page tokens.
pub(crate) async fn list_all(
    client: &mut Client,
    mut req: pb::ListTicketsRequest,
) -> Vec<pb::Ticket> {
    let mut out = Vec::new();
    loop {
        let page = client.list_tickets(req.clone()).await.expect("list tickets").into_inner();
        out.extend(page.tickets);
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
}

/// A ticket's event kinds, oldest first.
pub(crate) async fn event_kinds(client: &mut Client, name: &str) -> Vec<pb::TicketEventKind> {
    let req =
        pb::ListTicketEventsRequest { parent: name.into(), page_size: 1000, ..Default::default() };
    let events = client.list_ticket_events(req).await.expect("list events").into_inner().events;
    events.iter().map(|e| e.kind()).collect()
}

/// Creates an account named `display_name` with `domain` and an external ref
/// (`zendesk`, `zendesk_org`) when given; its name.
pub(crate) async fn create_account(
    accounts: &mut Accounts,
    display_name: &str,
    domain: &str,
    zendesk_org: Option<&str>,
) -> String {
    let account = account_pb::Account {
        display_name: display_name.into(),
        primary_domain: domain.into(),
        external_refs: zendesk_org
            .map(|id| account_pb::ExternalRef { system: "zendesk".into(), id: id.into() })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let req = account_pb::CreateAccountRequest {
        account: Some(account),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_account(req).await.expect("create account").into_inner().name
}
