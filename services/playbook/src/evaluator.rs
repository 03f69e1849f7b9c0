//! Trigger evaluation: the dry run of `EvaluateTriggers`, and the automatic evaluation that
//! follows the feeds — every account the consumers marked (bursts coalesced by the queue)
//! has its enabled playbooks evaluated and the firing ones started, with their evidence;
//! an hourly sweep marks every known account so that time-based conditions fire too.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use steward_kit::Error;
use steward_kit::feed::Worker;
use steward_kit::time::timestamp;
use steward_proto::playbook::v1 as pb;
use tokio::sync::Notify;

use crate::domain::evaluate::evaluate;
use crate::facts::Need;
use crate::runner::Runner;
use crate::store::Store;

/// How many accounts one worker pass claims, and how many it evaluates at once.
const CLAIM_BATCH: i64 = 32;
const CONCURRENCY: usize = 4;
/// A claimed account not finished within this is handed out again.
const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// Longest sleep of an idle worker.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Evaluates playbooks for accounts.
#[derive(Debug, Clone)]
pub struct Evaluator {
    store: Store,
    runner: Runner,
    wake: Arc<Notify>,
}

impl Evaluator {
    /// An evaluator over `store`, starting runs through `runner`.
    pub fn new(store: Store, runner: Runner) -> Self {
        Self { store, runner, wake: Arc::new(Notify::new()) }
    }

    /// `EvaluateTriggers`: `only` (even if disabled) or every enabled playbook, for
    /// `account`, with current data; starts nothing.
    pub async fn dry_run(
        &self,
        account: &str,
        only: Option<&str>,
    ) -> Result<pb::EvaluateTriggersResponse, Error> {
        let playbooks = match only {
            Some(id) => vec![self.store.get_playbook(id, 0).await?],
            None => self.store.enabled_playbooks().await?,
        };
        let now = Utc::now();
        let facts =
            self.runner.sources().gather(account, &playbooks, now, Need::Everything).await?;
        let mut evaluations = Vec::with_capacity(playbooks.len());
        for p in &playbooks {
            let history = self.store.history(account, id_of(&p.name)).await?;
            evaluations.push(evaluate(p, &facts, &history).result);
        }
        Ok(pb::EvaluateTriggersResponse {
            account: account.to_owned(),
            evaluate_time: Some(timestamp(now)),
            evaluations,
        })
    }

    /// Evaluates every enabled playbook for `account` and starts the firing ones; the runs
    /// started.
    pub async fn fire(&self, account: &str) -> Result<Vec<pb::PlaybookRun>, Error> {
        let playbooks = self.store.enabled_playbooks().await?;
        if playbooks.iter().all(|p| p.triggers.is_empty()) {
            return Ok(Vec::new());
        }
        let facts = match self
            .runner
            .sources()
            .gather(account, &playbooks, Utc::now(), Need::Everything)
            .await
        {
            Ok(facts) => facts,
            // A deleted account fires nothing.
            Err(Error::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut started = Vec::new();
        for p in &playbooks {
            let history = self.store.history(account, id_of(&p.name)).await?;
            let Some(firing) = evaluate(p, &facts, &history).firing else { continue };
            if let Some(run) = self.runner.start_automatic(p, &facts, &firing).await? {
                tracing::info!(account, playbook = %p.name, run = %run.name, summary = %firing.summary, "playbook fired");
                started.push(run);
            }
        }
        Ok(started)
    }

    /// Evaluates queued accounts until the process stops (see [`steward_kit::feed::DirtyQueue::work`]).
    pub async fn work_queue(self) {
        let worker = Worker {
            what: "evaluation",
            batch: CLAIM_BATCH,
            concurrency: CONCURRENCY,
            lease: CLAIM_LEASE,
            idle_poll: IDLE_POLL,
        };
        let this = &self;
        self.store
            .queue()
            .work(self.store.pool(), worker, &self.wake, |claim| async move {
                this.fire(&claim.account).await.map(drop)
            })
            .await;
    }

    /// Marks every known account for evaluation once per `interval`, in slices spread over
    /// it, so that rolling windows and renewal dates fire without an incoming change.
    pub async fn sweep(self, interval: Duration) {
        const SLICE: i64 = 500;
        let mut after = String::new();
        loop {
            tokio::time::sleep(interval / 60).await;
            match self.store.known_accounts(&after, SLICE).await {
                Ok(accounts) => {
                    after = accounts.last().cloned().unwrap_or_default();
                    if let Err(e) = self.store.mark(&accounts).await {
                        tracing::warn!(error = %e, "sweep could not queue accounts");
                    }
                    if accounts.is_empty() {
                        // A full pass is done: rest until the next interval.
                        tokio::time::sleep(interval).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "sweep could not list accounts"),
            }
        }
    }
}

/// The id of a `playbooks/{id}` name (names are written by this service).
fn id_of(name: &str) -> &str {
    name.trim_start_matches("playbooks/")
}
