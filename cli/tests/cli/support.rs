//! Shared setup: account and ticket-ingest (and health-scoring when a test needs scores,
//! and playbook after it when a test needs runs) on a fresh database, and the `steward` binary run against them from an empty directory (so
//! no `.steward/token` is picked up by accident).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use steward_account::AccountService;
use steward_health_scoring::{HealthScoringArgs, HealthScoringService};
use steward_kit::client::Intercepted;
use steward_playbook::{PlaybookArgs, PlaybookService};
use steward_proto::health::v1 as health_pb;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::playbook::v1::playbook_service_client::PlaybookServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, TestServer, eventually, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

/// The services on one fresh database, and a scratch directory. Keep it alive for the
/// whole test: dropping it drops the database and stops the servers.
pub(crate) struct Suite {
    pub(crate) _db: TestDb,
    pub(crate) account: TestServer,
    pub(crate) ticket: TestServer,
    /// Only in suites from [`start_scoring`].
    pub(crate) health: Option<TestServer>,
    /// Only in suites from [`start_playbook`].
    pub(crate) playbook: Option<TestServer>,
    pub(crate) dir: tempfile::TempDir,
}

/// How long health scoring lets changes gather before a re-score, in tests: short, so that
/// tests run fast, but long enough that a burst of tickets still coalesces.
const RESCORE_DELAY: Duration = Duration::from_millis(200);

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
    Suite { _db: db, account, ticket, health: None, playbook: None, dir }
}

/// As [`start`], then health-scoring pointing at both (the periodic sweep an hour away, so
/// that only the test's own inputs move scores).
pub(crate) async fn start_scoring() -> Suite {
    let mut suite = start().await;
    let args = HealthScoringArgs {
        account_addr: suite.account.url(),
        ticket_addr: suite.ticket.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        rescore_delay: RESCORE_DELAY,
        sweep_interval: Duration::from_secs(3600),
    };
    let health =
        spawn::<HealthScoringService>(&suite._db, args).await.expect("health-scoring starts");
    suite.health = Some(health);
    suite
}

/// As [`start_scoring`], then playbook pointing at the three (its sweep an hour away, so
/// that only the test's own runs exist).
pub(crate) async fn start_playbook() -> Suite {
    let mut suite = start_scoring().await;
    let args = PlaybookArgs {
        account_addr: suite.account.url(),
        ticket_addr: suite.ticket.url(),
        health_addr: suite.health.as_ref().expect("health-scoring").url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        evaluate_delay: RESCORE_DELAY,
        sweep_interval: Duration::from_secs(3600),
        clock_interval: RESCORE_DELAY,
    };
    let playbook = spawn::<PlaybookService>(&suite._db, args).await.expect("playbook starts");
    suite.playbook = Some(playbook);
    suite
}

impl Suite {
    /// Runs `steward args…` against this suite with the admin token.
    pub(crate) async fn steward(&self, args: &[&str]) -> Run {
        steward_in(self.dir.path(), &self.env(), args).await
    }

    /// The `STEWARD_*` variables that point the binary at this suite.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("STEWARD_ACCOUNT_ADDR", self.account.url()),
            ("STEWARD_TICKET_ADDR", self.ticket.url()),
            ("STEWARD_TOKEN", ADMIN_TOKEN.to_owned()),
        ];
        if let Some(health) = &self.health {
            env.push(("STEWARD_HEALTH_ADDR", health.url()));
        }
        if let Some(playbook) = &self.playbook {
            env.push(("STEWARD_PLAYBOOK_ADDR", playbook.url()));
        }
        env
    }

    /// A health-scoring client, for arranging and waiting (what is asserted goes through
    /// the binary).
    pub(crate) fn health_client(&self) -> HealthScoringServiceClient<Intercepted> {
        let health = self.health.as_ref().expect("a suite from start_scoring");
        HealthScoringServiceClient::new(health.channel())
    }

    /// A playbook client, for arranging (what is asserted goes through the binary).
    pub(crate) fn playbook_client(&self) -> PlaybookServiceClient<Intercepted> {
        let playbook = self.playbook.as_ref().expect("a suite from start_playbook");
        PlaybookServiceClient::new(playbook.channel())
    }

    /// Waits until `account` (`acme`) has the score `expected`.
    pub(crate) async fn score_is(&self, account: &str, expected: f64) {
        let client = self.health_client();
        let name = format!("accounts/{account}/healthScore");
        eventually(&format!("{account} to score {expected}"), || {
            let (mut client, name) = (client.clone(), name.clone());
            async move {
                let request = health_pb::GetHealthScoreRequest { name };
                let score = client.get_health_score(request).await.ok()?.into_inner();
                (score.score == Some(expected)).then_some(())
            }
        })
        .await;
    }

    /// Waits until the health feed shows at least `n` changes: a commit shows on the feed
    /// once no older transaction is still running, so it may trail the score it announces.
    pub(crate) async fn feed_has(&self, n: usize) {
        let client = self.health_client();
        eventually(&format!("{n} health changes on the feed"), || {
            let mut client = client.clone();
            async move {
                let request = health_pb::ListHealthChangesRequest {
                    after_cursor: String::new(),
                    page_size: 1000,
                };
                let page = client.list_health_changes(request).await.ok()?.into_inner();
                (page.changes.len() >= n).then_some(())
            }
        })
        .await;
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
        "STEWARD_HEALTH_ADDR",
        "STEWARD_PLAYBOOK_ADDR",
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

/// The cells of the table row on `stdout` whose first cell is `first` (cells are separated
/// by at least two spaces); panics, showing the table, when there is none.
#[track_caller]
pub(crate) fn row(stdout: &str, first: &str) -> Vec<String> {
    stdout
        .lines()
        .map(cells)
        .find(|cells| cells.first().is_some_and(|c| c == first))
        .unwrap_or_else(|| panic!("no row `{first}` in:\n{stdout}"))
}

/// A table line's cells.
pub(crate) fn cells(line: &str) -> Vec<String> {
    line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}
