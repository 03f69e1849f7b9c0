//! `steward bench`: load tests against a running suite, side by side with the same work done
//! straight in Postgres in the same invocation (this machine is shared and noisy: only
//! figures taken together compare). Latency runs are open loop (see [`schedule`]), figures
//! are medians of `--repeat` runs, and each service process's memory is sampled throughout.

mod baseline;
mod drive;
mod e2e;
mod overload;
mod report;
mod rescore;
mod rss;
mod scale;
mod schedule;
mod tally;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::client::Connection;
use crate::output::Format;
use baseline::Scratch;
use drive::{Load, Mode, Pace, drive, never};
use report::{Figure, Report};
use schedule::{Rate, Schedule};

/// `steward bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    mode: BenchMode,
}

#[derive(Debug, Subcommand)]
enum BenchMode {
    /// Tickets/s accepted by ticket-ingest, latency p50/p90/p99/max, errors by code; beside
    /// the same rows upserted straight into Postgres (streams: 1,000-row UNNEST upserts
    /// from 2 connections; unary: single-row upserts from 4).
    Ingest(IngestArgs),
    /// Ticket acknowledged → the health change it causes → the playbook run it starts,
    /// p50/p99, under background ingest.
    E2e(e2e::E2eArgs),
    /// RescoreAccounts over every account (creating N bench accounts first if missing):
    /// accounts/s.
    Rescore(rescore::RescoreArgs),
    /// The physical limit alone: 1,000-row UNNEST upserts from 2 connections and single-row
    /// upserts from 4, into a scratch copy of the ticket table.
    Baseline(BaselineArgs),
    /// Capacity, then twice that offered, then normal load: errors by code, connection
    /// failures, time until throughput is back.
    Overload(overload::OverloadArgs),
    /// Ingest rate on the database as it is, then after N more stored tickets.
    Scale(scale::ScaleArgs),
}

/// What every mode takes.
#[derive(Debug, Clone, Args)]
struct Common {
    /// Runs of each measurement; the median is reported (counts: the total).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    repeat: u16,

    /// Postgres, for the baseline (and the scale mode's fill). Default: the private cluster
    /// of a `steward dev` in --data-dir, when it runs.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Where `steward dev` keeps its private cluster.
    #[arg(long, default_value = crate::dev::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

    /// No baseline, even when Postgres is at hand.
    #[arg(long)]
    no_baseline: bool,
}

impl Common {
    fn database_url(&self) -> Option<String> {
        workload::database_url(self.database_url.as_deref(), &self.data_dir)
    }

    /// The baseline's scratch table, unless there is no database (said in the notes).
    async fn scratch(
        &self,
        accounts: u64,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<Option<Scratch>> {
        if self.no_baseline {
            notes.push("No baseline: --no-baseline.".into());
            return Ok(None);
        }
        let Some(url) = self.database_url() else {
            notes.push(
                "No baseline: no database (pass --database-url or DATABASE_URL; a `steward dev` \
                 private cluster is found in --data-dir)."
                    .into(),
            );
            return Ok(None);
        };
        Ok(Some(Scratch::open(&url, accounts).await?))
    }
}

/// `steward bench ingest`.
#[derive(Debug, Args)]
struct IngestArgs {
    #[arg(long, value_enum, default_value = "stream")]
    mode: Mode,

    /// Tickets per second offered (open loop), or `max` (closed loop, as fast as answered).
    #[arg(long, default_value = "max")]
    rate: Rate,

    /// How long each run lasts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,

    /// Bench accounts the tickets are spread over (created if missing).
    #[arg(long, default_value_t = 100)]
    accounts: u64,

    /// Unary: calls in flight at most (default 64); stream: parallel streams (default 1).
    #[arg(long)]
    concurrency: Option<usize>,

    /// After each run, send the tickets it stored again, paced the same (an idempotent
    /// replay: every answer UNCHANGED, nothing written), and report its rate.
    #[arg(long)]
    replay: bool,

    #[command(flatten)]
    common: Common,
}

/// `steward bench baseline`.
#[derive(Debug, Args)]
struct BaselineArgs {
    /// How long each of the two measurements lasts.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,

