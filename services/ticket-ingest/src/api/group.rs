//! Group commit for unary ingests: concurrent `IngestTicket` calls are gathered into shared
//! transactions, so that a busy adapter's many small calls cost what a streamed batch costs
//! rather than one commit (and one fsync) each. An idle server adds no delay: a call that
//! finds a writer free is written at once, alone.

use std::sync::Arc;

use steward_kit::Error;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::domain::validate::Snapshot;
use crate::store::{ItemResult, Store};

/// Transactions written at once; calls arriving meanwhile wait and join the next batch.
/// Two keep Postgres and this process both busy; more only split the waiting calls into
/// smaller groups, each paying its own round trips and commit.
const WRITERS: usize = 2;
/// Most calls in one transaction (as many as a streamed batch).
const MAX_GROUP: usize = 500;

type Job = (Snapshot, oneshot::Sender<ItemResult>);

/// Hands unary ingests to a few writer tasks that each take every call waiting.
#[derive(Debug, Clone)]
pub(super) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writers over `store`; they stop when the last handle is dropped.
    pub(super) fn start(store: Store) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>(WRITERS * MAX_GROUP);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WRITERS {
            tokio::spawn(write(store.clone(), queue.clone()));
        }
        Self { jobs }
    }

    /// Ingests `snapshot` in the next shared transaction.
    pub(super) async fn ingest(&self, snapshot: Snapshot) -> ItemResult {
        let (answer, answered) = oneshot::channel();
        let stopped = || Error::Internal(anyhow::anyhow!("the ingest writers stopped"));
        self.jobs.send((snapshot, answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn write(store: Store, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut group = Vec::new();
        {
            // One writer at a time gathers: it waits for a call, then takes all waiting.
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut group, MAX_GROUP).await == 0 {
                return; // every sender is gone
            }
        }
        let (snapshots, answers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        match store.ingest(snapshots, None).await {
            Ok(results) => {
                for (answer, result) in answers.into_iter().zip(results) {
                    let _ = answer.send(result);
                }
            }
            Err(e) => {
                for answer in answers {
                    let _ = answer.send(Err(shared(&e)));
                }
            }
        }
    }
}

/// The error of a shared transaction, for each of its callers.
fn shared(e: &Error) -> Error {
    match e {
        Error::Unavailable { reason, message } => {
            Error::Unavailable { reason, message: message.clone() }
        }
        other => Error::Internal(anyhow::anyhow!("the shared ingest transaction failed: {other}")),
    }
}
