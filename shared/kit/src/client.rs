//! Calling another Steward service: a lazily connected channel balanced over every address
//! the peer's DNS name resolves to, an interceptor that adds the token, the trace context and
//! a deadline to every call, and retries for the calls that are safe to repeat.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// How often a peer's DNS name is re-resolved, to follow replicas coming and going.
const RESOLVE_INTERVAL: Duration = Duration::from_secs(15);

/// A channel to `addr` (`http://host:port`). With a DNS name, every resolved address becomes
/// an endpoint and calls are spread over them (use a headless Service in Kubernetes); an IP
/// literal gives one endpoint. Nothing connects until the first call.
pub fn channel(addr: &str) -> anyhow::Result<Channel> {
    let uri: http::Uri = addr.parse().map_err(|e| anyhow::anyhow!("peer address `{addr}`: {e}"))?;
    let host = uri.host().ok_or_else(|| anyhow::anyhow!("peer address `{addr}` has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return Ok(endpoint(addr)?.connect_lazy());
    }
    let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
    let host = host.to_owned();
    tokio::spawn(async move {
        let mut known: HashSet<SocketAddr> = HashSet::new();
        loop {
            match tokio::net::lookup_host((host.as_str(), port)).await {
                Ok(addrs) => {
                    let now: HashSet<SocketAddr> = addrs.collect();
                    for gone in known.difference(&now) {
                        if changes.send(Change::Remove(*gone)).await.is_err() {
                            return; // the channel was dropped
                        }
                    }
                    for new in now.difference(&known) {
                        let Ok(ep) = endpoint(&format!("http://{new}")) else { continue };
                        if changes.send(Change::Insert(*new, ep)).await.is_err() {
                            return;
                        }
                    }
                    known = now;
                }
                Err(e) => {
                    tracing::warn!(%host, error = %e, "cannot resolve peer; keeping the last addresses")
                }
            }
            tokio::time::sleep(RESOLVE_INTERVAL).await;
        }
    });
    Ok(channel)
}

fn endpoint(addr: &str) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(addr.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true))
}

/// Adds the bearer token, the trace context and a deadline to every outgoing call.
#[derive(Debug, Clone)]
pub struct Outbound {
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    timeout: Duration,
}

impl Outbound {
    /// Calls carry `token`, and end after `timeout` or the serving call's deadline, if sooner.
    pub fn new(token: &SecretString, timeout: Duration) -> anyhow::Result<Self> {
        let authorization = format!("Bearer {}", token.expose_secret())
            .parse()
            .map_err(|_| anyhow::anyhow!("the token is not valid ASCII metadata"))?;
        Ok(Self { authorization, timeout })
    }
}

impl tonic::service::Interceptor for Outbound {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.authorization.clone());
        crate::telemetry::inject_current(req.metadata_mut());
        // The shortest of: our default, the caller's own per-call timeout, and what is left of
        // the call we are serving.
        let own = req
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::deadline::parse_grpc_timeout);
        let timeout = [Some(self.timeout), own, crate::deadline::remaining()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.timeout);
        if timeout.is_zero() {
            return Err(Status::deadline_exceeded("no time left of the serving call's deadline"));
        }
        req.set_timeout(timeout);
        Ok(req)
    }
}

/// A channel with [`Outbound`] applied: what generated clients are built on.
pub type Intercepted = tonic::service::interceptor::InterceptedService<Channel, Outbound>;

/// A peer service as a caller sees it: one DNS-balanced [`channel`] to its address, and
/// calls on it that carry our token with a default deadline.
#[derive(Debug, Clone)]
pub struct Peer {
    channel: Channel,
    token: SecretString,
}

impl Peer {
    /// The service at `addr`, called with `token`.
    pub fn new(addr: &str, token: &SecretString) -> anyhow::Result<Self> {
        Ok(Self { channel: channel(addr)?, token: token.clone() })
    }

    /// Calls whose deadline is at most `timeout`: wrap in a generated client.
    pub fn calls(&self, timeout: Duration) -> anyhow::Result<Intercepted> {
        Ok(tonic::service::interceptor::InterceptedService::new(
            self.channel.clone(),
            Outbound::new(&self.token, timeout)?,
        ))
    }
}

/// Runs `call` again with exponential backoff and jitter while it fails with UNAVAILABLE
/// (AIP-194), or is cancelled because its connection closed under it (a server rotating
/// connections at their maximum age refuses calls that cross its GOAWAY; tonic does not
/// retry them transparently). Only for idempotent calls or calls carrying a `request_id`.
pub async fn retry<T, F, Fut>(call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    call.retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(5)
            .with_jitter(),
    )
    .when(retriable)
    .await
}

/// Whether a failed call may be sent again (see [`retry`]).
fn retriable(status: &Status) -> bool {
    use std::error::Error as _;
    match status.code() {
        Code::Unavailable => true,
        Code::Cancelled => status.source().is_some_and(|e| e.is::<tonic::transport::Error>()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_and_connection_cancellations_are_retried() {
        assert!(retriable(&Status::unavailable("connection refused")));
        // A caller's own cancellation, or an answer, is final.
        assert!(!retriable(&Status::cancelled("the caller went away")));
        assert!(!retriable(&Status::deadline_exceeded("too slow")));
        assert!(!retriable(&Status::invalid_argument("bad")));
        assert!(!retriable(&Status::resource_exhausted("shed")));
    }
}
