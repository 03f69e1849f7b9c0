//! Runs: inserting a started run, changing one under its row lock, reading and listing them,
//! and what the gate needs (the active run, the latest end, the entries that fired). Every
//! change writes the run, its lease rows and its feed entries in one transaction.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::from_timestamp;
use steward_kit::{Error, etag, idempotency, names, page};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::{SCHEMA, Store, decode};
use crate::domain::evaluate::History;
use crate::domain::gate::Runs;
use crate::domain::lease;
use crate::domain::run::{self, Event};
use crate::domain::template::Variables;
use crate::domain::trigger::Entry;

/// `playbookRuns/{id}`.
pub fn run_name(id: Uuid) -> String {
    format!("playbookRuns/{id}")
}

/// The id of a `playbookRuns/{run}` name: `INVALID_ARGUMENT` naming `field` when malformed,
/// `NOT_FOUND` (reason `RUN_NOT_FOUND`) for a well-formed name no run can have.
pub fn run_id(name: &str, field: &str) -> Result<Uuid, Error> {
    let [id] = names::parse(name, "playbookRuns/{}", field)?;
    Uuid::parse_str(id).map_err(|_| run_not_found(name))
}

pub(super) fn run_not_found(name: &str) -> Error {
    Error::NotFoundReason { reason: "RUN_NOT_FOUND", message: format!("{name} not found") }
}

/// A run locked for a change, with what the change may need.
#[derive(Debug)]
pub struct Locked {
    /// The run as stored.
    pub run: pb::PlaybookRun,
    /// The playbook version it follows (its step templates).
    pub definition: pb::Playbook,
    /// The lease rows of its automated steps: step id, current token, attempt reported.
    pub leases: Vec<(String, Option<Uuid>, bool)>,
}

impl Locked {
    /// The current lease token of `step_id`, as text.
    pub fn token(&self, step_id: &str) -> Option<String> {
        self.leases.iter().find(|l| l.0 == step_id).and_then(|l| l.1).map(|t| t.to_string())
    }

    /// Whether `token`'s attempt at `step_id` was already reported failed.
    pub fn reported(&self, step_id: &str, token: &str) -> bool {
        self.leases
            .iter()
            .any(|l| l.0 == step_id && l.2 && l.1.is_some_and(|t| t.to_string() == token))
    }
}

