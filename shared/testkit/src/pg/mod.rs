//! A real Postgres for tests: [`TestDb::new`] creates a fresh, empty database for one test and
//! drops it when the value is dropped. No in-memory stand-ins.
//!
//! Where the server comes from, decided once per process:
//! 1. `DATABASE_URL`, when set: test databases are created on that server.
//! 2. A local server at `postgres://postgres@127.0.0.1:5432/postgres` (2 s connect timeout)
//!    whose role may create databases.
//! 3. A private throwaway cluster, started with the machine's `initdb` and `pg_ctl` (from
//!    `PATH`, else `/usr/lib/postgresql/*/bin`, newest first) in `<target>/steward-test-pg/`:
//!    loopback only, a free port, trust auth, durability off. As root it runs as `postgres`
//!    (else `nobody`), because initdb refuses root.
//!
//! `STEWARD_TEST_PG=private` forces the private cluster; `STEWARD_TEST_PG=local` requires 2.
//!
//! The private cluster is shared by all test processes of a run (cargo's test binaries run one
//! after another, nextest's process per test in parallel). `<target>/steward-test-pg.lock` is
//! held while starting; `port` says where the cluster listens. A process that finds it running
//! reuses it; a stale one (after a crash) is restarted, or wiped and re-created.
//!
//! Cleanup: every process using the cluster renews `lease` every 2 s from a background thread.
//! A detached reaper (a `sh` loop in its own process group, started with the cluster) takes
//! the lock every 5 s and, once the lease is older than 20 s — no test process is left — runs
//! `pg_ctl stop -m fast` and removes `steward-test-pg/`.
//!
//! Databases are named `steward_test_<unix secs>_<id>`, so each process can drop, at first use,
//! those older than two hours that killed runs left behind on a shared server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

mod cluster;

use cluster::Cluster;

/// The local server tried when `DATABASE_URL` is not set.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Every test database's name starts with this, so leftovers can be found and dropped.
const PREFIX: &str = "steward_test_";
/// Leftover test databases older than this belong to runs that are surely over.
const LEFTOVER_AGE: Duration = Duration::from_secs(2 * 60 * 60);
/// What to do when no server can be had.
const HINT: &str = "Tests need PostgreSQL. Either set DATABASE_URL to a server whose role may \
    CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres), or install the \
    PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`) so the tests can \
    start a private cluster themselves.";
/// A fresh, empty database for one test, dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// `steward_test_<unix secs>_<id>`: unique, and dated so leftovers can be swept.
    name: String,
    /// The database's own URL, as a service's configuration takes it.
    url: String,
    /// The server's maintenance URL, to drop the database from outside it.
    admin: String,
}

impl TestDb {
    /// Creates a fresh database on the test server and returns it. Panics, saying what to
    /// install or set, if no Postgres can be had.
    pub async fn new() -> TestDb {
        let admin = server_url().await;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{PREFIX}{}_{}", unix_now(), &id[..12]);
        let created = async {
            let mut conn = connect(&admin, Duration::from_secs(10)).await?;
            let sql = format!(r#"CREATE DATABASE "{name}""#);
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await.context("create it")?;
            conn.close().await.context("close the admin connection")
        };
        if let Err(e) = created.await {
            panic!("could not create the test database {name}: {e:#}");
        }
        let url = with_database(&admin, &name);
        TestDb { name, url, admin }
    }

    /// The `postgres://` URL of this database, for a service's configuration.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A small pool connected to this database. Panics if it cannot connect.
    pub async fn pool(&self) -> PgPool {
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&self.url)
            .await;
        pool.unwrap_or_else(|e| panic!("could not connect to the test database {}: {e}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop is sync and may run inside a test's runtime, so the async work gets its own
        // thread and runtime. Every step is time-bounded, so the join is too.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("build a runtime")?;
            runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(30), drop_database(&admin, &name))
                    .await
                    .map_err(|_| anyhow!("timed out"))?
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("steward-testkit: could not drop {}: {e:#}", self.name),
            Err(_) => eprintln!("steward-testkit: dropping {} panicked", self.name),
        }
    }
}

/// The test server's maintenance URL (its `postgres` database, or `DATABASE_URL` as given):
/// connect there to create or inspect databases. Panics, saying what to do, if there is none.
pub async fn server_url() -> String {
    // The outcome, failure included, is kept: every test fails fast with the same message
    // instead of each retrying a cluster start.
    static SERVER: OnceCell<Result<String, String>> = OnceCell::const_new();
    let found = SERVER
        .get_or_init(|| async {
            let url = discover().await.map_err(|e| format!("{e:#}"))?;
            if let Err(e) = drop_leftovers(&url).await {
                eprintln!("steward-testkit: could not drop old test databases: {e:#}");
            }
            Ok(url)
        })
        .await;
    match found {
        Ok(url) => url.clone(),
        Err(why) => panic!("no Postgres server for tests: {why}\n{HINT}"),
    }
}

