//! Re-scoring accounts, a batch at a time: read their inputs (the accounts as the feed
//! delivered them, support summaries from ticket-ingest, measurements, ARR history),
//! compute each with its scorecard, store all in one transaction. And the workers that
//! drive it (see [`queue`]): the coalescing queue and the periodic sweep.

mod queue;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use steward_kit::Error;
use steward_kit::client::{Intercepted, retry};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::HealthChangeReason as Reason;
use steward_proto::ticket::v1 as ticket_pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use tokio::sync::Notify;

use crate::domain::measures::{self, Inputs};
use crate::domain::scorecard::{aggregation, window};
use crate::domain::{assignment, compute};
use crate::store::{NewScore, Store, Stored};

/// Most accounts in one `BatchGetSupportSummaries` call (the method's limit).
const SUMMARY_BATCH: usize = 1000;

/// An account to re-score, and why.
pub type Work = (String, Reason);

/// Support summaries by window length in seconds.
pub type Summaries = BTreeMap<i64, ticket_pb::SupportSummary>;

/// An account to compute a score for: its name, its snapshot with when health scoring was
/// caught up with it (`None` when the account feed has not delivered it), its summaries.
#[derive(Debug, Clone)]
pub struct Subject {
    pub account: String,
    pub known: Option<(account_pb::Account, DateTime<Utc>)>,
    pub summaries: Summaries,
}

/// Computes and stores scores.
#[derive(Debug, Clone)]
pub struct Scorer {
    store: Store,
    tickets: TicketIngestServiceClient<Intercepted>,
    wake: Arc<Notify>,
}

impl Scorer {
    /// A scorer over `store`, reading support summaries through `tickets`.
    pub fn new(store: Store, tickets: TicketIngestServiceClient<Intercepted>) -> Self {
        Self { store, tickets, wake: Arc::new(Notify::new()) }
    }

    /// Wakes the queue worker (after marking accounts in this process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Re-scores `accounts` (each with why) now and stores the results in one transaction
    /// (see [`Store::save_scores`]); accounts the account feed no longer holds lose their
    /// score. Answers each account in order: what storing did, or why it has no score (no
    /// scorecard matches it). The outer error fails the whole batch (a peer or the database
    /// unreachable): try again later.
    pub async fn rescore_many(
        &self,
        accounts: &[Work],
    ) -> Result<Vec<Result<Stored, Error>>, Error> {
        let now = Utc::now();
        let names: Vec<String> = accounts.iter().map(|(a, _)| a.clone()).collect();
        let mut known = self.store.accounts(&names).await?;
        let scorecards = self.store.latest_scorecards().await?;
        let feed_time = self.store.account_feed_time().await?;
        // Each account once (the first reason wins), grouped by the scorecard that scores it.
        let mut seen = HashSet::new();
        let mut gone = Vec::new();
        let mut groups: BTreeMap<&str, (&pb::Scorecard, Vec<Work>)> = BTreeMap::new();
        for (account, reason) in accounts {
            if !seen.insert(account.as_str()) {
                continue;
            }
            let Some(k) = known.get(account) else {
                gone.push(account.clone());
                continue;
            };
            if let Some(scorecard) = choose(&scorecards, k.segment, k.stage) {
                let group = groups.entry(&scorecard.name).or_insert((scorecard, Vec::new()));
                group.1.push((account.clone(), *reason));
            }
        }
        let mut scores = Vec::new();
        for (scorecard, group) in groups.into_values() {
            let names: Vec<String> = group.iter().map(|(a, _)| a.clone()).collect();
            let summaries =
                self.summaries(&names, &measures::windows_needed(scorecard), now).await?;
            let subjects = names
                .into_iter()
                .zip(summaries)
                .map(|(account, summaries)| {
                    let known = known.remove(&account).map(|k| {
                        let caught_up = k.caught_up(feed_time);
                        (k.account, caught_up)
                    });
                    Subject { account, known, summaries }
                })
                .collect();
            let inputs = self.inputs(scorecard, subjects, now).await?;
            for ((account, reason), inputs) in group.into_iter().zip(inputs) {
                let score = evaluate(&account, scorecard, &inputs);
                scores.push(NewScore { score, reason, summaries: inputs.summaries });
            }
        }
        let saved = self.store.save_scores(&scores, now).await?;
        let mut stored: HashMap<String, Stored> =
            scores.into_iter().map(|s| s.score.account).zip(saved).collect();
        for account in gone {
            let outcome = self.store.remove_score(&account, now).await?;
            stored.insert(account, outcome);
        }
        Ok(accounts
            .iter()
            .map(|(account, _)| {
                stored.get(account).cloned().ok_or_else(|| Error::FailedPrecondition {
                    reason: "NO_DEFAULT_SCORECARD",
                    message: "no scorecard matches the account and none is the default".into(),
                })
            })
            .collect())
    }

