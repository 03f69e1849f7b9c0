//! Current scores, their history, the inputs they were computed from, and the health feed
//! entries announcing changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::{PgConnection, QueryBuilder};
use steward_kit::time::{from_timestamp, timestamp};
use steward_kit::{Error, page};
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::{Store, decode};
use crate::domain::explain;
use crate::domain::measures::Observation;

/// What the scorer needs from storage besides the support summaries.
#[derive(Debug, Clone, Default)]
pub struct AccountInputs {
    /// Measurements of the keys asked for.
    pub measurements: Vec<Observation>,
    /// ARR one window ago, by window length in seconds.
    pub arr_then: BTreeMap<i64, Option<i64>>,
}

/// What saving a computed score did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The score changed: stored, in the history, announced on the feed.
    Changed(Box<pb::HealthChange>),
    /// Same rounded score, band, scorecard and version: only the evaluation time moved.
    Unchanged,
    /// A computation that started later had already stored its result.
    Superseded,
}

/// `ListHealthScores` filters and order.
#[derive(Debug, Clone, Default)]
pub struct ScoreQuery {
    pub bands: Vec<i32>,
    pub scorecard_id: Option<String>,
    pub segments: Vec<i32>,
    pub stages: Vec<i32>,
    pub owner: Option<String>,
    pub order: ScoreOrder,
}

/// The orders `ListHealthScores` offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScoreOrder {
    /// Worst first; unscored last.
    #[default]
    ScoreAsc,
    /// Best first; unscored last.
    ScoreDesc,
    /// By account name.
    Account,
}

/// `GetScoreHistory` after validation.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub account: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

type ScoreKey = (Option<f64>, String);

