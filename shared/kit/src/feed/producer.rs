//! The producing side: append in the caller's transaction; list and watch from a safe point;
//! prune by age.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Cursor, FeedMessage};
use crate::Error;

/// How a feed is served and kept.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Entries older than this are pruned; cursors behind the pruned point get OUT_OF_RANGE.
    pub retention: Duration,
    /// A watcher re-reads at least this often, in case a wake-up notification was lost.
    pub poll_interval: Duration,
    /// Most entries one read returns.
    pub max_page: i64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(7 * 24 * 3600),
            poll_interval: Duration::from_millis(500),
            max_page: 1000,
        }
    }
}

/// One service's feed, in `<schema>.feed`.
#[derive(Debug)]
pub struct Feed {
    pool: PgPool,
    config: FeedConfig,
    channel: String,
    wake: watch::Receiver<u64>,
    sql: Sql,
}

#[derive(Debug)]
struct Sql {
    append: String,
    read: String,
    pending: String,
    horizon: String,
    prune: String,
}

/// A page read from the feed.
struct Page<M> {
    entries: Vec<M>,
    last: Cursor,
    /// Entries exist past the safe point: a transaction below them is still running.
    pending: bool,
}

impl Feed {
    /// Serves the feed of `schema`, whose tables the kit's migrations created. Starts the
    /// wake-up listener and the pruner; both stop when the last handle is dropped.
    pub fn start(pool: PgPool, schema: &'static str, config: FeedConfig) -> Arc<Self> {
        let (wake_tx, wake) = watch::channel(0);
        let feed = Arc::new(Self {
            channel: format!("{schema}_feed"),
            sql: Sql::new(schema),
            pool,
            config,
            wake,
        });
        tokio::spawn(listen(Arc::downgrade(&feed), wake_tx));
        tokio::spawn(prune_periodically(Arc::downgrade(&feed)));
        feed
    }

    /// Appends `change` about `account` inside the caller's transaction `tx`: it becomes
    /// visible exactly when, and only if, the caller's change commits.
    pub async fn append<M: prost::Message>(
        &self,
        tx: &mut PgConnection,
        account: &str,
        change: &M,
    ) -> Result<(), sqlx::Error> {
        self.append_encoded(tx, &[account.to_owned()], &[change.encode_to_vec()]).await
    }

    /// Appends many changes at once (one statement), for batched writers.
    pub async fn append_encoded(
        &self,
        tx: &mut PgConnection,
        accounts: &[String],
        payloads: &[Vec<u8>],
    ) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(self.sql.append.as_str()))
            .bind(accounts)
            .bind(payloads)
            .bind(&self.channel)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// `List…Changes`: up to `page_size` entries after `after_cursor`, and the next cursor.
    pub async fn list<M: FeedMessage>(
        &self,
        after_cursor: &str,
        page_size: i32,
    ) -> Result<(Vec<M>, String), Error> {
        let after = Cursor::parse(after_cursor, "after_cursor")?;
        let limit =
            if page_size <= 0 { 100 } else { i64::from(page_size).min(self.config.max_page) };
        let page = self.read::<M>(after, limit).await?;
        Ok((page.entries, page.last.encode()))
    }

    /// `Watch…Changes`: every entry after `after_cursor`, then new entries as they commit.
    /// The stream ends with OUT_OF_RANGE if the watcher falls behind retention.
    pub async fn watch<M: FeedMessage>(
        self: &Arc<Self>,
        after_cursor: &str,
    ) -> Result<ReceiverStream<Result<M, Status>>, Error> {
        let after = Cursor::parse(after_cursor, "after_cursor")?;
        self.check_horizon(after).await?;
        // A small buffer: a slow client slows its own reader, nothing piles up server-side.
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(Arc::clone(self).pump(after, tx));
        Ok(ReceiverStream::new(rx))
    }

    async fn pump<M: FeedMessage>(
        self: Arc<Self>,
        mut after: Cursor,
        tx: mpsc::Sender<Result<M, Status>>,
    ) {
        let mut wake = self.wake.clone();
        let mut retry = Duration::from_millis(1);
        loop {
            wake.mark_unchanged();
            let page = match self.read::<M>(after, self.config.max_page).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let full = page.entries.len() as i64 == self.config.max_page;
            after = page.last;
            for entry in page.entries {
                if tx.send(Ok(entry)).await.is_err() {
                    return; // the client went away
                }
            }
            if full {
                continue;
            }
            if page.pending {
                // A committed entry waits behind a running transaction: look again soon.
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(Duration::from_millis(50));
                continue;
            }
            retry = Duration::from_millis(1);
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = tx.closed() => return,
            }
        }
    }

    async fn read<M: FeedMessage>(&self, after: Cursor, limit: i64) -> Result<Page<M>, Error> {
        self.check_horizon(after).await?;
        let rows = sqlx::query(AssertSqlSafe(self.sql.read.as_str()))
            .bind(after.txid)
            .bind(after.seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut last = after;
        for row in rows {
            let position = Cursor { txid: row.try_get("txid")?, seq: row.try_get("seq")? };
            let time: chrono::DateTime<chrono::Utc> = row.try_get("commit_time")?;
            let payload: Vec<u8> = row.try_get("payload")?;
            let mut entry = M::decode(payload.as_slice())
                .map_err(|e| anyhow::anyhow!("feed entry {position:?} does not decode: {e}"))?;
            entry.set_position(position.encode(), crate::time::timestamp(time));
            entries.push(entry);
            last = position;
        }
        let pending = entries.is_empty()
            && sqlx::query_scalar::<_, bool>(AssertSqlSafe(self.sql.pending.as_str()))
                .bind(after.txid)
                .bind(after.seq)
                .fetch_one(&self.pool)
                .await?;
        Ok(Page { entries, last, pending })
    }

    async fn check_horizon(&self, after: Cursor) -> Result<(), Error> {
        if after == Cursor::START {
            return Ok(());
        }
        let row =
            sqlx::query(AssertSqlSafe(self.sql.horizon.as_str())).fetch_one(&self.pool).await?;
        let horizon = Cursor { txid: row.try_get("txid")?, seq: row.try_get("seq")? };
        if after < horizon {
            return Err(Error::OutOfRange {
                reason: "CURSOR_EXPIRED",
                message:
                    "the cursor is older than the feed's retention: list the resources again, \
                          then watch from the newest change"
                        .into(),
            });
        }
        Ok(())
    }

    /// Deletes entries older than the retention (only below the safe point, so the pruned
    /// horizon only moves forward). Returns how many went.
    pub async fn prune(&self) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(self.sql.prune.as_str()))
                .bind(self.config.retention.as_secs_f64())
                .fetch_one(&self.pool)
                .await?;
            total += n as u64;
            if n < 10_000 {
                return Ok(total);
            }
        }
    }
}

