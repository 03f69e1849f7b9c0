//! `steward bench e2e`: under background ingest, the time from a ticket's acknowledgement
//! to the health change it causes (WatchHealthChanges) and to the playbook run it starts
//! (WatchPlaybookRuns). Each sample is a new ESTABLISHED account holding two URGENT tickets
//! already scored; its third URGENT ticket moves its score and fires the shipped
//! `churn-risk` playbook (3 HIGH or URGENT tickets in 14 days), which runs once per account.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use steward_kit::time::timestamp;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;
use steward_proto::ticket::v1 as pb;
use tokio::sync::{Notify, watch};

use super::drive::{Load, Mode, Pace, drive};
use super::report::{Figure, Report};
use super::schedule::Schedule;
use super::tally::{error_figures, histogram, latency_figures, micros};
use super::{Common, progress, rss, workload};
use crate::client::Connection;

const PLAYBOOK: &str = "playbooks/churn-risk";
/// How long the probes' first two tickets may take to be scored.
const SETTLE: Duration = Duration::from_secs(60);

/// `steward bench e2e`.
#[derive(Debug, Args)]
pub(crate) struct E2eArgs {
    /// Samples per run, one after another, each on a new probe account.
    #[arg(long, default_value_t = 30)]
    samples: u64,

    /// Background ingest (open loop, one stream), tickets/s.
    #[arg(long, default_value_t = 1000.0)]
    background: f64,

    /// Bench accounts the background tickets are spread over.
    #[arg(long, default_value_t = 100)]
    accounts: u64,

    /// Longest wait for one sample's health change or run (then counted as missed).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    wait: Duration,

    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run(args: &E2eArgs, conn: &Connection) -> anyhow::Result<Report> {
    let refs = (0..args.accounts).map(workload::account_ref).collect();
    workload::ensure_accounts(conn, refs).await?;
    let sampler = rss::Sampler::start(conn);
    let mut repeats = Vec::new();
    for r in 1..=args.common.repeat {
        progress(&format!(
            "repeat {r}/{}: {} probes under {}/s",
            args.common.repeat, args.samples, args.background
        ));
        repeats.push(one_run(args, conn).await?);
    }
    let memory = sampler.finish().await;
    let title = format!("e2e --samples {} --background {}", args.samples, args.background);
    let mut report = Report::new(title, &repeats, memory);
    report.notes.push(
        "Latency from the third URGENT ticket's acknowledgement to the account's health \
         change and to its churn-risk run arriving on the watches. No Postgres baseline for \
         this mode."
            .into(),
    );
    Ok(report)
}

async fn one_run(args: &E2eArgs, conn: &Connection) -> anyhow::Result<Vec<Figure>> {
    let id = workload::run_id("e2e");
    let refs: Vec<String> = (0..args.samples).map(|k| format!("{id}-probe-{k}")).collect();
    let names = workload::ensure_accounts(conn, refs.clone()).await?;

    let (stop, stopped) = watch::channel(false);
    let background = Load {
        mode: Mode::Stream,
        pace: Pace::Open(Schedule::constant(args.background, Duration::from_secs(24 * 3600))),
        concurrency: 1,
        accounts: args.accounts,
        instance: format!("{id}-background"),
        now: chrono::Utc::now(),
        limit: None,
    };
    let background = tokio::spawn({
        let conn = conn.clone();
        async move { drive(&conn, &background, stopped).await }
    });

    let (peer, mut tickets) = conn.tickets(false)?;
    let mut ingest = async |reference: &str, j: u32| {
        let request = pb::IngestTicketRequest {
            ticket: Some(probe(&id, reference, j)),
            request_id: String::new(),
        };
        tickets.ingest_ticket(request).await.map_err(|s| peer.error(s)).map(drop)
    };
    let mut second = Vec::new();
    for reference in &refs {
        ingest(reference, 0).await?;
        second.push(SystemTime::now());
        ingest(reference, 1).await?;
    }
    settle(conn, &names, &second).await?;

    let probes: Arc<HashSet<String>> = Arc::new(names.iter().cloned().collect());
    let changes = Arrivals::start_health(conn, probes.clone()).await?;
    let runs = Arrivals::start_runs(conn, probes).await?;
    let (mut to_change, mut to_run) = (histogram(), histogram());
    let (mut missed_change, mut missed_run) = (0, 0);
    for (reference, name) in refs.iter().zip(&names) {
        let sent = Instant::now();
        ingest(reference, 2).await?;
        let acked = Instant::now();
        let deadline = acked + args.wait;
        match changes.wait(name, sent, deadline).await {
            Some(at) => to_change.saturating_record(micros(at.saturating_duration_since(acked))),
            None => missed_change += 1,
        }
        match runs.wait(name, sent, deadline).await {
            Some(at) => to_run.saturating_record(micros(at.saturating_duration_since(acked))),
            None => missed_run += 1,
        }
    }
    let _ = stop.send(true);
    let background = background.await??;

    let mut figures = latency_figures("ack -> health change", &to_change);
    figures.extend(latency_figures("ack -> playbook run", &to_run));
    figures.push(Figure::count("samples", args.samples));
    figures.push(Figure::count("health changes missed", missed_change));
    figures.push(Figure::count("playbook runs missed", missed_run));
    figures.push(Figure::service("background tickets/s", "/s", background.rate()));
    let errors = background.errors_within(Duration::ZERO..Duration::MAX);
    figures.extend(
        error_figures(&errors)
            .into_iter()
            .map(|f| Figure { name: format!("background {}", f.name), ..f }),
    );
    Ok(figures)
}

/// Probe ticket `j` of the account with external ref `reference`: URGENT, open, a minute old.
fn probe(instance: &str, reference: &str, j: u32) -> pb::Ticket {
    let now = chrono::Utc::now();
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: instance.into(),
        external_id: format!("{reference}-{j}"),
        subject: "Production is down".into(),
        status: pb::TicketStatus::Open as i32,
        priority: pb::TicketPriority::Urgent as i32,
        account_ref: Some(pb::PartyRef { id: reference.into(), ..Default::default() }),
        created_time: Some(timestamp(now - chrono::Duration::minutes(1))),
        source_update_time: Some(timestamp(now)),
        ..Default::default()
    }
}

