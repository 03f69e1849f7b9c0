//! The playbook service: versioned playbook definitions (triggers, audience, cooldown,
//! steps), trigger evaluation against an account's signals, runs whose steps move in order,
//! and the lease protocol through which workflow orchestrators perform automated steps.
//!
//! It follows the account, support and health feeds, evaluates the enabled playbooks for
//! each account they touch (bursts coalesced) and starts the firing ones; an hourly sweep
//! catches time-based conditions. Runs and steps change under row locks, each change
//! appended to the run change feed in the same transaction.

pub mod api;
pub mod domain;
pub mod evaluator;
pub mod facts;
pub mod runner;
pub mod store;

use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use sqlx::PgPool;
use steward_kit::Application;
use steward_kit::client::Peer;
use steward_kit::feed::consumer;
use steward_kit::feed::{Feed, FeedConfig};
use steward_proto::account::v1::{
    WatchAccountChangesRequest, account_service_client::AccountServiceClient,
};
use steward_proto::health::v1::{
    WatchHealthChangesRequest, health_scoring_service_client::HealthScoringServiceClient,
};
use steward_proto::playbook::v1::playbook_service_server::PlaybookServiceServer;
use steward_proto::ticket::v1::{
    WatchSupportChangesRequest, ticket_ingest_service_client::TicketIngestServiceClient,
};

/// The playbook service, as the kit runs it.
#[derive(Debug)]
pub struct PlaybookService;

/// The playbook service's own options: its peers and its pace.
#[derive(Debug, Clone, clap::Args)]
pub struct PlaybookArgs {
    /// The account service, e.g. http://account:50051 (accounts, and its change feed).
    #[arg(long, env = "STEWARD_ACCOUNT_ADDR")]
    pub account_addr: String,

    /// The ticket-ingest service, e.g. http://ticket-ingest:50051 (support summaries, and
    /// its change feed).
    #[arg(long, env = "STEWARD_TICKET_ADDR")]
    pub ticket_addr: String,

    /// The health-scoring service, e.g. http://health-scoring:50051 (scores, history, and
    /// its change feed).
    #[arg(long, env = "STEWARD_HEALTH_ADDR")]
    pub health_addr: String,

    /// The token this service presents to its peers (scope `read`).
    #[arg(long, env = "STEWARD_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: SecretString,

    /// How long changes to one account gather before its playbooks are evaluated once for
    /// all of them.
    #[arg(long, env = "STEWARD_EVALUATE_DELAY", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub evaluate_delay: Duration,

    /// Every known account is evaluated at least this often (rolling windows slide,
    /// renewals come closer), spread over the interval.
    #[arg(long, env = "STEWARD_SWEEP_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub sweep_interval: Duration,

    /// How often due WAIT steps are ended and expired last attempts failed.
    #[arg(long, env = "STEWARD_CLOCK_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub clock_interval: Duration,
}

/// How long one call for facts may take.
const FACTS_TIMEOUT: Duration = Duration::from_secs(10);
/// A watch of a peer's feed is re-opened this often (its deadline), as a keep-fresh.
const WATCH_TIMEOUT: Duration = Duration::from_secs(3600);
/// Run changes are kept this long (the API's documented retention).
const FEED_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl steward_kit::service::Service for PlaybookService {
    const NAME: &'static str = "playbook";
    const SCHEMA: &'static str = store::SCHEMA;
    type Args = PlaybookArgs;

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn build(
        app: Application,
        pool: PgPool,
        args: PlaybookArgs,
    ) -> anyhow::Result<Application> {
        let account = Peer::new(&args.account_addr, &args.service_token)?;
        let ticket = Peer::new(&args.ticket_addr, &args.service_token)?;
        let health = Peer::new(&args.health_addr, &args.service_token)?;
        let feed_config = FeedConfig { retention: FEED_RETENTION, ..FeedConfig::default() };
        let feed = Feed::start(pool.clone(), store::SCHEMA, feed_config);
        let store = store::Store::new(pool.clone(), feed, args.evaluate_delay);
        store.seed_default_playbooks(Utc::now()).await?;
        let sources = facts::Sources::new(
            store.clone(),
            AccountServiceClient::new(account.calls(FACTS_TIMEOUT)?),
            TicketIngestServiceClient::new(ticket.calls(FACTS_TIMEOUT)?),
            HealthScoringServiceClient::new(health.calls(FACTS_TIMEOUT)?),
        );
        let runner = runner::Runner::new(store.clone(), sources);
        let evaluator = evaluator::Evaluator::new(store.clone(), runner.clone());

        let accounts = AccountServiceClient::new(account.calls(WATCH_TIMEOUT)?);
        let follow_accounts = consumer::follow(
            pool.clone(),
            store::ACCOUNT_CONSUMER,
            store::SCHEMA,
            store::AccountFeedHandler::new(&store),
            move |after_cursor| {
                let mut accounts = accounts.clone();
                async move {
                    let request = WatchAccountChangesRequest { after_cursor };
                    Ok(accounts.watch_account_changes(request).await?.into_inner())
                }
            },
        );
        let tickets = TicketIngestServiceClient::new(ticket.calls(WATCH_TIMEOUT)?);
        let follow_support = consumer::follow(
            pool.clone(),
            store::SUPPORT_CONSUMER,
            store::SCHEMA,
            store::SupportFeedHandler::new(&store),
            move |after_cursor| {
                let mut tickets = tickets.clone();
                async move {
                    let request = WatchSupportChangesRequest { after_cursor };
                    Ok(tickets.watch_support_changes(request).await?.into_inner())
                }
            },
        );
        let health = HealthScoringServiceClient::new(health.calls(WATCH_TIMEOUT)?);
        let follow_health = consumer::follow(
            pool,
            store::HEALTH_CONSUMER,
            store::SCHEMA,
            store::HealthFeedHandler::new(&store),
            move |after_cursor| {
                let mut health = health.clone();
                async move {
                    let request = WatchHealthChangesRequest { after_cursor };
                    Ok(health.watch_health_changes(request).await?.into_inner())
                }
            },
        );
        let api = api::Api::new(store, runner.clone(), evaluator.clone());
        Ok(app
            .with_service(PlaybookServiceServer::new(api), api::SCOPES)
            .with_task(follow_accounts)
            .with_task(follow_support)
            .with_task(follow_health)
            .with_task(evaluator.clone().work_queue())
            .with_task(evaluator.sweep(args.sweep_interval))
            .with_task(runner.clock(args.clock_interval)))
    }
}
