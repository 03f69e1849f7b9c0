//! The health-scoring service: one live, explainable health score per account, computed by
//! versioned scorecards from support signals (ticket-ingest), account facts (account) and
//! custom measurements. It follows the account and support feeds, re-scores the accounts
//! they touch (bursts coalesced), sweeps periodically so windows slide, and publishes the
//! health feed; playbook follows that.

pub mod api;
pub mod domain;
pub mod operations;
pub mod scorer;
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
use steward_proto::health::v1::health_scoring_service_server::HealthScoringServiceServer;
use steward_proto::ticket::v1::{
    WatchSupportChangesRequest, ticket_ingest_service_client::TicketIngestServiceClient,
};

/// The health-scoring service, as the kit runs it.
#[derive(Debug)]
pub struct HealthScoringService;

/// The health-scoring service's own options: its peers and its pace.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthScoringArgs {
    /// The account service, e.g. http://account:50051 (its change feed, and account checks).
    #[arg(long, env = "STEWARD_ACCOUNT_ADDR")]
    pub account_addr: String,

    /// The ticket-ingest service, e.g. http://ticket-ingest:50051 (support summaries, and its
    /// change feed).
    #[arg(long, env = "STEWARD_TICKET_ADDR")]
    pub ticket_addr: String,

    /// The token this service presents to its peers (scope `read`).
    #[arg(long, env = "STEWARD_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: SecretString,

    /// How long changes to one account gather before it is re-scored once for all of them.
    #[arg(long, env = "STEWARD_RESCORE_DELAY", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub rescore_delay: Duration,

    /// Every account is re-scored at least this often (rolling windows slide, data ages,
    /// renewals come closer), spread evenly over the interval.
    #[arg(long, env = "STEWARD_SWEEP_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub sweep_interval: Duration,
}

/// How long one support-summary call may take.
const SUMMARY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one account check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// A watch of a peer's feed is re-opened this often (its deadline), as a keep-fresh.
const WATCH_TIMEOUT: Duration = Duration::from_secs(3600);

impl steward_kit::service::Service for HealthScoringService {
    const NAME: &'static str = "health-scoring";
    const SCHEMA: &'static str = store::SCHEMA;
    type Args = HealthScoringArgs;

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn build(
        app: Application,
        pool: PgPool,
        args: HealthScoringArgs,
    ) -> anyhow::Result<Application> {
        let account = Peer::new(&args.account_addr, &args.service_token)?;
        let ticket = Peer::new(&args.ticket_addr, &args.service_token)?;
        let feed = Feed::start(pool.clone(), store::SCHEMA, FeedConfig::default());
        let store = store::Store::new(pool.clone(), feed, args.rescore_delay);
        store.seed_default_scorecard(Utc::now()).await?;
        let scorer = scorer::Scorer::new(
            store.clone(),
            TicketIngestServiceClient::new(ticket.calls(SUMMARY_TIMEOUT)?),
        );

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
            pool,
            "health.support-feed",
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
        let account_checks = AccountServiceClient::new(account.calls(CHECK_TIMEOUT)?);
        let api = api::Api::new(store.clone(), scorer.clone(), account_checks);
        Ok(app
            .with_service(HealthScoringServiceServer::new(api), api::SCOPES)
            .with_task(follow_accounts)
            .with_task(follow_support)
            .with_task(scorer.clone().work_queue())
            .with_task(scorer.clone().sweep(args.sweep_interval))
            .with_task(operations::run(store, scorer)))
    }
}