/// Waits until every probe was re-scored after its second ticket was sent (`second`, in
/// the order of `names`), so that a later health change of a probe can only come from its
/// third ticket. (A re-score that started then saw the second ticket: its own re-score is
/// coalesced for longer than the ticket takes to commit.)
async fn settle(conn: &Connection, names: &[String], second: &[SystemTime]) -> anyhow::Result<()> {
    let (peer, mut health) = conn.health(false)?;
    let mut pending: Vec<(&String, prost_types::Timestamp)> =
        names.iter().zip(second).map(|(name, at)| (name, timestamp((*at).into()))).collect();
    let deadline = Instant::now() + SETTLE;
    while !pending.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} probe accounts were not scored within {SETTLE:?}",
            pending.len()
        );
        let mut left = Vec::new();
        for (name, since) in pending {
            let request = health_pb::GetHealthScoreRequest { name: format!("{name}/healthScore") };
            let evaluated = match health.get_health_score(request).await {
                Ok(score) => score.into_inner().evaluate_time,
                Err(status) if status.code() == tonic::Code::NotFound => None,
                Err(status) => return Err(peer.error(status)),
            };
            let done =
                evaluated.is_some_and(|t| (t.seconds, t.nanos) >= (since.seconds, since.nanos));
            if !done {
                left.push((name, since));
            }
        }
        pending = left;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// A watch's reader, stopped when dropped.
#[derive(Debug)]
struct Watching {
    arrivals: Arc<Arrivals>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watching {
    async fn wait(&self, account: &str, after: Instant, deadline: Instant) -> Option<Instant> {
        self.arrivals.wait(account, after, deadline).await
    }
}

/// When events for the probe accounts arrived on a watch.
#[derive(Debug, Default)]
struct Arrivals {
    seen: Mutex<HashMap<String, Vec<Instant>>>,
    notify: Notify,
}

impl Arrivals {
    fn add(&self, account: String) {
        let now = Instant::now();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(account)
            .or_default()
            .push(now);
        self.notify.notify_waiters();
    }

    /// The first arrival for `account` after `after`, waiting until `deadline`.
    async fn wait(&self, account: &str, after: Instant, deadline: Instant) -> Option<Instant> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let seen = self
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(account)
                .and_then(|at| at.iter().copied().find(|at| *at >= after));
            if seen.is_some() {
                return seen;
            }
            tokio::time::timeout_at(deadline.into(), notified).await.ok()?;
        }
    }

    /// Health changes from now on (the feed's newest cursor, then a watch).
    async fn start_health(
        conn: &Connection,
        probes: Arc<HashSet<String>>,
    ) -> anyhow::Result<Watching> {
        let (peer, mut health) = conn.health(true)?;
        let mut cursor = String::new();
        loop {
            let request = health_pb::ListHealthChangesRequest {
                after_cursor: cursor.clone(),
                page_size: 1000,
            };
            let page =
                health.list_health_changes(request).await.map_err(|s| peer.error(s))?.into_inner();
            if page.changes.is_empty() {
                break;
            }
            cursor = page.next_cursor;
        }
        let request = health_pb::WatchHealthChangesRequest { after_cursor: cursor };
        let mut stream =
            health.watch_health_changes(request).await.map_err(|s| peer.error(s))?.into_inner();
        let arrivals = Arc::new(Self::default());
        let sink = arrivals.clone();
        let task = tokio::spawn(async move {
            while let Ok(Some(change)) = stream.message().await {
                if probes.contains(&change.account) {
                    sink.add(change.account);
                }
            }
        });
        Ok(Watching { arrivals, task })
    }

    /// Runs of `churn-risk` starting (the watch replays the playbook's older runs first;
    /// they are for other accounts).
    async fn start_runs(
        conn: &Connection,
        probes: Arc<HashSet<String>>,
    ) -> anyhow::Result<Watching> {
        // A watch lasts the whole run: no per-call deadline.
        let conn = Connection { timeout: Duration::from_secs(24 * 3600), ..conn.clone() };
        let (peer, mut playbooks) = conn.playbooks()?;
        let request = playbook_pb::WatchPlaybookRunsRequest {
            playbook: PLAYBOOK.into(),
            ..Default::default()
        };
        let mut stream =
            playbooks.watch_playbook_runs(request).await.map_err(|s| peer.error(s))?.into_inner();
        let arrivals = Arc::new(Self::default());
        let sink = arrivals.clone();
        let task = tokio::spawn(async move {
            while let Ok(Some(change)) = stream.message().await {
                if change.kind() == playbook_pb::RunChangeKind::RunStarted
                    && probes.contains(&change.account)
                {
                    sink.add(change.account);
                }
            }
        });
        Ok(Watching { arrivals, task })
    }
}
