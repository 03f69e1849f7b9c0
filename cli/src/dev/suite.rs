//! The services `steward dev` runs, in dependency order (account ← ticket-ingest ←
//! health-scoring ← playbook): each is the real service, migrated and built by its own
//! `Service::build` exactly as its binary's `serve` does, on its own port. A service may be
//! wired only to services listed before it, so the list is also the start order.

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;

use secrecy::{ExposeSecret, SecretString};
use steward_account::{AccountArgs, AccountService};
use steward_health_scoring::{HealthScoringArgs, HealthScoringService};
use steward_kit::Application;
use steward_kit::config::{AuthConfig, DbConfig, ServerConfig};
use steward_kit::service::Service;
use steward_playbook::{PlaybookArgs, PlaybookService};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

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
    start: Start,
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

/// The suite, in dependency order.
pub(crate) fn members() -> Vec<Member> {
    vec![
        member::<AccountService>("STEWARD_ACCOUNT_ADDR", |_| Ok(AccountArgs::default())),
        member::<TicketIngestService>("STEWARD_TICKET_ADDR", |peers| {
            Ok(TicketIngestArgs {
                account_addr: peers.url(AccountService::NAME)?,
                service_token: peers.token(),
                link_cache_size: NonZeroUsize::new(100_000).unwrap_or(NonZeroUsize::MIN),
            })
        }),
        member::<HealthScoringService>("STEWARD_HEALTH_ADDR", |peers| {
            // Its pacing keeps the service's own defaults (and STEWARD_RESCORE_DELAY /
            // STEWARD_SWEEP_INTERVAL from the environment), as its binary would.
            with_defaults::<HealthScoringArgs>(&[
                ("--account-addr", peers.url(AccountService::NAME)?),
                ("--ticket-addr", peers.url(TicketIngestService::NAME)?),
                ("--service-token", peers.token().expose_secret().to_owned()),
            ])
        }),
        member::<PlaybookService>("STEWARD_PLAYBOOK_ADDR", |peers| {
            with_defaults::<PlaybookArgs>(&[
                ("--account-addr", peers.url(AccountService::NAME)?),
                ("--ticket-addr", peers.url(TicketIngestService::NAME)?),
                ("--health-addr", peers.url(HealthScoringService::NAME)?),
                ("--service-token", peers.token().expose_secret().to_owned()),
            ])
        }),
    ]
}

/// A service's options as its binary parses them: `given`, then the environment, then the
/// defaults its `--help` documents.
fn with_defaults<A: clap::Args>(given: &[(&str, String)]) -> anyhow::Result<A> {
    #[derive(clap::Parser)]
    struct Options<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    let argv = std::iter::once("steward".to_owned())
        .chain(given.iter().flat_map(|(flag, value)| [(*flag).to_owned(), value.clone()]));
    Ok(<Options<A> as clap::Parser>::try_parse_from(argv)?.args)
}

/// `S` as a member: its own args from the peers, then what `<service> serve` does.
fn member<S: Service>(addr_env: &'static str, args: fn(&Peers) -> anyhow::Result<S::Args>) -> Member
where
    S::Args: Send,
{
    Member {
        name: S::NAME,
        addr_env,
        start: Box::new(move |launch: Launch| {
            Box::pin(async move {
                let args = args(&launch.peers)?;
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
}
