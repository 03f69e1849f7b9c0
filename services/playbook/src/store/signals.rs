//! What the feeds tell the playbook service: when each account entered its band (health
//! feed) and its lifecycle stage (account feed), and which accounts to evaluate again. The
//! three consumers mark the account of every entry in the coalescing queue.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use steward_kit::Error;
use steward_kit::feed::DirtyQueue;
use steward_kit::feed::consumer::Handler;
use steward_kit::time::from_timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::Store;
use crate::domain::facts::{band, band_entry};

/// Consumer names (and leases) of the three feeds.
pub const ACCOUNT_CONSUMER: &str = "playbook.account-feed";
pub const SUPPORT_CONSUMER: &str = "playbook.support-feed";
pub const HEALTH_CONSUMER: &str = "playbook.health-feed";

/// One account's entries as the feeds delivered them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// The band of the latest health change (playbook `HealthBand` number).
    pub band: i32,
    /// When the account entered `band`.
    pub band_entered: Option<DateTime<Utc>>,
    /// The stage of the latest account change (playbook `LifecycleStage` number).
    pub stage: i32,
    /// When the account entered `stage`.
    pub stage_entered: Option<DateTime<Utc>>,
}

impl Store {
    /// The entries the feeds delivered for `account`; `None` when nothing was delivered.
    pub async fn signals(&self, account: &str) -> Result<Option<Signals>, Error> {
        type Row = (i32, Option<DateTime<Utc>>, i32, Option<DateTime<Utc>>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT band, band_entered, stage, stage_entered FROM playbook.signals
                 WHERE account = $1 AND NOT deleted",
        )
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(band, band_entered, stage, stage_entered)| Signals {
            band,
            band_entered,
            stage,
            stage_entered,
        }))
    }

    /// Every account the feeds delivered and not deleted, for the sweep.
    pub async fn known_accounts(&self, after: &str, limit: i64) -> Result<Vec<String>, Error> {
        Ok(sqlx::query_scalar(
            "SELECT account FROM playbook.signals WHERE NOT deleted AND account > $1
             ORDER BY account LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks `accounts` for evaluation in a transaction of its own.
    pub async fn mark(&self, accounts: &[String]) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        self.queue.mark(&mut tx, accounts).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Applies account changes: the stage entry, deletions; marks the account.
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
            let at = change.commit_time.as_ref().and_then(from_timestamp).unwrap_or_else(Utc::now);
            if change.kind() == account_pb::AccountChangeKind::AccountDeleted {
                sqlx::query(
                    "INSERT INTO playbook.signals (account, deleted) VALUES ($1, true)
                     ON CONFLICT (account) DO UPDATE SET deleted = true",
                )
                .bind(&change.account)
                .execute(&mut *tx)
                .await?;
            } else if let Some(account) = &change.account_snapshot {
                let stage = account_pb::LifecycleStage::try_from(account.lifecycle_stage)
                    .ok()
                    .and_then(|s| pb::LifecycleStage::from_str_name(s.as_str_name()))
                    .map_or(0, |s| s as i32);
                // A new stage is entered at this change's commit; the same stage keeps its
                // entry time.
                sqlx::query(
                    "INSERT INTO playbook.signals (account, stage, stage_entered)
                     VALUES ($1, $2, CASE WHEN $2 = 0 THEN NULL ELSE $3 END)
                     ON CONFLICT (account) DO UPDATE SET deleted = false, stage = $2,
                         stage_entered = CASE WHEN signals.stage = $2 AND NOT signals.deleted
                                              THEN signals.stage_entered
                                              WHEN $2 = 0 THEN NULL ELSE $3 END",
                )
                .bind(&change.account)
                .bind(stage)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            } else {
                // Contact and contract changes: the account's facts (renewal) may move.
            }
            touched.push(change.account.clone());
        }
        self.queue.mark(tx, &touched).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        mark_all(&self.queue, tx).await
    }
}

/// Applies health changes: the band entry; marks the account.
#[derive(Debug, Clone)]
pub struct HealthFeedHandler {
    queue: DirtyQueue,
}

impl HealthFeedHandler {
    /// A handler marking accounts in `store`'s queue.
    pub fn new(store: &Store) -> Self {
        Self { queue: store.queue.clone() }
    }
}

impl Handler<health_pb::HealthChange> for HealthFeedHandler {
    async fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[health_pb::HealthChange],
    ) -> anyhow::Result<()> {
        let mut touched = Vec::with_capacity(batch.len());
        for change in batch {
            let new_band = band(change.new_band) as i32;
            let entered = band_entry(change);
            sqlx::query(
                "INSERT INTO playbook.signals (account, band, band_entered) VALUES ($1, $2, $3)
                 ON CONFLICT (account) DO UPDATE SET band = $2,
                     band_entered = CASE WHEN $3::timestamptz IS NOT NULL THEN $3
                                         WHEN $2 = 0 THEN NULL
                                         ELSE signals.band_entered END",
            )
            .bind(&change.account)
            .bind(new_band)
            .bind(entered)
            .execute(&mut *tx)
            .await?;
            touched.push(change.account.clone());
        }
        self.queue.mark(tx, &touched).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        mark_all(&self.queue, tx).await
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
        sqlx::query(
            "INSERT INTO playbook.signals (account) SELECT UNNEST($1::text[])
             ON CONFLICT (account) DO NOTHING",
        )
        .bind(&accounts)
        .execute(&mut *tx)
        .await?;
        self.queue.mark(tx, &accounts).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        mark_all(&self.queue, tx).await
    }
}

/// Changes were missed (the feed expired under us): evaluate every known account again.
async fn mark_all(queue: &DirtyQueue, tx: &mut PgConnection) -> anyhow::Result<()> {
    let all: Vec<String> =
        sqlx::query_scalar("SELECT account FROM playbook.signals WHERE NOT deleted")
            .fetch_all(&mut *tx)
            .await?;
    queue.mark(tx, &all).await?;
    Ok(())
}
