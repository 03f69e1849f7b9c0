//! Scorecards: immutable versions, the latest of each, the shipped default; creates and
//! updates, which move the default flag and start the re-scoring of the accounts they affect.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, idempotency, page};
use steward_proto::health::v1 as pb;
use uuid::Uuid;

use super::operations::{self, NewOperation};
use super::{SCHEMA, Store, decode};
use crate::domain::scorecard::{
    DEFAULT_SCORECARD_ID, default_scorecard, same_content, with_defaults,
};
use crate::domain::selection::{self, Cell};
use crate::domain::{assignment, edit};

/// `scorecards/{id}`.
pub fn scorecard_name(id: &str) -> String {
    format!("scorecards/{id}")
}

impl Store {
    /// Seeds the shipped default scorecard when no scorecard exists (first start); a
    /// concurrent replica doing the same is harmless.
    pub async fn seed_default_scorecard(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        // Serialize scorecard writers (creates, updates, this seed).
        lock_scorecards(&mut tx).await?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM health.scorecards)")
            .fetch_one(&mut *tx)
            .await?;
        if !any {
            let mut scorecard = default_scorecard();
            with_defaults(&mut scorecard);
            scorecard.name = scorecard_name(DEFAULT_SCORECARD_ID);
            scorecard.version = 1;
            scorecard.create_time = Some(timestamp(now));
            scorecard.update_time = Some(timestamp(now));
            scorecard.etag = etag::of(1);
            insert_version(&mut tx, DEFAULT_SCORECARD_ID, &scorecard, now).await?;
            set_latest(&mut tx, DEFAULT_SCORECARD_ID, &scorecard, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The latest version of every scorecard, by name.
    pub async fn latest_scorecards(&self) -> Result<Vec<pb::Scorecard>, Error> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT v.body FROM health.scorecards s
             JOIN health.scorecard_versions v USING (scorecard_id, version)
             ORDER BY s.scorecard_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| decode(b, "scorecard")).collect()
    }
}

