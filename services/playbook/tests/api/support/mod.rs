//! Shared setup: a fresh database with the account, ticket-ingest, health-scoring and
//! playbook services on loopback ports, connected clients, and builders for accounts,
//! tickets and playbooks.

use std::time::Duration;

use steward_account::AccountService;
use steward_health_scoring::{HealthScoringArgs, HealthScoringService};
use steward_kit::client::Intercepted;
use steward_playbook::{PlaybookArgs, PlaybookService};
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::playbook::v1 as pb;
use steward_proto::playbook::v1::playbook_service_client::PlaybookServiceClient;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, TestServer, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

mod clock;
mod data;
mod evaluation;

pub(crate) use clock::*;
pub(crate) use data::*;
pub(crate) use evaluation::*;
pub(crate) use steward_testkit::eventually;
pub(crate) use steward_testkit::status::{assert_code, assert_invalid, violations};

/// The playbook client.
pub(crate) type Client = PlaybookServiceClient<Intercepted>;
/// The account client.
pub(crate) type Accounts = AccountServiceClient<Intercepted>;
/// The ticket-ingest client.
pub(crate) type Tickets = TicketIngestServiceClient<Intercepted>;

/// The four services on one fresh database. Keep it alive for the whole test: dropping it
/// drops the database and stops the servers.
pub(crate) struct Suite {
    pub(crate) db: TestDb,
    pub(crate) _account: TestServer,
    pub(crate) _ticket: TestServer,
    pub(crate) _health: TestServer,
    pub(crate) playbook: Option<TestServer>,
    pub(crate) playbook_args: PlaybookArgs,
    pub(crate) client: Client,
    pub(crate) accounts: Accounts,
    pub(crate) tickets: Tickets,
}

/// Starts account, ticket-ingest, health-scoring and playbook, each pointing at the ones
/// before it, with short delays so that feeds turn into runs quickly.
pub(crate) async fn start() -> Suite {
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await.expect("account starts");
    let ticket_args = TicketIngestArgs {
        account_addr: account.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        link_cache_size: std::num::NonZeroUsize::new(1000).expect("non-zero"),
    };
    let ticket =
        spawn::<TicketIngestService>(&db, ticket_args).await.expect("ticket-ingest starts");
    let health_args = HealthScoringArgs {
        account_addr: account.url(),
        ticket_addr: ticket.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        rescore_delay: Duration::from_millis(200),
        sweep_interval: Duration::from_secs(3600),
    };
    let health =
        spawn::<HealthScoringService>(&db, health_args).await.expect("health-scoring starts");
    let playbook_args = PlaybookArgs {
        account_addr: account.url(),
        ticket_addr: ticket.url(),
        health_addr: health.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        evaluate_delay: Duration::from_millis(200),
        sweep_interval: Duration::from_secs(3600),
        clock_interval: Duration::from_millis(200),
    };
    let playbook =
        spawn::<PlaybookService>(&db, playbook_args.clone()).await.expect("playbook starts");
    Suite {
        client: PlaybookServiceClient::new(playbook.channel()),
        accounts: AccountServiceClient::new(account.channel()),
        tickets: TicketIngestServiceClient::new(ticket.channel()),
        db,
        _account: account,
        _ticket: ticket,
        _health: health,
        playbook: Some(playbook),
        playbook_args,
    }
}

impl Suite {
    /// Stops the playbook service (the others keep running).
    pub(crate) async fn stop_playbook(&mut self) {
        if let Some(server) = self.playbook.take() {
            server.stop().await.expect("playbook stops");
        }
    }

    /// Starts the playbook service again on the same database; the client follows it.
    pub(crate) async fn restart_playbook(&mut self) {
        let server = spawn::<PlaybookService>(&self.db, self.playbook_args.clone())
            .await
            .expect("playbook restarts");
        self.client = PlaybookServiceClient::new(server.channel());
        self.playbook = Some(server);
    }
}

/// A new idempotency key.
pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A task step `id` for the account owner.
pub(crate) fn task(id: &str, title: &str) -> pb::Step {
    pb::Step {
        id: id.into(),
        display_name: title.into(),
        kind: Some(pb::step::Kind::Task(pb::TaskStep {
            title: format!("{title} for {{{{account.display_name}}}}"),
            due_offset: Some(prost_types::Duration { seconds: 86_400, nanos: 0 }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// An ACTION step `id` of type `slack.notify` with `max_attempts`.
pub(crate) fn action(id: &str, max_attempts: i32) -> pb::Step {
    let text = prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(
            "{{account.display_name}} needs attention".into(),
        )),
    };
    pb::Step {
        id: id.into(),
        display_name: "Notify the team".into(),
        kind: Some(pb::step::Kind::Action(pb::ActionStep {
            action_type: "slack.notify".into(),
            parameters: Some(prost_types::Struct {
                fields: [("text".to_owned(), text)].into_iter().collect(),
            }),
        })),
        max_attempts,
        ..Default::default()
    }
}

/// Creates an enabled, manual-only playbook `id` with `steps`.
pub(crate) async fn create_playbook(
    client: &mut Client,
    id: &str,
    steps: Vec<pb::Step>,
) -> pb::Playbook {
    let playbook = pb::Playbook {
        display_name: format!("Playbook {id}"),
        enabled: true,
        steps,
        ..Default::default()
    };
    let req = pb::CreatePlaybookRequest {
        playbook_id: id.into(),
        playbook: Some(playbook),
        request_id: request_id(),
    };
    client.create_playbook(req).await.expect("create playbook").into_inner()
}

/// Starts `playbooks/{id}` for `account` by hand.
pub(crate) async fn start_run(client: &mut Client, id: &str, account: &str) -> pb::PlaybookRun {
    let req = pb::StartPlaybookRunRequest {
        playbook: format!("playbooks/{id}"),
        account: account.into(),
        request_id: request_id(),
        ..Default::default()
    };
    client.start_playbook_run(req).await.expect("start run").into_inner()
}

/// The step `id` of `run`.
pub(crate) fn step<'a>(run: &'a pb::PlaybookRun, id: &str) -> &'a pb::RunStep {
    run.steps.iter().find(|s| s.step_id == id).expect("step present")
}

/// Every run of `account`, newest first.
pub(crate) async fn runs_of(client: &mut Client, account: &str) -> Vec<pb::PlaybookRun> {
    let req = pb::ListPlaybookRunsRequest {
        account: account.into(),
        page_size: 1000,
        ..Default::default()
    };
    client.list_playbook_runs(req).await.expect("list runs").into_inner().playbook_runs
}
