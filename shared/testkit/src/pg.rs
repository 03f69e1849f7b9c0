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

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// The local server tried when `DATABASE_URL` is not set.
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Every test database's name starts with this, so leftovers can be found and dropped.
const PREFIX: &str = "steward_test_";
/// Leftover test databases older than this belong to runs that are surely over.
const LEFTOVER_AGE: Duration = Duration::from_secs(2 * 60 * 60);
/// How often a process renews its lease on the private cluster.
const LEASE_RENEWAL: Duration = Duration::from_secs(2);
/// A lease not renewed for this many seconds means no test process uses the cluster.
const LEASE_EXPIRY_SECS: u64 = 20;
/// Settings for speed, not durability: a test cluster is thrown away anyway.
const CLUSTER_CONF: &str = "
# steward-testkit: a throwaway cluster for tests.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 32MB
";
/// What to do when no server can be had.
const HINT: &str = "Tests need PostgreSQL. Either set DATABASE_URL to a server whose role may \
    CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres), or install the \
    PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`) so the tests can \
    start a private cluster themselves.";
/// The reaper: `$1` the cluster directory, `$2` the lock file, `$3` the lease expiry in
/// seconds, the rest the command that stops the server.
const REAPER: &str = r#"trap '' HUP INT
dir=$1 lock=$2 expiry=$3
shift 3
while sleep 5; do
  [ -d "$dir" ] || exit 0
  {
    flock 9
    renewed=$(stat -c %Y "$dir/lease" 2>/dev/null || echo 0)
    if [ $(( $(date +%s) - renewed )) -gt "$expiry" ]; then
      "$@" >/dev/null 2>&1
      rm -rf "$dir"
      exit 0
    fi
  } 9>>"$lock"
done"#;

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

/// The private cluster's place on disk and the means to run its tools.
#[derive(Debug)]
struct Cluster {
    /// `<target>/steward-test-pg`: data, port, lease, log; removed whole by the reaper.
    dir: PathBuf,
    /// Beside `dir`, not in it, so removing `dir` never pulls it from under a waiter.
    lock: PathBuf,
    /// The directory holding `initdb` and `pg_ctl`.
    bin: PathBuf,
    /// Who runs the server when we are root.
    user: Option<User>,
}

/// An unprivileged account, and the command prefix that runs a program as it.
#[derive(Debug)]
struct User {
    name: String,
    uid: u32,
    gid: u32,
    /// `runuser`/`setpriv` take the program as arguments; `su` takes a shell string.
    runner: Vec<String>,
    su: bool,
}

impl Cluster {
    fn locate() -> Result<Self> {
        let target = target_dir()?;
        let bin = postgres_bin()?;
        let user = if running_as_root()? { Some(User::unprivileged()?) } else { None };
        if let Some(user) = &user {
            // The server chdirs into its data directory, so every parent must let it through.
            for parent in target.ancestors() {
                let mode = fs::metadata(parent).context("inspect the target directory")?;
                if mode.permissions().mode() & 0o001 == 0 {
                    bail!(
                        "{} is not traversable by {}; set CARGO_TARGET_DIR elsewhere or DATABASE_URL",
                        parent.display(),
                        user.name
                    );
                }
            }
        }
        let dir = target.join("steward-test-pg");
        Ok(Self { lock: target.join("steward-test-pg.lock"), dir, bin, user })
    }