/// Takes the scorecard writers' lock for the rest of `tx`.
pub(super) async fn lock_scorecards(tx: &mut PgConnection) -> Result<(), Error> {
    sqlx::query("LOCK TABLE health.scorecards IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Stores `scorecard` (name, version and output fields filled in) as a version of `id`.
pub(super) async fn insert_version(
    tx: &mut PgConnection,
    id: &str,
    scorecard: &pb::Scorecard,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO health.scorecard_versions (scorecard_id, version, body, update_time)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(scorecard.version)
    .bind(scorecard.encode_to_vec())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Points `id`'s latest version at `scorecard` (already inserted as a version).
pub(super) async fn set_latest(
    tx: &mut PgConnection,
    id: &str,
    scorecard: &pb::Scorecard,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let assignment = scorecard.assignment.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO health.scorecards (scorecard_id, version, is_default, segments, stages,
             create_time)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scorecard_id) DO UPDATE SET version = $2, is_default = $3,
             segments = $4, stages = $5",
    )
    .bind(id)
    .bind(scorecard.version)
    .bind(assignment.default_scorecard)
    .bind(&assignment.segments)
    .bind(&assignment.lifecycle_stages)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// A scorecard's latest version (`version` 0) or the version asked for, with the count
    /// of accounts it scores filled in on the latest version.
    pub async fn get_scorecard(&self, id: &str, version: i32) -> Result<pb::Scorecard, Error> {
        let latest: Option<i32> =
            sqlx::query_scalar("SELECT version FROM health.scorecards WHERE scorecard_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(latest) = latest else {
            return Err(Error::NotFound(scorecard_name(id)));
        };
        let wanted = if version == 0 { latest } else { version };
        let body: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM health.scorecard_versions WHERE scorecard_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(wanted)
        .fetch_optional(&self.pool)
        .await?;
        let Some(body) = body else {
            return Err(Error::NotFoundReason {
                reason: "SCORECARD_VERSION_NOT_FOUND",
                message: format!("{} has no version {version}", scorecard_name(id)),
            });
        };
        let mut scorecard: pb::Scorecard = decode(&body, "scorecard")?;
        if wanted == latest {
            scorecard.assigned_account_count =
                self.assigned_counts(Some(id)).await?.first().map_or(0, |c| c.1);
        }
        Ok(scorecard)
    }

    /// One page of scorecards' latest versions, by name.
    pub async fn list_scorecards(
        &self,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Scorecard>, String), Error> {
        let after: Option<String> = page::decode("scorecards", page_token)?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT s.scorecard_id, v.body FROM health.scorecards s
             JOIN health.scorecard_versions v USING (scorecard_id, version)
             WHERE s.scorecard_id > $1 ORDER BY s.scorecard_id LIMIT $2",
        )
        .bind(after.unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, "scorecards", |(id, _)| id.clone());
        let counts = self.assigned_counts(None).await?;
        let scorecards = rows
            .iter()
            .map(|(id, body)| {
                let mut s: pb::Scorecard = decode(body, "scorecard")?;
                s.assigned_account_count =
                    counts.iter().find(|(c, _)| c == id).map_or(0, |(_, n)| *n);
                Ok(s)
            })
            .collect::<Result<_, Error>>()?;
        Ok((scorecards, token))
    }

    /// How many current scores each scorecard (or just `id`) computed.
    async fn assigned_counts(&self, id: Option<&str>) -> Result<Vec<(String, i32)>, Error> {
        Ok(sqlx::query_as(
            "SELECT scorecard_id, count(*)::int FROM health.scores
             WHERE $1::text IS NULL OR scorecard_id = $1 GROUP BY scorecard_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}

// --- writes: create, update, and what they re-score -------------------------------------

/// The latest version of every scorecard, read within `tx` (under the writers' lock).
async fn latest_in(tx: &mut PgConnection) -> Result<Vec<pb::Scorecard>, Error> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT v.body FROM health.scorecards s
         JOIN health.scorecard_versions v USING (scorecard_id, version)
         ORDER BY s.scorecard_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    rows.iter().map(|b| decode(b, "scorecard")).collect()
}

/// The id of a `scorecards/{id}` name (names are written by this store).
fn id_of(name: &str) -> &str {
    name.trim_start_matches("scorecards/")
}

/// How many current scores scorecard `id` computed, read within `tx`.
async fn count_in(tx: &mut PgConnection, id: &str) -> Result<i32, Error> {
    Ok(sqlx::query_scalar("SELECT count(*)::int FROM health.scores WHERE scorecard_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?)
}

/// Stores `written` (the next version of its scorecard, output fields but the re-scoring
/// operation filled in) under the writers' lock: refuses same-rank overlaps, moves the
/// default flag when `written` takes it, and starts the re-scoring of the accounts the
/// write affects when `rescore` holds. Returns `written` as stored.
async fn write_version(
    tx: &mut PgConnection,
    latest: &[pb::Scorecard],
    mut written: pb::Scorecard,
    rescore: bool,
    now: DateTime<Utc>,
) -> Result<pb::Scorecard, Error> {
    let none = pb::Assignment::default();
    let assignment_of = |s: &'_ pb::Scorecard| s.assignment.clone().unwrap_or_default();
    let candidate = assignment_of(&written);
    let existing: Vec<(&str, &pb::Assignment)> =
        latest.iter().map(|s| (s.name.as_str(), s.assignment.as_ref().unwrap_or(&none))).collect();
    if let Some(other) = assignment::conflict(&existing, &written.name, &candidate) {
        return Err(Error::FailedPrecondition {
            reason: "ASSIGNMENT_CONFLICT",
            message: format!(
                "{other} matches some of the same accounts at the same precedence; narrow one \
                 of the two assignments"
            ),
        });
    }
    // Setting the flag moves it: the previous default gets a version with it cleared.
    let demoted = latest
        .iter()
        .find(|s| {
            candidate.default_scorecard
                && s.name != written.name
                && assignment_of(s).default_scorecard
        })
        .map(|s| {
            let mut d = s.clone();
            d.version += 1;
            d.assignment.get_or_insert_with(Default::default).default_scorecard = false;
            d.update_time = Some(timestamp(now));
            d.etag = etag::of(i64::from(d.version));
            d.assigned_account_count = 0;
            d.rescore_operation = String::new();
            d
        });

    if rescore {
        let others: Vec<&pb::Assignment> = latest
            .iter()
            .filter(|s| s.name != written.name)
            .map(|s| {
                if demoted.as_ref().is_some_and(|d| d.name == s.name) {
                    &none
                } else {
                    s.assignment.as_ref().unwrap_or(&none)
                }
            })
            .collect();
        let cells: Vec<Cell> =
            sqlx::query_as("SELECT account, segment, stage FROM health.accounts ORDER BY account")
                .fetch_all(&mut *tx)
                .await?;
        let mut before_ids = vec![id_of(&written.name).to_owned()];
        before_ids.extend(demoted.iter().map(|d| id_of(&d.name).to_owned()));
        let scored_before: Vec<String> =
            sqlx::query_scalar("SELECT account FROM health.scores WHERE scorecard_id = ANY($1)")
                .bind(&before_ids)
                .fetch_all(&mut *tx)
                .await?;
        let accounts =
            selection::to_rescore(selection::scored_by(&others, &candidate, &cells), scored_before);
        if !accounts.is_empty() {
            let id = Uuid::now_v7();
            let op = NewOperation {
                cause: pb::RescoreCause::ScorecardChanged,
                scorecard: written.name.clone(),
                scorecard_version: written.version,
                request: None,
                requested_by: String::new(),
            };
            operations::start_operation(tx, id, &op, &accounts, now).await?;
            written.rescore_operation = operations::operation_name(id);
        }
    }

    if let Some(mut d) = demoted {
        // Its accounts are re-scored by the operation this write started.
        d.rescore_operation.clone_from(&written.rescore_operation);
        insert_version(tx, id_of(&d.name), &d, now).await?;
        set_latest(tx, id_of(&d.name), &d, now).await?;
    }
    insert_version(tx, id_of(&written.name), &written, now).await?;
    set_latest(tx, id_of(&written.name), &written, now).await?;
    Ok(written)
}

impl Store {
    /// Creates scorecard `id` at version 1 from `scorecard` (validated, defaults applied)
    /// under the request's id; a retry answers the first call's scorecard.
    pub async fn create_scorecard(
        &self,
        request_id: Uuid,
        request: &pb::CreateScorecardRequest,
        id: &str,
        scorecard: &pb::Scorecard,
        now: DateTime<Utc>,
    ) -> Result<pb::Scorecard, Error> {
        let mut tx = self.pool.begin().await?;
        let claim =
            idempotency::begin(&mut tx, SCHEMA, "CreateScorecard", request_id, request).await?;
        if let idempotency::Claim::Replay(answer) = claim {
            return Ok(answer);
        }
        lock_scorecards(&mut tx).await?;
        let latest = latest_in(&mut tx).await?;
        let name = scorecard_name(id);
        if latest.iter().any(|s| s.name == name) {
            return Err(Error::AlreadyExists {
                reason: "SCORECARD_EXISTS",
                message: format!("{name} exists already"),
            });
        }
        let written = pb::Scorecard {
            name,
            version: 1,
            display_name: scorecard.display_name.clone(),
            description: scorecard.description.clone(),
            components: scorecard.components.clone(),
            bands: scorecard.bands,
            assignment: scorecard.assignment.clone(),
            create_time: Some(timestamp(now)),
            update_time: Some(timestamp(now)),
            etag: etag::of(1),
            rescore_operation: String::new(),
            assigned_account_count: 0,
        };
        let created = write_version(&mut tx, &latest, written, true, now).await?;
        idempotency::finish(&mut tx, SCHEMA, request_id, &created).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Writes the next version of scorecard `id`: `merge` turns the latest version into the
    /// new content (validated, defaults applied). A stale `given_etag` is `ABORTED`; content
    /// equal to the latest writes nothing and answers the latest.
    pub async fn update_scorecard(
        &self,
        id: &str,
        given_etag: &str,
        merge: impl FnOnce(&pb::Scorecard) -> Result<pb::Scorecard, Error>,
        now: DateTime<Utc>,
    ) -> Result<pb::Scorecard, Error> {
        let mut tx = self.pool.begin().await?;
        lock_scorecards(&mut tx).await?;
        let latest = latest_in(&mut tx).await?;
        let name = scorecard_name(id);
        let current =
            latest.iter().find(|s| s.name == name).ok_or_else(|| Error::NotFound(name.clone()))?;
        etag::check(given_etag, i64::from(current.version), &name)?;
        let merged = merge(current)?;
        if same_content(current, &merged) {
            let mut answer = current.clone();
            answer.assigned_account_count = count_in(&mut tx, id).await?;
            return Ok(answer);
        }
        let was_default = current.assignment.as_ref().is_some_and(|a| a.default_scorecard);
        let is_default = merged.assignment.as_ref().is_some_and(|a| a.default_scorecard);
        if was_default && !is_default {
            return Err(Error::FailedPrecondition {
                reason: "DEFAULT_SCORECARD_REQUIRED",
                message: format!(
                    "{name} is the default scorecard; to move the flag, set \
                     assignment.default_scorecard on another scorecard"
                ),
            });
        }
        let written = pb::Scorecard {
            version: current.version + 1,
            display_name: merged.display_name.clone(),
            description: merged.description.clone(),
            components: merged.components.clone(),
            bands: merged.bands,
            assignment: merged.assignment.clone(),
            update_time: Some(timestamp(now)),
            etag: etag::of(i64::from(current.version) + 1),
            rescore_operation: String::new(),
            assigned_account_count: 0,
            ..current.clone()
        };
        let rescore = edit::rescores(current, &written);
        let mut updated = write_version(&mut tx, &latest, written, rescore, now).await?;
        updated.assigned_account_count = count_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// One page of scorecard `id`'s versions, newest first; the latest with its count of
    /// scored accounts.
    pub async fn list_scorecard_versions(
        &self,
        id: &str,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Scorecard>, String), Error> {
        let query = format!("scorecard_versions {id}");
        let after: Option<i32> = page::decode(&query, page_token)?;
        let latest: Option<i32> =
            sqlx::query_scalar("SELECT version FROM health.scorecards WHERE scorecard_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(latest) = latest else {
            return Err(Error::NotFound(scorecard_name(id)));
        };
        let rows: Vec<(i32, Vec<u8>)> = sqlx::query_as(
            "SELECT version, body FROM health.scorecard_versions
             WHERE scorecard_id = $1 AND ($2::int IS NULL OR version < $2)
             ORDER BY version DESC LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, &query, |(v, _)| *v);
        let mut versions = Vec::with_capacity(rows.len());
        for (version, body) in &rows {
            let mut s: pb::Scorecard = decode(body, "scorecard")?;
            if *version == latest {
                s.assigned_account_count =
                    self.assigned_counts(Some(id)).await?.first().map_or(0, |c| c.1);
            }
            versions.push(s);
        }
        Ok((versions, token))
    }
}
