//! Services started on loopback for tests: bind port 0, spawn, connect. No sleeps: the
//! socket is bound before the server task starts, so the first call finds it listening.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use steward_kit::Application;
use steward_kit::auth::parse_tokens;
use steward_kit::client::{Intercepted, Outbound};
use steward_kit::config::AuthConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token every test server accepts.
pub const ADMIN_TOKEN: &str = "test-admin-0123456789abcdef";
/// A token with only the `read` scope.
pub const READ_TOKEN: &str = "test-reader-0123456789abcdef";
/// A token with only the `ingest` scope.
pub const INGEST_TOKEN: &str = "test-ingest-0123456789abcdef";

/// The tokens of a test server: `admin`, `reader` and `ingest`.
pub fn auth_config() -> AuthConfig {
    let spec =
        format!("admin:admin:{ADMIN_TOKEN},reader:read:{READ_TOKEN},ingest:ingest:{INGEST_TOKEN}");
    AuthConfig { tokens: parse_tokens(&spec).expect("test tokens are valid") }
}

/// A running service; stopped gracefully by [`TestServer::stop`], aborted when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Runs `app` (bound already, e.g. to 127.0.0.1:0) until stopped.
    pub fn start(app: Application) -> Self {
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task: Some(task) }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, as peers and clients take it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A channel to the server that carries [`ADMIN_TOKEN`]; wrap it in a generated client.
    pub fn channel(&self) -> Intercepted {
        self.channel_with(ADMIN_TOKEN)
    }

    /// A channel to the server that carries `token`.
    pub fn channel_with(&self, token: &str) -> Intercepted {
        channel_to(&self.url(), token)
    }

    /// Asks the server to shut down gracefully and waits for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// Ends the server abruptly, as a crash would.
    pub fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A channel to `url` carrying `token`, with a 30 s default deadline.
pub fn channel_to(url: &str, token: &str) -> Intercepted {
    let channel = steward_kit::client::channel(url).expect("loopback URL is valid");
    let outbound = Outbound::new(&SecretString::from(token.to_owned()), Duration::from_secs(30))
        .expect("token is ASCII");
    tonic::service::interceptor::InterceptedService::new(channel, outbound)
}

/// Starts the real service `S` on a loopback port against `db` (migrated first), with the
/// test tokens. Connect with [`TestServer::channel`].
pub async fn spawn<S: steward_kit::service::Service>(
    db: &crate::TestDb,
    args: S::Args,
) -> anyhow::Result<TestServer> {
    let pool = db.pool().await;
    steward_kit::db::migrate(&pool, S::migrator(), S::SCHEMA).await?;
    let app = steward_kit::service::start::<S>(
        steward_kit::config::ServerConfig::local(),
        &auth_config(),
        pool,
        args,
    )
    .await?;
    Ok(TestServer::start(app))
}
