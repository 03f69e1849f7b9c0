//! The re-scoring operations worker: starts PENDING operations, leases their accounts a
//! batch at a time (several replicas share the work; a crashed worker's lease runs out and
//! the accounts are handed out again), re-scores a few at once through the scorer with up
//! to 3 attempts each, counts what happened and ends the operations. It also prunes
//! operations 30 days after they ended.

use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use steward_kit::Error;
use steward_proto::health::v1::{HealthChangeReason as Reason, RescoreCause};

use crate::scorer::Scorer;
use crate::store::{ItemClaim, ItemOutcome, Store, Stored};

/// Accounts leased per pass, and re-scored at once.
const BATCH: i64 = 128;
const CONCURRENCY: usize = 16;
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

/// Runs the worker until the process stops.
pub async fn run(store: Store, scorer: Scorer) {
    let mut pruned: Option<Instant> = None;
    loop {
        match pass(&store, &scorer).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "re-scoring operations: pass failed; retrying"),
        }
        if pruned.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            match store.prune_operations(Utc::now() - RETENTION).await {
                Ok(n) if n > 0 => {
                    tracing::info!(operations = n, "pruned ended re-scoring operations")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not prune re-scoring operations"),
            }
            pruned = Some(Instant::now());
        }
        tokio::time::sleep(IDLE_POLL).await;
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
    let attempts: Vec<(ItemClaim, Option<ItemOutcome>)> = futures_util::stream::iter(claims)
        .map(|claim| async move {
            let outcome = attempt(scorer, &claim).await;
            (claim, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
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

/// Re-scores one account: its outcome, or `None` to try again later.
async fn attempt(scorer: &Scorer, claim: &ItemClaim) -> Option<ItemOutcome> {
    if claim.attempts > MAX_ATTEMPTS {
        // Earlier attempts were leased and never reported: their workers stopped.
        return Some(ItemOutcome::Failed(format!("not re-scored after {MAX_ATTEMPTS} attempts")));
    }
    let reason = match claim.cause {
        RescoreCause::ScorecardChanged => Reason::ScorecardChanged,
        _ => Reason::Rescore,
    };
    match scorer.rescore(&claim.account, reason).await {
        Ok(Stored::Changed(_)) => Some(ItemOutcome::Done { changed: true }),
        Ok(Stored::Unchanged | Stored::Superseded) => Some(ItemOutcome::Done { changed: false }),
        Err(e) => {
            tracing::warn!(account = %claim.account, attempt = claim.attempts, error = %e, "re-score failed");
            (claim.attempts >= MAX_ATTEMPTS).then(|| ItemOutcome::Failed(for_operators(&e)))
        }
    }
}

/// What an operation's failure says: the caller-facing message, never internal causes.
fn for_operators(e: &Error) -> String {
    match e {
        Error::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    }
}
