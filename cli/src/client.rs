//! Reaching the services: their addresses and the token from flags or the environment (with
//! defaults that match `steward dev`), authenticated clients, and errors that say which
//! service failed, where it was looked for, and what to do.

use std::path::Path;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use steward_kit::client::{Intercepted, Outbound};
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::playbook::v1::playbook_service_client::PlaybookServiceClient;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic_types::StatusExt;

use crate::dev;

/// The generated clients, carrying the token and a deadline on every call.
pub type Accounts = AccountServiceClient<Intercepted>;
/// See [`Accounts`].
pub type Tickets = TicketIngestServiceClient<Intercepted>;
/// See [`Accounts`].
pub type Health = HealthScoringServiceClient<Intercepted>;
/// See [`Accounts`].
pub type Playbooks = PlaybookServiceClient<Intercepted>;

/// Where the services are, and the token to present. The defaults are where `steward dev`
/// puts the services with its default `--port-base`.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The account service.
    #[arg(
        long,
        global = true,
        env = "STEWARD_ACCOUNT_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub account_addr: String,

    /// The ticket-ingest service.
    #[arg(
        long,
        global = true,
        env = "STEWARD_TICKET_ADDR",
        default_value = "http://127.0.0.1:50052"
    )]
    pub ticket_addr: String,

    /// The health-scoring service.
    #[arg(
        long,
        global = true,
        env = "STEWARD_HEALTH_ADDR",
        default_value = "http://127.0.0.1:50053"
    )]
    pub health_addr: String,

    /// The playbook service.
    #[arg(
        long,
        global = true,
        env = "STEWARD_PLAYBOOK_ADDR",
        default_value = "http://127.0.0.1:50054"
    )]
    pub playbook_addr: String,

    /// Bearer token (the secret part of one of the services' STEWARD_TOKENS). Default: the
    /// token `steward dev` keeps in `.steward/token` under the current directory.
    #[arg(long, global = true, env = "STEWARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Longest one call may take (imports: one batch; a stream has no limit).
    #[arg(long, global = true, env = "STEWARD_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// One service as the command line knows it: for clients and for error messages.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its name, e.g. `ticket-ingest`.
    pub service: &'static str,
    /// Where it was looked for.
    pub addr: String,
    /// The flag and environment variable that say where it is.
    pub flag: &'static str,
    pub env: &'static str,
}

/// A streamed call runs for as long as its input lasts; this only bounds a stuck one.
const STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

impl Connection {
    /// The account service.
    pub fn account_peer(&self) -> Peer {
        Peer {
            service: "account",
            addr: self.account_addr.clone(),
            flag: "--account-addr",
            env: "STEWARD_ACCOUNT_ADDR",
        }
    }

    /// The ticket-ingest service.
    pub fn ticket_peer(&self) -> Peer {
        Peer {
            service: "ticket-ingest",
            addr: self.ticket_addr.clone(),
            flag: "--ticket-addr",
            env: "STEWARD_TICKET_ADDR",
        }
    }

    /// The health-scoring service.
    pub fn health_peer(&self) -> Peer {
        Peer {
            service: "health-scoring",
            addr: self.health_addr.clone(),
            flag: "--health-addr",
            env: "STEWARD_HEALTH_ADDR",
        }
    }

    /// The playbook service.
    pub fn playbook_peer(&self) -> Peer {
        Peer {
            service: "playbook",
            addr: self.playbook_addr.clone(),
            flag: "--playbook-addr",
            env: "STEWARD_PLAYBOOK_ADDR",
        }
    }

    /// A client of the account service.
    pub fn accounts(&self) -> anyhow::Result<(Peer, Accounts)> {
        let peer = self.account_peer();
        let channel = self.channel(&peer, self.timeout)?;
        Ok((peer, AccountServiceClient::new(channel)))
    }

    /// A client of ticket-ingest; `streaming` lifts the per-call deadline for long streams.
    pub fn tickets(&self, streaming: bool) -> anyhow::Result<(Peer, Tickets)> {
        let peer = self.ticket_peer();
        let timeout = if streaming { STREAM_TIMEOUT } else { self.timeout };
        let channel = self.channel(&peer, timeout)?;
        Ok((peer, TicketIngestServiceClient::new(channel)))
    }

