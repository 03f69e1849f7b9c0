//! The account service: the leaf of Steward's dependency graph. It calls nobody; everybody
//! resolves tickets and reads accounts, contracts and revenue through it.

pub mod api;
pub mod domain;
pub mod store;

use sqlx::PgPool;
use steward_kit::Application;
use steward_kit::feed::{Feed, FeedConfig};
use steward_proto::account::v1::account_service_server::AccountServiceServer;

/// The account service, as the kit runs it.
#[derive(Debug)]
pub struct AccountService;

/// The account service's own options (none yet: it calls no other service).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AccountArgs {}

impl steward_kit::service::Service for AccountService {
    const NAME: &'static str = "account";
    const SCHEMA: &'static str = store::SCHEMA;
    type Args = AccountArgs;

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!()
    }

    async fn build(
        app: Application,
        pool: PgPool,
        _args: AccountArgs,
    ) -> anyhow::Result<Application> {
        let feed = Feed::start(pool.clone(), store::SCHEMA, FeedConfig::default());
        let api = api::Api::new(store::Store::new(pool, feed));
        Ok(app.with_service(AccountServiceServer::new(api), api::SCOPES))
    }
}
