//! A complete `ProbeService` for tests and the bare-tonic benchmark baseline: Echo, Sleep
//! (counting calls in flight), and a change feed served by the kit's [`Feed`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steward_kit::auth::{MethodScopes, Scope};
use steward_kit::feed::Feed;
use steward_proto::testing::v1::probe_service_server::ProbeService;
use steward_proto::testing::v1::{
    EchoRequest, EchoResponse, ListProbeChangesRequest, ListProbeChangesResponse, ProbeChange,
    SleepRequest, SleepResponse, WatchProbeChangesRequest,
};
use tokio::sync::Notify;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// The probe service's full gRPC name.
pub const SERVICE: &str = "steward.testing.v1.ProbeService";

/// Who may call what.
pub const SCOPES: MethodScopes = &[
    ("Echo", Scope::Read),
    ("Sleep", Scope::Write),
    ("ListProbeChanges", Scope::Read),
    ("WatchProbeChanges", Scope::Read),
];

/// The probe. Clones share their counters.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Sleep calls in flight.
    pub sleeping: Arc<AtomicUsize>,
    entered: Arc<Notify>,
    feed: Option<Arc<Feed>>,
}

impl Probe {
    /// A probe whose feed methods serve `feed`.
    pub fn with_feed(feed: Arc<Feed>) -> Self {
        Self { feed: Some(feed), ..Self::default() }
    }

    /// Waits until `n` Sleep calls are in flight.
    pub async fn until_sleeping(&self, n: usize) {
        loop {
            let entered = self.entered.notified();
            if self.sleeping.load(Ordering::SeqCst) >= n {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), entered).await;
        }
    }

    #[allow(clippy::result_large_err)] // Status is what handlers answer with.
    fn feed(&self) -> Result<&Arc<Feed>, Status> {
        self.feed.as_ref().ok_or_else(|| Status::failed_precondition("this probe has no feed"))
    }
}

#[tonic::async_trait]
impl ProbeService for Probe {
    async fn echo(&self, req: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse { message: req.into_inner().message }))
    }

    async fn sleep(&self, req: Request<SleepRequest>) -> Result<Response<SleepResponse>, Status> {
        let d = req.into_inner().duration.unwrap_or_default();
        let d = Duration::try_from(d).map_err(|_| Status::invalid_argument("duration"))?;
        self.sleeping.fetch_add(1, Ordering::SeqCst);
        self.entered.notify_waiters();
        tokio::time::sleep(d).await;
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        Ok(Response::new(SleepResponse { slept_ms: d.as_millis() as i64 }))
    }

    async fn list_probe_changes(
        &self,
        req: Request<ListProbeChangesRequest>,
    ) -> Result<Response<ListProbeChangesResponse>, Status> {
        let req = req.into_inner();
        let (changes, next_cursor) = self.feed()?.list(&req.after_cursor, req.page_size).await?;
        Ok(Response::new(ListProbeChangesResponse { changes, next_cursor }))
    }

    type WatchProbeChangesStream = ReceiverStream<Result<ProbeChange, Status>>;

    async fn watch_probe_changes(
        &self,
        req: Request<WatchProbeChangesRequest>,
    ) -> Result<Response<Self::WatchProbeChangesStream>, Status> {
        let stream = self.feed()?.watch(&req.into_inner().after_cursor).await?;
        Ok(Response::new(stream))
    }
}
