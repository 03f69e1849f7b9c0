//! The service's Postgres: a bounded pool, and migrations kept inside the service's schema.

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DbConfig;

/// A lazily connecting pool: the server starts (and reports NOT_SERVING) even while the
/// database is down, and recovers by itself when it comes back.
pub fn pool(config: &DbConfig, application_name: &str) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(config.url.expose_secret())
        .map_err(|e| anyhow::anyhow!("--database-url/DATABASE_URL: {e}"))?
        .application_name(application_name)
        .options([("statement_timeout", config.statement_timeout.as_millis().to_string())]);
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options))
}

/// Applies `migrator`'s pending migrations, recording them in `<schema>._sqlx_migrations` so
/// that each service's history stays inside its own schema. Safe to run from several
/// replicas at once: sqlx serialises them with an advisory lock.
pub async fn migrate(
    pool: &PgPool,
    mut migrator: Migrator,
    schema: &'static str,
) -> anyhow::Result<()> {
    migrator.create_schema(schema);
    migrator.dangerous_set_table_name(format!("{schema}._sqlx_migrations"));
    migrator.run(pool).await.map_err(|e| anyhow::anyhow!("migrating schema `{schema}`: {e}"))
}