    #[command(flatten)]
    common: Common,
}

/// Runs the benchmark against the services `conn` points at.
pub async fn run(args: &BenchArgs, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
    let report = match &args.mode {
        BenchMode::Ingest(args) => ingest(args, conn).await?,
        BenchMode::E2e(args) => e2e::run(args, conn).await?,
        BenchMode::Rescore(args) => rescore::run(args, conn).await?,
        BenchMode::Baseline(args) => baseline(args, conn).await?,
        BenchMode::Overload(args) => overload::run(args, conn).await?,
        BenchMode::Scale(args) => scale::run(args, conn).await?,
    };
    match format {
        Format::Table => crate::output::print(&report.table())?,
        Format::Json => crate::output::print_json(&report.json())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn progress(text: &str) {
    eprintln!("steward bench: {text}");
}

async fn ingest(args: &IngestArgs, conn: &Connection) -> anyhow::Result<Report> {
    let refs = (0..args.accounts).map(workload::account_ref).collect();
    workload::ensure_accounts(conn, refs).await?;
    let mut notes = Vec::new();
    let mut scratch = args.common.scratch(args.accounts, &mut notes).await?;
    let pace = match args.rate {
        Rate::Max => Pace::Max(args.duration),
        Rate::PerSecond(rate) => Pace::Open(Schedule::constant(rate, args.duration)),
    };
    let concurrency = args.concurrency.unwrap_or(match args.mode {
        Mode::Unary => 64,
        Mode::Stream => 1,
    });
    let sampler = rss::Sampler::start(conn);
    let mut repeats = Vec::new();
    for r in 1..=args.common.repeat {
        progress(&format!("repeat {r}/{}: {:?} ingest", args.common.repeat, args.mode));
        let load = Load {
            mode: args.mode,
            pace: pace.clone(),
            concurrency,
            accounts: args.accounts,
            instance: workload::run_id("ingest"),
            now: chrono::Utc::now(),
            limit: None,
        };
        let tally = drive(conn, &load, never()).await?;
        let replay = if args.replay {
            progress(&format!("repeat {r}/{}: replaying the same tickets", args.common.repeat));
            let load = Load { limit: Some(tally.accepted), ..load };
            Some(drive(conn, &load, never()).await?)
        } else {
            None
        };
        let base = match (&mut scratch, args.mode) {
            (None, _) => None,
            (Some(s), Mode::Stream) => Some(s.batched(args.duration).await?),
            (Some(s), Mode::Unary) => Some(s.single(args.duration).await?),
        };
        let mut figures = tally.figures("tickets", base);
        if let Rate::PerSecond(rate) = args.rate {
            figures.insert(0, Figure::service("offered tickets/s", "/s", rate));
        }
        if let Some(replay) = replay {
            figures.extend([
                Figure::service("replay tickets/s", "/s", replay.rate()),
                Figure::service("replay / first ingest", "x", replay.rate() / tally.rate()),
                Figure::count("replay answered UNCHANGED", replay.unchanged),
                Figure::count("replay not UNCHANGED", replay.accepted - replay.unchanged),
            ]);
            let errors = replay.errors_within(Duration::ZERO..Duration::MAX);
            figures.extend(
                tally::error_figures(&errors)
                    .into_iter()
                    .map(|f| Figure { name: format!("replay {}", f.name), ..f }),
            );
        }
        repeats.push(figures);
    }
    let memory = sampler.finish().await;
    if let Some(s) = scratch {
        s.close().await?;
        notes.push(match args.mode {
            Mode::Stream => "Baseline: 1,000-row UNNEST upserts from 2 connections into a copy of ticket.tickets.",
            Mode::Unary => "Baseline: single-row upserts from 4 connections into a copy of ticket.tickets.",
        }.into());
    }
    let title = format!(
        "ingest --mode {:?} --rate {} --duration {:?} --accounts {} --concurrency {concurrency}",
        args.mode, args.rate, args.duration, args.accounts
    )
    .to_lowercase();
    let mut report = Report::new(title, &repeats, memory);
    report.notes = notes;
    Ok(report)
}

async fn baseline(args: &BaselineArgs, conn: &Connection) -> anyhow::Result<Report> {
    let mut notes = Vec::new();
    let Some(mut scratch) = args.common.scratch(100, &mut notes).await? else {
        anyhow::bail!("{}", notes.join(" "));
    };
    let sampler = rss::Sampler::start(conn);
    let mut repeats = Vec::new();
    for r in 1..=args.common.repeat {
        progress(&format!("repeat {r}/{}: baseline", args.common.repeat));
        let batched = scratch.batched(args.duration).await?;
        let single = scratch.single(args.duration).await?;
        repeats.push(vec![
            Figure::baseline("UNNEST 1,000-row upserts, 2 connections: rows/s", "/s", batched),
            Figure::baseline("single-row upserts, 4 connections: rows/s", "/s", single),
        ]);
    }
    let memory = sampler.finish().await;
    scratch.close().await?;
    let title = format!("baseline --duration {:?}", args.duration);
    Ok(Report::new(title, &repeats, memory))
}
