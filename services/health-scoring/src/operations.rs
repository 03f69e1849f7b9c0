//! The re-scoring operations workers: start PENDING operations, lease their accounts a
//! batch at a time (several workers and replicas share the work; a crashed worker's lease
//! runs out and the accounts are handed out again), re-score each batch through the scorer
//! with up to 3 attempts per account, count what happened and end the operations. Ended
//! operations are pruned 30 days later.

use std::time::Duration;

use chrono::Utc;
use steward_kit::Error;
use steward_proto::health::v1::{HealthChangeReason as Reason, RescoreCause};

use crate::scorer::Scorer;
use crate::store::{ItemClaim, ItemOutcome, Store, Stored};

/// Accounts leased (and re-scored as one batch) per pass.
const BATCH: i64 = 500;
/// Workers: while one batch waits on ticket-ingest or Postgres, others compute. A batch
/// holds at most one database connection at a time, so this stays within a pool of 4.
/// (Measured at 20k accounts on the shared 2-core machine: 2 batches of 250 at once 2.6k/s,
/// 4 at once 4.5k/s; 500 per batch halves the per-batch reads, statements and commits.)
const WORKERS: usize = 4;
/// A leased account not finished within this is handed out again.
const LEASE: Duration = Duration::from_secs(120);
/// Attempts per account before it counts as failed.
pub const MAX_ATTEMPTS: i32 = 3;
/// An idle worker looks for new operations this often (they may come from any replica).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Operations are kept this long after they end.
const RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// How often ended operations are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs the workers and the pruning until the process stops.
pub async fn run(store: Store, scorer: Scorer) {
    let workers = (0..WORKERS).map(|_| work(&store, &scorer));
    tokio::join!(futures_util::future::join_all(workers), prune(&store));
}

/// One worker: a pass after another while there is work, else a look every `IDLE_POLL`.
async fn work(store: &Store, scorer: &Scorer) {
    loop {
        match pass(store, scorer).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "re-scoring operations: pass failed; retrying"),
        }
        tokio::time::sleep(IDLE_POLL).await;
    }
}

/// Deletes ended operations past their retention, every `PRUNE_EVERY`.
async fn prune(store: &Store) {
    loop {
        match store.prune_operations(Utc::now() - RETENTION).await {
            Ok(n) if n > 0 => tracing::info!(operations = n, "pruned ended re-scoring operations"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not prune re-scoring operations"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// One pass: start what is pending, re-score one batch, record it. `true` when there was
/// work (so look again at once).
async fn pass(store: &Store, scorer: &Scorer) -> Result<bool, Error> {
    if !store.any_open_operation().await? {
        return Ok(false);
    }
    let now = Utc::now();
    store.start_pending_operations(now).await?;
    let claims = store.claim_items(BATCH, LEASE, now).await?;
    if claims.is_empty() {
        store.end_finished_operations(now).await?;
        return Ok(false);
    }
    let attempts = attempt(scorer, claims).await;
    let mut finished = Vec::with_capacity(attempts.len());
    for (claim, outcome) in attempts {
        match outcome {
            Some(outcome) => finished.push((claim, outcome)),
            None => {
                let backoff = chrono::TimeDelta::seconds(i64::from(claim.attempts));
                store.retry_item(&claim, Utc::now() + backoff).await?;
            }
        }
    }
    store.finish_items(&finished, Utc::now()).await?;
    Ok(true)
}

/// Re-scores a batch of accounts: each one's outcome, or `None` to try again later.
async fn attempt(scorer: &Scorer, claims: Vec<ItemClaim>) -> Vec<(ItemClaim, Option<ItemOutcome>)> {
    // Earlier attempts were leased and never reported: their workers stopped.
    let (spent, claims): (Vec<_>, Vec<_>) =
        claims.into_iter().partition(|c| c.attempts > MAX_ATTEMPTS);
    let mut outcomes: Vec<_> = spent
        .into_iter()
        .map(|c| {
            let gave_up = format!("not re-scored after {MAX_ATTEMPTS} attempts");
            (c, Some(ItemOutcome::Failed(gave_up)))
        })
        .collect();
    let work: Vec<_> = claims
        .iter()
        .map(|c| {
            let reason = match c.cause {
                RescoreCause::ScorecardChanged => Reason::ScorecardChanged,
                _ => Reason::Rescore,
            };
            (c.account.clone(), reason)
        })
        .collect();
    let results = match scorer.rescore_many(&work).await {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(e) => {
            tracing::warn!(accounts = work.len(), error = %e, "re-score batch failed");
            claims.iter().map(|_| Err(for_operators(&e))).collect::<Vec<_>>()
        }
    };
    for (claim, result) in claims.into_iter().zip(results) {
        let outcome = match result {
            Ok(Ok(Stored::Changed(_))) => Some(ItemOutcome::Done { changed: true }),
            Ok(Ok(Stored::Unchanged | Stored::Superseded)) => {
                Some(ItemOutcome::Done { changed: false })
            }
            Ok(Err(e)) => {
                tracing::warn!(account = %claim.account, attempt = claim.attempts, error = %e, "re-score failed");
                (claim.attempts >= MAX_ATTEMPTS).then(|| ItemOutcome::Failed(for_operators(&e)))
            }
            Err(message) => {
                (claim.attempts >= MAX_ATTEMPTS).then_some(ItemOutcome::Failed(message))
            }
        };
        outcomes.push((claim, outcome));
    }
    outcomes
}

/// What an operation's failure says: the caller-facing message, never internal causes.
fn for_operators(e: &Error) -> String {
    match e {
        Error::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    }
}
