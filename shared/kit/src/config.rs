//! Typed configuration shared by every service, read from flags and the environment by clap.
//!
//! Each service's `main` flattens these groups into its own parser, so every option shows in
//! `--help` with its environment variable and default. Values are validated at start, with an
//! error that names the option.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

use crate::auth::TokenSpec;

/// How the gRPC server listens, limits and shuts down.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on. Containers need 0.0.0.0 so that kubelet's gRPC probes reach it.
    #[arg(long, env = "STEWARD_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,

    /// Longest any call may run; a caller's shorter `grpc-timeout` wins.
    #[arg(long, env = "STEWARD_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Calls served at once across all connections; calls beyond it are shed with
    /// RESOURCE_EXHAUSTED at once rather than queued, so overload never grows a backlog.
    #[arg(long, env = "STEWARD_MAX_CONCURRENT_CALLS", default_value_t = 512)]
    pub max_concurrent_calls: usize,

    /// Largest request message accepted, in bytes.
    #[arg(long, env = "STEWARD_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// HTTP/2 keepalive ping interval: finds dead peers behind NATs and load balancers.
    #[arg(long, env = "STEWARD_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub keepalive_interval: Duration,

    /// How long to wait for a keepalive ping's answer before closing the connection.
    #[arg(long, env = "STEWARD_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub keepalive_timeout: Duration,

    /// Connections are closed gracefully after this age, so that clients reconnect and spread
    /// over replicas added since they first connected.
    #[arg(long, env = "STEWARD_MAX_CONNECTION_AGE", default_value = "5m", value_parser = humantime::parse_duration)]
    pub max_connection_age: Duration,

    /// On SIGTERM, how long in-flight calls may take to finish before the server exits anyway.
    #[arg(long, env = "STEWARD_SHUTDOWN_GRACE", default_value = "20s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// The service's Postgres connection pool.
#[derive(Debug, Clone, Args)]
pub struct DbConfig {
    /// Postgres URL, e.g. postgres://steward:secret@db:5432/steward. Each service keeps its
    /// tables in its own schema of this database.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true, value_parser = parse_secret)]
    pub url: SecretString,

    /// Most connections the pool opens.
    #[arg(long = "db-max-connections", env = "STEWARD_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,

    /// How long a call waits for a free connection before failing with UNAVAILABLE.
    #[arg(long = "db-acquire-timeout", env = "STEWARD_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub acquire_timeout: Duration,

    /// Server-side limit for any one statement (Postgres `statement_timeout`).
    #[arg(long = "db-statement-timeout", env = "STEWARD_DB_STATEMENT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub statement_timeout: Duration,

    /// Apply pending migrations when the server starts. Deployments that run `migrate` as
    /// their own step turn this off.
    #[arg(long, env = "STEWARD_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,
}

/// Who may call the service.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// Bearer tokens, comma separated, each `NAME:SCOPES:SECRET` with scopes joined by `+`
    /// (read, write, ingest, admin), e.g. `zendesk-adapter:ingest+read:6f1c…`. Secrets must be
    /// at least 16 characters.
    #[arg(long, env = "STEWARD_TOKENS", hide_env_values = true, value_parser = crate::auth::parse_tokens)]
    pub tokens: TokenList,
}

/// Logs, traces and metrics.
#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// Log format: `json` (one object per line, for log pipelines) or `text` (for people).
    #[arg(long, env = "STEWARD_LOG_FORMAT", default_value = "json")]
    pub log_format: LogFormat,

    /// Which logs to keep, as a tracing filter (e.g. `info,steward_kit=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// OTLP/gRPC collector for traces and metrics, e.g. http://otel-collector:4317. Unset: no
    /// export, logs only.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// See [`TelemetryConfig::log_format`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// A parsed, validated `--tokens` value.
#[derive(Debug, Clone)]
pub struct TokenList(pub Vec<TokenSpec>);

fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

impl ServerConfig {
    /// Checks the relations clap cannot express; the error names the option.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_concurrent_calls > 0, "--max-concurrent-calls must be at least 1");
        anyhow::ensure!(
            self.max_message_bytes >= 1024,
            "--max-message-bytes must be at least 1024"
        );
        anyhow::ensure!(!self.request_timeout.is_zero(), "--request-timeout must be positive");
        anyhow::ensure!(
            self.keepalive_timeout < self.keepalive_interval,
            "--keepalive-timeout must be shorter than --keepalive-interval"
        );
        Ok(())
    }

    /// A configuration for tests and local runs: loopback, ephemeral port, short grace.
    pub fn local() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            request_timeout: Duration::from_secs(30),
            max_concurrent_calls: 512,
            max_message_bytes: 4 * 1024 * 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl DbConfig {
    /// Pool settings for `url` with the defaults above.
    pub fn with_url(url: &str) -> Self {
        Self {
            url: SecretString::from(url.to_owned()),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            migrate_on_start: true,
        }
    }
}
