//! Moving runs: starting them (by hand or by a trigger) and every later change, each with
//! the template variables of the moment (the account's facts, gathered best effort, since a
//! value Steward cannot obtain renders empty), applied by the domain's state machine under
//! the run's row lock. Also the clock-driven moves: waits that end and last attempts whose
//! lease expired.

use std::time::Duration;

use chrono::{DateTime, Utc};
use steward_kit::{Error, names};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use crate::domain::evaluate::{self, Firing};
use crate::domain::facts::Facts;
use crate::domain::lease::{self, AfterExpiry};
use crate::domain::run::{self, Activation, Event, Start};
use crate::domain::template::{self, RunContext, Variables};
use crate::facts::{Need, Sources};
use crate::store::{Locked, Store, run_name};

/// Starts and moves runs.
#[derive(Debug, Clone)]
pub struct Runner {
    store: Store,
    sources: Sources,
}

/// A manual start, checked.
#[derive(Debug, Clone)]
pub struct ManualStart {
    /// The request's id.
    pub request_id: Uuid,
    /// The request, for idempotency.
    pub request: pb::StartPlaybookRunRequest,
    /// The playbook's id.
    pub playbook_id: String,
    /// Who starts it: the request's actor or the caller's token name.
    pub actor: String,
}

impl Runner {
    /// Runs in `store`, with facts from `sources`.
    pub fn new(store: Store, sources: Sources) -> Self {
        Self { store, sources }
    }

    /// The facts source (for the evaluator).
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// `StartPlaybookRun`: skips triggers, audience and cooldown, but needs the playbook
    /// enabled and no ACTIVE run of it for the account. Idempotent by request id.
    pub async fn start_manual(&self, start: ManualStart) -> Result<pb::PlaybookRun, Error> {
        if let Some(run) = self.store.replayed_start(start.request_id, &start.request).await? {
            return Ok(run);
        }
        let playbook = self.store.get_playbook(&start.playbook_id, 0).await?;
        let account = &start.request.account;
        let now = Utc::now();
        let facts = self
            .sources
            .gather(account, std::slice::from_ref(&playbook), now, Need::BestEffort)
            .await?;
        let history = self.store.history(account, &start.playbook_id).await?;
        crate::domain::gate::check_manual(playbook.enabled, &history.runs)?;
        let evidence = evaluate::manual_evidence(&playbook, &facts, &history);
        let (origin, summary) = evaluate::manual_origin(&start.actor, &start.request.note);
        let (started, vars) = begin(&playbook, account, origin, evidence, summary, &facts, now);
        self.store.start_manual(start.request_id, &start.request, started, &playbook, &vars).await
    }

    /// Starts `playbook` for the account in `facts` because `firing` fired; `None` when a
    /// concurrent start won.
    pub async fn start_automatic(
        &self,
        playbook: &pb::Playbook,
        facts: &Facts,
        firing: &Firing,
    ) -> Result<Option<pb::PlaybookRun>, Error> {
        let account = facts.account.as_ref().map(|a| a.name.clone()).unwrap_or_default();
        let (started, vars) = begin(
            playbook,
            &account,
            firing.origin(),
            firing.evidence.clone(),
            firing.summary.clone(),
            facts,
            facts.now,
        );
        self.store.start_automatic(started, playbook, &vars).await
    }

    /// Applies `change` to run `id` with the variables of this moment.
    pub async fn change(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut Locked, &Variables) -> Result<Vec<Event>, Error>,
    ) -> Result<pb::PlaybookRun, Error> {
        let (run, definition) = self.store.get_run(id).await?;
        let vars = self.variables(&run, &definition).await;
        self.store.update_run(id, &vars, |locked| change(locked, &vars)).await
    }

    /// The template variables for `run` now (best effort).
    async fn variables(&self, run: &pb::PlaybookRun, definition: &pb::Playbook) -> Variables {
        let facts = match self.sources.gather(&run.account, &[], Utc::now(), Need::BestEffort).await
        {
            Ok(facts) => facts,
            Err(e) => {
                tracing::warn!(run = %run.name, error = %e, "no facts for rendering; values left empty");
                Facts { now: Utc::now(), ..Default::default() }
            }
        };
        template::variables(&facts, context(definition, &run.name, &run.trigger_summary))
    }

    /// Ends the due waits and fails the steps whose last attempt's lease expired, until the
    /// process stops, looking every `interval`.
    pub async fn clock(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            let now = Utc::now();
            match self.store.waking(now, 100).await {
                Ok(due) => {
                    for (id, _) in due {
                        let woke = self
                            .change(id, |l, vars| {
                                let act = Activation { steps: &l.definition.steps, vars };
                                Ok(run::wake(&mut l.run, act, Utc::now()))
                            })
                            .await;
                        if let Err(e) = woke {
                            tracing::warn!(run = %run_name(id), error = %e, "could not end a wait");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not look for waits to end"),
            }
            match self.store.expired_last_attempts(now, 100).await {
                Ok(expired) => {
                    for (id, step_id, _) in expired {
                        if let Err(e) = self.expire(id, &step_id).await {
                            tracing::warn!(run = %run_name(id), error = %e, "could not fail an expired step");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not look for expired leases"),
            }
        }
    }

    /// Fails `step_id` of run `id` if its last attempt's lease has expired.
    async fn expire(&self, id: Uuid, step_id: &str) -> Result<pb::PlaybookRun, Error> {
        self.change(id, |l, vars| {
            let now = Utc::now();
            let Some(step) = l.run.steps.iter().find(|s| s.step_id == step_id) else {
                return Ok(Vec::new());
            };
            if step.state != pb::StepState::Active as i32
                || lease::after_expiry(step, now) != AfterExpiry::Fail
            {
                return Ok(Vec::new());
            }
            let by = step.lease_holder.clone();
            let act = Activation { steps: &l.definition.steps, vars };
            run::fail_step(&mut l.run, step_id, lease::LEASE_EXPIRED, &by, act, now)
        })
        .await
    }
}

/// A new run of `playbook` for `account` and the variables its first step rendered with.
fn begin(
    playbook: &pb::Playbook,
    account: &str,
    origin: pb::RunOrigin,
    evidence: Vec<pb::Evidence>,
    trigger_summary: String,
    facts: &Facts,
    now: DateTime<Utc>,
) -> ((pb::PlaybookRun, Vec<Event>), Variables) {
    let name = format!("playbookRuns/{}", names::new_id());
    let vars = template::variables(facts, context(playbook, &name, &trigger_summary));
    let start =
        Start { name, playbook, account: account.to_owned(), origin, evidence, trigger_summary };
    (run::start(start, &vars, now), vars)
}

fn context<'a>(playbook: &'a pb::Playbook, run: &'a str, summary: &'a str) -> RunContext<'a> {
    RunContext {
        playbook_display_name: &playbook.display_name,
        run_name: run,
        trigger_summary: summary,
    }
}
