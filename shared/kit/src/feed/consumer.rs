//! The consuming side: follow another service's feed with a cursor kept in our own schema,
//! committed in the same transaction as the effects of the entries it covers, so that an
//! entry's effect is applied exactly once across restarts of either side.
//!
//! One replica at a time consumes a given feed: the loop holds a session-level advisory lock
//! (the lease) for as long as it runs; when its process or connection dies, Postgres releases
//! the lock and another replica takes over from the committed cursor. The cursor update is a
//! compare-and-set, so even a replica that lost its lease unnoticed cannot apply a batch twice.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use opentelemetry::KeyValue;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tonic::{Code, Status};

use super::FeedMessage;

/// What a consumer does with the entries it reads.
pub trait Handler<M>: Send + Sync + 'static {
    /// Applies `batch` inside `tx`, the transaction that also advances the cursor.
    fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[M],
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The feed no longer holds our position (we were down longer than its retention):
    /// re-derive what the entries would have told us from the source of truth (e.g. mark
    /// every account dirty). Runs inside the transaction that resets the cursor.
    fn reset(&self, tx: &mut PgConnection) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// How often an idle consumer records that it is caught up (`feed_cursors.updated_at`).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Settings of one consumer.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Unique per (consuming service, feed), e.g. `health.ticket-feed`: names the cursor row
    /// and the lease.
    pub name: &'static str,
    /// The consuming service's schema (where `feed_cursors` lives).
    pub schema: &'static str,
    /// Most entries applied in one transaction.
    pub max_batch: usize,
}

/// Where the consumer stands, for metrics, health and tests.
#[derive(Debug, Default)]
pub struct Progress {
    /// Entries applied since start.
    pub applied: AtomicI64,
    /// Commit time (Unix ms) of the newest applied entry.
    pub last_commit_ms: AtomicI64,
    /// Times the feed expired under us and we re-listed.
    pub resets: AtomicI64,
}

