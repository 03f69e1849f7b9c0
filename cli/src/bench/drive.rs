//! Load on ticket-ingest: unary calls (many in flight, which the service groups into shared
//! transactions) or streams, either open loop on a [`Schedule`] or closed loop as fast as
//! answers come.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use steward_proto::ticket::v1 as pb;
use steward_proto::ticket::v1::stream_ingest_tickets_response::Result as Answer;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;

use super::schedule::Schedule;
use super::tally::{Tally, code_name, label};
use super::workload::ticket;
use crate::client::{Connection, Tickets};

/// How many unary calls share one connection: beyond an HTTP/2 connection's stream limit,
/// calls would queue in the client and hide the server's own shedding.
const CALLS_PER_CONNECTION: usize = 200;
/// Stream items queued in the client ahead of flow control.
const STREAM_BUFFER: usize = 256;

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Mode {
    /// IngestTicket calls, many in flight.
    Unary,
    /// StreamIngestTickets, one or more streams.
    Stream,
}

/// How requests are paced.
#[derive(Debug, Clone)]
pub(crate) enum Pace {
    /// Closed loop for this long: latency from the actual send.
    Max(Duration),
    /// Open loop: latency from each request's intended send time.
    Open(Schedule),
}

/// One load run.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) mode: Mode,
    pub(crate) pace: Pace,
    /// Unary: calls in flight at most; stream: parallel streams.
    pub(crate) concurrency: usize,
    pub(crate) accounts: u64,
    /// The tickets' `source_instance`: new for each run, so every ticket is new.
    pub(crate) instance: String,
    /// The tickets' times are relative to this, so that a replay sends the same snapshots.
    pub(crate) now: DateTime<Utc>,
    /// At most this many requests (a replay: exactly those accepted before).
    pub(crate) limit: Option<u64>,
}

/// A stop signal that never fires (for runs that end with their pace).
pub(crate) fn never() -> watch::Receiver<bool> {
    watch::channel(false).1
}

/// Runs `load` until its pace ends or `stop` turns true; what was accepted, how fast.
pub(crate) async fn drive(
    conn: &Connection,
    load: &Load,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Tally> {
    match load.mode {
        Mode::Unary => unary(conn, load, stop).await,
        Mode::Stream => streams(conn, load, stop).await,
    }
}

/// When request `i` goes out: now (closed loop), at its scheduled time (open loop, after
/// sleeping until then), or `None` when the run is over.
async fn next_send(
    load: &Load,
    start: Instant,
    i: u64,
    stop: &watch::Receiver<bool>,
) -> Option<(Instant, bool)> {
    if *stop.borrow() || load.limit.is_some_and(|limit| i >= limit) {
        return None;
    }
    match &load.pace {
        Pace::Max(duration) => (start.elapsed() < *duration).then(|| (Instant::now(), false)),
        Pace::Open(schedule) => {
            let at = start + schedule.offset(i)?;
            tokio::time::sleep_until(at.into()).await;
            Some((at, true))
        }
    }
}

async fn unary(
    conn: &Connection,
    load: &Load,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Tally> {
    let clients: Vec<Tickets> = (0..load.concurrency.div_ceil(CALLS_PER_CONNECTION).max(1))
        .map(|_| conn.tickets(false).map(|(_, client)| client))
        .collect::<anyhow::Result<_>>()?;
    let permits = Arc::new(Semaphore::new(load.concurrency.max(1)));
    let start = Instant::now();
    let mut tally = Tally::new(start);
    let mut calls = JoinSet::new();
    for i in 0u64.. {
        let Some((at, scheduled)) = next_send(load, start, i, &stop).await else { break };
        // Open loop: waiting for a free slot counts (the clock runs from `at`); closed loop:
        // the clock starts once the call can go.
        let permit = permits.clone().acquire_owned().await?;
        let at = if scheduled { at } else { Instant::now() };
        let mut client = clients[i as usize % clients.len()].clone();
        let request = pb::IngestTicketRequest {
            ticket: Some(ticket(&load.instance, i, load.accounts, load.now)),
            request_id: String::new(),
        };
        calls.spawn(async move {
            let answer = client.ingest_ticket(request).await;
            drop(permit);
            (at, Instant::now(), answer.map(|a| a.into_inner().outcome()))
        });
        while let Some(done) = calls.try_join_next() {
            record(&mut tally, done?);
        }
    }
    while let Some(done) = calls.join_next().await {
        record(&mut tally, done?);
    }
    Ok(tally)
}

type Answered = (Instant, Instant, Result<pb::IngestOutcome, tonic::Status>);

fn record(tally: &mut Tally, (at, done, answer): Answered) {
    match answer {
        Ok(outcome) => tally.ok(at, done, outcome),
        Err(status) => tally.failed(at, done, label(&status)),
    }
}

async fn streams(
    conn: &Connection,
    load: &Load,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Tally> {
    let start = Instant::now();
    let count = load.concurrency.max(1) as u64;
    let mut streams = JoinSet::new();
    for s in 0..count {
        // A connection each, as separate adapters would have.
        let (_, client) = conn.tickets(true)?;
        let lane = Lane { load: load.clone(), index: s, count, start };
        streams.spawn(lane.run(client, stop.clone()));
    }
    let mut tally = Tally::new(start);
    while let Some(one) = streams.join_next().await {
        tally.merge(one??);
    }
    Ok(tally)
}

/// One stream of a run: requests `index`, `index + count`, … of the run's schedule.
struct Lane {
    load: Load,
    index: u64,
    count: u64,
    start: Instant,
}

impl Lane {
    async fn run(self, mut client: Tickets, stop: watch::Receiver<bool>) -> anyhow::Result<Tally> {
        let Lane { load, index, count, start } = self;
        let (items, rx) = mpsc::channel(STREAM_BUFFER);
        // Each item's intended send time, in order: answers come in request order.
        let (times_tx, mut times) = mpsc::unbounded_channel::<Instant>();
        let sender = tokio::spawn(async move {
            for k in 0u64.. {
                let n = k * count + index;
                let Some((at, _)) = next_send(&load, start, n, &stop).await else { break };
                let item = pb::StreamIngestTicketsRequest {
                    item_id: n.to_string(),
                    ticket: Some(ticket(&load.instance, n, load.accounts, load.now)),
                };
                if times_tx.send(at).is_err() || items.send(item).await.is_err() {
                    break;
                }
            }
        });
        let mut tally = Tally::new(start);
        let mut answers = match client.stream_ingest_tickets(ReceiverStream::new(rx)).await {
            Ok(answers) => answers.into_inner(),
            Err(status) => {
                sender.abort();
                tally.failed(start, Instant::now(), label(&status));
                return Ok(tally);
            }
        };
        loop {
            match answers.message().await {
                Ok(Some(answer)) => {
                    let done = Instant::now();
                    let at = times.recv().await.unwrap_or(done);
                    match answer.result {
                        Some(Answer::Ingested(r)) => tally.ok(at, done, r.outcome()),
                        Some(Answer::Error(e)) => {
                            tally.failed(at, done, code_name(tonic::Code::from(e.code)));
                        }
                        None => tally.failed(at, done, "EMPTY_ANSWER".into()),
                    }
                }
                Ok(None) => break,
                Err(status) => {
                    let done = Instant::now();
                    tally.failed(times.recv().await.unwrap_or(done), done, label(&status));
                    break;
                }
            }
        }
        sender.abort();
        Ok(tally)
    }
}
