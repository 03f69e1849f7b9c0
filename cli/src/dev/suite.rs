//! The services `steward dev` runs, in dependency order (account ← ticket-ingest ←
//! health-scoring ← playbook): each is the real service, migrated and built by its own
//! `Service::build` exactly as its binary's `serve` does, on its own port. A service may be
//! wired only to services listed before it, so the list is also the start order. With
//! `--processes`, each runs as its own binary instead, wired by the same settings.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use secrecy::{ExposeSecret, SecretString};
use steward_account::AccountService;
use steward_health_scoring::HealthScoringService;
use steward_kit::Application;
use steward_kit::config::{AuthConfig, DbConfig, ServerConfig};
use steward_kit::service::Service;
use steward_playbook::PlaybookService;
use steward_proto::account::v1::account_service_server;
use steward_proto::health::v1::health_scoring_service_server;
use steward_proto::playbook::v1::playbook_service_server;
use steward_proto::ticket::v1::ticket_ingest_service_server;
use steward_ticket_ingest::TicketIngestService;

/// A service's start: migrate its schema, bind, wire. Boxed so that services of different
/// types sit in one list; not `Send` (sqlx's migration future is not provably so), which
/// is fine: starts are awaited in place, one after another, never spawned.
type Start = Box<dyn FnOnce(Launch) -> Pin<Box<dyn Future<Output = anyhow::Result<Application>>>>>;

/// One service of the suite.
pub(crate) struct Member {
    /// Its name (`Service::NAME`).
    pub(crate) name: &'static str,
    /// The variable clients take its address from.
    pub(crate) addr_env: &'static str,
    /// Its main gRPC service, whose readiness says it is up (`--processes`).
    pub(crate) grpc: &'static str,
    /// Its wiring to the services before it.
    settings: fn(&Peers) -> anyhow::Result<Vec<Setting>>,
    start: Start,
}

/// One option wiring a service to its peers: the flag its binary takes, and the variable
/// that sets it too (what `--processes` uses, so that the token stays out of `ps`).
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    flag: &'static str,
    env: &'static str,
    value: String,
}

fn setting(flag: &'static str, env: &'static str, value: String) -> Setting {
    Setting { flag, env, value }
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member").field("name", &self.name).finish_non_exhaustive()
    }
}

/// What a service's start gets: where to listen, who may call, the database, and the
/// services started before it.
#[derive(Debug)]
pub(crate) struct Launch {
    pub(crate) server: ServerConfig,
    pub(crate) auth: AuthConfig,
    pub(crate) database_url: String,
    pub(crate) peers: Peers,
}

/// The services already running, for wiring the next one to them.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    started: Vec<(&'static str, String)>,
    token: SecretString,
}

impl Peers {
    pub(crate) fn new(token: SecretString) -> Self {
        Self { started: Vec::new(), token }
    }

    pub(crate) fn add(&mut self, name: &'static str, url: String) {
        self.started.push((name, url));
    }

    /// The URL of `name`, which must have started already: dependencies point left.
    fn url(&self, name: &str) -> anyhow::Result<String> {
        self.started.iter().find(|(n, _)| *n == name).map(|(_, url)| url.clone()).ok_or_else(|| {
            anyhow::anyhow!("{name} must come before the services that call it in dev::suite")
        })
    }

    /// The token services present to each other (the dev token: it has every scope).
    fn token(&self) -> SecretString {
        self.token.clone()
    }
}

/// STEWARD_TOKENS for the suite: the dev token, with every scope.
pub(crate) fn dev_tokens(token: &SecretString) -> String {
    format!("dev:admin:{}", token.expose_secret())
}

/// The suite, in dependency order.
pub(crate) fn members() -> Vec<Member> {
    vec![
        member::<AccountService>(
            "STEWARD_ACCOUNT_ADDR",
            account_service_server::SERVICE_NAME,
            |_| Ok(Vec::new()),
        ),
        member::<TicketIngestService>(
            "STEWARD_TICKET_ADDR",
            ticket_ingest_service_server::SERVICE_NAME,
            |peers| Ok(vec![account(peers)?, service_token(peers)]),
        ),
        // Pacing options (rescore delay, sweeps, link cache) keep the services' own defaults
        // and their variables from the environment, as their binaries would.
        member::<HealthScoringService>(
            "STEWARD_HEALTH_ADDR",
            health_scoring_service_server::SERVICE_NAME,
            |peers| Ok(vec![account(peers)?, ticket(peers)?, service_token(peers)]),
        ),
        member::<PlaybookService>(
            "STEWARD_PLAYBOOK_ADDR",
            playbook_service_server::SERVICE_NAME,
            |peers| {
                let health = setting(
                    "--health-addr",
                    "STEWARD_HEALTH_ADDR",
                    peers.url(HealthScoringService::NAME)?,
                );
                Ok(vec![account(peers)?, ticket(peers)?, health, service_token(peers)])
            },
        ),
    ]
}