impl Store {
    /// The measurements of `keys` for `account` observed since `since`, and its ARR one
    /// window before `now` for each of `arr_windows` (seconds).
    pub async fn account_inputs(
        &self,
        account: &str,
        keys: &[String],
        since: DateTime<Utc>,
        arr_windows: impl IntoIterator<Item = i64>,
        now: DateTime<Utc>,
    ) -> Result<AccountInputs, Error> {
        let rows: Vec<(String, f64, DateTime<Utc>, String, String)> = if keys.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT key, value, observe_time, unit, source FROM health.measurements
                 WHERE account = $1 AND key = ANY($2) AND observe_time >= $3",
            )
            .bind(account)
            .bind(keys)
            .bind(since)
            .fetch_all(&self.pool)
            .await?
        };
        // LATEST reads the newest value whatever its age: add the newest of each key.
        let latest: Vec<(String, f64, DateTime<Utc>, String, String)> = if keys.is_empty() {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT DISTINCT ON (key) key, value, observe_time, unit, source
                 FROM health.measurements WHERE account = $1 AND key = ANY($2)
                 ORDER BY key, observe_time DESC",
            )
            .bind(account)
            .bind(keys)
            .fetch_all(&self.pool)
            .await?
        };
        let mut measurements: Vec<Observation> = rows
            .into_iter()
            .chain(latest.into_iter().filter(|(_, _, t, _, _)| *t < since))
            .map(|(key, value, observe_time, unit, source)| Observation {
                key,
                value,
                observe_time,
                unit,
                source,
            })
            .collect();
        measurements.sort_by(|a, b| (&a.key, a.observe_time).cmp(&(&b.key, b.observe_time)));
        let mut arr_then = BTreeMap::new();
        for window in arr_windows {
            let at = now - chrono::Duration::seconds(window);
            arr_then.insert(window, self.arr_at(account, at).await?);
        }
        Ok(AccountInputs { measurements, arr_then })
    }

    /// The support summaries the account's last score used, by window (seconds).
    pub async fn support_inputs(
        &self,
        account: &str,
    ) -> Result<BTreeMap<i64, ticket_pb::SupportSummary>, Error> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT window_secs, body FROM health.support_inputs WHERE account = $1",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(w, body)| Ok((w, decode(&body, "support summary")?))).collect()
    }

    /// Stores `score` for its account, computed from inputs read from `inputs_time` on,
    /// unless a later computation got there first; appends the change to the feed when the
    /// score changed (see [`explain::changed`]).
    pub async fn save_score(
        &self,
        mut score: pb::HealthScore,
        inputs_time: DateTime<Utc>,
        reason: pb::HealthChangeReason,
        summaries: &BTreeMap<i64, ticket_pb::SupportSummary>,
    ) -> Result<Stored, Error> {
        let account = score.account.clone();
        let mut tx = self.pool.begin().await?;
        let stored = current_for_update(&mut tx, &account).await?;
        if let Some((_, stored_inputs)) = &stored
            && *stored_inputs > inputs_time
        {
            return Ok(Stored::Superseded);
        }
        save_inputs(&mut tx, &account, summaries).await?;
        let before = stored.map(|(s, _)| s);
        if !explain::changed(before.as_ref(), &score) {
            let mut kept = before.unwrap_or_default();
            kept.evaluate_time = score.evaluate_time;
            sqlx::query(
                "UPDATE health.scores SET body = $2, evaluate_time = $3, inputs_time = $4
                 WHERE account = $1",
            )
            .bind(&account)
            .bind(kept.encode_to_vec())
            .bind(score.evaluate_time.as_ref().and_then(from_timestamp).unwrap_or(inputs_time))
            .bind(inputs_time)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Stored::Unchanged);
        }
        if let Some(b) = &before {
            score.previous_score = b.score;
            score.previous_band = b.band;
            score.previous_compute_time = b.compute_time;
        }
        let change = change_of(before.as_ref(), &score, reason);
        let compute_time =
            score.compute_time.as_ref().and_then(from_timestamp).unwrap_or(inputs_time);
        let scorecard_id = score.scorecard.trim_start_matches("scorecards/").to_owned();
        sqlx::query(
            "INSERT INTO health.scores (account, body, score, band, scorecard_id,
                 scorecard_version, compute_time, evaluate_time, inputs_time)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
             ON CONFLICT (account) DO UPDATE SET body = $2, score = $3, band = $4,
                 scorecard_id = $5, scorecard_version = $6, compute_time = $7,
                 evaluate_time = $7, inputs_time = $8",
        )
        .bind(&account)
        .bind(score.encode_to_vec())
        .bind(score.score)
        .bind(score.band)
        .bind(&scorecard_id)
        .bind(score.scorecard_version)
        .bind(compute_time)
        .bind(inputs_time)
        .execute(&mut *tx)
        .await?;
        insert_history(&mut tx, &score, compute_time).await?;
        self.feed.append(&mut tx, &account, &change).await?;
        tx.commit().await?;
        Ok(Stored::Changed(Box::new(change)))
    }

    /// Removes a deleted account's score, announcing it (no new score, reason
    /// ACCOUNT_CHANGED); nothing when it had none.
    pub async fn remove_score(&self, account: &str, now: DateTime<Utc>) -> Result<Stored, Error> {
        let mut tx = self.pool.begin().await?;
        let Some((before, _)) = current_for_update(&mut tx, account).await? else {
            return Ok(Stored::Unchanged);
        };
        let gone = pb::HealthScore {
            name: before.name.clone(),
            account: account.to_owned(),
            compute_time: Some(timestamp(now)),
            evaluate_time: Some(timestamp(now)),
            previous_score: before.score,
            previous_band: before.band,
            previous_compute_time: before.compute_time,
            ..Default::default()
        };
        let change = change_of(Some(&before), &gone, pb::HealthChangeReason::AccountChanged);
        sqlx::query("DELETE FROM health.scores WHERE account = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM health.support_inputs WHERE account = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        insert_history(&mut tx, &gone, now).await?;
        self.feed.append(&mut tx, account, &change).await?;
        tx.commit().await?;
        Ok(Stored::Changed(Box::new(change)))
    }

    /// The account's current score, if it has been scored.
    pub async fn score(&self, account: &str) -> Result<Option<pb::HealthScore>, Error> {
        let body: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT body FROM health.scores WHERE account = $1")
                .bind(account)
                .fetch_optional(&self.pool)
                .await?;
        body.map(|b| decode(&b, "health score")).transpose()
    }

    /// The score in effect at `at`: the newest history entry computed at or before it.
    pub async fn score_at(
        &self,
        account: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<pb::HealthScore>, Error> {
        let body: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM health.score_history WHERE account = $1 AND compute_time <= $2
             ORDER BY compute_time DESC, seq DESC LIMIT 1",
        )
        .bind(account)
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        body.map(|b| decode(&b, "health score")).transpose()
    }

    /// One page of current scores.
    pub async fn list_scores(
        &self,
        query: &ScoreQuery,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::HealthScore>, String), Error> {
        let fingerprint = format!("{query:?}");
        let after: Option<ScoreKey> = page::decode(&fingerprint, page_token)?;
        let mut q = QueryBuilder::new(
            "SELECT s.body, s.score, s.account FROM health.scores s
             LEFT JOIN health.accounts a USING (account) WHERE true",
        );
        if !query.bands.is_empty() {
            q.push(" AND s.band = ANY(").push_bind(query.bands.clone()).push(")");
        }
        if let Some(id) = &query.scorecard_id {
            q.push(" AND s.scorecard_id = ").push_bind(id.clone());
        }
        if !query.segments.is_empty() {
            q.push(" AND a.segment = ANY(").push_bind(query.segments.clone()).push(")");
        }
        if !query.stages.is_empty() {
            q.push(" AND a.stage = ANY(").push_bind(query.stages.clone()).push(")");
        }
        if let Some(owner) = &query.owner {
            q.push(" AND a.owner = ").push_bind(owner.clone());
        }
        // Keyset pagination. Unscored accounts sort after every score (NULLS LAST) and among
        // themselves by name; equal scores by name too.
        if let Some((score, account)) = after {
            match (query.order, score) {
                (ScoreOrder::Account, _) => {
                    q.push(" AND s.account > ").push_bind(account);
                }
                (_, None) => {
                    q.push(" AND s.score IS NULL AND s.account > ").push_bind(account);
                }
                (order, Some(score)) => {
                    let beyond = if order == ScoreOrder::ScoreAsc { " > " } else { " < " };
                    q.push(" AND (s.score IS NULL OR s.score").push(beyond).push_bind(score);
                    q.push(" OR (s.score = ").push_bind(score);
                    q.push(" AND s.account > ").push_bind(account).push("))");
                }
            }
        }
        q.push(match query.order {
            ScoreOrder::ScoreAsc => " ORDER BY s.score ASC NULLS LAST, s.account",
            ScoreOrder::ScoreDesc => " ORDER BY s.score DESC NULLS LAST, s.account",
            ScoreOrder::Account => " ORDER BY s.account",
        });
        q.push(" LIMIT ").push_bind(limit + 1);
        let rows: Vec<(Vec<u8>, Option<f64>, String)> =
            q.build_query_as().fetch_all(&self.pool).await?;
        let (rows, token) = page::finish(rows, limit, &fingerprint, |(_, score, account)| {
            (*score, account.clone())
        });
        let scores = rows
            .iter()
            .map(|(body, _, _)| decode(body, "health score"))
            .collect::<Result<_, _>>()?;
        Ok((scores, token))
    }

    /// Every stored score change of the account in `[start, end)`, oldest first, plus the
    /// one in effect at `start` (first), for downsampling.
    pub async fn history(&self, query: &HistoryQuery) -> Result<Vec<pb::HealthScore>, Error> {
        let rows: Vec<(Vec<u8>, DateTime<Utc>, i64)> = sqlx::query_as(
            "(SELECT body, compute_time, seq FROM health.score_history
              WHERE account = $1 AND compute_time < $2
              ORDER BY compute_time DESC, seq DESC LIMIT 1)
             UNION ALL
             (SELECT body, compute_time, seq FROM health.score_history
              WHERE account = $1 AND compute_time >= $2 AND compute_time < $3)
             ORDER BY 2, 3",
        )
        .bind(&query.account)
        .bind(query.start)
        .bind(query.end)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|(b, _, _)| decode(b, "health score")).collect()
    }
}

