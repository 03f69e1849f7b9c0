//! Scorecards: immutable versions, the latest of each, the shipped default.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, page};
use steward_proto::health::v1 as pb;

use super::{Store, decode};
use crate::domain::scorecard::{DEFAULT_SCORECARD_ID, default_scorecard, with_defaults};

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
            scorecard.assigned_account_count = self.assigned_counts(Some(id)).await?.first().map_or(0, |c| c.1);
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
