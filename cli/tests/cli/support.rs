//! Shared setup: both services on a fresh database, and the `steward` binary run against
//! them from an empty directory (so no `.steward/token` is picked up by accident).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use steward_account::AccountService;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, TestServer, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

/// Both services on one fresh database, and a scratch directory. Keep it alive for the
/// whole test: dropping it drops the database and stops the servers.
pub(crate) struct Suite {
    pub(crate) _db: TestDb,
    pub(crate) account: TestServer,
    pub(crate) ticket: TestServer,
    pub(crate) dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout as JSON; panics, showing the run, when it is not.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Starts the account service, then ticket-ingest pointing at it.
pub(crate) async fn start() -> Suite {
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await.expect("account starts");
    let args = TicketIngestArgs {
        account_addr: account.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        link_cache_size: std::num::NonZeroUsize::new(1000).expect("non-zero"),
    };
    let ticket = spawn::<TicketIngestService>(&db, args).await.expect("ticket-ingest starts");
    let dir = tempfile::tempdir().expect("a scratch directory");
    Suite { _db: db, account, ticket, dir }
}

impl Suite {
    /// Runs `steward args…` against this suite with the admin token.
    pub(crate) async fn steward(&self, args: &[&str]) -> Run {
        let env = [
            ("STEWARD_ACCOUNT_ADDR", self.account.url()),
            ("STEWARD_TICKET_ADDR", self.ticket.url()),
            ("STEWARD_TOKEN", ADMIN_TOKEN.to_owned()),
        ];
        steward_in(self.dir.path(), &env, args).await
    }

    /// Writes `text` to `name` in the scratch directory; its path.
    pub(crate) fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write the input file");
        path.to_string_lossy().into_owned()
    }
}

/// Runs the built binary in `dir` with exactly the `STEWARD_*` variables in `env`.
pub(crate) async fn steward_in(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Run {
    let out = command(dir, env)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run the steward binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The binary, in `dir`, with no inherited settings that could steer it elsewhere.
pub(crate) fn command(dir: &Path, env: &[(&str, String)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary());
    cmd.current_dir(dir);
    for var in [
        "STEWARD_ACCOUNT_ADDR",
        "STEWARD_TICKET_ADDR",
        "STEWARD_TOKEN",
        "STEWARD_OUTPUT",
        "STEWARD_TIMEOUT",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

/// The `name`s (or another string field) of the JSON objects in `value[key]`, in order.
pub(crate) fn strings(value: &serde_json::Value, key: &str, field: &str) -> Vec<String> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array `{key}` in {value}"))
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}
