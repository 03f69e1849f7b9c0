//! Playbooks: immutable versions, the latest of each with its enabled state, the shipped
//! defaults seeded once; creates, updates, enable/disable and deletes.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, idempotency, page};
use steward_proto::playbook::v1 as pb;
use uuid::Uuid;

use super::{SCHEMA, Store, decode};
use crate::domain::definition::{same_content, trigger_kind, with_defaults};
use crate::domain::shipped::default_playbooks;

/// `playbooks/{id}`.
pub fn playbook_name(id: &str) -> String {
    format!("playbooks/{id}")
}

/// The columns a read needs: the latest (or asked-for) version and the playbook's state.
const SELECT: &str = "SELECT v.body, v.update_time, p.enabled, p.revision, p.state_time
     FROM playbook.playbooks p JOIN playbook.playbook_versions v USING (playbook_id)";

type Row = (Vec<u8>, DateTime<Utc>, bool, i64, DateTime<Utc>);
/// A row keyed for pagination: the key, then a [`Row`].
type Keyed<K> = (K, Vec<u8>, DateTime<Utc>, bool, i64, DateTime<Utc>);

/// A stored version with the playbook's current state overlaid: `enabled`, the etag, and
/// `update_time` as the later of the version's write and the last enable/disable.
fn overlay((body, written, enabled, revision, state_time): Row) -> Result<pb::Playbook, Error> {
    let mut p: pb::Playbook = decode(&body, "playbook")?;
    p.enabled = enabled;
    p.etag = etag::of(revision);
    p.update_time = Some(timestamp(written.max(state_time)));
    Ok(p)
}

impl Store {
    /// Seeds each shipped default playbook whose id was never used (first start). A deleted
    /// default keeps its row, so it is not re-created; concurrent replicas are harmless.
    pub async fn seed_default_playbooks(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        for mut p in default_playbooks() {
            let id = p.name.trim_start_matches("playbooks/").to_owned();
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM playbook.playbooks WHERE playbook_id = $1)",
            )
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            if taken {
                continue;
            }
            with_defaults(&mut p);
            p.version = 1;
            p.create_time = Some(timestamp(now));
            insert_new(&mut tx, &id, &p, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates playbook `id` at version 1 from `playbook` (validated, defaults applied)
    /// under the request's id; a retry answers the first call's playbook.
    pub async fn create_playbook(
        &self,
        request_id: Uuid,
        request: &pb::CreatePlaybookRequest,
        id: &str,
        playbook: &pb::Playbook,
        now: DateTime<Utc>,
    ) -> Result<pb::Playbook, Error> {
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "CreatePlaybook", request_id, request).await?;
        if let idempotency::Claim::Replay(answer) = claim {
            return Ok(answer);
        }
        let name = playbook_name(id);
        let p = pb::Playbook {
            name: name.clone(),
            version: 1,
            display_name: playbook.display_name.clone(),
            description: playbook.description.clone(),
            enabled: playbook.enabled,
            triggers: playbook.triggers.clone(),
            audience: playbook.audience.clone(),
            cooldown: playbook.cooldown,
            steps: playbook.steps.clone(),
            create_time: Some(timestamp(now)),
            update_time: None,
            etag: String::new(),
        };
        let inserted = insert_new(&mut tx, id, &p, now).await;
        if let Err(e) = &inserted
            && steward_kit::error::unique_violation(e).is_some()
        {
            return Err(Error::AlreadyExists {
                reason: "PLAYBOOK_EXISTS",
                message: format!(
                    "{name} is or was in use (ids of deleted playbooks are not reused)"
                ),
            });
        }
        inserted?;
        let created = read_in(&mut tx, id, 0).await?;
        idempotency::finish(&mut tx, SCHEMA, request_id, &created).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// A playbook's latest version (`version` 0) or the version asked for.
    pub async fn get_playbook(&self, id: &str, version: i32) -> Result<pb::Playbook, Error> {
        let mut conn = self.pool.acquire().await?;
        read_in(&mut conn, id, version).await
    }

    /// Every enabled playbook's latest version, by name.
    pub async fn enabled_playbooks(&self) -> Result<Vec<pb::Playbook>, Error> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT v.body, v.update_time, p.enabled, p.revision, p.state_time
             FROM playbook.playbooks p JOIN playbook.playbook_versions v USING (playbook_id, version)
             WHERE p.enabled AND NOT p.deleted ORDER BY p.playbook_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(overlay).collect()
    }

