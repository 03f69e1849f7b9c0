//! `StreamIngestTickets`: items are read in batches of whatever has arrived (up to
//! [`MAX_BATCH`]), each batch is written in one transaction, and its answers are sent in
//! order before the next batch is read. The server therefore holds at most one batch of
//! unanswered items; a client that stops reading answers is held back by HTTP/2 flow
//! control instead of filling the server's memory.

use futures_util::FutureExt;
use steward_kit::Error;
use steward_proto::ticket::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::domain::validate;
use crate::store::{ItemResult, Store};

/// Most items read ahead of the answers sent (the API promises 500).
const MAX_BATCH: usize = 500;
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

/// What reading one batch found.
struct Read {
    items: Vec<pb::StreamIngestTicketsRequest>,
    /// The client half-closed after these items.
    ended: bool,
    /// The inbound stream failed after these items.
    failure: Option<Status>,
}

/// Waits for one item, then takes every item that has already arrived, up to a batch.
async fn read_batch(inbound: &mut Streaming<pb::StreamIngestTicketsRequest>) -> Read {
    let mut read = Read { items: Vec::new(), ended: false, failure: None };
    match inbound.message().await {
        Ok(Some(item)) => read.items.push(item),
        Ok(None) => read.ended = true,
        Err(status) => read.failure = Some(status),
    }
    while !read.ended && read.failure.is_none() && read.items.len() < MAX_BATCH {
        match inbound.message().now_or_never() {
            Some(Ok(Some(item))) => read.items.push(item),
            Some(Ok(None)) => read.ended = true,
            Some(Err(status)) => read.failure = Some(status),
            None => break,
        }
    }
    read
}

async fn run(
    store: Store,
    mut inbound: Streaming<pb::StreamIngestTicketsRequest>,
    tx: mpsc::Sender<Reply>,
) {
    loop {
        let read = read_batch(&mut inbound).await;
        let answers = match answer(&store, &read.items).await {
            Ok(answers) => answers,
            Err(e) => {
                // The batch could not be written (database down): nothing of it committed,
                // the stream ends, and the client resends what was not answered.
                let _ = tx.send(Err(Status::from(e))).await;
                return;
            }
        };
        for (item, answer) in read.items.into_iter().zip(answers) {
            let result = match answer {
                Ok(ingested) => pb::stream_ingest_tickets_response::Result::Ingested(ingested),
                Err(e) => pb::stream_ingest_tickets_response::Result::Error(e.into()),
            };
            let reply =
                pb::StreamIngestTicketsResponse { item_id: item.item_id, result: Some(result) };
            if tx.send(Ok(reply)).await.is_err() {
                return; // the client went away
            }
        }
        if let Some(status) = read.failure {
            let _ = tx.send(Err(status)).await;
            return;
        }
        if read.ended {
            return;
        }
    }
}

/// Validates and ingests a batch; each item's answer, in order.
async fn answer(
    store: &Store,
    items: &[pb::StreamIngestTicketsRequest],
) -> Result<Vec<ItemResult>, Error> {
    let mut answers: Vec<Option<ItemResult>> = Vec::with_capacity(items.len());
    let (mut snapshots, mut positions) = (Vec::new(), Vec::new());
    for (i, item) in items.iter().enumerate() {
        if item.item_id.chars().count() > MAX_ITEM_ID {
            answers.push(Some(Err(Error::invalid("item_id", "must be at most 128 characters"))));
            continue;
        }
        match validate::validate(item.ticket.clone()) {
            Ok(snapshot) => {
                snapshots.push(snapshot);
                positions.push(i);
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(e))),
        }
    }
    if !snapshots.is_empty() {
        for (position, result) in positions.into_iter().zip(store.ingest(snapshots, None).await?) {
            answers[position] = Some(result);
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("item left unanswered")))))
        .collect())
}
