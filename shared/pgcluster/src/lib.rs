//! A private Postgres cluster kept in one directory, run with the machine's own `initdb` and
//! `pg_ctl`: what the test kit starts when no server is configured, and what `steward dev`
//! runs the suite against.
//!
//! The directory holds `data/` (the cluster), `postgres.log` and `port` (where it listens
//! now). The server listens on 127.0.0.1 only, on a free port picked at each start, with no
//! Unix socket (so no shared `/var/run/postgresql` is needed) and trust authentication for
//! the `postgres` superuser: it is reachable from this machine only, for development.
//!
//! `initdb` refuses to run as root, so as root every tool runs as an unprivileged account
//! (`postgres`, else `nobody`) through `runuser`, `setpriv` or `su`, and the directory is
//! handed to that account.
//!
//! Policy is left to the caller: the test kit wipes a cluster that will not start, while
//! `steward dev` keeps the developer's data and says what went wrong.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

mod user;

use user::User;
pub use user::running_as_root;

/// The settings every private cluster gets, before the caller's own.
const BASE_CONF: &str = "
# steward-pgcluster: a private cluster, reachable from this machine only.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
";

/// How `pg_ctl stop` ends the server's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Roll back open transactions, disconnect clients, shut down cleanly.
    Fast,
    /// Quit at once; the next start recovers from the WAL (for a server left half-alive).
    Immediate,
}

/// A cluster's place on disk and the means to run its tools.
#[derive(Debug)]
pub struct Cluster {
    /// Absolute: the tools run with this as their working directory.
    dir: PathBuf,
    /// The directory holding `initdb` and `pg_ctl`.
    bin: PathBuf,
    /// Who runs the tools and the server when we are root.
    user: Option<User>,
}

impl Cluster {
    /// A cluster kept in `dir` (created by [`Cluster::prepare`]). Finds the Postgres tools
    /// and, as root, the account to run them as; fails saying what to install if it cannot.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = std::path::absolute(dir.as_ref())
            .with_context(|| format!("make {} absolute", dir.as_ref().display()))?;
        let bin = postgres_bin()?;
        let user = if running_as_root()? { Some(User::unprivileged()?) } else { None };
        Ok(Self { dir, bin, user })
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log: the first place to look when it does not start.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The unprivileged account the server runs as, when we are root.
    pub fn server_user(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// Creates the directory, hands it to the server's account, and checks that account can
    /// reach it (the server chdirs into its data directory, so every parent must let it
    /// through).
    pub fn prepare(&self) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("create the cluster directory {}", self.dir.display()))?;
        let Some(user) = &self.user else { return Ok(()) };
        std::os::unix::fs::chown(&self.dir, Some(user.uid), Some(user.gid))
            .context("hand the cluster directory to the server's user")?;
        for parent in self.dir.ancestors().skip(1) {
            let mode = fs::metadata(parent)
                .with_context(|| format!("inspect {}", parent.display()))?
                .permissions()
                .mode();
            if mode & 0o001 == 0 {
                bail!(
                    "{} is not traversable by {}, who runs the server (initdb refuses root): \
                     put the cluster elsewhere or use an existing server (DATABASE_URL)",
                    parent.display(),
                    user.name
                );
            }
        }
        Ok(())
    }

    /// Whether `initdb` has completed here.
    pub fn is_initialized(&self) -> bool {
        self.dir.join("data/PG_VERSION").is_file()
    }

    /// Initialises the cluster (removing a half-initialised `data/` first), with the base
    /// settings followed by `conf`, lines of `postgresql.conf`.
    pub fn init(&self, conf: &str) -> Result<()> {
        let data = self.dir.join("data");
        if data.exists() {
            fs::remove_dir_all(&data).context("remove a half-initialised cluster")?;
        }
        self.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
        )
        .context("initialise the cluster")?;
        let mut file = File::options()
            .append(true)
            .open(data.join("postgresql.conf"))
            .context("open postgresql.conf")?;
        std::io::Write::write_all(&mut file, format!("{BASE_CONF}{conf}").as_bytes())
            .context("configure the cluster")
    }

    /// Starts the server on a free loopback port, waits until it accepts connections (60 s
    /// at most), records the port and returns it.
    pub fn start(&self) -> Result<u16> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .context("find a free port")?
            .port();
        let log = self.log_file();
        let (log, port_arg) = (log.to_string_lossy(), format!("-p {port}"));
        self.run("pg_ctl", &["start", "-w", "-t", "60", "-l", &log, "-o", &port_arg])
            .with_context(|| format!("start the server (its log: {log})"))?;
        fs::write(self.dir.join("port"), port.to_string()).context("record the port")?;
        Ok(port)
    }

    /// The recorded port, if this cluster's server is running and answers on it.
    pub fn running_port(&self) -> Option<u16> {
        let port = fs::read_to_string(self.dir.join("port")).ok()?.trim().parse().ok()?;
        self.run("pg_ctl", &["status"]).ok()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
        Some(port)
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&self, mode: StopMode) -> Result<()> {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        self.run("pg_ctl", &["stop", "-m", mode])
    }

    /// Runs a Postgres tool on this cluster's data directory, as the server's account; the
    /// error carries the tool's own message.
    pub fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let argv = self.command(tool, args);
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

    /// The command line of `tool -D <data> args...`, wrapped to run as the server's account
    /// when we are root: for callers that run it later themselves (e.g. a reaper script).
    pub fn command(&self, tool: &str, args: &[&str]) -> Vec<String> {
        let mut argv = vec![self.bin.join(tool).to_string_lossy().into_owned(), "-D".to_owned()];
        argv.push(self.dir.join("data").to_string_lossy().into_owned());
        argv.extend(args.iter().map(|arg| (*arg).to_owned()));
        match &self.user {
            None => argv,
            Some(user) => user.wrap(argv),
        }
    }
}

/// The `postgres://` URL of `database` on a private cluster listening on `port`.
pub fn url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
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
        .context(
            "find initdb and pg_ctl (on PATH or in /usr/lib/postgresql/*/bin); install the \
             PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`)",
        )
}
