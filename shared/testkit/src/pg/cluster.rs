//! The private throwaway cluster (see the parent module's header): a
//! [`steward_pgcluster::Cluster`] under the target directory, shared by the test processes of
//! a run, and reaped once none renews its lease.

use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use steward_pgcluster::StopMode;

/// How often a process renews its lease on the private cluster.
const LEASE_RENEWAL: Duration = Duration::from_secs(2);
/// A lease not renewed for this many seconds means no test process uses the cluster.
const LEASE_EXPIRY_SECS: u64 = 20;
/// Settings for speed, not durability: a test cluster is thrown away anyway.
const CLUSTER_CONF: &str = "
# steward-testkit: a throwaway cluster for tests.
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

/// The private cluster's place on disk and its lock.
#[derive(Debug)]
pub(super) struct Cluster {
    /// `<target>/steward-test-pg`: data, port, lease, log; removed whole by the reaper.
    pg: steward_pgcluster::Cluster,
    /// Beside the cluster's directory, not in it, so removing that never pulls it from under
    /// a waiter.
    lock: PathBuf,
}

impl Cluster {
    pub(super) fn locate() -> Result<Self> {
        let target = target_dir()?;
        let pg = steward_pgcluster::Cluster::new(target.join("steward-test-pg"))?;
        Ok(Self { pg, lock: target.join("steward-test-pg.lock") })
    }

    /// Returns the port of a running cluster, starting it if need be, with this process
    /// holding a lease and a reaper watching.
    pub(super) fn ensure_running(&self) -> Result<u16> {
        let lock = File::options().write(true).create(true).truncate(false).open(&self.lock);
        let lock = lock.context("open the cluster lock")?;
        lock.lock().context("take the cluster lock")?;
        self.pg.prepare().context("set CARGO_TARGET_DIR elsewhere, or DATABASE_URL")?;
        // Leased before the lock is released, so the reaper cannot strike in between.
        let lease = self.pg.dir().join("lease");
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
        let port = match self.pg.running_port() {
            Some(port) => port,
            None => self.start()?,
        };
        self.ensure_reaper()?;
        Ok(port)
    }

    /// Starts the existing data directory or, failing that, a freshly initialised one: a
    /// test cluster holds nothing worth keeping.
    fn start(&self) -> Result<u16> {
        if self.pg.is_initialized() {
            // A stale cluster: a crashed run's server may linger half-alive.
            let _ = self.pg.stop(StopMode::Immediate);
            match self.pg.start() {
                Ok(port) => return Ok(port),
                Err(e) => eprintln!("steward-testkit: re-creating the stale test cluster: {e:#}"),
            }
        }
        self.pg.init(CLUSTER_CONF)?;
        self.pg.start()
    }

    /// Starts the reaper unless the one recorded is still alive.
    fn ensure_reaper(&self) -> Result<()> {
        let pid_file = self.pg.dir().join("reaper.pid");
        let dir = self.pg.dir().to_string_lossy();
        if let Ok(pid) = fs::read_to_string(&pid_file)
            && let Ok(cmdline) = fs::read(format!("/proc/{}/cmdline", pid.trim()))
            && String::from_utf8_lossy(&cmdline).contains(&*dir)
        {
            return Ok(());
        }
        let stop = self.pg.command("pg_ctl", &["stop", "-m", "fast"]);
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
