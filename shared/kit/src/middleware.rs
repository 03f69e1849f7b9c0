//! The policy every call to a Steward service passes, as one tower layer: authenticate,
//! admit within the global concurrency limit (shedding the excess with RESOURCE_EXHAUSTED
//! instead of queueing it), record the caller's deadline for outgoing calls, and count the
//! call in the RED metrics. Health checks and reflection skip auth and the limit, so that
//! probes keep answering under overload.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use tokio::sync::Semaphore;
use tonic::Status;

use crate::auth::Authenticator;
use crate::deadline;

/// Shared by every connection's copy of the layer.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) auth: Authenticator,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) metrics: RpcMetrics,
}

/// Request rate, errors and duration per method (the RED metrics), exported over OTLP when a
/// collector is configured.
#[derive(Debug)]
pub(crate) struct RpcMetrics {
    duration: Histogram<f64>,
    shed: Counter<u64>,
}

impl RpcMetrics {
    pub(crate) fn new() -> Self {
        let meter = opentelemetry::global::meter("steward");
        Self {
            duration: meter
                .f64_histogram("rpc.server.duration")
                .with_unit("ms")
                .with_description("Duration of served gRPC calls, by method and status code")
                .build(),
            shed: meter
                .u64_counter("rpc.server.shed")
                .with_description("Calls refused with RESOURCE_EXHAUSTED at the concurrency limit")
                .build(),
        }
    }
}

/// The tower layer applying [`Policy`].
#[derive(Debug, Clone)]
pub(crate) struct PolicyLayer(pub(crate) Arc<Policy>);

impl<S> tower::Layer<S> for PolicyLayer {
    type Service = PolicyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PolicyService { inner, policy: self.0.clone() }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PolicyService<S> {
    inner: S,
    policy: Arc<Policy>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for PolicyService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone is not ready; the ready one serves this call (tower's documented idiom).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy.clone();
        Box::pin(async move {
            let path = req.uri().path().to_owned();
            if is_open(&path) {
                return inner.call(req).await;
            }
            let caller = match policy.auth.authorize(req.headers(), &path) {
                Ok(caller) => caller,
                Err(status) => return Ok(status.into_http()),
            };
            let Ok(permit) = policy.permits.clone().try_acquire_owned() else {
                policy.metrics.shed.add(1, &[KeyValue::new("rpc.method", path)]);
                return Ok(Status::resource_exhausted(
                    "the server is at its concurrency limit; retry with backoff",
                )
                .into_http());
            };
            req.extensions_mut().insert(caller);
            let deadline = req
                .headers()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(deadline::parse_grpc_timeout)
                .map(|t| tokio::time::Instant::now() + t);

            let started = Instant::now();
            let result = deadline::scope(deadline, inner.call(req)).await;
            drop(permit);
            // Unary errors travel in the headers (trailers-only); success says nothing there.
            let code = match &result {
                Ok(resp) => resp
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0),
                Err(_) => tonic::Code::Internal as i64,
            };
            policy.metrics.duration.record(
                started.elapsed().as_secs_f64() * 1000.0,
                &[KeyValue::new("rpc.method", path), KeyValue::new("rpc.grpc.status_code", code)],
            );
            result
        })
    }
}

/// Health and reflection answer anyone: probes and tools carry no token.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}
