//! Shared setup: a fresh database with the account, ticket-ingest and health-scoring
//! services on loopback ports, connected clients, and builders for accounts and tickets.

use std::time::Duration;

use chrono::{DateTime, Utc};
use steward_account::AccountService;
use steward_health_scoring::{HealthScoringArgs, HealthScoringService};
use steward_kit::client::Intercepted;
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::ticket::v1 as ticket_pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, TestServer, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

pub(crate) use steward_testkit::eventually;
pub(crate) use steward_testkit::status::{assert_code, assert_invalid, reason, violations};

/// The health-scoring client.
pub(crate) type Client = HealthScoringServiceClient<Intercepted>;
/// The account client.
pub(crate) type Accounts = AccountServiceClient<Intercepted>;
/// The ticket-ingest client.
pub(crate) type Tickets = TicketIngestServiceClient<Intercepted>;

/// The three services on one fresh database. Keep it alive for the whole test: dropping it
/// drops the database and stops the servers.
pub(crate) struct Suite {
    pub(crate) db: TestDb,
    pub(crate) account: TestServer,
    pub(crate) ticket: TestServer,
    pub(crate) health: TestServer,
    pub(crate) client: Client,
    pub(crate) accounts: Accounts,
    pub(crate) tickets: Tickets,
}

/// How long changes gather before a re-score, in tests: short, so tests run fast, but long
/// enough that a burst still coalesces.
pub(crate) const RESCORE_DELAY: Duration = Duration::from_millis(200);

/// Starts account, ticket-ingest and health-scoring, each pointing at the ones before.
pub(crate) async fn start() -> Suite {
    start_with(RESCORE_DELAY).await
}

/// As [`start`], with health scoring waiting `rescore_delay` before re-scoring.
pub(crate) async fn start_with(rescore_delay: Duration) -> Suite {
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await.expect("account starts");
    let ticket_args = TicketIngestArgs {
        account_addr: account.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        link_cache_size: std::num::NonZeroUsize::new(1000).expect("non-zero"),
    };
    let ticket =
        spawn::<TicketIngestService>(&db, ticket_args).await.expect("ticket-ingest starts");
    let health = start_health(&db, &account, &ticket, rescore_delay).await;
    Suite {
        client: HealthScoringServiceClient::new(health.channel()),
        accounts: AccountServiceClient::new(account.channel()),
        tickets: TicketIngestServiceClient::new(ticket.channel()),
        db,
        account,
        ticket,
        health,
    }
}

/// Starts (or restarts) health scoring against `db` and its two peers.
pub(crate) async fn start_health(
    db: &TestDb,
    account: &TestServer,
    ticket: &TestServer,
    rescore_delay: Duration,
) -> TestServer {
    let args = HealthScoringArgs {
        account_addr: account.url(),
        ticket_addr: ticket.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        rescore_delay,
        sweep_interval: Duration::from_secs(3600),
    };
    spawn::<HealthScoringService>(db, args).await.expect("health-scoring starts")
}

/// A new idempotency key.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `t` as a proto timestamp.
pub(crate) fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(timestamp(t))
}

/// Creates an account on `domain` in `segment`; its name.
pub(crate) async fn create_account(
    accounts: &mut Accounts,
    domain: &str,
    segment: account_pb::Segment,
) -> String {
    let account = account_pb::Account {
        display_name: domain.into(),
        primary_domain: domain.into(),
        segment: segment as i32,
        owner: "csm@steward.dev".into(),
        ..Default::default()
    };
    let req = account_pb::CreateAccountRequest {
        account: Some(account),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_account(req).await.expect("create account").into_inner().name
}

/// An open ticket from `jane@{domain}` with `priority`, created `age` ago.
pub(crate) fn ticket(
    domain: &str,
    external_id: &str,
    priority: ticket_pb::TicketPriority,
    age: chrono::Duration,
) -> ticket_pb::Ticket {
    let created = Utc::now() - age;
    ticket_pb::Ticket {
        source: ticket_pb::Source::Zendesk as i32,
        external_id: external_id.into(),
        subject: format!("ticket {external_id}"),
        status: ticket_pb::TicketStatus::Open as i32,
        status_raw: "open".into(),
        priority: priority as i32,
        requester: Some(ticket_pb::PartyRef {
            email: format!("jane@{domain}"),
            ..Default::default()
        }),
        created_time: ts(created),
        source_update_time: ts(created),
        ..Default::default()
    }
}

/// Ingests `ticket`; panics when refused.
pub(crate) async fn ingest(tickets: &mut Tickets, ticket: ticket_pb::Ticket) {
    let req = ticket_pb::IngestTicketRequest { ticket: Some(ticket), request_id: String::new() };
    tickets.ingest_ticket(req).await.expect("ingest");
}

/// The account's score once it satisfies `ready`.
pub(crate) async fn score_when(
    client: &Client,
    account: &str,
    what: &str,
    ready: impl Fn(&pb::HealthScore) -> bool,
) -> pb::HealthScore {
    eventually(what, || {
        let mut client = client.clone();
        let name = format!("{account}/healthScore");
        let ready = &ready;
        async move {
            let score = client.get_health_score(pb::GetHealthScoreRequest { name }).await.ok()?;
            Some(score.into_inner()).filter(|s| ready(s))
        }
    })
    .await
}

/// Every health change after `cursor` that has committed, following pages.
pub(crate) async fn changes_after(client: &mut Client, cursor: &str) -> Vec<pb::HealthChange> {
    let mut out = Vec::new();
    let mut after = cursor.to_owned();
    loop {
        let req = pb::ListHealthChangesRequest { after_cursor: after.clone(), page_size: 1000 };
        let page = client.list_health_changes(req).await.expect("list changes").into_inner();
        if page.changes.is_empty() {
            return out;
        }
        out.extend(page.changes);
        after = page.next_cursor;
    }
}

/// A component of `score` by id.
pub(crate) fn component<'a>(score: &'a pb::HealthScore, id: &str) -> &'a pb::ComponentScore {
    score.components.iter().find(|c| c.component_id == id).expect("component present")
}

/// The health changes after `cursor` once they satisfy `ready` (the feed shows a commit only
/// once no older transaction is still running, so a change may trail the score it announces).
pub(crate) async fn changes_when(
    client: &Client,
    cursor: &str,
    what: &str,
    ready: impl Fn(&[pb::HealthChange]) -> bool,
) -> Vec<pb::HealthChange> {
    eventually(what, || {
        let mut client = client.clone();
        let ready = &ready;
        async move { Some(changes_after(&mut client, cursor).await).filter(|c| ready(c)) }
    })
    .await
}
