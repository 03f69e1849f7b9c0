//! The ticket-ingest service: normalized tickets pushed by support-platform adapters, their
//! lifecycle history, account linking, SLA policies, support summaries and KPIs, and the
//! support change feed. It calls the account service (resolution, and its change feed);
//! health-scoring and playbook call it.

pub mod api;
pub mod domain;
pub mod linker;
pub mod store;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sqlx::PgPool;
use steward_kit::Application;
use steward_kit::client::Peer;
use steward_kit::feed::consumer;
use steward_kit::feed::{Feed, FeedConfig};
use steward_proto::account::v1::{
    WatchAccountChangesRequest, account_service_client::AccountServiceClient,
};
use steward_proto::ticket::v1::ticket_ingest_service_server::TicketIngestServiceServer;

/// The ticket-ingest service, as the kit runs it.
#[derive(Debug)]
pub struct TicketIngestService;

/// The ticket-ingest service's own options: where the account service is.
#[derive(Debug, Clone, clap::Args)]
pub struct TicketIngestArgs {
    /// The account service, e.g. http://account:50051 (a headless Service's DNS name spreads
    /// calls over its replicas).
    #[arg(long, env = "STEWARD_ACCOUNT_ADDR")]
    pub account_addr: String,

    /// The token this service presents to the account service (scope `read`).
    #[arg(long, env = "STEWARD_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: SecretString,

    /// Most account resolutions kept in the link cache.
    #[arg(long, env = "STEWARD_LINK_CACHE_SIZE", default_value = "100000")]
    pub link_cache_size: NonZeroUsize,
}

/// How long one resolution call to the account service may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// A watch of the account feed is re-opened this often (its deadline), as a keep-fresh.
const WATCH_TIMEOUT: Duration = Duration::from_secs(3600);

impl steward_kit::service::Service for TicketIngestService {
    const NAME: &'static str = "ticket-ingest";
    const SCHEMA: &'static str = store::SCHEMA;
    type Args = TicketIngestArgs;

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn build(
        app: Application,
        pool: PgPool,
        args: TicketIngestArgs,
    ) -> anyhow::Result<Application> {
        let account = Peer::new(&args.account_addr, &args.service_token)?;
        let linker =
            Arc::new(linker::Linker::new(account.calls(RESOLVE_TIMEOUT)?, args.link_cache_size));
        let feed = Feed::start(pool.clone(), store::SCHEMA, FeedConfig::default());
        let store = store::Store::new(pool.clone(), feed, linker);

        let accounts = AccountServiceClient::new(account.calls(WATCH_TIMEOUT)?);
        let follow_accounts = consumer::follow(
            pool,
            "ticket.account-feed",
            store::SCHEMA,
            store::AccountFeedHandler::new(store.clone()),
            move |after_cursor| {
                let mut accounts = accounts.clone();
                async move {
                    let request = WatchAccountChangesRequest { after_cursor };
                    Ok(accounts.watch_account_changes(request).await?.into_inner())
                }
            },
        );
        let api = api::Api::new(store);
        Ok(app
            .with_service(TicketIngestServiceServer::new(api), api::SCOPES)
            .with_task(follow_accounts))
    }
}
