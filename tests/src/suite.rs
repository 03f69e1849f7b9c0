//! The suite: account, ticket-ingest, health-scoring and playbook as four processes on one
//! fresh database, started in dependency order (each SERVING before the next starts), each
//! wired to the ones before it through the environment its Deployment sets
//! (`deploy/k8s/base`), with authenticated clients for all four.

use std::net::TcpListener;

use anyhow::{Context, Result};
use sqlx::{AssertSqlSafe, PgPool};
use steward_kit::client::Intercepted;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::playbook::v1::playbook_service_client::PlaybookServiceClient;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::TestDb;
use steward_testkit::server::{ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, channel_to};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::process::{Process, Service};

/// The account client.
pub type Accounts = AccountServiceClient<Intercepted>;
/// The ticket-ingest client.
pub type Tickets = TicketIngestServiceClient<Intercepted>;
/// The health-scoring client.
pub type Health = HealthScoringServiceClient<Intercepted>;
/// The playbook client.
pub type Playbooks = PlaybookServiceClient<Intercepted>;

/// Suites running at once in one test process. Each holds up to ~27 Postgres connections
/// (service pools of 4, the feed consumers' lease connections, its own pool of 5), and the
/// server is shared.
static SLOTS: Semaphore = Semaphore::const_new(2);

/// How the services pace themselves: changes to an account gather this long before it is
/// re-scored or evaluated once for all of them. Long enough that a 10,000-ticket stream
/// causes a few re-scores per account rather than one per ticket (CPU the stream and the
/// other suite need), short enough that results show within a second or two.
const GATHER: &str = "500ms";

/// The four services on a fresh database. Dropping it kills the processes, then drops the
/// database; if the test is failing, it first prints the tail of each service's log.
#[derive(Debug)]
pub struct Suite {
    processes: Vec<Process>,
    /// A small pool on the suite's database, for what only the database can say.
    pub pool: PgPool,
    pub db: TestDb,
    logs: Option<tempfile::TempDir>,
    pub accounts: Accounts,
    pub tickets: Tickets,
    pub health: Health,
    pub playbooks: Playbooks,
    _slot: SemaphorePermit<'static>,
}

impl Suite {
    /// Starts the four services on a fresh database. Panics with the failing service's log
    /// if one does not come up.
    pub async fn start() -> Suite {
        let slot = SLOTS.acquire().await.expect("the semaphore is never closed");
        let bin_dir = tokio::task::spawn_blocking(crate::binaries::ensure_built)
            .await
            .expect("the build thread")
            .unwrap_or_else(|e| panic!("the service binaries: {e:#}"));
        let db = TestDb::new().await;
        let logs = tempfile::Builder::new().prefix("steward-e2e-").tempdir().expect("a temp dir");
        let mut processes: Vec<Process> = Vec::new();
        for service in Service::ALL {
            let started = async {
                let port = free_port()?;
                let env = environment(service, port, db.url(), &processes);
                Process::start(service, &bin_dir, port, env, logs.path()).await
            };
            let process = started.await.unwrap_or_else(|e| panic!("{e:#}"));
            processes.push(process);
        }
        let url = |s: Service| processes[s as usize].url();
        Suite {
            accounts: AccountServiceClient::new(channel_to(&url(Service::Account), ADMIN_TOKEN)),
            tickets: TicketIngestServiceClient::new(channel_to(
                &url(Service::TicketIngest),
                ADMIN_TOKEN,
            )),
            health: HealthScoringServiceClient::new(channel_to(
                &url(Service::HealthScoring),
                ADMIN_TOKEN,
            )),
            playbooks: PlaybookServiceClient::new(channel_to(&url(Service::Playbook), ADMIN_TOKEN)),
            pool: db.pool().await,
            processes,
            db,
            logs: Some(logs),
            _slot: slot,
        }
    }

    /// The address of `service`.
    pub fn url(&self, service: Service) -> String {
        self.processes[service as usize].url()
    }

    /// Kills `service` with SIGKILL and starts it again on the same port and database; its
    /// callers reconnect by themselves.
    ///
    /// A dead worker's claims on its queue of accounts to re-score or evaluate are handed
    /// out again only when their lease (2 minutes) runs out. Rather than wait, the test lets
    /// that time pass for them: between the kill and the restart, when every claim belongs
    /// to the dead process, their lease ends now.
    pub async fn kill_and_restart(&mut self, service: Service) {
        let process = &mut self.processes[service as usize];
        process.kill();
        if let Some(schema) = queue_schema(service) {
            let sql = format!(
                "UPDATE {schema}.dirty_accounts SET claimed_until = now() WHERE claimed_until > now()"
            );
            sqlx::query(AssertSqlSafe(sql))
                .execute(&self.pool)
                .await
                .expect("end the dead worker's claims");
        }
        let restarted = process.restart().await;
        restarted.unwrap_or_else(|e| panic!("{} restarts: {e:#}", service.binary()));
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        let failing = std::thread::panicking();
        if failing {
            for process in &self.processes {
                eprintln!(
                    "---- {} (last 40 lines)\n{}",
                    process.log_path().display(),
                    process.log_tail(40)
                );
            }
        }
        // Killed before the database is dropped, so that nothing holds it.
        self.processes.clear();
        if failing && let Some(logs) = self.logs.take() {
            eprintln!("---- the full logs are kept in {}", logs.keep().display());
        }
    }
}

/// The schema of `service`'s queue of accounts to work on, if it has one.
fn queue_schema(service: Service) -> Option<&'static str> {
    match service {
        Service::HealthScoring => Some("health"),
        Service::Playbook => Some("playbook"),
        Service::Account | Service::TicketIngest => None,
    }
}

/// The environment of `service`: the database, its port, the tokens it accepts, the
/// address of every service started before it and the token it presents to them, and its
/// pacing.
fn environment(
    service: Service,
    port: u16,
    database_url: &str,
    started: &[Process],
) -> Vec<(String, String)> {
    let tokens =
        format!("admin:admin:{ADMIN_TOKEN},reader:read:{READ_TOKEN},ingest:ingest:{INGEST_TOKEN}");
    let mut env = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("STEWARD_LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("STEWARD_TOKENS", tokens),
        ("STEWARD_SERVICE_TOKEN", READ_TOKEN.to_owned()),
        // Small pools: two suites share one Postgres with the other tests.
        ("STEWARD_DB_MAX_CONNECTIONS", "4".to_owned()),
        // Plain text, no colour codes: the logs are files read on failure.
        ("STEWARD_LOG_FORMAT", "text".to_owned()),
        ("NO_COLOR", "1".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    match service {
        Service::HealthScoring => env.push(("STEWARD_RESCORE_DELAY", GATHER.to_owned())),
        Service::Playbook => env.push(("STEWARD_EVALUATE_DELAY", GATHER.to_owned())),
        Service::Account | Service::TicketIngest => {}
    }
    let peers = started.iter().zip(Service::ALL);
    env.extend(peers.map(|(process, peer)| (peer.addr_env(), process.url())));
    let mut env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if let Ok(backtrace) = std::env::var("RUST_BACKTRACE") {
        env.push(("RUST_BACKTRACE".into(), backtrace));
    }
    env
}

/// A port nobody listens on now. The service binds it a moment later; keeping it across
/// restarts is what lets callers find a restarted service.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr().context("the free port")?.port())
}