impl Sql {
    fn new(s: &str) -> Self {
        Self {
            append: format!(
                "WITH appended AS (
                    INSERT INTO {s}.feed (account, payload)
                    SELECT * FROM UNNEST($1::text[], $2::bytea[]) RETURNING 1)
                 SELECT pg_notify($3, '') FROM (SELECT 1 FROM appended LIMIT 1) _"
            ),
            read: format!(
                "SELECT txid::text::bigint AS txid, seq, commit_time, payload
                 FROM {s}.feed
                 WHERE (txid, seq) > ($1::text::xid8, $2)
                   AND txid < pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY txid, seq
                 LIMIT $3"
            ),
            pending: format!(
                "SELECT EXISTS (SELECT 1 FROM {s}.feed WHERE (txid, seq) > ($1::text::xid8, $2))"
            ),
            horizon: format!("SELECT txid::text::bigint AS txid, seq FROM {s}.feed_horizon"),
            prune: format!(
                "WITH gone AS (
                    DELETE FROM {s}.feed WHERE (txid, seq) IN (
                        SELECT txid, seq FROM {s}.feed
                        WHERE commit_time < now() - make_interval(secs => $1)
                          AND txid < pg_snapshot_xmin(pg_current_snapshot())
                        LIMIT 10000)
                    RETURNING txid, seq),
                 newest AS (SELECT txid, seq FROM gone ORDER BY txid DESC, seq DESC LIMIT 1),
                 moved AS (
                    UPDATE {s}.feed_horizon h SET txid = newest.txid, seq = newest.seq
                    FROM newest WHERE (newest.txid, newest.seq) > (h.txid, h.seq))
                 SELECT count(*) FROM gone"
            ),
        }
    }
}

/// Turns NOTIFYs on the feed's channel into wake-ups for every watcher of this process.
/// NOTIFY is only a hint (watchers also poll), so a lost connection costs latency, not data.
async fn listen(feed: std::sync::Weak<Feed>, wake: watch::Sender<u64>) {
    let mut listener: Option<PgListener> = None;
    loop {
        let Some(strong) = feed.upgrade() else { return };
        if listener.is_none() {
            match PgListener::connect_with(&strong.pool).await {
                Ok(mut l) => match l.listen(&strong.channel).await {
                    Ok(()) => listener = Some(l),
                    Err(e) => tracing::warn!(error = %e, "feed listener: LISTEN failed"),
                },
                Err(e) => tracing::warn!(error = %e, "feed listener: cannot connect"),
            }
        }
        drop(strong);
        let Some(l) = listener.as_mut() else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        // Wake up now and then to notice that the feed was dropped.
        match tokio::time::timeout(Duration::from_secs(5), l.try_recv()).await {
            Ok(Ok(Some(_))) => {
                wake.send_modify(|n| *n = n.wrapping_add(1));
            }
            // Connection lost: wake everyone (they re-read), and reconnect.
            Ok(Ok(None)) | Ok(Err(_)) => {
                wake.send_modify(|n| *n = n.wrapping_add(1));
                listener = None;
            }
            Err(_) => {}
        }
    }
}

async fn prune_periodically(feed: std::sync::Weak<Feed>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let Some(feed) = feed.upgrade() else { return };
        match feed.prune().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "feed entries past retention removed"),
            Err(e) => tracing::warn!(error = %e, "feed pruning failed; will retry"),
        }
    }
}
