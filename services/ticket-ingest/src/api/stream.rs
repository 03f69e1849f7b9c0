//! `StreamIngestTickets`: items are read in batches of whatever has arrived, and up to
//! [`IN_FLIGHT`] batches are written at once, each in its own transaction, while their
//! answers are sent in order. The server never holds more than [`MAX_READ_AHEAD`] items it
//! has not answered; a client that stops reading answers is held back by HTTP/2 flow control
//! instead of filling the server's memory.
//!
//! Overlapping batches stay in order: a batch begins only once the batch before it holds
//! the locks of its keys (or is answered), so it waits for that batch's commit on every
//! ticket they share and sees its effects, and it commits after that batch (see [`Turn`]).

use futures_util::stream::{FuturesOrdered, StreamExt};
use futures_util::{FutureExt, future::BoxFuture};
use steward_kit::Error;
use steward_proto::ticket::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::domain::validate;
use crate::store::{ItemResult, Store, Turn, Turns};

/// Most items read ahead of the answers sent (the API promises 500).
const MAX_READ_AHEAD: usize = 500;
/// Batches written at once: two keep both Postgres and this process busy, as two
/// connections do for a plain bulk load.
const IN_FLIGHT: usize = 2;
/// Longest `item_id` accepted.
const MAX_ITEM_ID: usize = 128;

type Reply = Result<pb::StreamIngestTicketsResponse, Status>;

/// Starts answering `inbound`; the answers stream.
pub(super) fn spawn(
    store: Store,
    inbound: Streaming<pb::StreamIngestTicketsRequest>,
) -> ReceiverStream<Reply> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(store, inbound, tx));
    ReceiverStream::new(rx)
}

/// A batch being written: its item ids and, once written, its answers.
type Writing = BoxFuture<'static, (Vec<String>, Result<Vec<ItemResult>, Error>)>;

/// Reading the inbound stream.
#[derive(Debug, Default)]
struct Inbound {
    /// The client half-closed.
    ended: bool,
    /// The inbound stream failed; reported after the answers of the items before it.
    failure: Option<Status>,
}

impl Inbound {
    /// Items may still arrive.
    fn open(&self) -> bool {
        !self.ended && self.failure.is_none()
    }

    /// The item `next` carries; otherwise records the end or the failure.
    fn take(
        &mut self,
        next: Result<Option<pb::StreamIngestTicketsRequest>, Status>,
    ) -> Option<pb::StreamIngestTicketsRequest> {
        match next {
            Ok(Some(item)) => return Some(item),
            Ok(None) => self.ended = true,
            Err(status) => self.failure = Some(status),
        }
        None
    }
}

async fn run(
    store: Store,
    mut inbound: Streaming<pb::StreamIngestTicketsRequest>,
    tx: mpsc::Sender<Reply>,
) {
    let mut state = Inbound::default();
    let mut writing: FuturesOrdered<Writing> = FuturesOrdered::new();
    // Items read and not yet answered.
    let mut unanswered = 0;
    let mut turns = Turns::default();
    loop {
        let may_read = state.open() && writing.len() < IN_FLIGHT && unanswered < MAX_READ_AHEAD;
        if !may_read && writing.is_empty() {
            break;
        }
        tokio::select! {
            // Answers first: they free room to read more.
            biased;
            Some((ids, answers)) = writing.next() => {
                let answers = match answers {
                    Ok(answers) => answers,
                    Err(e) => {
                        // The batch could not be written (database down): nothing of it
                        // committed, the stream ends, and the client resends what was not
                        // answered.
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                unanswered -= ids.len();
                if !send(&tx, ids, answers).await {
                    return; // the client went away
                }
            }
            // Cancel-safe: a message is taken from the stream only when this branch wins.
            next = inbound.message(), if may_read => {
                let mut items: Vec<_> = state.take(next).into_iter().collect();
                // Then every item that has already arrived, as far as the read-ahead allows.
                while state.open() && unanswered + items.len() < MAX_READ_AHEAD {
                    let Some(next) = inbound.message().now_or_never() else { break };
                    items.extend(state.take(next));
                }
                if items.is_empty() {
                    continue;
                }
                unanswered += items.len();
                let turn = turns.turn();
                let store = store.clone();
                let ids: Vec<String> = items.iter().map(|i| i.item_id.clone()).collect();
                // A task of its own, so that two batches' work runs on two cores.
                let batch = tokio::spawn(async move { answer(&store, items, turn).await });
                writing.push_back(
                    async move {
                        let answers = batch.await.unwrap_or_else(|e| {
                            Err(Error::Internal(anyhow::anyhow!("ingest batch failed: {e}")))
                        });
                        (ids, answers)
                    }
                    .boxed(),
                );
            }
        }
    }
    if let Some(status) = state.failure {
        let _ = tx.send(Err(status)).await;
    }
}

/// Sends a batch's answers in order; false when the client has gone.
async fn send(tx: &mpsc::Sender<Reply>, ids: Vec<String>, answers: Vec<ItemResult>) -> bool {
    for (item_id, answer) in ids.into_iter().zip(answers) {
        let result = match answer {
            Ok(ingested) => pb::stream_ingest_tickets_response::Result::Ingested(ingested),
            Err(e) => pb::stream_ingest_tickets_response::Result::Error(e.into()),
        };
        let reply = pb::StreamIngestTicketsResponse { item_id, result: Some(result) };
        if tx.send(Ok(reply)).await.is_err() {
            return false;
        }
    }
    true
}

/// Validates and ingests a batch after the one before it; each item's answer, in order.
async fn answer(
    store: &Store,
    items: Vec<pb::StreamIngestTicketsRequest>,
    turn: Turn,
) -> Result<Vec<ItemResult>, Error> {
    let mut answers: Vec<Option<ItemResult>> = Vec::with_capacity(items.len());
    let (mut snapshots, mut positions) = (Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        if item.item_id.chars().count() > MAX_ITEM_ID {
            answers.push(Some(Err(Error::invalid("item_id", "must be at most 128 characters"))));
            continue;
        }
        match validate::validate(item.ticket) {
            Ok(snapshot) => {
                snapshots.push(snapshot);
                positions.push(i);
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(e))),
        }
    }
    let results = store.ingest_after(snapshots, turn).await?;
    for (position, result) in positions.into_iter().zip(results) {
        answers[position] = Some(result);
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("item left unanswered")))))
        .collect())
}
