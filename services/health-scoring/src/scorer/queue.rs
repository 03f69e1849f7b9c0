//! The workers that keep scores current: the coalescing queue of accounts whose inputs
//! changed (the account and support feeds, measurements, the sweep) and the periodic sweep.
//! The queue's claims are re-scored concurrently, and concurrent re-scores are gathered
//! into shared batches ([`Batches`]), so that a burst of dirty accounts costs a few batch
//! reads and one transaction per batch while a single dirty account is re-scored at once,
//! alone.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use steward_kit::Error;
use steward_kit::feed::Worker;
use steward_proto::health::v1::HealthChangeReason as Reason;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::Scorer;
use crate::domain::reasons;
use crate::store::Stored;

/// How many accounts one worker pass claims; all are re-scored at once (in batches).
const CLAIM_BATCH: i64 = 256;
/// A claimed account not finished within this is handed out again.
const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// Longest sleep of an idle worker (a mark from another replica is seen this late at worst).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Batches re-scored at once; re-scores arriving meanwhile wait and join the next batch.
const BATCHERS: usize = 2;

type Job = ((String, Reason), oneshot::Sender<Result<Stored, Error>>);

/// Hands single-account re-scores to a few tasks that each take every one waiting.
#[derive(Debug, Clone)]
struct Batches {
    jobs: mpsc::Sender<Job>,
}

impl Batches {
    /// Starts the batchers over `scorer`; they stop when the last handle is dropped.
    fn start(scorer: &Scorer) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>(CLAIM_BATCH as usize);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..BATCHERS {
            tokio::spawn(batch(scorer.clone(), queue.clone()));
        }
        Self { jobs }
    }

    /// Re-scores `account` in the next batch.
    async fn rescore(&self, account: String, reason: Reason) -> Result<Stored, Error> {
        let (answer, answered) = oneshot::channel();
        let stopped = || Error::Internal(anyhow::anyhow!("the re-score batchers stopped"));
        self.jobs.send(((account, reason), answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn batch(scorer: Scorer, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut group = Vec::new();
        {
            // One batcher at a time gathers: it waits for a job, then takes all waiting.
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut group, CLAIM_BATCH as usize).await == 0 {
                return; // every sender is gone
            }
        }
        let (accounts, answers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        match scorer.rescore_many(&accounts).await {
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

/// The error of a shared batch, for each of its accounts.
fn shared(e: &Error) -> Error {
    match e {
        Error::Unavailable { reason, message } => {
            Error::Unavailable { reason, message: message.clone() }
        }
        other => Error::Internal(anyhow::anyhow!("the shared re-score batch failed: {other}")),
    }
}

impl Scorer {
    /// Re-scores queued accounts until the process stops (see
    /// [`steward_kit::feed::DirtyQueue::work`]).
    pub async fn work_queue(self) {
        let worker = Worker {
            what: "re-score",
            batch: CLAIM_BATCH,
            // Every claim at once: the batchers turn them into a few batches.
            concurrency: CLAIM_BATCH as usize,
            lease: CLAIM_LEASE,
            idle_poll: IDLE_POLL,
        };
        let batches = &Batches::start(&self);
        self.store
            .queue()
            .work(self.store.pool(), worker, &self.wake, |claim| async move {
                batches.rescore(claim.account, reasons::report(claim.reasons)).await.map(drop)
            })
            .await;
    }

    /// The periodic sweep: every account is re-evaluated about once per `interval`, spread
    /// evenly (each tick queues the share of accounts due), so windows slide and data ages
    /// without a thundering herd.
    pub async fn sweep(self, interval: Duration) {
        const TICKS: u32 = 60;
        let tick = interval / TICKS;
        loop {
            tokio::time::sleep(tick).await;
            let share = match self.store.account_count().await {
                Ok(n) => (n + i64::from(TICKS) - 1) / i64::from(TICKS),
                Err(e) => {
                    tracing::warn!(error = %e, "sweep could not count accounts");
                    continue;
                }
            };
            let before = Utc::now() - interval;
            match self.store.sweep(before, share.max(1)).await {
                Ok(0) => {}
                Ok(_) => self.wake(),
                Err(e) => tracing::warn!(error = %e, "sweep could not queue accounts"),
            }
        }
    }
}