    /// The inputs of `subjects` under `scorecard` at `now`, in their order.
    pub async fn inputs(
        &self,
        scorecard: &pb::Scorecard,
        subjects: Vec<Subject>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Inputs>, Error> {
        let (keys, longest) = custom_keys(scorecard);
        let names: Vec<String> = subjects.iter().map(|s| s.account.clone()).collect();
        let arr_windows = measures::arr_windows_needed(scorecard);
        let mut stored =
            self.store.accounts_inputs(&names, &keys, now - longest, &arr_windows, now).await?;
        Ok(subjects
            .into_iter()
            .map(|s| {
                let stored = stored.remove(&s.account).unwrap_or_default();
                let (account, account_seen) = s.known.unzip();
                Inputs {
                    summaries: s.summaries,
                    account,
                    account_seen,
                    arr_then: stored.arr_then,
                    measurements: stored.measurements,
                    now,
                }
            })
            .collect())
    }

    /// One support summary per window (seconds) for each of `accounts`, in their order, as
    /// of `now`, from ticket-ingest: one batch call per window and 1,000 accounts, the
    /// windows at once.
    pub async fn summaries(
        &self,
        accounts: &[String],
        windows: impl IntoIterator<Item = &i64>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Summaries>, Error> {
        let calls = windows.into_iter().flat_map(|&secs| {
            accounts.chunks(SUMMARY_BATCH).enumerate().map(move |(c, chunk)| async move {
                let request = ticket_pb::BatchGetSupportSummariesRequest {
                    accounts: chunk.to_vec(),
                    window: Some(prost_types::Duration { seconds: secs, nanos: 0 }),
                    as_of: Some(timestamp(now)),
                    history_windows: 3,
                };
                let answer = retry(|| {
                    let mut tickets = self.tickets.clone();
                    let request = request.clone();
                    async move { tickets.batch_get_support_summaries(request).await }
                })
                .await
                .map_err(|status| Error::Unavailable {
                    reason: "TICKET_INGEST_UNAVAILABLE",
                    message: format!(
                        "ticket-ingest answered {:?}: {}",
                        status.code(),
                        status.message()
                    ),
                })?;
                let summaries = answer.into_inner().summaries;
                if summaries.len() != chunk.len() {
                    return Err(Error::Internal(anyhow::anyhow!(
                        "ticket-ingest answered {} summaries for {} accounts",
                        summaries.len(),
                        chunk.len()
                    )));
                }
                Ok((secs, c * SUMMARY_BATCH, summaries))
            })
        });
        let mut by_account = vec![Summaries::new(); accounts.len()];
        for (secs, start, summaries) in try_join_all(calls).await? {
            for (summary, slot) in summaries.into_iter().zip(&mut by_account[start..]) {
                slot.insert(secs, summary);
            }
        }
        Ok(by_account)
    }
}

/// The scorecard that scores an account in `segment` and `stage`.
pub fn choose(scorecards: &[pb::Scorecard], segment: i32, stage: i32) -> Option<&pb::Scorecard> {
    let none = pb::Assignment::default();
    let name = assignment::choose(
        scorecards.iter().map(|s| (s.name.as_str(), s.assignment.as_ref().unwrap_or(&none))),
        segment,
        stage,
    )?;
    scorecards.iter().find(|s| s.name == name)
}

/// `account`'s score under `scorecard` from `inputs`.
pub fn evaluate(account: &str, scorecard: &pb::Scorecard, inputs: &Inputs) -> pb::HealthScore {
    let readings: Vec<_> = scorecard.components.iter().map(|c| measures::read(c, inputs)).collect();
    let freshness = measures::freshness(scorecard, &readings, inputs);
    compute::score(scorecard, &readings).health_score(account, scorecard, inputs.now, freshness)
}

/// The custom measurement keys `scorecard` reads, and how far back its windowed ones look.
fn custom_keys(scorecard: &pb::Scorecard) -> (Vec<String>, chrono::Duration) {
    use pb::measure::Kind;
    let mut keys = Vec::new();
    let mut longest = chrono::Duration::zero();
    for component in &scorecard.components {
        if let Some(Kind::Custom(custom)) = component.measure.as_ref().and_then(|m| m.kind.as_ref())
        {
            keys.push(custom.key.clone());
            if aggregation(custom) != pb::Aggregation::Latest {
                longest = longest.max(window(component));
            }
        }
    }
    keys.sort();
    keys.dedup();
    (keys, longest)
}