async fn current_for_update(
    tx: &mut PgConnection,
    account: &str,
) -> Result<Option<(pb::HealthScore, DateTime<Utc>)>, Error> {
    let row: Option<(Vec<u8>, DateTime<Utc>)> =
        sqlx::query_as("SELECT body, inputs_time FROM health.scores WHERE account = $1 FOR UPDATE")
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
    row.map(|(body, t)| Ok((decode(&body, "health score")?, t))).transpose()
}

async fn save_inputs(
    tx: &mut PgConnection,
    account: &str,
    summaries: &BTreeMap<i64, ticket_pb::SupportSummary>,
) -> Result<(), Error> {
    if summaries.is_empty() {
        return Ok(());
    }
    let windows: Vec<i64> = summaries.keys().copied().collect();
    let bodies: Vec<Vec<u8>> = summaries.values().map(Message::encode_to_vec).collect();
    sqlx::query(
        "INSERT INTO health.support_inputs (account, window_secs, body)
         SELECT $1, w, b FROM UNNEST($2::bigint[], $3::bytea[]) AS t(w, b)
         ON CONFLICT (account, window_secs) DO UPDATE SET body = EXCLUDED.body",
    )
    .bind(account)
    .bind(&windows)
    .bind(&bodies)
    .execute(tx)
    .await?;
    Ok(())
}

async fn insert_history(
    tx: &mut PgConnection,
    score: &pb::HealthScore,
    compute_time: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO health.score_history (account, compute_time, body, score, band,
             scorecard_id, scorecard_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&score.account)
    .bind(compute_time)
    .bind(score.encode_to_vec())
    .bind(score.score)
    .bind(score.band)
    .bind(score.scorecard.trim_start_matches("scorecards/"))
    .bind(score.scorecard_version)
    .execute(tx)
    .await?;
    Ok(())
}

/// The feed entry for a move from `before` to `after`.
fn change_of(
    before: Option<&pb::HealthScore>,
    after: &pb::HealthScore,
    reason: pb::HealthChangeReason,
) -> pb::HealthChange {
    pb::HealthChange {
        account: after.account.clone(),
        old_score: before.and_then(|b| b.score),
        new_score: after.score,
        old_band: before.map_or(0, |b| b.band),
        new_band: after.band,
        scorecard: after.scorecard.clone(),
        scorecard_version: after.scorecard_version,
        old_scorecard: before.map(|b| b.scorecard.clone()).unwrap_or_default(),
        old_scorecard_version: before.map_or(0, |b| b.scorecard_version),
        top_movers: explain::moves(before, after),
        reason: reason as i32,
        compute_time: after.compute_time,
        ..Default::default()
    }
}