    /// Returns the port of a running cluster, starting it if need be, with this process
    /// holding a lease and a reaper watching.
    fn ensure_running(&self) -> Result<u16> {
        let lock = File::options().write(true).create(true).truncate(false).open(&self.lock);
        let lock = lock.context("open the cluster lock")?;
        lock.lock().context("take the cluster lock")?;
        fs::create_dir_all(&self.dir).context("create the cluster directory")?;
        if let Some(user) = &self.user {
            std::os::unix::fs::chown(&self.dir, Some(user.uid), Some(user.gid))
                .context("hand the cluster directory to the server's user")?;
        }
        // Leased before the lock is released, so the reaper cannot strike in between.
        let lease = self.dir.join("lease");
        renew(&lease).context("take a lease on the cluster")?;
        static LEASE: Once = Once::new();
        LEASE.call_once(|| {
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(LEASE_RENEWAL);
                    let _ = renew(&lease);
                }
            });
        });
        let port = match self.running_port() {
            Some(port) => port,
            None => self.start()?,
        };
        self.ensure_reaper()?;
        Ok(port)
    }

    /// The recorded port, if our server answers on it.
    fn running_port(&self) -> Option<u16> {
        let port = fs::read_to_string(self.dir.join("port")).ok()?.trim().parse().ok()?;
        self.run("pg_ctl", &["status"]).ok()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
        Some(port)
    }

    /// Starts the existing data directory or, failing that, a freshly initialised one.
    fn start(&self) -> Result<u16> {
        let data = self.dir.join("data");
        if data.join("PG_VERSION").is_file() {
            // A stale cluster: a crashed run's server may linger half-alive.
            let _ = self.run("pg_ctl", &["stop", "-m", "immediate"]);
            match self.start_server() {
                Ok(port) => return Ok(port),
                Err(e) => eprintln!("steward-testkit: re-creating the stale test cluster: {e:#}"),
            }
        }
        if data.exists() {
            fs::remove_dir_all(&data).context("wipe the stale cluster")?;
        }
        self.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
        )
        .context("initialise the cluster")?;
        let conf = File::options().append(true).open(data.join("postgresql.conf"));
        std::io::Write::write_all(
            &mut conf.context("open postgresql.conf")?,
            CLUSTER_CONF.as_bytes(),
        )
        .context("configure the cluster")?;
        self.start_server()
    }

    fn start_server(&self) -> Result<u16> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .context("find a free port")?
            .port();
        let log = self.dir.join("postgres.log");
        let (log, port_arg) = (log.to_string_lossy(), format!("-p {port}"));
        self.run("pg_ctl", &["start", "-w", "-t", "60", "-l", &log, "-o", &port_arg])
            .with_context(|| format!("start the server (its log: {log})"))?;
        fs::write(self.dir.join("port"), port.to_string()).context("record the port")?;
        Ok(port)
    }

    /// Starts the reaper unless the one recorded is still alive.
    fn ensure_reaper(&self) -> Result<()> {
        let pid_file = self.dir.join("reaper.pid");
        let dir = self.dir.to_string_lossy();
        if let Ok(pid) = fs::read_to_string(&pid_file)
            && let Ok(cmdline) = fs::read(format!("/proc/{}/cmdline", pid.trim()))
            && String::from_utf8_lossy(&cmdline).contains(&*dir)
        {
            return Ok(());
        }
        let stop = self.argv("pg_ctl", &["stop", "-m", "fast"]);
        // Its own process group and no inherited pipes, so it outlives the test process and
        // is untouched by signals aimed at the test run's group.
        let reaper = Command::new("sh")
            .args(["-c", REAPER, "steward-test-pg-reaper", &dir])
            .arg(&self.lock)
            .arg(LEASE_EXPIRY_SECS.to_string())
            .args(stop)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("start the cluster reaper")?;
        fs::write(pid_file, reaper.id().to_string()).context("record the reaper")
    }

    /// Runs a Postgres tool on this cluster's data directory, as the server's user.
    fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let argv = self.argv(tool, args);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run {tool}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!("{tool} {} failed ({}): {}", args.join(" "), out.status, stderr.trim());
        }
        Ok(())
    }

    /// `tool -D <data> args...`, wrapped to run as the server's user when we are root.
    fn argv(&self, tool: &str, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.bin.join(tool).to_string_lossy().into_owned(), "-D".to_owned()];
        argv.push(self.dir.join("data").to_string_lossy().into_owned());
        argv.extend(args.iter().map(|arg| (*arg).to_owned()));
        match &self.user {
            None => argv,
            Some(user) if user.su => {
                let line = argv.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" ");
                [user.runner.clone(), vec![line]].concat()
            }
            Some(user) => [user.runner.clone(), argv].concat(),
        }
    }
}

impl User {
    /// `postgres` if it exists, else `nobody`, with the first of runuser, setpriv, su.
    fn unprivileged() -> Result<Self> {
        let passwd = fs::read_to_string("/etc/passwd").context("read /etc/passwd")?;
        let (name, uid, gid) = ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| {
                let fields: Vec<&str> = passwd
                    .lines()
                    .find(|l| l.starts_with(&format!("{name}:")))?
                    .split(':')
                    .collect();
                Some((name.to_owned(), fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
            })
            .context("find an unprivileged user (postgres or nobody) to run the server as root")?;
        let (runner, su) = if let Some(runuser) = find_program("runuser") {
            (vec![runuser, "-u".into(), name.clone(), "--".into()], false)
        } else if let Some(setpriv) = find_program("setpriv") {
            let ids = [format!("--reuid={uid}"), format!("--regid={gid}")];
            (
                [vec![setpriv], ids.to_vec(), vec!["--clear-groups".into(), "--".into()]].concat(),
                false,
            )
        } else if let Some(su) = find_program("su") {
            (vec![su, "-s".into(), "/bin/sh".into(), name.clone(), "-c".into()], true)
        } else {
            bail!("found none of runuser, setpriv, su to run the server as {name}");
        };
        Ok(Self { name, uid, gid, runner, su })
    }
}

/// Renews a lease: its modification time is what the reaper reads.
fn renew(lease: &Path) -> std::io::Result<()> {
    File::options().create(true).append(true).open(lease)?.set_modified(SystemTime::now())
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or the one holding the test executable.
fn target_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir);
    }
    let exe = std::env::current_exe().context("find the test executable")?;
    // Cargo tags its target directory; without the tag, tests live in target/<profile>/deps.
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .or_else(|| exe.ancestors().nth(3))
        .map(Path::to_path_buf)
        .with_context(|| format!("find the target directory above {}", exe.display()))
}

/// The directory holding both `initdb` and `pg_ctl`: on PATH, else the newest Debian install.
fn postgres_bin() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    std::env::split_paths(&path)
        .chain(versions.into_iter().map(|(_, bin)| bin))
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .context("find initdb and pg_ctl (on PATH or in /usr/lib/postgresql/*/bin)")
}

fn find_program(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(sbin)
        .map(|dir| dir.join(name))
        .find(|file| file.is_file())
        .map(|file| file.to_string_lossy().into_owned())
}

/// Whether the effective user is root (read from /proc: no libc, no unsafe).
fn running_as_root() -> Result<bool> {
    let status = fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .context("find the effective uid in /proc/self/status")?;
    Ok(euid == "0")
}

fn sh_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
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

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
    }
}
