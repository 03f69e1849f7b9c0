//! The coalescing queue: accounts that need work, each at most once in the queue. Marking an
//! account again before it is processed only bumps its generation, so a burst of a thousand
//! changes becomes one unit of work, done within `delay` of the first change.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use tokio::sync::Notify;

/// `<schema>.dirty_accounts`.
#[derive(Debug, Clone)]
pub struct DirtyQueue {
    schema: &'static str,
    delay: Duration,
}

/// How a queue worker ([`DirtyQueue::work`]) paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Worker {
    /// What the work is, for logs (e.g. `re-score`).
    pub what: &'static str,
    /// Accounts claimed per pass.
    pub batch: i64,
    /// Accounts worked on at once.
    pub concurrency: usize,
    /// A claimed account not finished within this is handed out again (e.g. after a crash).
    pub lease: Duration,
    /// Longest sleep of an idle worker: how late a mark made by another replica is seen.
    pub idle_poll: Duration,
}

/// An account handed to a worker; finish it with [`DirtyQueue::done`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The account (`accounts/{account}`).
    pub account: String,
    /// The reason bits given to [`DirtyQueue::mark_for`] since the previous claim.
    pub reasons: i32,
    generation: i64,
    /// When it was claimed, by the database's clock.
    claimed_at: chrono::DateTime<chrono::Utc>,
}

impl DirtyQueue {
    /// A queue in `schema` that lets changes gather for `delay` before the work starts.
    pub fn new(schema: &'static str, delay: Duration) -> Self {
        Self { schema, delay }
    }

    /// Marks `accounts` for work, inside the caller's transaction.
    pub async fn mark(
        &self,
        tx: &mut PgConnection,
        accounts: &[String],
    ) -> Result<(), sqlx::Error> {
        self.mark_for(tx, accounts, 0).await
    }

    /// Marks `accounts` for work and adds `reasons` (bits of the caller's choosing) to what
    /// the next claim of each reports.
    pub async fn mark_for(
        &self,
        tx: &mut PgConnection,
        accounts: &[String],
        reasons: i32,
    ) -> Result<(), sqlx::Error> {
        let mut accounts = accounts.to_vec();
        // ON CONFLICT may touch each row once per statement.
        accounts.sort_unstable();
        accounts.dedup();
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {s}.dirty_accounts AS d (account, due_at, reasons)
             SELECT a, now() + make_interval(secs => $2), $3 FROM UNNEST($1::text[]) a
             ON CONFLICT (account)
             DO UPDATE SET generation = d.generation + 1, reasons = d.reasons | $3",
            s = self.schema
        )))
        .bind(&accounts)
        .bind(self.delay.as_secs_f64())
        .bind(reasons)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Leases up to `limit` due accounts for `lease`; an unfinished claim is handed out again
    /// once its lease runs out (e.g. after a crash). The reasons gathered so far go to the
    /// claim and are cleared, so marks arriving during the work start a fresh set.
    pub async fn claim(
        &self,
        pool: &PgPool,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<Claim>, sqlx::Error> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "WITH due AS (
                SELECT account, reasons FROM {s}.dirty_accounts
                WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
                ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE {s}.dirty_accounts d
             SET claimed_until = now() + make_interval(secs => $2), reasons = 0
             FROM due WHERE d.account = due.account
             RETURNING d.account, d.generation, due.reasons, now() AS claimed_at",
            s = self.schema
        )))
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Claim {
                    account: r.try_get("account")?,
                    reasons: r.try_get("reasons")?,
                    generation: r.try_get("generation")?,
                    claimed_at: r.try_get("claimed_at")?,
                })
            })
            .collect()
    }

    /// Finishes `claim`. If the account was marked again while it was being worked on, it
    /// stays queued so that the newer changes are not missed: due after the usual delay, or
    /// after as long as the work took, whichever is longer. An account that changes all the
    /// time is then worked on at most half the time, and expensive work on a few busy accounts
    /// cannot take the database from everything else.
    pub async fn done(&self, pool: &PgPool, claim: &Claim) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(format!(
            "WITH gone AS (
                DELETE FROM {s}.dirty_accounts WHERE account = $1 AND generation = $2 RETURNING 1)
             UPDATE {s}.dirty_accounts
             SET claimed_until = NULL,
                 due_at = now() + GREATEST(make_interval(secs => $3), now() - $4::timestamptz)
             WHERE account = $1 AND NOT EXISTS (SELECT 1 FROM gone)",
            s = self.schema
        )))
        .bind(&claim.account)
        .bind(claim.generation)
        .bind(self.delay.as_secs_f64())
        .bind(claim.claimed_at)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// How long until the next account is due (None when the queue is empty), so that a
    /// worker can sleep exactly that long.
    pub async fn next_due_in(&self, pool: &PgPool) -> Result<Option<Duration>, sqlx::Error> {
        let secs: Option<f64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT GREATEST(0, EXTRACT(EPOCH FROM min(due_at) - now()))::float8
             FROM {s}.dirty_accounts WHERE claimed_until IS NULL OR claimed_until < now()",
            s = self.schema
        )))
        .fetch_one(pool)
        .await?;
        Ok(secs.map(Duration::from_secs_f64))
    }

    /// Works the queue until the process stops: claims due accounts, runs `work` on a few at
    /// once and finishes each claim. An account whose work fails goes back to the queue
    /// with its reasons, due after the usual delay. Between passes it sleeps until the next
    /// account is due (at most `worker.idle_poll`) or `wake` is notified.
    pub async fn work<F, Fut, E>(&self, pool: &PgPool, worker: Worker, wake: &Notify, work: F)
    where
        F: Fn(Claim) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let what = worker.what;
        loop {
            match self.claim(pool, worker.batch, worker.lease).await {
                Ok(claims) if !claims.is_empty() => {
                    futures_util::stream::iter(claims)
                        .for_each_concurrent(worker.concurrency, |claim| {
                            let work = &work;
                            async move {
                                if let Err(e) = work(claim.clone()).await {
                                    tracing::warn!(account = %claim.account, error = %e, "{what} failed; retrying later");
                                    if let Err(e) = self.requeue(pool, &claim).await {
                                        tracing::warn!(error = %e, "could not re-queue a failed {what}");
                                    }
                                }
                                if let Err(e) = self.done(pool, &claim).await {
                                    tracing::warn!(error = %e, "could not finish a {what} claim");
                                }
                            }
                        })
                        .await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim accounts to {what}"),
            }
            let due = self.next_due_in(pool).await.ok().flatten();
            let nap = due.map_or(worker.idle_poll, |d| d.min(worker.idle_poll));
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = wake.notified() => {}
            }
        }
    }

    /// Marks `claim`'s account again with its reasons, so that [`DirtyQueue::done`] keeps it.
    async fn requeue(&self, pool: &PgPool, claim: &Claim) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        self.mark_for(&mut tx, std::slice::from_ref(&claim.account), claim.reasons).await?;
        tx.commit().await
    }
}