fn account(peers: &Peers) -> anyhow::Result<Setting> {
    Ok(setting("--account-addr", "STEWARD_ACCOUNT_ADDR", peers.url(AccountService::NAME)?))
}

fn ticket(peers: &Peers) -> anyhow::Result<Setting> {
    Ok(setting("--ticket-addr", "STEWARD_TICKET_ADDR", peers.url(TicketIngestService::NAME)?))
}

fn service_token(peers: &Peers) -> Setting {
    setting("--service-token", "STEWARD_SERVICE_TOKEN", peers.token().expose_secret().to_owned())
}

/// A service's options as its binary parses them: `given`, then the environment, then the
/// defaults its `--help` documents.
fn with_defaults<A: clap::Args>(given: &[Setting]) -> anyhow::Result<A> {
    #[derive(clap::Parser)]
    struct Options<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    let argv = std::iter::once("steward".to_owned())
        .chain(given.iter().flat_map(|s| [s.flag.to_owned(), s.value.clone()]));
    Ok(<Options<A> as clap::Parser>::try_parse_from(argv)?.args)
}

/// `S` as a member: its own args from the peers, then what `<service> serve` does.
fn member<S: Service>(
    addr_env: &'static str,
    grpc: &'static str,
    settings: fn(&Peers) -> anyhow::Result<Vec<Setting>>,
) -> Member
where
    S::Args: Send,
{
    Member {
        name: S::NAME,
        addr_env,
        grpc,
        settings,
        start: Box::new(move |launch: Launch| {
            Box::pin(async move {
                let args = with_defaults::<S::Args>(&settings(&launch.peers)?)?;
                let pool =
                    steward_kit::db::pool(&DbConfig::with_url(&launch.database_url), S::NAME)?;
                steward_kit::db::migrate(&pool, S::migrator(), S::SCHEMA).await?;
                steward_kit::service::start::<S>(launch.server, &launch.auth, pool, args).await
            })
        }),
    }
}

impl Member {
    /// Migrates, binds and wires the service; it serves once the caller runs the result.
    pub(crate) async fn start(self, launch: Launch) -> anyhow::Result<Application> {
        (self.start)(launch).await
    }

    /// `--processes`: runs `<binaries>/steward-<name> serve`, configured as [`Member::start`]
    /// would be, through its environment. Its own process group, so that a terminal's
    /// Ctrl-C reaches only `steward dev`, which stops the services in order.
    pub(crate) fn spawn(
        &self,
        binaries: &Path,
        launch: &Launch,
        log_filter: &str,
    ) -> anyhow::Result<tokio::process::Child> {
        let binary = binaries.join(format!("steward-{}", self.name));
        anyhow::ensure!(
            binary.is_file(),
            "--processes runs the service binaries next to this steward, and {} is missing: \
             build them with cargo build --release --bins",
            binary.display()
        );
        let mut command = tokio::process::Command::new(&binary);
        command
            .arg("serve")
            .env("DATABASE_URL", &launch.database_url)
            .env("STEWARD_LISTEN_ADDR", launch.server.listen_addr.to_string())
            .env(
                "STEWARD_SHUTDOWN_GRACE",
                humantime::format_duration(launch.server.shutdown_grace).to_string(),
            )
            .env("STEWARD_TOKENS", dev_tokens(&launch.peers.token()))
            .env("STEWARD_LOG_FORMAT", "text")
            .env("RUST_LOG", log_filter)
            .process_group(0)
            .kill_on_drop(true);
        for s in (self.settings)(&launch.peers)? {
            command.env(s.env, s.value);
        }
        command.spawn().map_err(|e| anyhow::anyhow!("run {}: {e}", binary.display()))
    }
}