/// Starts (or joins) the private cluster under the target directory and returns its
/// maintenance URL, whatever `DATABASE_URL` and `STEWARD_TEST_PG` say. Once per process.
pub async fn private_cluster_url() -> Result<String> {
    static PRIVATE: OnceCell<String> = OnceCell::const_new();
    let url = PRIVATE
        .get_or_try_init(|| async {
            let cluster = Cluster::locate()?;
            let port = tokio::task::spawn_blocking(move || cluster.ensure_running())
                .await
                .context("join the cluster start")??;
            let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
            let mut conn = connect(&url, Duration::from_secs(10)).await?;
            sqlx::raw_sql("select 1").execute(&mut conn).await.context("query the cluster")?;
            anyhow::Ok(url)
        })
        .await?;
    Ok(url.clone())
}

/// Picks the server, in the order the module header gives.
async fn discover() -> Result<String> {
    match std::env::var("STEWARD_TEST_PG").unwrap_or_default().as_str() {
        "private" => return private_cluster_url().await.context("STEWARD_TEST_PG=private"),
        "local" => return local_server().await.context("STEWARD_TEST_PG=local"),
        "" => {}
        other => bail!("STEWARD_TEST_PG={other:?}: expected `private`, `local` or nothing"),
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        connect(&url, Duration::from_secs(10)).await.context("DATABASE_URL")?;
        return Ok(url);
    }
    let local = match local_server().await {
        Ok(url) => return Ok(url),
        Err(e) => e,
    };
    let private = match private_cluster_url().await {
        Ok(url) => return Ok(url),
        Err(e) => e,
    };
    bail!("\n- local server {LOCAL_URL}: {local:#}\n- private cluster: {private:#}")
}

/// The local server, if it answers quickly and its role may create databases.
async fn local_server() -> Result<String> {
    let mut conn = connect(LOCAL_URL, Duration::from_secs(2)).await?;
    let allowed: bool = sqlx::query_scalar(
        "select rolcreatedb or rolsuper from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await
    .context("read the role's privileges")?;
    if !allowed {
        bail!("its role may not CREATE DATABASE");
    }
    Ok(LOCAL_URL.to_owned())
}

/// Connects within `limit`: an unreachable host must not stall discovery.
async fn connect(url: &str, limit: Duration) -> Result<PgConnection> {
    tokio::time::timeout(limit, PgConnection::connect(url))
        .await
        .map_err(|_| anyhow!("connecting timed out after {limit:?}"))?
        .context("connect to the server")
}

async fn drop_database(admin: &str, name: &str) -> Result<()> {
    let mut conn = connect(admin, Duration::from_secs(10)).await?;
    // FORCE ends connections a test's pool still holds.
    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await.context("drop the database")?;
    conn.close().await.context("close the admin connection")
}

/// Drops test databases older than [`LEFTOVER_AGE`], left by runs that were killed.
async fn drop_leftovers(admin: &str) -> Result<()> {
    let mut conn = connect(admin, Duration::from_secs(10)).await?;
    let names: Vec<String> = sqlx::query_scalar("select datname from pg_database")
        .fetch_all(&mut conn)
        .await
        .context("list databases")?;
    let cutoff = unix_now().saturating_sub(LEFTOVER_AGE.as_secs());
    for name in names {
        let created = name.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_'));
        if let Some(secs) = created.and_then(|(secs, _)| secs.parse::<u64>().ok())
            && secs < cutoff
        {
            drop_database(admin, &name).await?;
        }
    }
    Ok(())
}

/// `url` with its database replaced by `name`, keeping any `?parameters`.
fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let path = url[authority..].find(['/', '?']).map_or(url.len(), |i| authority + i);
    let query = url[path..].find('?').map_or("", |i| &url[path + i..]);
    format!("{}/{name}{query}", &url[..path])
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_part_of_a_url_is_replaced() {
        let cases = [
            ("postgres://u:p@h:5432/app", "postgres://u:p@h:5432/t"),
            ("postgres://u@h:5432", "postgres://u@h:5432/t"),
            ("postgres://h/app?sslmode=disable", "postgres://h/t?sslmode=disable"),
            ("postgres://h?sslmode=disable", "postgres://h/t?sslmode=disable"),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "t"), want, "{url}");
        }
    }
}
