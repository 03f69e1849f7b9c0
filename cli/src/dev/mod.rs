//! `steward dev`: the suite on this machine, in one process. Each service is the real one,
//! migrated and built by its own `Service::build` and served by the kit's `Application` on
//! its own loopback port (`--port-base` + its place in the dependency order), against
//! DATABASE_URL or a private Postgres cluster in the data directory. Ctrl-C (or SIGTERM)
//! drains the services, dependents first, then stops the cluster if this run started it.
//! `--processes` runs the four service binaries as child processes instead (same ports,
//! token, database and wiring), so that each one's memory and CPU can be measured.

mod postgres;
mod suite;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use steward_account::AccountService;
use steward_health_scoring::HealthScoringService;
use steward_kit::config::{AuthConfig, LogFormat, ServerConfig, TelemetryConfig};
use steward_kit::service::Service;
use steward_playbook::PlaybookService;
use steward_ticket_ingest::TicketIngestService;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::client::Connection;
use postgres::Database;

/// Where `steward dev` keeps its state unless told otherwise, relative to the current
/// directory (clients look for the token there too).
pub const DEFAULT_DATA_DIR: &str = ".steward";
/// The dev token's file in the data directory.
pub const TOKEN_FILE: &str = "token";
/// How long each service may take to report SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight calls get to finish on Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// `steward dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The first service's port; the others follow in dependency order (account,
    /// ticket-ingest, health-scoring, playbook).
    #[arg(long, default_value_t = 50051)]
    port_base: u16,

    /// Where the private Postgres cluster (`pg/`) and the dev token are kept.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    /// Wipe the data directory first: a fresh cluster (all data gone) and a new token. A
    /// DATABASE_URL database is never touched.
    #[arg(long)]
    reset: bool,

    /// Run against this Postgres (each service in its own schema) instead of a private
    /// cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Which service logs to show, as a tracing filter (e.g. `info`).
    #[arg(long, env = "RUST_LOG", default_value = "warn")]
    log_filter: String,

    /// Once the suite is up, seed the demo and replay its ticket stream (as `steward demo`
    /// would); the suite keeps running afterwards.
    #[arg(long)]
    demo: bool,

    #[command(flatten)]
    demo_args: crate::demo::DemoArgs,

    /// Run each service as its own process: the service binaries next to this `steward`
    /// (e.g. target/release/steward-account), so that each one's memory and CPU can be
    /// measured (`steward bench` reports each one's peak RSS).
    #[arg(long)]
    processes: bool,
}

