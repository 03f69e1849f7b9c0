//! `steward bench scale`: streaming ingest on the database as it is (a fresh `steward dev`:
//! empty), then after N more stored tickets, and the ratio. The N tickets are written
//! straight into `ticket.tickets` in SQL, as copies of a ticket the service stored (new ids
//! and keys, their own accounts, created up to N seconds back), not through the service:
//! filling millions through the API would take longer than the benchmark. They have no
//! events and no feed entries, and are deleted afterwards unless `--keep`.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sqlx::PgPool;

use super::drive::{Load, Mode, Pace, drive, never};
use super::report::{Figure, Report, median};
use super::{Common, progress, rss, workload};
use crate::client::Connection;

/// Rows per fill statement (each its own transaction).
const FILL_BATCH: u64 = 500_000;

/// `steward bench scale`.
#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// Tickets to add before the second measurement.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,

    /// How long each ingest measurement lasts (one stream, as fast as answered).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,

    #[arg(long, default_value_t = 100)]
    accounts: u64,

    /// Keep the filled tickets (e.g. to measure other modes at this size).
    #[arg(long)]
    keep: bool,

    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run(args: &ScaleArgs, conn: &Connection) -> anyhow::Result<Report> {
    let url = args.common.database_url().context(
        "the scale mode fills the ticket table in SQL: pass --database-url or DATABASE_URL (a \
         `steward dev` private cluster is found in --data-dir)",
    )?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .context("connect to Postgres")?;
    let refs = (0..args.accounts).map(workload::account_ref).collect();
    workload::ensure_accounts(conn, refs).await?;
    let sampler = rss::Sampler::start(conn);
    let measure = async |when: &str| -> anyhow::Result<Vec<f64>> {
        let mut rates = Vec::new();
        for r in 1..=args.common.repeat {
            progress(&format!("repeat {r}/{}: ingest {when}", args.common.repeat));
            let load = Load {
                mode: Mode::Stream,
                pace: Pace::Max(args.duration),
                concurrency: 1,
                accounts: args.accounts,
                instance: workload::run_id("scale"),
                now: chrono::Utc::now(),
                limit: None,
            };
            rates.push(drive(conn, &load, never()).await?.rate());
        }
        Ok(rates)
    };
    let stored_before = stored(&pool).await?;
    let before = measure("before the fill").await?;
    let instance = workload::run_id("fill");
    fill(&pool, &instance, args.tickets).await?;
    let stored_after = stored(&pool).await?;
    let after = measure(&format!("after {} more tickets", args.tickets)).await?;
    if !args.keep {
        progress("deleting the filled tickets");
        sqlx::query("DELETE FROM ticket.tickets WHERE source_instance = $1")
            .bind(&instance)
            .execute(&pool)
            .await
            .context("delete the filled tickets")?;
    }
    let memory = sampler.finish().await;
    let repeats: Vec<Vec<Figure>> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            vec![
                Figure::service(format!("tickets/s with {stored_before} stored"), "/s", *b),
                Figure::service(format!("tickets/s with {stored_after} stored"), "/s", *a),
                Figure::service("after / before", "x", a / b),
            ]
        })
        .collect();
    let mut report = Report::new(
        format!("scale --tickets {} --duration {:?}", args.tickets, args.duration),
        &repeats,
        memory,
    );
    if let (Some(b), Some(a)) = (median(before), median(after.iter().copied())) {
        report.notes.push(format!("Median rates: {b:.0}/s before, {a:.0}/s after the fill."));
    }
    report.notes.push(
        "The fill copies a stored ticket in SQL (new ids and keys, accounts fill-0..9999, \
         created up to N seconds back); no Postgres baseline for this mode."
            .into(),
    );
    Ok(report)
}

async fn stored(pool: &PgPool) -> anyhow::Result<i64> {
    // The planner's estimate: counting millions of rows exactly takes seconds.
    sqlx::query_scalar("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'ticket.tickets'::regclass")
        .fetch_one(pool)
        .await
        .context("count the stored tickets")
}

/// Adds `n` copies of the newest bench ticket to `ticket.tickets`, in batches.
async fn fill(pool: &PgPool, instance: &str, n: u64) -> anyhow::Result<()> {
    let sql = "INSERT INTO ticket.tickets (id, source, source_instance, external_id, account_id, \
        link_state, ref_system, ref_id, requester_email, status, priority, category, \
        created_time, source_update_time, deleted, content_hash, snapshot, latest_time) \
        SELECT $1 || '-' || g, t.source, $1, g::text, 'fill-' || (g % 10000), t.link_state, \
        t.ref_system, 'fill-' || (g % 10000), t.requester_email, t.status, t.priority, \
        t.category, t.created_time - g * interval '1 second', \
        t.source_update_time - g * interval '1 second', false, t.content_hash, t.snapshot, \
        t.latest_time - g * interval '1 second' \
        FROM generate_series($2::bigint, $3::bigint) AS g, \
        (SELECT * FROM ticket.tickets WHERE source_instance LIKE 'bench-scale-%' LIMIT 1) AS t";
    let mut first = 0;
    while first < n {
        let last = (first + FILL_BATCH).min(n) - 1;
        progress(&format!("filling tickets {first}..{last} of {n}"));
        sqlx::query(sql)
            .bind(instance)
            .bind(first as i64)
            .bind(last as i64)
            .execute(pool)
            .await
            .context("fill ticket.tickets")?;
        first = last + 1;
    }
    sqlx::query("ANALYZE ticket.tickets").execute(pool).await.context("analyze ticket.tickets")?;
    Ok(())
}
