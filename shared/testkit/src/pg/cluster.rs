//! The private throwaway cluster (see the parent module's header): started with `initdb` and
//! `pg_ctl` under the target directory, shared by the test processes of a run, and reaped
//! once none renews its lease.

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

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

/// The private cluster's place on disk and the means to run its tools.
#[derive(Debug)]
pub(super) struct Cluster {
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
    pub(super) fn locate() -> Result<Self> {
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
    pub(super) fn ensure_running(&self) -> Result<u16> {
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
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
    }
}
