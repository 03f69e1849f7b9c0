//! The physical limit for the same work: the same ticket rows upserted straight into a
//! scratch copy of the service's ticket table (`LIKE ticket.tickets INCLUDING ALL`: the same
//! columns, constraints and indexes), with no gRPC and no service in between: 1,000-row
//! `UNNEST` upserts from 2 connections, and single-row upserts from 4. The scratch schema
//! is dropped afterwards.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use steward_proto::ticket::v1 as pb;
use tokio::task::JoinSet;

use super::tally::per_second;
use super::workload::ticket;

const SCHEMA: &str = "steward_bench";
const BATCH: u64 = 1000;
const BATCH_CONNECTIONS: u64 = 2;
const SINGLE_CONNECTIONS: u64 = 4;

const COLUMNS: &str = "id, source, source_instance, external_id, account_id, link_state, \
    ref_system, ref_id, requester_email, status, priority, category, created_time, \
    source_update_time, deleted, content_hash, snapshot, latest_time";
/// What the service's upsert replaces on a newer snapshot.
const ON_CONFLICT: &str = "ON CONFLICT (source, source_instance, external_id) DO UPDATE SET \
    status = EXCLUDED.status, priority = EXCLUDED.priority, category = EXCLUDED.category, \
    source_update_time = EXCLUDED.source_update_time, content_hash = EXCLUDED.content_hash, \
    snapshot = EXCLUDED.snapshot, latest_time = GREATEST(tickets.latest_time, EXCLUDED.latest_time), \
    update_time = now(), version = tickets.version + 1";

/// The scratch table, for one invocation.
#[derive(Debug)]
pub(crate) struct Scratch {
    pool: PgPool,
    accounts: u64,
    runs: u64,
}

/// A ticket row as the service stores it.
struct Row {
    id: String,
    source: String,
    instance: String,
    external_id: String,
    account_id: String,
    link_state: String,
    ref_system: String,
    ref_id: String,
    requester_email: String,
    status: String,
    priority: String,
    category: String,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    content_hash: Vec<u8>,
    snapshot: Vec<u8>,
}

impl Row {
    fn of(t: &pb::Ticket) -> Self {
        let time = |ts: Option<&prost_types::Timestamp>| {
            ts.and_then(|ts| DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?))
                .unwrap_or_default()
        };
        let reference = t.account_ref.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        let id = uuid::Uuid::now_v7();
        Row {
            id: id.simple().to_string(),
            source: t.source().as_str_name().into(),
            instance: t.source_instance.clone(),
            external_id: t.external_id.clone(),
            account_id: reference.clone(),
            link_state: pb::LinkState::ByAccountRef.as_str_name().into(),
            ref_system: "zendesk".into(),
            ref_id: reference,
            requester_email: t.requester.as_ref().map(|r| r.email.clone()).unwrap_or_default(),
            status: t.status().as_str_name().into(),
            priority: t.priority().as_str_name().into(),
            category: t.category.to_lowercase(),
            created: time(t.created_time.as_ref()),
            updated: time(t.source_update_time.as_ref()),
            // A SHA-256's size; the service hashes the content.
            content_hash: [id.as_bytes().as_slice(), id.as_bytes()].concat(),
            snapshot: t.encode_to_vec(),
        }
    }
}