/// Runs the suite until Ctrl-C or SIGTERM.
pub async fn run(args: DevArgs, conn: &Connection) -> anyhow::Result<ExitCode> {
    // First, so that a Ctrl-C during a slow start still shuts down in order.
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        steward_kit::shutdown::signal().await;
        let _ = stop_tx.send(true);
    });
    let telemetry = TelemetryConfig {
        log_format: LogFormat::Text,
        log_filter: args.log_filter.clone(),
        otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()),
    };
    let _telemetry = steward_kit::telemetry::init("steward-dev", &telemetry)?;

    if args.reset {
        reset(&args.data_dir).await?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("create the data directory {}", args.data_dir.display()))?;
    let token = token(&args.data_dir, conn.token.as_deref())?;

    // Neither step is raced against Ctrl-C: `pg_ctl start` cannot be cancelled halfway, and
    // a service half-started must still be drained. Both are bounded, and a Ctrl-C during
    // them is acted on as soon as they return.
    let database = open_database(&args).await?;
    if *stop.borrow() {
        database.stop().await;
        return Ok(ExitCode::SUCCESS);
    }
    let running = start_all(&args, &database, &token, stop.clone()).await;
    let code = match running {
        Ok(services) if !services.is_empty() => {
            print_banner(&services, &database, &token);
            if args.demo {
                spawn_demo(args.demo_args.clone(), local_connection(&services, &token, conn));
            }
            let failed = serve(services, stop).await;
            if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    database.stop().await;
    Ok(code)
}

/// Where the running suite is, as clients see it.
fn local_connection(services: &[Running], token: &SecretString, conn: &Connection) -> Connection {
    let url = |name: &str| {
        services.iter().find(|s| s.name == name).map(|s| s.url.clone()).unwrap_or_default()
    };
    Connection {
        account_addr: url(AccountService::NAME),
        ticket_addr: url(TicketIngestService::NAME),
        health_addr: url(HealthScoringService::NAME),
        playbook_addr: url(PlaybookService::NAME),
        token: Some(token.expose_secret().to_owned()),
        timeout: conn.timeout,
    }
}

/// The demo runs beside the suite; its failure is reported, and the suite stays up.
fn spawn_demo(args: crate::demo::DemoArgs, conn: Connection) {
    tokio::spawn(async move {
        if let Err(e) = crate::demo::run(&args, &conn).await {
            eprintln!("steward dev --demo: {e:#}");
        }
    });
}

/// A service serving, and its task.
struct Running {
    name: &'static str,
    addr_env: &'static str,
    url: String,
    /// Ends the service's `Application::run` (its shutdown future waits on this).
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

async fn open_database(args: &DevArgs) -> anyhow::Result<Database> {
    match args.database_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Database::external(url.to_owned()).await,
        None => Database::private(&args.data_dir.join("pg")).await,
    }
}

/// Starts every member in order, each SERVING before the next starts. On failure, stops
/// those already running.
async fn start_all(
    args: &DevArgs,
    database: &Database,
    token: &SecretString,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<Running>> {
    let auth = AuthConfig {
        tokens: steward_kit::auth::parse_tokens(&suite::dev_tokens(token))
            .map_err(|e| anyhow::anyhow!("the dev token: {e}"))?,
    };
    let binaries = args.processes.then(binaries_dir).transpose()?;
    let mut peers = suite::Peers::new(token.clone());
    let mut running: Vec<Running> = Vec::new();
    for (offset, member) in (0u16..).zip(suite::members()) {
        let (name, addr_env) = (member.name, member.addr_env);
        let started = async {
            let port = args.port_base.checked_add(offset).context("--port-base is too high")?;
            let server = ServerConfig {
                listen_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                shutdown_grace: SHUTDOWN_GRACE,
                ..ServerConfig::local()
            };
            let launch = suite::Launch {
                server,
                auth: auth.clone(),
                database_url: database.url.clone(),
                peers: peers.clone(),
            };
            let (stop_tx, mut stop_rx) = watch::channel(false);
            let (url, names, task) = if let Some(binaries) = &binaries {
                let child = member.spawn(binaries, &launch, &args.log_filter)?;
                let url = format!("http://{}", launch.server.listen_addr);
                (url, vec![member.grpc], tokio::spawn(supervise(child, stop_rx)))
            } else {
                let app = member.start(launch).await.map_err(|e| {
                    anyhow::anyhow!("{e:#}").context(format!(
                        "{name} did not start (port {port}: another `steward dev`? try --port-base)"
                    ))
                })?;
                let url = format!("http://{}", app.local_addr());
                let names: Vec<&'static str> = app.service_names().to_vec();
                let task = tokio::spawn(app.run(async move {
                    let _ = stop_rx.wait_for(|stop| *stop).await;
                }));
                (url, names, task)
            };
            let service = Running { name, addr_env, url, stop: stop_tx, task };
            if let Err(e) = wait_serving(&service.url, &names).await {
                running.push(service);
                return Err(e.context(format!("{name} did not become ready")));
            }
            anyhow::Ok(service)
        };
        match started.await {
            Ok(service) => {
                tracing::info!(service = name, url = %service.url, "serving");
                peers.add(name, service.url.clone());
                running.push(service);
            }
            Err(e) => {
                drain(running).await;
                return Err(e);
            }
        }
        if *stop.borrow() {
            drain(running).await;
            return Ok(Vec::new());
        }
    }
    Ok(running)
}

/// `--processes`: where the service binaries are (beside this executable).
fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find this executable (for --processes)")?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("{} has no directory", exe.display()))
}

/// A service process until it exits, or until asked to stop: then SIGTERM, which the
/// service answers by draining as in-process services do. (`kill`, as this crate has no
/// unsafe code for `libc::kill`.)
async fn supervise(
    mut child: tokio::process::Child,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let status = tokio::select! {
        status = child.wait() => status?,
        () = stopped(stop) => {
            if let Some(pid) = child.id() {
                tokio::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await
                    .context("send SIGTERM with kill")?;
            }
            child.wait().await?
        }
    };
    anyhow::ensure!(status.success(), "exited with {status}");
    Ok(())
}

/// Polls grpc.health.v1 until every one of `names` answers SERVING.
async fn wait_serving(url: &str, names: &[&'static str]) -> anyhow::Result<()> {
    let channel = steward_kit::client::channel(url)?;
    let mut health = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    for name in names {
        loop {
            let request = HealthCheckRequest { service: (*name).to_owned() };
            let last = match health.check(request).await {
                Ok(answer) if answer.get_ref().status == ServingStatus::Serving as i32 => break,
                Ok(answer) => format!("{name} reports {:?}", answer.get_ref().status()),
                Err(status) => format!("{name}: {status}"),
            };
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("not SERVING after {READY_TIMEOUT:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Waits for Ctrl-C or for a service to stop by itself, then drains them all. Whether a
/// service failed.
async fn serve(mut services: Vec<Running>, stop: watch::Receiver<bool>) -> bool {
    let exited = {
        let first_exit = futures_util::future::select_all(services.iter_mut().map(|s| &mut s.task));
        tokio::select! {
            () = stopped(stop) => None,
            (result, index, _) = first_exit => Some((index, result)),
        }
    };
    let Some((index, result)) = exited else {
        eprintln!("\nsteward dev: stopping");
        return drain(services).await;
    };
    // Its task is finished: it must not be awaited again.
    let name = services.remove(index).name;
    match result {
        Ok(Ok(())) => eprintln!("steward dev: {name} stopped by itself; stopping the rest"),
        Ok(Err(e)) => eprintln!("steward dev: {name} failed: {e:#}; stopping the rest"),
        Err(e) => eprintln!("steward dev: {name} crashed: {e}; stopping the rest"),
    }
    drain(services).await;
    true
}

/// Stops the services dependents first (playbook before account), each drained before the
/// next is asked, so that no draining call loses the service it calls. Whether one failed.
async fn drain(services: Vec<Running>) -> bool {
    let mut failed = false;
    for service in services.into_iter().rev() {
        let _ = service.stop.send(true);
        match service.task.await {
            Ok(Ok(())) => tracing::info!(service = service.name, "stopped"),
            Ok(Err(e)) => {
                eprintln!("steward dev: {} stopped with an error: {e:#}", service.name);
                failed = true;
            }
            Err(e) => {
                eprintln!("steward dev: {} crashed while stopping: {e}", service.name);
                failed = true;
            }
        }
    }
    failed
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The token services accept: `--token`/STEWARD_TOKEN, else the one kept in the data
/// directory, else a new one, kept there (owner-only) for the next run and for clients.
fn token(data_dir: &Path, given: Option<&str>) -> anyhow::Result<SecretString> {
    if let Some(token) = given.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(SecretString::from(token.to_owned()));
    }
    let file = data_dir.join(TOKEN_FILE);
    if let Ok(kept) = std::fs::read_to_string(&file)
        && !kept.trim().is_empty()
    {
        return Ok(SecretString::from(kept.trim().to_owned()));
    }
    let token = format!("stw-dev-{}", uuid::Uuid::new_v4().simple());
    write_private(&file, &token)
        .with_context(|| format!("keep the token in {}", file.display()))?;
    Ok(SecretString::from(token))
}

fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(text.as_bytes())
}

/// `--reset`: stops the private cluster if it runs, then removes the data directory.
async fn reset(data_dir: &Path) -> anyhow::Result<()> {
    let pg = data_dir.join("pg");
    if pg.join("data/PG_VERSION").is_file() {
        let cluster = steward_pgcluster::Cluster::new(&pg)?;
        let _ =
            tokio::task::spawn_blocking(move || cluster.stop(steward_pgcluster::StopMode::Fast))
                .await;
    }
    match std::fs::remove_dir_all(data_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("--reset: remove {}", data_dir.display())),
    }
}

fn print_banner(services: &[Running], database: &Database, token: &SecretString) {
    let width = services.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut text = String::from("\nsteward dev: the suite is up.\n\n");
    for s in services {
        text.push_str(&format!("  {:width$}  {}  SERVING\n", s.name, s.url));
    }
    text.push_str(&format!("  {:width$}  {}\n", "postgres", database.description));
    text.push_str("\nIn a second terminal:\n\n");
    for s in services {
        text.push_str(&format!("  export {}={}\n", s.addr_env, s.url));
    }
    text.push_str(&format!("  export STEWARD_TOKEN={}\n", token.expose_secret()));
    text.push_str("  cargo run -p steward-cli -- accounts list\n\nCtrl-C stops everything.\n");
    // A closed stdout must not stop the suite: the services still serve.
    let _ = crate::output::print(&text);
}
