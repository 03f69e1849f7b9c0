//! Accounts as the account feed delivers them, their ARR over time, and the two feed
//! consumers that mark accounts for re-scoring.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::Error;
use steward_kit::feed::DirtyQueue;
use steward_kit::feed::consumer::Handler;
use steward_kit::time::from_timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::HealthChangeReason as Reason;
use steward_proto::ticket::v1 as ticket_pb;

use super::{SCHEMA, Store, decode};
use crate::domain::reasons::bit;

/// Consumer name (and lease) of the account feed.
pub const ACCOUNT_CONSUMER: &str = "health.account-feed";

/// Applies account changes: keeps the account and its ARR history, marks it for re-scoring.
#[derive(Debug, Clone)]
pub struct AccountFeedHandler {
    queue: DirtyQueue,
}

impl AccountFeedHandler {
    /// A handler marking accounts in `store`'s queue.
    pub fn new(store: &Store) -> Self {
        Self { queue: store.queue.clone() }
    }
}

impl Handler<account_pb::AccountChange> for AccountFeedHandler {
    async fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[account_pb::AccountChange],
    ) -> anyhow::Result<()> {
        let mut touched = Vec::with_capacity(batch.len());
        for change in batch {
            let seen =
                change.commit_time.as_ref().and_then(from_timestamp).unwrap_or_else(Utc::now);
            match (change.kind(), &change.account_snapshot) {
                (account_pb::AccountChangeKind::AccountDeleted, _) => {
                    forget(tx, &change.account).await?;
                }
                (_, Some(account)) => keep(tx, &change.account, account, seen).await?,
                (_, None) => continue,
            }
            touched.push(change.account.clone());
        }
        self.queue.mark_for(tx, &touched, bit(Reason::AccountChanged)).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        // Changes were missed: every known account may be out of date. Re-scoring them is
        // what we can do here; accounts created during the gap arrive with their next change.
        let all: Vec<String> =
            sqlx::query_scalar("SELECT account FROM health.accounts").fetch_all(&mut *tx).await?;
        self.queue.mark_for(tx, &all, bit(Reason::AccountChanged)).await?;
        Ok(())
    }
}

/// Applies support changes: marks the accounts whose support activity changed.
#[derive(Debug, Clone)]
pub struct SupportFeedHandler {
    queue: DirtyQueue,
}

impl SupportFeedHandler {
    /// A handler marking accounts in `store`'s queue.
    pub fn new(store: &Store) -> Self {
        Self { queue: store.queue.clone() }
    }
}

impl Handler<ticket_pb::SupportChange> for SupportFeedHandler {
    async fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[ticket_pb::SupportChange],
    ) -> anyhow::Result<()> {
        let accounts: Vec<String> = batch.iter().map(|c| c.account.clone()).collect();
        self.queue.mark_for(tx, &accounts, bit(Reason::SupportActivity)).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        let all: Vec<String> =
            sqlx::query_scalar("SELECT account FROM health.accounts").fetch_all(&mut *tx).await?;
        self.queue.mark_for(tx, &all, bit(Reason::SupportActivity)).await?;
        Ok(())
    }
}

/// The health enum value with the same name as the account enum value `name`, 0 if none.
fn by_name<E: Into<i32>>(name: &str, parse: impl Fn(&str) -> Option<E>) -> i32 {
    parse(name).map_or(0, Into::into)
}

async fn keep(
    tx: &mut PgConnection,
    name: &str,
    account: &account_pb::Account,
    seen: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let segment = account_pb::Segment::try_from(account.segment)
        .map_or(0, |s| by_name(s.as_str_name(), pb::Segment::from_str_name));
    let stage = account_pb::LifecycleStage::try_from(account.lifecycle_stage)
        .map_or(0, |s| by_name(s.as_str_name(), pb::LifecycleStage::from_str_name));
    sqlx::query(
        "INSERT INTO health.accounts (account, body, segment, stage, owner, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account) DO UPDATE SET body = $2, segment = $3, stage = $4, owner = $5,
             seen_at = GREATEST(health.accounts.seen_at, $6)",
    )
    .bind(name)
    .bind(account.encode_to_vec())
    .bind(segment)
    .bind(stage)
    .bind(&account.owner)
    .bind(seen)
    .execute(&mut *tx)
    .await?;
    // A new ARR row only when the ARR differs from the latest one before it.
    let arr = account.arr.as_ref().map(|m| m.amount_minor);
    sqlx::query(
        "INSERT INTO health.arr_history (account, valid_from, arr_minor)
         SELECT $1, $2, $3
         WHERE (SELECT arr_minor FROM health.arr_history
                WHERE account = $1 AND valid_from <= $2
                ORDER BY valid_from DESC LIMIT 1) IS DISTINCT FROM $3
            OR NOT EXISTS (SELECT 1 FROM health.arr_history WHERE account = $1)
         ON CONFLICT (account, valid_from) DO UPDATE SET arr_minor = $3",
    )
    .bind(name)
    .bind(seen)
    .bind(arr)
    .execute(tx)
    .await?;
    Ok(())
}

