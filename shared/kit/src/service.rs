//! The common shape of a service binary: `<service> serve` and `<service> migrate`, with every
//! option documented in `--help`. A service implements [`Service`]; its `main` is one call to
//! [`main`].

use std::future::Future;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::Application;
use crate::config::{AuthConfig, DbConfig, ServerConfig, TelemetryConfig};

/// What makes a service: its names, its migrations, and how it wires its gRPC services.
pub trait Service: 'static {
    /// Short name, e.g. `account`: logs, traces and the pool's application_name.
    const NAME: &'static str;
    /// The Postgres schema it owns.
    const SCHEMA: &'static str;
    /// Options of its own (e.g. peers' addresses), flattened into the command line.
    type Args: Args + Clone + std::fmt::Debug + Send;

    /// Its embedded migrations (`sqlx::migrate!()`).
    fn migrator() -> Migrator;

    /// Adds its gRPC services (and background tasks) to `app`.
    fn build(
        app: Application,
        pool: PgPool,
        args: Self::Args,
    ) -> impl Future<Output = anyhow::Result<Application>> + Send;
}

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli<A: Args> {
    #[command(subcommand)]
    command: Command<A>,
    #[command(flatten)]
    telemetry: TelemetryConfig,
    #[command(flatten)]
    db: DbConfig,
}

#[derive(Debug, Subcommand)]
enum Command<A: Args> {
    /// Serve gRPC until SIGTERM/SIGINT.
    Serve {
        #[command(flatten)]
        server: ServerConfig,
        #[command(flatten)]
        auth: AuthConfig,
        #[command(flatten)]
        service: A,
    },
    /// Apply pending database migrations, then exit (for a deployment's migration step).
    Migrate,
}

/// Parses the command line and runs the service; the process's exit code.
pub fn main<S: Service>() -> ExitCode {
    let cli = Cli::<S::Args>::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let _telemetry = match crate::telemetry::init(S::NAME, &cli.telemetry) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e:#}");
                return ExitCode::FAILURE;
            }
        };
        match run::<S>(cli).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "{} failed", S::NAME);
                ExitCode::FAILURE
            }
        }
    })
}

async fn run<S: Service>(cli: Cli<S::Args>) -> anyhow::Result<()> {
    let pool = crate::db::pool(&cli.db, S::NAME)?;
    match cli.command {
        Command::Migrate => crate::db::migrate(&pool, S::migrator(), S::SCHEMA).await,
        Command::Serve { server, auth, service } => {
            if cli.db.migrate_on_start {
                crate::db::migrate(&pool, S::migrator(), S::SCHEMA).await?;
            }
            let app = start::<S>(server, &auth, pool, service).await?;
            app.run(crate::shutdown::signal()).await
        }
    }
}

/// Binds and wires `S` without serving it: what `serve` does, for tests and `steward dev`.
pub async fn start<S: Service>(
    server: ServerConfig,
    auth: &AuthConfig,
    pool: PgPool,
    args: S::Args,
) -> anyhow::Result<Application> {
    let app = Application::bind(server, auth).await?.with_readiness_db(pool.clone());
    S::build(app, pool, args).await
}
