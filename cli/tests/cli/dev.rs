//! `steward dev` as a developer runs it: it brings the services up on consecutive ports,
//! prints where they are and the token, serves real calls, and on SIGINT drains and exits 0,
//! stopping the Postgres it started; its private cluster keeps the data for the next run.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use steward_testkit::TestDb;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::support::{Run, command, steward_in};

/// How many services `steward dev` runs, each on the next port.
const SERVICES: u16 = 4;

/// [`SERVICES`] consecutive free loopback ports; the first.
fn free_ports() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = first.local_addr().expect("its address").port();
        let rest_free = (1..SERVICES).all(|i| {
            port.checked_add(i).is_some_and(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        });
        if rest_free {
            return port;
        }
    }
}

/// Whether a banner line lists `service` at `url` as SERVING (columns are aligned to the
/// longest service name).
fn serving(banner: &str, service: &str, url: &str) -> bool {
    banner.lines().any(|l| l.split_whitespace().eq([service, url, "SERVING"]))
}

/// A running `steward dev` and what its banner said.
struct Dev {
    child: Child,
    account_addr: String,
    token: String,
    banner: String,
}

/// Starts `steward dev args…` in `dir` and reads its banner (the services are SERVING by
/// then).
async fn dev(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Dev {
    let mut child = command(dir, env)
        .arg("dev")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start steward dev");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Ctrl-C stops everything") {
                return true;
            }
        }
        false
    };
    let complete = tokio::time::timeout(Duration::from_secs(120), read).await.unwrap_or(false);
    if !complete {
        let _ = child.start_kill();
        let out = child.wait_with_output().await.expect("collect the output");
        panic!("no banner:\n{banner}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let value = |name: &str| {
        let prefix = format!("  export {name}=");
        banner.lines().find_map(|l| l.strip_prefix(&prefix)).map(str::to_owned)
    };
    let account_addr = value("STEWARD_ACCOUNT_ADDR").expect("the account address in the banner");
    let token = value("STEWARD_TOKEN").expect("the token in the banner");
    Dev { child, account_addr, token, banner }
}

impl Dev {
    /// Runs a client command against it from `dir`.
    async fn steward(&self, dir: &Path, args: &[&str]) -> Run {
        let env = [
            ("STEWARD_ACCOUNT_ADDR", self.account_addr.clone()),
            ("STEWARD_TOKEN", self.token.clone()),
        ];
        steward_in(dir, &env, args).await
    }

    /// Sends SIGINT, as Ctrl-C does; the exit code and stderr.
    async fn interrupt(self) -> (Option<i32>, String) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let out = tokio::time::timeout(Duration::from_secs(60), self.child.wait_with_output())
            .await
            .expect("steward dev exits within a minute of SIGINT")
            .expect("wait for steward dev");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn dev_serves_the_suite_on_consecutive_ports_against_database_url_and_stops_on_sigint() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("a scratch directory");
    let base = free_ports();
    let env = [("DATABASE_URL", db.url().to_owned())];

    let dev = dev(dir.path(), &env, &["--port-base", &base.to_string()]).await;
    let created = dev
        .steward(dir.path(), &["accounts", "create", "--display-name", "Acme", "--id", "acme"])
        .await;
    let banner = dev.banner.clone();
    let (code, stderr) = dev.interrupt().await;

    assert_eq!(created.code, Some(0), "{created:#?}");
    for (i, service) in
        ["account", "ticket-ingest", "health-scoring", "playbook"].iter().enumerate()
    {
        let url = format!("http://127.0.0.1:{}", base + i as u16);
        assert!(serving(&banner, service, &url), "{service} at {url} in\n{banner}");
    }
    let export = format!("  export STEWARD_HEALTH_ADDR=http://127.0.0.1:{}", base + 2);
    assert!(banner.lines().any(|l| l == export), "{export:?} in\n{banner}");
    let postgres = |l: &str| l.split_whitespace().take(2).eq(["postgres", "DATABASE_URL"]);
    assert!(banner.lines().any(postgres), "{banner}");
    assert_eq!(code, Some(0), "a clean stop: {stderr}");
    assert!(stderr.contains("steward dev: stopping"), "{stderr}");
    // The services' schemas are in DATABASE_URL's database.
    let pool = db.pool().await;
    let name: String =
        sqlx::query_scalar("select display_name from account.accounts where id = 'acme'")
            .fetch_one(&pool)
            .await
            .expect("the account is stored in DATABASE_URL's database");
    assert_eq!(name, "Acme");
    // The token was generated and kept (owner-only) for the next run and for clients.
    let token = dir.path().join(".steward/token");
    let mode = std::fs::metadata(&token).expect("the token file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn dev_starts_a_private_cluster_reuses_it_and_stops_it() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    // As root, the cluster runs as an unprivileged user, who must be able to enter it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("state");
    let _cleanup = StopCluster(data.join("pg"));
    let data_arg = data.to_string_lossy().into_owned();
    let base = free_ports().to_string();
    let args = ["--port-base", base.as_str(), "--data-dir", data_arg.as_str()];

    let first = dev(dir.path(), &[], &args).await;
    let created = first
        .steward(dir.path(), &["accounts", "create", "--display-name", "Acme", "--id", "acme"])
        .await;
    let (first_code, first_err) = first.interrupt().await;
    let stopped = !data.join("pg/data/postmaster.pid").exists();
    let second = dev(dir.path(), &[], &args).await;
    let listed = second.steward(dir.path(), &["accounts", "list", "-o", "json"]).await;
    let same_token =
        second.token == std::fs::read_to_string(data.join("token")).unwrap_or_default();
    let banner = second.banner.clone();
    let (second_code, second_err) = second.interrupt().await;

    assert_eq!(created.code, Some(0), "{created:#?}");
    assert_eq!(first_code, Some(0), "{first_err}");
    assert!(stopped, "postgres is stopped when steward dev exits");
    assert!(
        banner.contains(&format!("private cluster in {}", data.join("pg").display())),
        "{banner}"
    );
    assert!(serving(&banner, "account", &format!("http://127.0.0.1:{base}")), "{banner}");
    assert!(same_token, "the kept token is reused");
    assert_eq!(listed.code, Some(0), "{listed:#?}");
    assert_eq!(
        listed.json()["accounts"][0]["name"],
        "accounts/acme",
        "the data survived the restart"
    );
    assert_eq!(second_code, Some(0), "{second_err}");
}

/// Stops the test's private cluster even when the test fails half-way, so that no server
/// outlives its directory.
struct StopCluster(std::path::PathBuf);

impl Drop for StopCluster {
    fn drop(&mut self) {
        if self.0.join("data/postmaster.pid").exists()
            && let Ok(cluster) = steward_pgcluster::Cluster::new(&self.0)
        {
            let _ = cluster.stop(steward_pgcluster::StopMode::Immediate);
        }
    }
}