async fn forget(tx: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    for table in ["accounts", "arr_history", "measurements", "support_inputs"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {SCHEMA}.{table} WHERE account = $1"
        )))
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// An account as last received: the snapshot and when it was received.
#[derive(Debug, Clone)]
pub struct KnownAccount {
    pub account: account_pb::Account,
    /// Segment and lifecycle stage as health enum numbers (0 when unset).
    pub segment: i32,
    pub stage: i32,
    pub seen_at: DateTime<Utc>,
}

impl KnownAccount {
    /// When health scoring last caught up with the account feed for this account: the newer
    /// of its own last change and the consumer's `feed_time`
    /// ([`Store::account_feed_time`]), so that a quiet feed does not age account data.
    pub fn caught_up(&self, feed_time: Option<DateTime<Utc>>) -> DateTime<Utc> {
        feed_time.map_or(self.seen_at, |t| t.max(self.seen_at))
    }
}

impl Store {
    /// The account as last received from the account feed; `None` when unknown or deleted.
    pub async fn account(&self, name: &str) -> Result<Option<KnownAccount>, Error> {
        Ok(self.accounts(&[name.to_owned()]).await?.remove(name))
    }

    /// The accounts among `names` that the account feed has delivered, by name.
    pub async fn accounts(&self, names: &[String]) -> Result<HashMap<String, KnownAccount>, Error> {
        type Row = (String, Vec<u8>, i32, i32, DateTime<Utc>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account, body, segment, stage, seen_at FROM health.accounts
             WHERE account = ANY($1)",
        )
        .bind(names)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(name, body, segment, stage, seen_at)| {
                let account = decode(&body, "account")?;
                Ok((name, KnownAccount { account, segment, stage, seen_at }))
            })
            .collect()
    }

    /// The names in `names` that the account feed has not delivered (unknown or deleted).
    pub async fn unknown_accounts(&self, names: &[String]) -> Result<Vec<String>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT n FROM UNNEST($1::text[]) n
             WHERE NOT EXISTS (SELECT 1 FROM health.accounts a WHERE a.account = n)",
        )
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the account feed consumer last advanced or sent its caught-up heartbeat (every
    /// 30 s while its watch is open and idle); see [`KnownAccount::caught_up`].
    pub async fn account_feed_time(&self) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(sqlx::query_scalar("SELECT updated_at FROM health.feed_cursors WHERE consumer = $1")
            .bind(ACCOUNT_CONSUMER)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Names of the accounts matching the filters (an empty filter matches all), by name.
    pub async fn select_accounts(
        &self,
        segments: &[i32],
        stages: &[i32],
        names: &[String],
    ) -> Result<Vec<String>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT account FROM health.accounts
             WHERE (cardinality($1::int[]) = 0 OR segment = ANY($1))
               AND (cardinality($2::int[]) = 0 OR stage = ANY($2))
               AND (cardinality($3::text[]) = 0 OR account = ANY($3))
             ORDER BY account",
        )
        .bind(segments)
        .bind(stages)
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every known account's segment and stage, by name (for assignment).
    pub async fn account_cells(&self) -> Result<Vec<(String, i32, i32)>, Error> {
        Ok(sqlx::query_as("SELECT account, segment, stage FROM health.accounts ORDER BY account")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The periodic sweep's share: marks up to `limit` accounts not evaluated since
    /// `before` (oldest first, never-scored accounts first of all) for re-scoring.
    pub async fn sweep(&self, before: DateTime<Utc>, limit: i64) -> Result<usize, Error> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT a.account FROM health.accounts a
             LEFT JOIN health.scores s USING (account)
             WHERE (s.evaluate_time IS NULL OR s.evaluate_time < $1)
               AND NOT EXISTS (SELECT 1 FROM health.dirty_accounts d WHERE d.account = a.account)
             ORDER BY s.evaluate_time ASC NULLS FIRST, a.account LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        self.queue.mark_for(&mut tx, &due, bit(Reason::PeriodicSweep)).await?;
        tx.commit().await?;
        Ok(due.len())
    }

    /// Counts known accounts (for pacing the sweep).
    pub async fn account_count(&self) -> Result<i64, Error> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM health.accounts").fetch_one(&self.pool).await?)
    }
}