    /// A client of health-scoring; `streaming` lifts the per-call deadline for watches.
    pub fn health(&self, streaming: bool) -> anyhow::Result<(Peer, Health)> {
        let peer = self.health_peer();
        let timeout = if streaming { STREAM_TIMEOUT } else { self.timeout };
        let channel = self.channel(&peer, timeout)?;
        Ok((peer, HealthScoringServiceClient::new(channel)))
    }

    /// A client of the playbook service.
    pub fn playbooks(&self) -> anyhow::Result<(Peer, Playbooks)> {
        let peer = self.playbook_peer();
        let channel = self.channel(&peer, self.timeout)?;
        Ok((peer, PlaybookServiceClient::new(channel)))
    }

    /// The token: the flag or STEWARD_TOKEN, else the one `steward dev` keeps.
    pub fn token(&self) -> anyhow::Result<SecretString> {
        if let Some(token) = self.token.as_deref().filter(|t| !t.trim().is_empty()) {
            return Ok(SecretString::from(token.trim().to_owned()));
        }
        let file = Path::new(dev::DEFAULT_DATA_DIR).join(dev::TOKEN_FILE);
        match std::fs::read_to_string(&file) {
            Ok(token) if !token.trim().is_empty() => {
                Ok(SecretString::from(token.trim().to_owned()))
            }
            _ => anyhow::bail!(
                "no token: pass --token or set STEWARD_TOKEN (`steward dev` prints its token, \
                 and keeps it in {})",
                file.display()
            ),
        }
    }

    fn channel(&self, peer: &Peer, timeout: Duration) -> anyhow::Result<Intercepted> {
        let channel = steward_kit::client::channel(&peer.addr)
            .map_err(|e| anyhow::anyhow!("{} {} / {}: {e:#}", peer.service, peer.flag, peer.env))?;
        let outbound = Outbound::new(&self.token()?, timeout)?;
        Ok(InterceptedService::new(channel, outbound))
    }
}

impl Peer {
    /// Turns a failed call into an error that names the service and says what to do.
    pub fn error(&self, status: tonic::Status) -> anyhow::Error {
        let Peer { service, addr, flag, env } = self;
        if unreachable(&status) {
            return anyhow::anyhow!(
                "cannot reach the {service} service at {addr} ({}).\n\
                 Is it running? `steward dev` starts the suite locally; otherwise point \
                 {flag} or {env} at the service.",
                cause(&status)
            );
        }
        let hint = match status.code() {
            Code::Unauthenticated => {
                "\nCheck --token / STEWARD_TOKEN: `steward dev` prints the token it accepts."
            }
            Code::PermissionDenied => "\nThe token lacks the scope this call needs.",
            _ => "",
        };
        anyhow::anyhow!(
            "the {service} service at {addr} answered {:?}: {}{}{hint}",
            status.code(),
            status.message(),
            field_violations(&status)
        )
    }
}

/// Whether the call failed before reaching a Steward service: our services' own UNAVAILABLE
/// answers carry an `ErrorInfo`, transport failures carry nothing.
fn unreachable(status: &tonic::Status) -> bool {
    status.code() == Code::Unavailable && status.get_error_details().error_info().is_none()
}

/// The innermost cause of a transport failure, e.g. "Connection refused (os error 111)".
fn cause(status: &tonic::Status) -> String {
    let mut cause: &dyn std::error::Error = status;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if text.is_empty() { status.message().to_owned() } else { text }
}

/// `" (field: why; …)"` from a `BadRequest`, or nothing.
pub fn field_violations(status: &tonic::Status) -> String {
    let Some(bad) = status.get_error_details().bad_request().cloned() else {
        return String::new();
    };
    let fields: Vec<String> =
        bad.field_violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
    if fields.is_empty() { String::new() } else { format!(" ({})", fields.join("; ")) }
}