    /// One page of playbooks' latest versions, by name, filtered.
    pub async fn list_playbooks(
        &self,
        enabled: Option<bool>,
        kind: pb::TriggerKind,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Playbook>, String), Error> {
        let query = format!("playbooks enabled={enabled:?} kind={}", kind as i32);
        let after: Option<String> = page::decode(&query, page_token)?;
        let rows: Vec<Keyed<String>> = sqlx::query_as(
            "SELECT p.playbook_id, v.body, v.update_time, p.enabled, p.revision, p.state_time
                 FROM playbook.playbooks p
                 JOIN playbook.playbook_versions v USING (playbook_id, version)
                 WHERE NOT p.deleted AND p.playbook_id > $1
                   AND ($2::boolean IS NULL OR p.enabled = $2)
                   AND CASE $3::int WHEN 0 THEN true
                                    WHEN 8 THEN cardinality(p.trigger_kinds) = 0
                                    ELSE $3 = ANY(p.trigger_kinds) END
                 ORDER BY p.playbook_id LIMIT $4",
        )
        .bind(after.unwrap_or_default())
        .bind(enabled)
        .bind(kind as i32)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, &query, |r| r.0.clone());
        let playbooks = rows
            .into_iter()
            .map(|(_, body, written, enabled, revision, state)| {
                overlay((body, written, enabled, revision, state))
            })
            .collect::<Result<_, _>>()?;
        Ok((playbooks, token))
    }

    /// One page of playbook `id`'s versions, newest first.
    pub async fn list_playbook_versions(
        &self,
        id: &str,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Playbook>, String), Error> {
        let query = format!("playbook_versions {id}");
        let after: Option<i32> = page::decode(&query, page_token)?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM playbook.playbooks WHERE playbook_id = $1 AND NOT deleted)",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Err(Error::NotFound(playbook_name(id)));
        }
        let rows: Vec<Keyed<i32>> = sqlx::query_as(
            "SELECT v.version, v.body, v.update_time, p.enabled, p.revision, p.state_time
             FROM playbook.playbooks p JOIN playbook.playbook_versions v USING (playbook_id)
             WHERE p.playbook_id = $1 AND ($2::int IS NULL OR v.version < $2)
             ORDER BY v.version DESC LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, &query, |r| r.0);
        let versions = rows
            .into_iter()
            .map(|(_, body, written, enabled, revision, state)| {
                overlay((body, written, enabled, revision, state))
            })
            .collect::<Result<_, _>>()?;
        Ok((versions, token))
    }

    /// Writes the next version of playbook `id`: `merge` turns the latest version into the
    /// new content (validated, defaults applied). A stale `given_etag` is `ABORTED`; content
    /// equal to the latest writes nothing and answers the latest.
    pub async fn update_playbook(
        &self,
        id: &str,
        given_etag: &str,
        merge: impl FnOnce(&pb::Playbook) -> Result<pb::Playbook, Error>,
        now: DateTime<Utc>,
    ) -> Result<pb::Playbook, Error> {
        let mut tx = self.pool.begin().await?;
        let revision = lock(&mut tx, id).await?;
        etag::check(given_etag, revision, &playbook_name(id))?;
        let current = read_in(&mut tx, id, 0).await?;
        let merged = merge(&current)?;
        if same_content(&current, &merged) {
            return Ok(current);
        }
        let next = pb::Playbook {
            version: current.version + 1,
            display_name: merged.display_name,
            description: merged.description,
            triggers: merged.triggers,
            audience: merged.audience,
            cooldown: merged.cooldown,
            steps: merged.steps,
            etag: String::new(),
            ..current
        };
        insert_version(&mut tx, id, &next, now).await?;
        sqlx::query(
            "UPDATE playbook.playbooks SET version = $2, revision = revision + 1, trigger_kinds = $3
             WHERE playbook_id = $1",
        )
        .bind(id)
        .bind(next.version)
        .bind(kinds(&next))
        .execute(&mut *tx)
        .await?;
        let updated = read_in(&mut tx, id, 0).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Enables or disables playbook `id`; the same state again changes nothing.
    pub async fn set_enabled(
        &self,
        id: &str,
        given_etag: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<pb::Playbook, Error> {
        let mut tx = self.pool.begin().await?;
        let revision = lock(&mut tx, id).await?;
        etag::check(given_etag, revision, &playbook_name(id))?;
        sqlx::query(
            "UPDATE playbook.playbooks SET enabled = $2, revision = revision + 1, state_time = $3
             WHERE playbook_id = $1 AND enabled <> $2",
        )
        .bind(id)
        .bind(enabled)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let p = read_in(&mut tx, id, 0).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Deletes playbook `id` (its versions stay for the runs, invisible). ACTIVE runs make
    /// it `FAILED_PRECONDITION` unless `force`, which cancels them (as `by`).
    pub async fn delete_playbook(
        &self,
        id: &str,
        given_etag: &str,
        force: bool,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let revision = lock(&mut tx, id).await?;
        etag::check(given_etag, revision, &playbook_name(id))?;
        let active: Vec<Uuid> = sqlx::query_scalar(
            "SELECT run_id FROM playbook.runs WHERE playbook_id = $1 AND state = 1 ORDER BY run_id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if !active.is_empty() && !force {
            return Err(Error::FailedPrecondition {
                reason: "PLAYBOOK_HAS_ACTIVE_RUNS",
                message: format!(
                    "{} has {} active runs: cancel them, or delete with force",
                    playbook_name(id),
                    active.len()
                ),
            });
        }
        for run in active {
            self.cancel_in(&mut tx, run, "playbook deleted", by, now).await?;
        }
        sqlx::query(
            "UPDATE playbook.playbooks SET deleted = true, enabled = false, revision = revision + 1
             WHERE playbook_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Locks playbook `id`'s row for the rest of `tx`; its revision. `NOT_FOUND` when absent or
/// deleted.
async fn lock(tx: &mut PgConnection, id: &str) -> Result<i64, Error> {
    let revision: Option<i64> = sqlx::query_scalar(
        "SELECT revision FROM playbook.playbooks WHERE playbook_id = $1 AND NOT deleted FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    revision.ok_or_else(|| Error::NotFound(playbook_name(id)))
}

/// Reads playbook `id` (latest for `version` 0) within `conn`.
async fn read_in(conn: &mut PgConnection, id: &str, version: i32) -> Result<pb::Playbook, Error> {
    let latest: Option<i32> = sqlx::query_scalar(
        "SELECT version FROM playbook.playbooks WHERE playbook_id = $1 AND NOT deleted",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(latest) = latest else {
        return Err(Error::NotFound(playbook_name(id)));
    };
    let wanted = if version == 0 { latest } else { version };
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE playbook_id = $1 AND v.version = $2"
    )))
    .bind(id)
    .bind(wanted)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => overlay(row),
        None => Err(Error::NotFoundReason {
            reason: "PLAYBOOK_VERSION_NOT_FOUND",
            message: format!("{} has no version {version}", playbook_name(id)),
        }),
    }
}

/// The trigger kinds of `p`, as stored for the list filter.
fn kinds(p: &pb::Playbook) -> Vec<i32> {
    p.triggers.iter().map(|t| trigger_kind(t) as i32).collect()
}

/// Stores `p` (version 1) as a new playbook `id`. A taken id is a unique violation.
async fn insert_new(
    tx: &mut PgConnection,
    id: &str,
    p: &pb::Playbook,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // The playbook row first: a taken id fails here, before anything else is written.
    sqlx::query(
        "INSERT INTO playbook.playbooks
             (playbook_id, version, enabled, revision, trigger_kinds, create_time, state_time)
         VALUES ($1, 1, $2, 1, $3, $4, $4)",
    )
    .bind(id)
    .bind(p.enabled)
    .bind(kinds(p))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    insert_version(tx, id, p, now).await
}

/// Stores `p` as version `p.version` of `id` (state fields cleared: they live on the row).
async fn insert_version(
    tx: &mut PgConnection,
    id: &str,
    p: &pb::Playbook,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut body = p.clone();
    body.name = playbook_name(id);
    body.etag.clear();
    body.update_time = Some(timestamp(now));
    sqlx::query(
        "INSERT INTO playbook.playbook_versions (playbook_id, version, body, update_time)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(body.version)
    .bind(body.encode_to_vec())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
