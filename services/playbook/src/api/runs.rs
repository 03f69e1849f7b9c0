//! Runs: start by hand, read, list, cancel; steps completed or skipped by people (and
//! completed by workers, with their lease token); the run change stream.

use chrono::Utc;
use steward_kit::{Error, Violations, idempotency, page};
use steward_proto::playbook::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::Api;
use super::requests::{account, actor, at_most, playbook_id};
use crate::domain::lease;
use crate::domain::run::{self, Activation};
use crate::runner::ManualStart;
use crate::store::{RunQuery, run_id};

/// The largest `output` a step may be completed with, serialized.
const MAX_OUTPUT: usize = 64 * 1024;

impl Api {
    pub(super) async fn start_playbook_run(
        &self,
        req: pb::StartPlaybookRunRequest,
        caller: String,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = playbook_id(&req.playbook, "playbook")?.to_owned();
        account(&req.account, "account")?;
        let request_id = idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        let mut v = Violations::default();
        at_most(&req.note, 1000, "note", &mut v);
        let actor = actor(&req.actor, caller, &mut v);
        v.finish()?;
        self.runner
            .start_manual(ManualStart { request_id, request: req, playbook_id: id, actor })
            .await
    }

    pub(super) async fn get_playbook_run(
        &self,
        req: pb::GetPlaybookRunRequest,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = run_id(&req.name, "name")?;
        Ok(self.store.get_run(id).await?.0)
    }

    pub(super) async fn list_playbook_runs(
        &self,
        req: pb::ListPlaybookRunsRequest,
    ) -> Result<pb::ListPlaybookRunsResponse, Error> {
        let limit = page::size(req.page_size)?;
        let mut v = Violations::default();
        for (i, s) in req.states.iter().enumerate() {
            v.check(
                *s != 0 && pb::RunState::try_from(*s).is_ok(),
                format!("states[{i}]"),
                "unknown or unspecified run state",
            );
        }
        at_most(&req.assignee, 200, "assignee", &mut v);
        v.finish()?;
        let q = RunQuery {
            account: if req.account.is_empty() {
                None
            } else {
                Some(account(&req.account, "account")?)
            },
            playbook_id: if req.playbook.is_empty() {
                None
            } else {
                Some(playbook_id(&req.playbook, "playbook")?.to_owned())
            },
            states: req.states.clone(),
            assignee: Some(req.assignee.clone()).filter(|a| !a.is_empty()),
            overdue: req.overdue,
        };
        let (playbook_runs, next_page_token) =
            self.store.list_runs(&q, Utc::now(), limit, &req.page_token).await?;
        Ok(pb::ListPlaybookRunsResponse { playbook_runs, next_page_token })
    }

    pub(super) async fn cancel_playbook_run(
        &self,
        req: pb::CancelPlaybookRunRequest,
        caller: String,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = run_id(&req.name, "name")?;
        let mut v = Violations::default();
        at_most(&req.reason, 1000, "reason", &mut v);
        let by = actor(&req.actor, caller, &mut v);
        v.finish()?;
        let vars = Default::default();
        self.store
            .update_run(id, &vars, |l| {
                if !req.etag.is_empty() && req.etag != l.run.etag {
                    return Err(Error::Aborted {
                        reason: "ETAG_MISMATCH",
                        message: format!("{} changed since it was read: re-read it", l.run.name),
                    });
                }
                run::cancel(&mut l.run, &req.reason, &by, Utc::now())
            })
            .await
    }

    pub(super) async fn complete_run_step(
        &self,
        req: pb::CompleteRunStepRequest,
        caller: String,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = run_id(&req.run, "run")?;
        let mut v = Violations::default();
        v.check(!req.step_id.is_empty(), "step_id", "is required");
        at_most(&req.note, 1000, "note", &mut v);
        let size = req.output.as_ref().map_or(0, prost::Message::encoded_len);
        v.check(size <= MAX_OUTPUT, "output", "must be at most 64 KiB serialized");
        let person = actor(&req.actor, caller, &mut v);
        v.finish()?;
        self.runner
            .change(id, |l, vars| {
                let step = step_of(&l.run, &req.step_id)?;
                let kind = pb::StepKind::try_from(step.kind).unwrap_or_default();
                if kind != pb::StepKind::Wait {
                    lease::check_token(kind, l.token(&req.step_id).as_deref(), &req.lease_token)?;
                }
                let by = match kind {
                    pb::StepKind::Email | pb::StepKind::Action if !step.lease_holder.is_empty() => {
                        step.lease_holder.clone()
                    }
                    _ => person.clone(),
                };
                let act = Activation { steps: &l.definition.steps, vars };
                let output = req.output.clone();
                run::complete(&mut l.run, &req.step_id, &by, output, &req.note, act, Utc::now())
            })
            .await
    }

    pub(super) async fn skip_run_step(
        &self,
        req: pb::SkipRunStepRequest,
        caller: String,
    ) -> Result<pb::PlaybookRun, Error> {
        let id = run_id(&req.run, "run")?;
        let mut v = Violations::default();
        v.check(!req.step_id.is_empty(), "step_id", "is required");
        at_most(&req.reason, 1000, "reason", &mut v);
        let by = actor(&req.actor, caller, &mut v);
        v.finish()?;
        self.runner
            .change(id, |l, vars| {
                let act = Activation { steps: &l.definition.steps, vars };
                run::skip(&mut l.run, &req.step_id, &by, &req.reason, act, Utc::now())
            })
            .await
    }

    pub(super) async fn watch_playbook_runs(
        &self,
        req: pb::WatchPlaybookRunsRequest,
    ) -> Result<ReceiverStream<Result<pb::RunChange, Status>>, Error> {
        let account =
            if req.account.is_empty() { None } else { Some(account(&req.account, "account")?) };
        let playbook = if req.playbook.is_empty() {
            None
        } else {
            playbook_id(&req.playbook, "playbook")?;
            Some(req.playbook.clone())
        };
        let mut all = self.store.feed().watch::<pb::RunChange>(&req.after_cursor).await?;
        if account.is_none() && playbook.is_none() {
            return Ok(all);
        }
        // Filtered: cursors stay positions in the unfiltered stream, so resuming works.
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            use tokio_stream::StreamExt;
            while let Some(item) = all.next().await {
                let wanted = match &item {
                    Ok(c) => {
                        account.as_ref().is_none_or(|a| *a == c.account)
                            && playbook.as_ref().is_none_or(|p| *p == c.playbook)
                    }
                    Err(_) => true,
                };
                if wanted && tx.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// Step `step_id` of `run`, or `NOT_FOUND` (reason `STEP_NOT_FOUND`).
pub(super) fn step_of<'a>(
    run: &'a pb::PlaybookRun,
    step_id: &str,
) -> Result<&'a pb::RunStep, Error> {
    run.steps
        .iter()
        .find(|s| s.step_id == step_id)
        .ok_or_else(|| Error::NotFound(format!("{}/steps/{step_id}", run.name)))
}
