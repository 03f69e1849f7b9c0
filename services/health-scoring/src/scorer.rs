//! Re-scoring one account: read its inputs (the account as the feed delivered it, support
//! summaries from ticket-ingest, measurements, ARR history), compute with its scorecard,
//! store. And the workers that drive it: the coalescing queue and the periodic sweep.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use steward_kit::Error;
use steward_kit::client::{Intercepted, retry};
use steward_kit::feed::Worker;
use steward_kit::time::timestamp;
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::HealthChangeReason as Reason;
use steward_proto::ticket::v1 as ticket_pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use tokio::sync::Notify;

use crate::domain::measures::{self, Inputs};
use crate::domain::scorecard::{aggregation, window};
use crate::domain::{assignment, compute, reasons};
use crate::store::{Store, Stored};

/// How many accounts one worker pass claims, and how many it re-scores at once.
const CLAIM_BATCH: i64 = 64;
const CONCURRENCY: usize = 8;
/// A claimed account not finished within this is handed out again.
const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// Longest sleep of an idle worker (a mark from another replica is seen this late at worst).
const IDLE_POLL: Duration = Duration::from_secs(1);

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

    /// Re-scores `account` now and stores the result (see [`Store::save_score`]). An account
    /// the account feed no longer holds loses its score.
    pub async fn rescore(&self, account: &str, reason: Reason) -> Result<Stored, Error> {
        let now = Utc::now();
        let Some(known) = self.store.account(account).await? else {
            return self.store.remove_score(account, now).await;
        };
        let scorecards = self.store.latest_scorecards().await?;
        let Some(scorecard) = choose(&scorecards, known.segment, known.stage) else {
            return Err(Error::FailedPrecondition {
                reason: "NO_DEFAULT_SCORECARD",
                message: "no scorecard matches the account and none is the default".into(),
            });
        };
        let summaries = self.summaries(account, &measures::windows_needed(scorecard), now).await?;
        let seen = self.store.account_caught_up(known.seen_at).await?;
        let inputs =
            self.inputs(account, scorecard, Some((known.account, seen)), summaries, now).await?;
        let score = evaluate(account, scorecard, &inputs);
        self.store.save_score(score, now, reason, &inputs.summaries).await
    }

    /// The inputs of `account` under `scorecard` at `now`, given its support summaries.
    pub async fn inputs(
        &self,
        account: &str,
        scorecard: &pb::Scorecard,
        known: Option<(steward_proto::account::v1::Account, DateTime<Utc>)>,
        summaries: BTreeMap<i64, ticket_pb::SupportSummary>,
        now: DateTime<Utc>,
    ) -> Result<Inputs, Error> {
        let (keys, longest) = custom_keys(scorecard);
        let stored = self
            .store
            .account_inputs(
                account,
                &keys,
                now - longest,
                measures::arr_windows_needed(scorecard),
                now,
            )
            .await?;
        let (account, account_seen) = known.unzip();
        Ok(Inputs {
            summaries,
            account,
            account_seen,
            arr_then: stored.arr_then,
            measurements: stored.measurements,
            now,
        })
    }

    /// One support summary per window (seconds), as of `now`, from ticket-ingest.
    pub async fn summaries(
        &self,
        account: &str,
        windows: impl IntoIterator<Item = &i64>,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<i64, ticket_pb::SupportSummary>, Error> {
        let mut summaries = BTreeMap::new();
        for &secs in windows {
            let request = ticket_pb::GetSupportSummaryRequest {
                account: account.to_owned(),
                window: Some(prost_types::Duration { seconds: secs, nanos: 0 }),
                as_of: Some(timestamp(now)),
                history_windows: 3,
            };
            let summary = retry(|| {
                let mut tickets = self.tickets.clone();
                let request = request.clone();
                async move { tickets.get_support_summary(request).await }
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
            summaries.insert(secs, summary.into_inner());
        }
        Ok(summaries)
    }

    /// Re-scores queued accounts until the process stops (see [`steward_kit::feed::DirtyQueue::work`]).
    pub async fn work_queue(self) {
        let worker = Worker {
            what: "re-score",
            batch: CLAIM_BATCH,
            concurrency: CONCURRENCY,
            lease: CLAIM_LEASE,
            idle_poll: IDLE_POLL,
        };
        let this = &self;
        self.store
            .queue()
            .work(self.store.pool(), worker, &self.wake, |claim| async move {
                this.rescore(&claim.account, reasons::report(claim.reasons)).await.map(drop)
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