/// Runs the consumer until `shutdown` resolves. `open` starts a watch after a cursor
/// (typically a generated client's `watch_…_changes`).
pub async fn run<M, H, O, Fut>(
    pool: PgPool,
    config: ConsumerConfig,
    handler: H,
    mut open: O,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) where
    M: FeedMessage,
    H: Handler<M>,
    O: FnMut(String) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Streaming<M>, Status>> + Send,
{
    let lag = opentelemetry::global::meter("steward")
        .f64_gauge("feed.consumer.lag")
        .with_unit("s")
        .with_description("Seconds between an entry's commit and its application")
        .build();
    let attrs = [KeyValue::new("consumer", config.name)];
    let work = async {
        let mut backoff = Backoff::default();
        loop {
            match follow_once(&pool, &config, &handler, &mut open, &progress, &lag, &attrs).await {
                Ok(()) => backoff = Backoff::default(),
                Err(e) => {
                    tracing::warn!(consumer = config.name, error = %format!("{e:#}"), "feed consumer interrupted; resuming");
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = shutdown => {}
    }
}

/// What a service runs as a background task ([`crate::Application::with_task`]): [`run`]
/// with batches of up to 500 entries, until the task is dropped with the server.
pub async fn follow<M, H, O, Fut>(
    pool: PgPool,
    name: &'static str,
    schema: &'static str,
    handler: H,
    open: O,
) where
    M: FeedMessage,
    H: Handler<M>,
    O: FnMut(String) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Streaming<M>, Status>> + Send,
{
    let config = ConsumerConfig { name, schema, max_batch: 500 };
    run(pool, config, handler, open, Arc::new(Progress::default()), std::future::pending()).await;
}

/// Takes the lease, then applies entries until the stream or the database fails.
async fn follow_once<M, H, O, Fut>(
    pool: &PgPool,
    config: &ConsumerConfig,
    handler: &H,
    open: &mut O,
    progress: &Progress,
    lag: &opentelemetry::metrics::Gauge<f64>,
    attrs: &[KeyValue],
) -> anyhow::Result<()>
where
    M: FeedMessage,
    H: Handler<M>,
    O: FnMut(String) -> Fut,
    Fut: Future<Output = Result<tonic::Streaming<M>, Status>>,
{
    let s = config.schema;
    // The lease lives exactly as long as this connection, which is taken out of the pool:
    // if this future is dropped (shutdown) the connection closes and Postgres frees the lock,
    // rather than a pooled session keeping it and starving the next consumer.
    let mut lease = pool.acquire().await?.detach();
    let key = lease_key(config.name);
    while !sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut lease)
        .await?
    {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let result = async {
        let mut cursor: String = sqlx::query_scalar(AssertSqlSafe(format!(
            "INSERT INTO {s}.feed_cursors (consumer, cursor) VALUES ($1, '')
             ON CONFLICT (consumer) DO UPDATE SET consumer = EXCLUDED.consumer
             RETURNING cursor"
        )))
        .bind(config.name)
        .fetch_one(pool)
        .await?;
        let mut stream = open(cursor.clone()).await?.ready_chunks(config.max_batch);
        loop {
            // An open, idle watch means we are caught up: say so now and then, so that
            // readers of `feed_cursors.updated_at` can tell a quiet feed from a stuck consumer.
            let Ok(next) = tokio::time::timeout(HEARTBEAT, stream.next()).await else {
                touch(pool, s, config.name, &cursor).await?;
                continue;
            };
            let Some(items) = next else { break };
            let mut batch = Vec::with_capacity(items.len());
            let mut failure = None;
            for item in items {
                match item {
                    Ok(m) => batch.push(m),
                    Err(status) => {
                        failure = Some(status);
                        break;
                    }
                }
            }
            if let Some(last) = batch.last() {
                let next = last.cursor().to_owned();
                let mut tx = pool.begin().await?;
                handler.apply(&mut tx, &batch).await?;
                advance(&mut tx, s, config.name, &cursor, &next).await?;
                tx.commit().await?;
                cursor = next;
                progress.applied.fetch_add(batch.len() as i64, Ordering::Relaxed);
                if let Some(t) = last.commit_time() {
                    let ms = t.seconds * 1000 + i64::from(t.nanos) / 1_000_000;
                    progress.last_commit_ms.store(ms, Ordering::Relaxed);
                    let now = chrono::Utc::now().timestamp_millis();
                    lag.record((now - ms).max(0) as f64 / 1000.0, attrs);
                }
            }
            match failure {
                Some(status) if status.code() == Code::OutOfRange => {
                    tracing::warn!(
                        consumer = config.name,
                        "feed position expired; re-listing from the source of truth"
                    );
                    let mut tx = pool.begin().await?;
                    handler.reset(&mut tx).await?;
                    advance(&mut tx, s, config.name, &cursor, "").await?;
                    tx.commit().await?;
                    progress.resets.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Some(status) => return Err(status.into()),
                None => {}
            }
        }
        anyhow::bail!("the feed stream ended")
    }
    .await;
    let result = match result {
        // Opening the stream may fail with OUT_OF_RANGE too.
        Err(e) if e.downcast_ref::<Status>().is_some_and(|s| s.code() == Code::OutOfRange) => {
            reset_expired(pool, config, handler, progress).await
        }
        other => other,
    };
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut lease).await;
    result
}

/// Records that the consumer is caught up at `cursor` (nothing new arrived for a while).
async fn touch(pool: &PgPool, schema: &str, name: &str, cursor: &str) -> anyhow::Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {schema}.feed_cursors SET updated_at = now() WHERE consumer = $1 AND cursor = $2"
    )))
    .bind(name)
    .bind(cursor)
    .execute(pool)
    .await?;
    Ok(())
}

async fn reset_expired<M, H: Handler<M>>(
    pool: &PgPool,
    config: &ConsumerConfig,
    handler: &H,
    progress: &Progress,
) -> anyhow::Result<()> {
    tracing::warn!(
        consumer = config.name,
        "feed position expired; re-listing from the source of truth"
    );
    let mut tx = pool.begin().await?;
    handler.reset(&mut tx).await?;
    sqlx::query(AssertSqlSafe(format!(
        "UPDATE {}.feed_cursors SET cursor = '', updated_at = now() WHERE consumer = $1",
        config.schema
    )))
    .bind(config.name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    progress.resets.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Moves the cursor from `from` to `to`, failing if another replica moved it meanwhile.
async fn advance(
    tx: &mut PgConnection,
    schema: &str,
    name: &str,
    from: &str,
    to: &str,
) -> anyhow::Result<()> {
    let moved = sqlx::query(AssertSqlSafe(format!(
        "UPDATE {schema}.feed_cursors SET cursor = $3, updated_at = now()
         WHERE consumer = $1 AND cursor = $2"
    )))
    .bind(name)
    .bind(from)
    .bind(to)
    .execute(tx)
    .await?
    .rows_affected();
    anyhow::ensure!(moved == 1, "consumer `{name}`: another replica advanced the cursor; yielding");
    Ok(())
}

fn lease_key(name: &str) -> i64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(bytes)
}

/// Exponential backoff with jitter for reconnecting, 100 ms to 10 s.
#[derive(Debug, Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        self.attempt = (self.attempt + 1).min(7);
        let base = 100u64 << self.attempt.min(7); // 200 ms .. 12.8 s
        let base = base.min(10_000);
        let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u16) % (base / 2 + 1);
        Duration::from_millis(base / 2 + jitter)
    }
}
