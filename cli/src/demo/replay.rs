//! Replaying the demo's tickets through StreamIngestTickets, paced or as fast as the service
//! takes them, while following the health and run feeds (the sources `steward watch` shows)
//! to count what the tickets move; a progress bar on stderr shows both. After the last
//! answer it waits for scoring and playbooks to settle: until the feeds have been quiet for
//! a moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::ProgressStyle;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;
use steward_proto::ticket::v1 as pb;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::Speed;
use crate::client::Connection;
use crate::commands::report::Report;
use crate::commands::ticket_import::{progress_bar, tally};
use crate::commands::watch::{self, Event};

/// How long the feeds must stay quiet after the replay for the suite to count as settled.
const QUIET: Duration = Duration::from_secs(3);
/// The longest the demo waits for that.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

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
    loop {
        match answers.message().await {
            Ok(Some(answer)) => {
                tally(&mut report, &answer);
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

    // Scores and runs follow the tickets by a moment: wait until the feeds are quiet.
    progress.set_style(ProgressStyle::default_spinner());
    let settle_start = Instant::now();
    loop {
        let quiet = last_event.lock().map_or(QUIET, |t| t.elapsed());
        if quiet >= QUIET || settle_start.elapsed() >= SETTLE_LIMIT || counter.is_finished() {
            break;
        }
        progress.set_message(format!("settling: {}", message(&moves)));
        progress.tick();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    counter.abort();
    progress.finish_and_clear();
    Ok(Replayed { report, moves, elapsed })
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