impl Scratch {
    /// Creates the scratch table next to the service's (which must exist: ticket-ingest has
    /// migrated this database).
    pub(crate) async fn open(url: &str, accounts: u64) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(SINGLE_CONNECTIONS as u32)
            .connect(url)
            .await
            .context("connect to Postgres for the baseline")?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; \
             CREATE TABLE {SCHEMA}.tickets (LIKE ticket.tickets INCLUDING ALL)"
        )))
        .execute(&pool)
        .await
        .context(
            "create the baseline's scratch copy of ticket.tickets (is this the suite's \
             database, where ticket-ingest keeps its tables?)",
        )?;
        Ok(Self { pool, accounts, runs: 0 })
    }

    fn rows(&mut self, what: &str) -> impl Fn(u64) -> Row + Send + Sync + Clone + 'static {
        self.runs += 1;
        let (instance, accounts, now) =
            (format!("baseline-{what}-{}", self.runs), self.accounts, Utc::now());
        move |n| Row::of(&ticket(&instance, n, accounts, now))
    }

    /// Rows/s of 1,000-row `UNNEST` upserts from 2 connections, for `duration`.
    pub(crate) async fn batched(&mut self, duration: Duration) -> anyhow::Result<f64> {
        let rows = self.rows("batched");
        let sql = format!(
            "INSERT INTO {SCHEMA}.tickets ({COLUMNS}) SELECT id, source, instance, external_id, \
             account_id, link_state, ref_system, ref_id, email, status, priority, category, \
             created, updated, false, hash, snapshot, updated FROM UNNEST($1::text[], $2::text[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], \
             $14::timestamptz[], $15::bytea[], $16::bytea[]) AS u(id, source, instance, \
             external_id, account_id, link_state, ref_system, ref_id, email, status, priority, \
             category, created, updated, hash, snapshot) {ON_CONFLICT}"
        );
        self.timed(duration, BATCH_CONNECTIONS, move |pool, lane, k| {
            let (rows, sql) = (rows.clone(), sql.clone());
            async move {
                let first = (k * BATCH_CONNECTIONS + lane) * BATCH;
                let batch: Vec<Row> = (first..first + BATCH).map(&rows).collect();
                let column = |f: fn(&Row) -> String| batch.iter().map(f).collect::<Vec<_>>();
                sqlx::query(AssertSqlSafe(sql))
                    .bind(column(|r| r.id.clone()))
                    .bind(column(|r| r.source.clone()))
                    .bind(column(|r| r.instance.clone()))
                    .bind(column(|r| r.external_id.clone()))
                    .bind(column(|r| r.account_id.clone()))
                    .bind(column(|r| r.link_state.clone()))
                    .bind(column(|r| r.ref_system.clone()))
                    .bind(column(|r| r.ref_id.clone()))
                    .bind(column(|r| r.requester_email.clone()))
                    .bind(column(|r| r.status.clone()))
                    .bind(column(|r| r.priority.clone()))
                    .bind(column(|r| r.category.clone()))
                    .bind(batch.iter().map(|r| r.created).collect::<Vec<_>>())
                    .bind(batch.iter().map(|r| r.updated).collect::<Vec<_>>())
                    .bind(batch.iter().map(|r| r.content_hash.clone()).collect::<Vec<_>>())
                    .bind(batch.iter().map(|r| r.snapshot.clone()).collect::<Vec<_>>())
                    .execute(&pool)
                    .await?;
                anyhow::Ok(BATCH)
            }
        })
        .await
    }

    /// Rows/s of single-row upserts from 4 connections, for `duration`.
    pub(crate) async fn single(&mut self, duration: Duration) -> anyhow::Result<f64> {
        let rows = self.rows("single");
        let sql = format!(
            "INSERT INTO {SCHEMA}.tickets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, false, $15, $16, $14) {ON_CONFLICT}"
        );
        self.timed(duration, SINGLE_CONNECTIONS, move |pool, lane, k| {
            let (rows, sql) = (rows.clone(), sql.clone());
            async move {
                let r = rows(k * SINGLE_CONNECTIONS + lane);
                sqlx::query(AssertSqlSafe(sql))
                    .bind(r.id)
                    .bind(r.source)
                    .bind(r.instance)
                    .bind(r.external_id)
                    .bind(r.account_id)
                    .bind(r.link_state)
                    .bind(r.ref_system)
                    .bind(r.ref_id)
                    .bind(r.requester_email)
                    .bind(r.status)
                    .bind(r.priority)
                    .bind(r.category)
                    .bind(r.created)
                    .bind(r.updated)
                    .bind(r.content_hash)
                    .bind(r.snapshot)
                    .execute(&pool)
                    .await?;
                anyhow::Ok(1)
            }
        })
        .await
    }

    /// Runs `step(pool, lane, k)` (k = 0, 1, …) on `lanes` connections at once until
    /// `duration` is over; rows written per second.
    async fn timed<F, Fut>(&self, duration: Duration, lanes: u64, step: F) -> anyhow::Result<f64>
    where
        F: Fn(PgPool, u64, u64) -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = anyhow::Result<u64>> + Send,
    {
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for lane in 0..lanes {
            let (pool, step) = (self.pool.clone(), step.clone());
            tasks.spawn(async move {
                let mut written = 0;
                for k in 0u64.. {
                    if start.elapsed() >= duration {
                        break;
                    }
                    written += step(pool.clone(), lane, k).await?;
                }
                anyhow::Ok(written)
            });
        }
        let mut written = 0;
        while let Some(lane) = tasks.join_next().await {
            written += lane??;
        }
        Ok(per_second(written, start.elapsed()))
    }

    /// Drops the scratch schema.
    pub(crate) async fn close(self) -> anyhow::Result<()> {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")))
            .execute(&self.pool)
            .await
            .context("drop the baseline's scratch schema")?;
        self.pool.close().await;
        Ok(())
    }
}
