//! The database `steward dev` runs the suite against: DATABASE_URL when given, else a private
//! cluster kept in the data directory (`<data-dir>/pg`), started by this run with the
//! machine's `initdb`/`pg_ctl` and stopped again when the run ends. Its data survives runs.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use steward_pgcluster::{Cluster, StopMode};

/// The database the services share (each keeps to its own schema) in the private cluster.
const DATABASE: &str = "steward";
/// Durable (unlike the test clusters), with room for four services' pools.
const DEV_CONF: &str = "
# steward dev: the local suite's cluster.
max_connections = 200
";
/// How long connecting may take before we say the server is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database, and the cluster if this run started it.
#[derive(Debug)]
pub(crate) struct Database {
    /// For the services' pools.
    pub(crate) url: String,
    /// For people: where it is.
    pub(crate) description: String,
    /// Stopped at the end of the run; `None` for DATABASE_URL or a cluster already running.
    started: Option<Cluster>,
}

impl Database {
    /// DATABASE_URL as given, after checking it answers.
    pub(crate) async fn external(url: String) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(&url).context("DATABASE_URL")?;
        let description = format!(
            "DATABASE_URL ({}:{}/{})",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("-")
        );
        connect(&url).await.with_context(|| format!("{description}: connect"))?;
        Ok(Self { url, description, started: None })
    }

    /// The private cluster in `dir`: reused when it runs already, else started (and created
    /// the first time).
    pub(crate) async fn private(dir: &Path) -> anyhow::Result<Self> {
        let cluster = Cluster::new(dir)?;
        let (cluster, port, started) = tokio::task::spawn_blocking(move || start(cluster))
            .await
            .context("join the cluster start")??;
        let url = steward_pgcluster::url(port, DATABASE);
        let description = format!(
            "private cluster in {} ({url}, log {})",
            cluster.dir().display(),
            cluster.log_file().display()
        );
        let database = Self { url, description, started: started.then_some(cluster) };
        // Stop what we started, even when the database cannot be created.
        if let Err(e) = create_database(port).await {
            database.stop().await;
            return Err(e);
        }
        Ok(database)
    }

    /// Stops the cluster if this run started it; reports rather than fails (it is the last
    /// step of a shutdown).
    pub(crate) async fn stop(self) {
        let Some(cluster) = self.started else { return };
        let stopped = tokio::task::spawn_blocking(move || cluster.stop(StopMode::Fast)).await;
        match stopped {
            Ok(Ok(())) => tracing::info!("postgres stopped"),
            Ok(Err(e)) => eprintln!("steward dev: stopping postgres: {e:#}"),
            Err(e) => eprintln!("steward dev: stopping postgres: {e}"),
        }
    }
}

/// Blocking: the port, and whether this call started the server.
fn start(cluster: Cluster) -> anyhow::Result<(Cluster, u16, bool)> {
    cluster.prepare()?;
    if let Some(port) = cluster.running_port() {
        return Ok((cluster, port, false));
    }
    if cluster.is_initialized() {
        // A server a killed run left behind may still run without answering on its recorded
        // port; an orderly stop keeps its data.
        let _ = cluster.stop(StopMode::Fast);
    } else {
        cluster.init(DEV_CONF)?;
    }
    let port = cluster.start().with_context(|| {
        format!(
            "the private cluster in {} did not start; its log says why. `steward dev --reset` \
             wipes it and starts afresh",
            cluster.dir().display()
        )
    })?;
    Ok((cluster, port, true))
}

async fn create_database(port: u16) -> anyhow::Result<()> {
    let mut conn = connect(&steward_pgcluster::url(port, "postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut conn)
            .await
            .context("look for the steward database")?;
    if !exists {
        sqlx::raw_sql("create database steward")
            .execute(&mut conn)
            .await
            .context("create the steward database")?;
    }
    conn.close().await.context("close the admin connection")
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {CONNECT_TIMEOUT:?}"))?
        .context("connect to postgres")
}
