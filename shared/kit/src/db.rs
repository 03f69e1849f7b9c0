//! The service's Postgres: a bounded pool, and migrations kept inside the service's schema.

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};

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

/// The kit's own tables (feed, cursors, coalescing queue), created in each service's schema.
static KIT_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Creates `schema` and applies the kit's and then the service's pending migrations. Each
/// history is recorded inside the schema, so that services never share migration state.
/// Safe to run from several replicas at once: sqlx serialises runs with an advisory lock.
pub async fn migrate(
    pool: &PgPool,
    mut migrator: Migrator,
    schema: &'static str,
) -> anyhow::Result<()> {
    let context = |what: &str, e: &dyn std::fmt::Display| {
        anyhow::anyhow!("migrating schema `{schema}` ({what}): {e}")
    };
    let mut conn = pool.acquire().await.map_err(|e| context("connect", &e))?;
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
        .execute(&mut *conn)
        .await
        .map_err(|e| context("create schema", &e))?;
    // The kit's migrations use unqualified names: run them with the schema first in the path.
    sqlx::query(AssertSqlSafe(format!("SET search_path TO {schema}")))
        .execute(&mut *conn)
        .await
        .map_err(|e| context("search_path", &e))?;
    let mut kit = Migrator::with_migrations(KIT_MIGRATIONS.iter().cloned().collect());
    kit.dangerous_set_table_name(format!("{schema}._kit_migrations"));
    let kit_result = kit.run(&mut *conn).await;
    let _ = sqlx::query("RESET search_path").execute(&mut *conn).await;
    kit_result.map_err(|e| context("kit tables", &e))?;

    migrator.create_schema(schema);
    migrator.dangerous_set_table_name(format!("{schema}._sqlx_migrations"));
    migrator.run(&mut *conn).await.map_err(|e| context("service tables", &e))
}
