//! Starting runs: what the gate knows of an (account, playbook)'s runs (the active run,
//! the latest end, the entries that fired), manual starts idempotent by request id, and
//! automatic starts; the one-active-run index decides a race.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::from_timestamp;
use steward_kit::{Error, etag, idempotency};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::{Columns, run_name};
use crate::domain::evaluate::History;
use crate::domain::gate::Runs;
use crate::domain::run::Event;
use crate::domain::template::Variables;
use crate::domain::trigger::Entry;
use crate::store::{SCHEMA, Store};

impl Store {
    /// What the gate knows of `playbook_id`'s runs for `account`.
    pub async fn history(&self, account: &str, playbook_id: &str) -> Result<History, Error> {
        type Row = (Uuid, i32, Option<DateTime<Utc>>, Option<i32>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT run_id, state, end_time, entry_kind, entry_time FROM playbook.runs
                 WHERE account = $1 AND playbook_id = $2",
        )
        .bind(account)
        .bind(playbook_id)
        .fetch_all(&self.pool)
        .await?;
        let mut history = History { runs: Runs::default(), fired: Vec::new() };
        for (id, state, end, kind, entry) in rows {
            if state == pb::RunState::Active as i32 {
                history.runs.active_run = Some(run_name(id));
            }
            if let Some(end) = end {
                history.runs.last_end = Some(history.runs.last_end.map_or(end, |l| l.max(end)));
            }
            if let (Some(kind), Some(time)) = (kind, entry) {
                let kind = pb::TriggerKind::try_from(kind).unwrap_or_default();
                history.fired.push(Entry { kind, time });
            }
        }
        Ok(history)
    }

    /// The stored answer of an earlier `StartPlaybookRun` with this request id, if any
    /// (`REQUEST_ID_REUSED` for a different request). Claims nothing.
    pub async fn replayed_start(
        &self,
        request_id: Uuid,
        request: &pb::StartPlaybookRunRequest,
    ) -> Result<Option<pb::PlaybookRun>, Error> {
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "StartPlaybookRun", request_id, request).await?;
        tx.rollback().await?;
        Ok(match claim {
            idempotency::Claim::Replay(run) => Some(run),
            idempotency::Claim::New(_) => None,
        })
    }

    /// Stores a manually started run under the request's id; a retry answers the first
    /// call's run. The playbook must still be enabled at its version's row, and the account
    /// must have no ACTIVE run of it (`ACTIVE_RUN_EXISTS`, also when a concurrent start won).
    pub async fn start_manual(
        &self,
        request_id: Uuid,
        request: &pb::StartPlaybookRunRequest,
        started: (pb::PlaybookRun, Vec<Event>),
        definition: &pb::Playbook,
        vars: &Variables,
    ) -> Result<pb::PlaybookRun, Error> {
        let (run, events) = started;
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "StartPlaybookRun", request_id, request).await?;
        if let idempotency::Claim::Replay(answer) = claim {
            return Ok(answer);
        }
        let playbook_id = definition.name.trim_start_matches("playbooks/");
        let enabled: Option<bool> = sqlx::query_scalar(
            "SELECT enabled FROM playbook.playbooks WHERE playbook_id = $1 AND NOT deleted FOR SHARE",
        )
        .bind(playbook_id)
        .fetch_optional(&mut *tx)
        .await?;
        match enabled {
            None => return Err(Error::NotFound(definition.name.clone())),
            Some(false) => {
                return Err(crate::domain::gate::check_manual(false, &Runs::default())
                    .expect_err("a disabled playbook is refused"));
            }
            Some(true) => {}
        }
        let stored = match self.insert_run(&mut tx, run, definition, events, vars).await {
            Ok(stored) => stored,
            Err(e) => {
                // Give the connection back before looking up the winner: concurrent losers
                // must not each hold one while waiting for another.
                tx.rollback().await?;
                return Err(self.active_conflict(e, &request.account, playbook_id).await);
            }
        };
        idempotency::finish(&mut tx, SCHEMA, request_id, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores an automatically started run; `None` when another start won the race for the
    /// (account, playbook).
    pub async fn start_automatic(
        &self,
        started: (pb::PlaybookRun, Vec<Event>),
        definition: &pb::Playbook,
        vars: &Variables,
    ) -> Result<Option<pb::PlaybookRun>, Error> {
        let (run, events) = started;
        let mut tx = self.pool.begin().await?;
        match self.insert_run(&mut tx, run, definition, events, vars).await {
            Ok(stored) => {
                tx.commit().await?;
                Ok(Some(stored))
            }
            Err(e) if steward_kit::error::unique_violation(&e) == Some("runs_one_active") => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `ACTIVE_RUN_EXISTS` naming the active run when `e` is the dedupe index's violation.
    async fn active_conflict(&self, e: sqlx::Error, account: &str, playbook_id: &str) -> Error {
        if steward_kit::error::unique_violation(&e) != Some("runs_one_active") {
            return e.into();
        }
        let active: Option<Uuid> = sqlx::query_scalar(
            "SELECT run_id FROM playbook.runs WHERE account = $1 AND playbook_id = $2 AND state = 1",
        )
        .bind(account)
        .bind(playbook_id)
        .fetch_optional(&self.pool)
        .await
        .ok()
        .flatten();
        let runs =
            Runs { active_run: Some(active.map_or_else(String::new, run_name)), last_end: None };
        crate::domain::gate::check_manual(true, &runs).expect_err("an active run is refused")
    }

    async fn insert_run(
        &self,
        tx: &mut PgConnection,
        mut run: pb::PlaybookRun,
        definition: &pb::Playbook,
        events: Vec<Event>,
        vars: &Variables,
    ) -> Result<pb::PlaybookRun, sqlx::Error> {
        let id = Uuid::parse_str(run.name.trim_start_matches("playbookRuns/"))
            .map_err(|e| sqlx::Error::Protocol(format!("run name: {e}")))?;
        run.etag = etag::of(1);
        let c = Columns::of(&run);
        let create = run.create_time.as_ref().and_then(from_timestamp).unwrap_or_else(Utc::now);
        sqlx::query(
            "INSERT INTO playbook.runs (run_id, account, playbook_id, playbook_version, state, body,
                 definition, revision, create_time, end_time, assignee, assignee_team, due_time,
                 wake_time, entry_kind, entry_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(id)
        .bind(&run.account)
        .bind(run.playbook.trim_start_matches("playbooks/"))
        .bind(run.playbook_version)
        .bind(run.state)
        .bind(run.encode_to_vec())
        .bind(definition.encode_to_vec())
        .bind(create)
        .bind(c.end_time)
        .bind(c.assignee)
        .bind(c.assignee_team)
        .bind(c.due_time)
        .bind(c.wake_time)
        .bind(c.entry_kind)
        .bind(c.entry_time)
        .execute(&mut *tx)
        .await?;
        self.sync(tx, id, &run, &events, vars).await?;
        Ok(run)
    }
}
