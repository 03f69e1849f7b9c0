//! Server bootstrap: bind, serve a set of gRPC services behind the call policy, answer health
//! and reflection, and shut down gracefully.
//!
//! ```text
//! let app = Application::bind(config, &auth).await?
//!     .with_service(AccountServiceServer::new(api), api::SCOPES)
//!     .with_readiness_db(pool);
//! app.run(steward_kit::shutdown::signal()).await
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::{Authenticator, MethodScopes};
use crate::config::{AuthConfig, ServerConfig};
use crate::middleware::{Policy, PolicyLayer, RpcMetrics};

/// How often readiness re-checks the database, and how long one check may take.
const READINESS_INTERVAL: Duration = Duration::from_secs(5);
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// A bound, not yet serving, gRPC server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    config: ServerConfig,
    auth: Authenticator,
    routes: RoutesBuilder,
    services: Vec<&'static str>,
    db: Option<PgPool>,
    tasks: BackgroundTasks,
}

/// Work that runs beside the server (e.g. feed consumers).
#[derive(Default)]
struct BackgroundTasks(Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>);

impl std::fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} background task(s)", self.0.len())
    }
}

impl Application {
    /// Binds the listening socket (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn bind(config: ServerConfig, auth: &AuthConfig) -> anyhow::Result<Self> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen_addr).await.map_err(|e| {
            anyhow::anyhow!("--listen-addr {}: cannot bind: {e}", config.listen_addr)
        })?;
        Ok(Self {
            listener,
            config,
            auth: Authenticator::new(&auth.tokens),
            routes: RoutesBuilder::default(),
            services: Vec::new(),
            db: None,
            tasks: BackgroundTasks::default(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.listen_addr)
    }

    /// The server's settings (e.g. the message size limit for generated servers).
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The gRPC services added so far, by full name, as health checks ask for them (e.g. to
    /// wait until each reports SERVING).
    pub fn service_names(&self) -> &[&'static str] {
        &self.services
    }

    /// Serves `service`, whose methods need the scopes in `scopes`.
    pub fn with_service<S>(mut self, service: S, scopes: MethodScopes) -> Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.auth.add_service(S::NAME, scopes);
        self.services.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Runs `task` for as long as the server serves: it starts with [`Application::run`] and is
    /// dropped when the server stops (so it must be cancel-safe, as the kit's feed consumer
    /// is: its uncommitted transaction rolls back and its lease is freed).
    pub fn with_task(mut self, task: impl Future<Output = ()> + Send + 'static) -> Self {
        self.tasks.0.push(Box::pin(task));
        self
    }

    /// Reports NOT_SERVING on readiness while `pool` cannot reach the database.
    pub fn with_readiness_db(mut self, pool: PgPool) -> Self {
        self.db = Some(pool);
        self
    }

    /// Serves until `shutdown` resolves, then: readiness goes NOT_SERVING, the listener
    /// closes, in-flight calls get `shutdown_grace` to finish, and whatever remains is cut.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Application { listener, config, auth, mut routes, services, db, tasks } = self;
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &services {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        // Advertise what this process serves, not every service in the descriptor set.
        let mut reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(steward_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health");
        for name in &services {
            reflection = reflection.with_service_name(*name);
        }
        let reflection = reflection.build_v1()?;
        routes.add_service(health_service).add_service(reflection);

        let readiness =
            db.map(|pool| tokio::spawn(watch_db(pool, health.clone(), services.clone())));
        let policy = Arc::new(Policy {
            auth,
            permits: Arc::new(Semaphore::new(config.max_concurrent_calls)),
            metrics: RpcMetrics::new(),
        });
        let addr = listener.local_addr()?;
        tracing::info!(%addr, services = ?services, "serving");

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .timeout(config.request_timeout)
            .http2_keepalive_interval(Some(config.keepalive_interval))
            .http2_keepalive_timeout(Some(config.keepalive_timeout))
            .max_connection_age(config.max_connection_age)
            .trace_fn(|req| {
                let span = tracing::info_span!("rpc", rpc.method = %req.uri().path());
                crate::telemetry::adopt_remote_parent(&span, req.headers());
                span
            })
            .layer(PolicyLayer(policy))
            .add_routes(routes.routes())
            // Our own listener, so tonic's defaults do not apply: without TCP_NODELAY, Nagle and
            // delayed ACKs stall small streamed messages for ~40 ms.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                async {
                    let _ = stop_rx.await;
                },
            );
        tokio::pin!(server);
        // Background tasks are polled only until draining starts, then dropped with this
        // future.
        let background = async move {
            futures_util::future::join_all(tasks.0).await;
            std::future::pending::<()>().await
        };
        tokio::pin!(background);

        tokio::select! {
            result = &mut server => return finish(readiness, result.map_err(Into::into)),
            () = shutdown => {}
            () = &mut background => {}
        }
        // Tell load balancers first, then stop accepting and drain.
        for name in &services {
            health.set_service_status(*name, ServingStatus::NotServing).await;
        }
        health.set_service_status("", ServingStatus::NotServing).await;
        let _ = stop_tx.send(());
        tracing::info!(grace = ?config.shutdown_grace, "draining in-flight calls");
        // A stuck HTTP/2 connection can hold a graceful shutdown open for very long: bound it.
        match tokio::time::timeout(config.shutdown_grace, &mut server).await {
            Ok(result) => finish(readiness, result.map_err(Into::into)),
            Err(_) => {
                tracing::warn!("calls still running after the grace period; closing them");
                finish(readiness, Ok(()))
            }
        }
    }
}

fn finish(
    readiness: Option<tokio::task::JoinHandle<()>>,
    result: anyhow::Result<()>,
) -> anyhow::Result<()> {
    if let Some(task) = readiness {
        task.abort();
    }
    tracing::info!("server stopped");
    result
}

/// Keeps readiness in step with the database's reachability.
async fn watch_db(pool: PgPool, health: HealthReporter, services: Vec<&'static str>) {
    let mut serving = true;
    let mut tick = tokio::time::interval(READINESS_INTERVAL);
    loop {
        tick.tick().await;
        let ok = matches!(
            tokio::time::timeout(READINESS_TIMEOUT, sqlx::query("SELECT 1").execute(&pool)).await,
            Ok(Ok(_))
        );
        if ok != serving {
            serving = ok;
            let status = if ok { ServingStatus::Serving } else { ServingStatus::NotServing };
            if ok {
                tracing::info!("database reachable again; ready");
            } else {
                tracing::warn!("database unreachable; not ready");
            }
            for name in &services {
                health.set_service_status(*name, status).await;
            }
        }
    }
}
