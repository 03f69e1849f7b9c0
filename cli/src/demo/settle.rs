//! Waiting, after the replay, until the suite has acted on the tickets, so that the summary
//! shows the outcome rather than a moment of it. Two conditions, checked while the feeds are
//! quiet: every account whose tickets changed was re-scored after the last of them was sent
//! (its score's `evaluate_time`), and no playbook would still fire for those accounts
//! (EvaluateTriggers, which answers ACTIVE_RUN_EXISTS once the run has started). A quiet
//! spell alone is not enough: under load the services' feed consumers can pause for seconds.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use prost_types::Timestamp;
use steward_proto::playbook::v1 as pb;
use tokio::time::Instant;

use super::book::DemoAccount;
use super::summary;
use crate::client::{Connection, Peer, Playbooks};

/// How long the feeds must be quiet before the conditions are checked.
const QUIET: Duration = Duration::from_secs(1);
/// The longest the demo waits.
const LIMIT: Duration = Duration::from_secs(60);
/// Dry runs in flight at once.
const PARALLEL: usize = 8;

/// Waits until the suite has settled or [`LIMIT`] has passed. `changed` holds the accounts
/// whose tickets changed, with when the last of them was sent; `quiet` says how long the
/// feeds have been quiet; `tick` shows that the demo is still waiting.
pub(super) async fn settle(
    conn: &Connection,
    book: &[DemoAccount],
    mut changed: HashMap<String, Timestamp>,
    quiet: impl Fn() -> Duration,
    tick: impl Fn(),
) -> anyhow::Result<()> {
    let accounts: Vec<String> = changed.keys().cloned().collect();
    let (peer, client) = conn.playbooks()?;
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        tick();
        tokio::time::sleep(Duration::from_millis(250)).await;
        if quiet() < QUIET {
            continue;
        }
        if !changed.is_empty() {
            let scores = summary::scores(conn, book).await?;
            let at = |t: &Timestamp| (t.seconds, t.nanos);
            changed.retain(|account, sent| {
                let score = scores.iter().find(|s| s.account == *account);
                score.and_then(|s| s.evaluate_time.as_ref()).is_none_or(|e| at(e) < at(sent))
            });
            continue;
        }
        if !would_fire(&peer, &client, &accounts).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Whether a playbook would still start a run for one of `accounts`.
async fn would_fire(peer: &Peer, client: &Playbooks, accounts: &[String]) -> anyhow::Result<bool> {
    let pending: Vec<bool> = stream::iter(accounts.to_vec())
        .map(|account| {
            let (peer, mut client) = (peer.clone(), client.clone());
            async move {
                let request = pb::EvaluateTriggersRequest { account, ..Default::default() };
                let answer = client.evaluate_triggers(request).await.map_err(|s| peer.error(s))?;
                anyhow::Ok(answer.into_inner().evaluations.iter().any(|e| e.would_fire))
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    Ok(pending.contains(&true))
}
