//! The playbook schema: every query the service runs, and the run change feed entries
//! written in the same transactions as the run changes they announce.

mod leases;
mod playbooks;
mod runs;
mod signals;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use steward_kit::Error;
use steward_kit::feed::{DirtyQueue, Feed};

pub use leases::Claimed;
pub use playbooks::playbook_name;
pub use runs::{Locked, RunQuery, run_id, run_name};
pub use signals::{
    ACCOUNT_CONSUMER, AccountFeedHandler, HEALTH_CONSUMER, HealthFeedHandler, SUPPORT_CONSUMER,
    Signals, SupportFeedHandler,
};

/// The service's schema.
pub const SCHEMA: &str = "playbook";

/// The playbook service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    feed: Arc<Feed>,
    queue: DirtyQueue,
}

impl Store {
    /// Storage on `pool`, appending run changes to `feed`; accounts marked for evaluation
    /// wait `coalesce` so that a burst of changes becomes one evaluation.
    pub fn new(pool: PgPool, feed: Arc<Feed>, coalesce: Duration) -> Self {
        Self { pool, feed, queue: DirtyQueue::new(SCHEMA, coalesce) }
    }

    /// The run change feed.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// The coalescing queue of accounts to evaluate.
    pub fn queue(&self) -> &DirtyQueue {
        &self.queue
    }

    /// The pool, for the queue's claims.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Decodes a stored protobuf message; a row that does not decode is a bug, not bad input.
fn decode<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M, Error> {
    M::decode(bytes)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored {what} does not decode: {e}")))
}
