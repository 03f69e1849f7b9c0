//! Replaying the demo's tickets through StreamIngestTickets, paced or as fast as the service
//! takes them, while following the health and run feeds (the sources `steward watch` shows)
//! to count what the tickets move; a progress bar on stderr shows both. After the last
//! answer it waits for scoring and playbooks to settle (see [`settle`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::ProgressStyle;
use prost_types::Timestamp;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;
use steward_proto::ticket::v1 as pb;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::Speed;
use super::book::DemoAccount;
use super::settle::settle;
use crate::client::Connection;
use crate::commands::report::Report;
use crate::commands::ticket_import::{progress_bar, tally};
use crate::commands::watch::{self, Event};

/// What the feeds showed during the replay.
#[derive(Debug, Default)]
pub(super) struct Moves {
    /// Health changes (a score, band or scorecard changed).
    pub(super) scores: AtomicU64,
    /// Of those, from one band to another (first scores not counted).
    pub(super) bands: AtomicU64,
    /// Playbook runs started.
    pub(super) runs: AtomicU64,
    /// Tickets handed to the stream.
    pub(super) sent: AtomicU64,
    /// When each was handed over, by place in the stream: a re-score evaluated later has
    /// seen it.
    sent_at: std::sync::Mutex<Vec<Timestamp>>,
}

/// The outcome of the replay.
pub(super) struct Replayed {
    /// Tickets by outcome (created, updated, unchanged, stale) and refusals.
    pub(super) report: Report,
    pub(super) moves: Arc<Moves>,
    /// From the first ticket sent to the last answer.
    pub(super) elapsed: Duration,
}

/// Streams `tickets` at `speed`, then waits for the suite to settle.
pub(super) async fn replay(
    conn: &Connection,
    book: &[DemoAccount],
    tickets: Vec<pb::Ticket>,
    speed: Speed,
) -> anyhow::Result<Replayed> {
    let moves = Arc::new(Moves::default());
    // Opened first, so that every change the tickets cause is counted.
    let events = watch::follow(conn).await?;
    let last_event = Arc::new(std::sync::Mutex::new(Instant::now()));
    let counter = tokio::spawn(count(events, Arc::clone(&moves), Arc::clone(&last_event)));

    let progress = progress_bar(tickets.len() as u64);
    let (peer, mut client) = conn.tickets(true)?;
    let (tx, rx) = mpsc::channel(256);
    let started = Instant::now();
    let sender = tokio::spawn(send(tickets, tx, speed, Arc::clone(&moves)));
    let answers = client.stream_ingest_tickets(ReceiverStream::new(rx)).await;
    let mut answers = match answers {
        Ok(answers) => answers.into_inner(),
        Err(status) => {
            sender.abort();
            counter.abort();
            progress.finish_and_clear();
            return Err(peer.error(status));
        }
    };
    let mut report = Report::new("tickets", &["created", "updated", "unchanged", "stale"]);
    // The accounts whose tickets changed, and when the last changed one was sent.
    let mut changed: HashMap<String, Timestamp> = HashMap::new();
    loop {
        match answers.message().await {
            Ok(Some(answer)) => {
                tally(&mut report, &answer);
                if let Some((account, sent)) = changed_account(&answer, &moves) {
                    changed.insert(account, sent);
                }
                progress.inc(1);
                progress.set_message(message(&moves));
            }
            Ok(None) => break,
            Err(status) => {
                sender.abort();
                counter.abort();
                progress.finish_and_clear();
                return Err(peer.error(status).context(
                    "the ticket stream ended early; run the demo again to send the rest",
                ));
            }
        }
    }
    let elapsed = started.elapsed();

    progress.set_style(ProgressStyle::default_spinner());
    let quiet = || last_event.lock().map_or(Duration::MAX, |t| t.elapsed());
    let tick = || progress.set_message(format!("settling: {}", message(&moves)));
    let settled = settle(conn, book, changed, quiet, tick).await;
    counter.abort();
    progress.finish_and_clear();
    settled?;
    Ok(Replayed { report, moves, elapsed })
}

/// The account of a ticket the answer says was created or updated, and when it was sent.
fn changed_account(
    answer: &pb::StreamIngestTicketsResponse,
    moves: &Moves,
) -> Option<(String, Timestamp)> {
    use pb::stream_ingest_tickets_response::Result as Answer;
    let Some(Answer::Ingested(ingested)) = &answer.result else { return None };
    let outcome = pb::IngestOutcome::try_from(ingested.outcome).ok()?;
    let changed = matches!(outcome, pb::IngestOutcome::Created | pb::IngestOutcome::Updated);
    if !changed || ingested.account.is_empty() {
        return None;
    }
    let place = answer.item_id.parse::<usize>().ok()?.checked_sub(1)?;
    let sent = moves.sent_at.lock().ok()?.get(place).copied()?;
    Some((ingested.account.clone(), sent))
}

/// Sends each ticket (its item id is its place in the stream) at the pace asked for.
async fn send(
    tickets: Vec<pb::Ticket>,
    tx: mpsc::Sender<pb::StreamIngestTicketsRequest>,
    speed: Speed,
    moves: Arc<Moves>,
) {
    let start = Instant::now();
    for (i, ticket) in tickets.into_iter().enumerate() {
        if let Speed::PerSecond(rate) = speed {
            let due = Duration::from_secs_f64(i as f64 / f64::from(rate.get()));
            tokio::time::sleep_until(start + due).await;
        }
        // Item ids count from 1, as lines do: a refusal names the ticket's place in the stream.
        let item =
            pb::StreamIngestTicketsRequest { item_id: (i + 1).to_string(), ticket: Some(ticket) };
        if let Ok(mut sent_at) = moves.sent_at.lock() {
            sent_at.push(steward_kit::time::timestamp(chrono::Utc::now()));
        }
        if tx.send(item).await.is_err() {
            return; // the stream ended; the answer loop reports why
        }
        moves.sent.fetch_add(1, Relaxed);
    }
}

/// Counts the feeds' events until the stream ends or the replay is over.
async fn count(
    mut events: watch::Events,
    moves: Arc<Moves>,
    last_event: Arc<std::sync::Mutex<Instant>>,
) {
    while let Some(Ok(event)) = events.next().await {
        match event {
            Event::Health(c) => {
                moves.scores.fetch_add(1, Relaxed);
                let unset = health_pb::HealthBand::Unspecified as i32;
                if c.old_band != unset && c.old_band != c.new_band {
                    moves.bands.fetch_add(1, Relaxed);
                }
            }
            Event::Run(c) => {
                if c.kind == playbook_pb::RunChangeKind::RunStarted as i32 {
                    moves.runs.fetch_add(1, Relaxed);
                }
            }
        }
        if let Ok(mut t) = last_event.lock() {
            *t = Instant::now();
        }
    }
}

/// What the feeds showed so far, short enough to sit beside the bar.
fn message(moves: &Moves) -> String {
    format!(
        "sent {} · {} score changes · {} band changes · {} runs",
        moves.sent.load(Relaxed),
        moves.scores.load(Relaxed),
        moves.bands.load(Relaxed),
        moves.runs.load(Relaxed)
    )
}
