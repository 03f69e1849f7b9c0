//! The health schema: every query the service runs, and the health feed entries written in
//! the same transactions as the scores they announce.

mod accounts;
mod measurements;
mod operations;
mod scorecards;
mod scores;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use steward_kit::Error;
use steward_kit::feed::{DirtyQueue, Feed};

pub use accounts::{ACCOUNT_CONSUMER, AccountFeedHandler, KnownAccount, SupportFeedHandler};
pub use measurements::{MeasurementQuery, Recorded};
pub use operations::{ItemClaim, ItemOutcome, NewOperation, RescoreFilter, operation_name};
pub use scorecards::scorecard_name;
pub use scores::{AccountInputs, HistoryQuery, NewScore, ScoreOrder, ScoreQuery, Stored};

/// The service's schema.
pub const SCHEMA: &str = "health";

/// The health-scoring service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    feed: Arc<Feed>,
    queue: DirtyQueue,
}

impl Store {
    /// Storage on `pool`, appending changes to `feed`; accounts marked for re-scoring wait
    /// `coalesce` so that a burst of changes becomes one re-score.
    pub fn new(pool: PgPool, feed: Arc<Feed>, coalesce: Duration) -> Self {
        Self { pool, feed, queue: DirtyQueue::new(SCHEMA, coalesce) }
    }

    /// The health change feed.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// The coalescing queue of accounts to re-score.
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
