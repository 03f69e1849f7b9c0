//! One service binary running as its own OS process: started with its environment, its
//! stdout and stderr appended to a log file, SIGKILLed and started again on the same port,
//! and killed when dropped, so that no process outlives its test, even one that panics.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// How long a service may take to answer SERVING (migrations included).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The suite's services, in dependency order (each calls only those before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Account,
    TicketIngest,
    HealthScoring,
    Playbook,
}

impl Service {
    /// All four, in start order.
    pub const ALL: [Service; 4] =
        [Service::Account, Service::TicketIngest, Service::HealthScoring, Service::Playbook];

    /// The binary's name.
    pub fn binary(self) -> &'static str {
        match self {
            Service::Account => "steward-account",
            Service::TicketIngest => "steward-ticket-ingest",
            Service::HealthScoring => "steward-health-scoring",
            Service::Playbook => "steward-playbook",
        }
    }

    /// Its gRPC service, as grpc.health.v1 is asked about it.
    pub fn grpc_name(self) -> &'static str {
        match self {
            Service::Account => "steward.account.v1.AccountService",
            Service::TicketIngest => "steward.ticket.v1.TicketIngestService",
            Service::HealthScoring => "steward.health.v1.HealthScoringService",
            Service::Playbook => "steward.playbook.v1.PlaybookService",
        }
    }

    /// The variable its callers take its address from (as in `deploy/k8s/base`).
    pub fn addr_env(self) -> &'static str {
        match self {
            Service::Account => "STEWARD_ACCOUNT_ADDR",
            Service::TicketIngest => "STEWARD_TICKET_ADDR",
            Service::HealthScoring => "STEWARD_HEALTH_ADDR",
            Service::Playbook => "STEWARD_PLAYBOOK_ADDR",
        }
    }
}

/// A service process. Its port and environment stay the same across restarts.
#[derive(Debug)]
pub struct Process {
    service: Service,
    binary: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// Starts `service` from `bin_dir` on `port` with exactly `env` (nothing inherited, so a
    /// developer's STEWARD_* settings cannot leak in), logging to `<log_dir>/<binary>.log`,
    /// and waits until it answers SERVING.
    pub async fn start(
        service: Service,
        bin_dir: &Path,
        port: u16,
        env: Vec<(String, String)>,
        log_dir: &Path,
    ) -> Result<Process> {
        let mut process = Process {
            service,
            binary: bin_dir.join(service.binary()),
            port,
            env,
            log: log_dir.join(format!("{}.log", service.binary())),
            child: None,
        };
        process.spawn().await?;
        Ok(process)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Ends the process with SIGKILL, as a crash or an OOM kill would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.note("killed with SIGKILL");
        }
    }

    /// Starts the process again, same port, same environment, and waits until it serves.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn().await
    }

    /// The last `lines` lines of the process's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            // The tail is in the last 64 KiB however chatty the service was.
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
            let _ = file.read_to_string(&mut text);
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = OpenOptions::new().create(true).append(true).open(&self.log);
        let log = log.with_context(|| format!("open {}", self.log.display()))?;
        self.note(&format!("starting on port {}", self.port));
        let child = Command::new(&self.binary)
            .arg("serve")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("clone the log handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_serving().await
    }

    /// Polls grpc.health.v1 until the service answers SERVING; fails at once if the process
    /// exits, with its log's tail.
    async fn wait_serving(&mut self) -> Result<()> {
        let name = self.service.binary();
        let mut health = HealthClient::new(steward_kit::client::channel(&self.url())?);
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().context("check the process")?
            {
                self.child = None;
                bail!(
                    "{name} exited ({status}) before serving; its log ends:\n{}",
                    self.log_tail(30)
                );
            }
            let request = HealthCheckRequest { service: self.service.grpc_name().to_owned() };
            let last = match health.check(request).await {
                Ok(answer) if answer.get_ref().status == ServingStatus::Serving as i32 => {
                    return Ok(());
                }
                Ok(answer) => format!("{:?}", answer.get_ref().status()),
                Err(status) => status.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{name} not SERVING after {READY_TIMEOUT:?} ({last}); its log ends:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks an event in the log, so a reader sees where a kill or restart happened.
    fn note(&self, what: &str) {
        if let Ok(mut log) = OpenOptions::new().create(true).append(true).open(&self.log) {
            let _ = writeln!(log, "==== steward-e2e: {} {what}", self.service.binary());
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