/// Filters and page of `ListPlaybookRuns`.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub account: Option<String>,
    pub playbook_id: Option<String>,
    pub states: Vec<i32>,
    pub assignee: Option<String>,
    pub overdue: bool,
}

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

    /// Locks run `id`, lets `change` move it (returning its events), and stores the result
    /// with its lease rows and feed entries. No events = nothing written; the run as it is.
    pub async fn update_run(
        &self,
        id: Uuid,
        vars: &Variables,
        change: impl FnOnce(&mut Locked) -> Result<Vec<Event>, Error>,
    ) -> Result<pb::PlaybookRun, Error> {
        let mut tx = self.pool.begin().await?;
        let run = self.update_in(&mut tx, id, vars, change).await?;
        tx.commit().await?;
        Ok(run)
    }

    pub(super) async fn update_in(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        vars: &Variables,
        change: impl FnOnce(&mut Locked) -> Result<Vec<Event>, Error>,
    ) -> Result<pb::PlaybookRun, Error> {
        let mut locked = lock(tx, id).await?;
        let events = change(&mut locked)?;
        if events.is_empty() {
            return Ok(locked.run);
        }
        let mut run = locked.run;
        let revision: i64 = sqlx::query_scalar(
            "UPDATE playbook.runs SET revision = revision + 1 WHERE run_id = $1 RETURNING revision",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        run.etag = etag::of(revision);
        let c = Columns::of(&run);
        sqlx::query(
            "UPDATE playbook.runs SET state = $2, body = $3, end_time = $4, assignee = $5,
                 assignee_team = $6, due_time = $7, wake_time = $8
             WHERE run_id = $1",
        )
        .bind(id)
        .bind(run.state)
        .bind(run.encode_to_vec())
        .bind(c.end_time)
        .bind(c.assignee)
        .bind(c.assignee_team)
        .bind(c.due_time)
        .bind(c.wake_time)
        .execute(&mut *tx)
        .await?;
        self.sync(tx, id, &run, &events, vars).await?;
        Ok(run)
    }

    /// Cancels run `id` inside `tx` (a playbook deleted with `force`).
    pub(super) async fn cancel_in(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<pb::PlaybookRun, Error> {
        self.update_in(tx, id, &Variables::new(), |l| run::cancel(&mut l.run, reason, by, now))
            .await
    }

    /// Brings the lease rows in line with `run` (one active row per ACTIVE automated step;
    /// ended steps' rows kept inactive with their last token) and appends `events`.
    async fn sync(
        &self,
        tx: &mut PgConnection,
        id: Uuid,
        run: &pb::PlaybookRun,
        events: &[Event],
        vars: &Variables,
    ) -> Result<(), sqlx::Error> {
        let mut active = Vec::new();
        for step in &run.steps {
            let Some(action_type) = lease::action_type(step) else { continue };
            if step.state != pb::StepState::Active as i32 {
                continue;
            }
            active.push(step.step_id.clone());
            let ready = step
                .next_attempt_time
                .as_ref()
                .or(step.activate_time.as_ref())
                .and_then(from_timestamp)
                .unwrap_or_else(Utc::now);
            let retried = events.iter().any(|e| {
                e.kind == pb::RunChangeKind::StepRetryScheduled && e.step_id == step.step_id
            });
            let (names, values): (Vec<String>, Vec<String>) =
                vars.iter().map(|(k, v)| (k.clone(), v.clone())).unzip();
            sqlx::query(
                "INSERT INTO playbook.step_leases (run_id, step_id, action_type, active, ready_time,
                     attempts, max_attempts, variable_names, variable_values)
                 VALUES ($1, $2, $3, true, $4, $5, $6, $8, $9)
                 ON CONFLICT (run_id, step_id) DO UPDATE SET active = true, ready_time = $4,
                     attempts = $5, max_attempts = $6,
                     lease_holder = NULLIF($10, ''), lease_expire_time = $11,
                     reported = step_leases.reported OR $7",
            )
            .bind(id)
            .bind(&step.step_id)
            .bind(action_type)
            .bind(ready)
            .bind(step.attempt_count)
            .bind(step.max_attempts)
            .bind(retried)
            .bind(&names)
            .bind(&values)
            .bind(&step.lease_holder)
            .bind(step.lease_expire_time.as_ref().and_then(from_timestamp))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE playbook.step_leases SET active = false, lease_holder = NULL,
                 lease_expire_time = NULL
             WHERE run_id = $1 AND active AND NOT (step_id = ANY($2))",
        )
        .bind(id)
        .bind(&active)
        .execute(&mut *tx)
        .await?;
        let changes: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                pb::RunChange {
                    account: run.account.clone(),
                    run: run.name.clone(),
                    playbook: run.playbook.clone(),
                    kind: e.kind as i32,
                    step_id: e.step_id.clone(),
                    snapshot: Some(run.clone()),
                    ..Default::default()
                }
                .encode_to_vec()
            })
            .collect();
        let accounts = vec![run.account.clone(); changes.len()];
        self.feed.append_encoded(tx, &accounts, &changes).await
    }

    /// A run with the playbook version it follows.
    pub async fn get_run(&self, id: Uuid) -> Result<(pb::PlaybookRun, pb::Playbook), Error> {
        let row: Option<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT body, definition FROM playbook.runs WHERE run_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (body, definition) = row.ok_or_else(|| run_not_found(&run_name(id)))?;
        Ok((decode(&body, "run")?, decode(&definition, "playbook version")?))
    }

    /// One page of runs, newest first, filtered.
    pub async fn list_runs(
        &self,
        q: &RunQuery,
        now: DateTime<Utc>,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::PlaybookRun>, String), Error> {
        let query = format!("{q:?}");
        let after: Option<(i64, String)> = page::decode(&query, page_token)?;
        let (after_time, after_id) = match after {
            Some((micros, id)) => (
                DateTime::from_timestamp_micros(micros),
                Some(Uuid::parse_str(&id).map_err(|_| {
                    Error::invalid("page_token", "not a page token returned by this method")
                })?),
            ),
            None => (None, None),
        };
        let rows: Vec<(DateTime<Utc>, Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT create_time, run_id, body FROM playbook.runs
             WHERE ($1::text IS NULL OR account = $1)
               AND ($2::text IS NULL OR playbook_id = $2)
               AND (cardinality($3::int[]) = 0 OR state = ANY($3))
               AND ($4::text IS NULL OR (state = 1 AND (assignee = $4 OR assignee_team = $4)))
               AND (NOT $5 OR (state = 1 AND due_time < $6))
               AND ($7::timestamptz IS NULL OR (create_time, run_id) < ($7, $8))
             ORDER BY create_time DESC, run_id DESC LIMIT $9",
        )
        .bind(&q.account)
        .bind(&q.playbook_id)
        .bind(&q.states)
        .bind(&q.assignee)
        .bind(q.overdue)
        .bind(now)
        .bind(after_time)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) =
            page::finish(rows, limit, &query, |(t, id, _)| (t.timestamp_micros(), id.to_string()));
        let runs = rows.iter().map(|(_, _, b)| decode(b, "run")).collect::<Result<_, _>>()?;
        Ok((runs, token))
    }

    /// ACTIVE runs whose WAIT step is due at `now`, with their accounts.
    pub async fn waking(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Uuid, String)>, Error> {
        Ok(sqlx::query_as(
            "SELECT run_id, account FROM playbook.runs WHERE state = 1 AND wake_time <= $1
             ORDER BY wake_time LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Locks run `id` in `tx` and reads it with its lease rows.
async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Locked, Error> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT body, definition FROM playbook.runs WHERE run_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (body, definition) = row.ok_or_else(|| run_not_found(&run_name(id)))?;
    let leases: Vec<(String, Option<Uuid>, bool)> = sqlx::query_as(
        "SELECT step_id, lease_token, reported FROM playbook.step_leases WHERE run_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    Ok(Locked {
        run: decode(&body, "run")?,
        definition: decode(&definition, "playbook version")?,
        leases,
    })
}

/// The columns derived from a run's body.
struct Columns {
    end_time: Option<DateTime<Utc>>,
    assignee: Option<String>,
    assignee_team: Option<String>,
    due_time: Option<DateTime<Utc>>,
    wake_time: Option<DateTime<Utc>>,
    entry_kind: Option<i32>,
    entry_time: Option<DateTime<Utc>>,
}

impl Columns {
    fn of(run: &pb::PlaybookRun) -> Self {
        let mut c = Columns {
            end_time: run.end_time.as_ref().and_then(from_timestamp),
            assignee: None,
            assignee_team: None,
            due_time: None,
            wake_time: None,
            entry_kind: None,
            entry_time: None,
        };
        let active = run.steps.iter().find(|s| s.state == pb::StepState::Active as i32);
        if let Some(s) = active.filter(|_| run.state == pb::RunState::Active as i32) {
            match &s.content {
                Some(pb::run_step::Content::Task(_)) => {
                    c.assignee = Some(s.assignee.clone()).filter(|a| !a.is_empty());
                    c.assignee_team = Some(s.assignee_team.clone()).filter(|a| !a.is_empty());
                    c.due_time = s.due_time.as_ref().and_then(from_timestamp);
                }
                Some(pb::run_step::Content::Wait(w)) => {
                    c.wake_time = w.wake_time.as_ref().and_then(from_timestamp);
                }
                _ => {}
            }
        }
        if let Some(pb::run_origin::Kind::Automatic(a)) =
            run.origin.as_ref().and_then(|o| o.kind.as_ref())
            && let Some(t) = a.entry_time.as_ref().and_then(from_timestamp)
        {
            c.entry_kind = Some(a.trigger_kind);
            c.entry_time = Some(t);
        }
        c
    }
}
