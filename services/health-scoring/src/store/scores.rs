//! Current scores, their history, the inputs they were computed from, and the health feed
//! entries announcing changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// A computed score to store, with why it was computed and the support summaries it read.
#[derive(Debug, Clone)]
pub struct NewScore {
    pub score: pb::HealthScore,
    pub reason: pb::HealthChangeReason,
    /// By window (seconds).
    pub summaries: BTreeMap<i64, ticket_pb::SupportSummary>,
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
    /// For each of `accounts`: the measurements of `keys` observed since `since` plus the
    /// newest of each key whatever its age, and its ARR one window before `now` for each of
    /// `arr_windows` (seconds). Accounts without any get empty inputs.
    pub async fn accounts_inputs(
        &self,
        accounts: &[String],
        keys: &[String],
        since: DateTime<Utc>,
        arr_windows: &BTreeSet<i64>,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, AccountInputs>, Error> {
        let empty = AccountInputs {
            measurements: Vec::new(),
            arr_then: arr_windows.iter().map(|w| (*w, None)).collect(),
        };
        let mut inputs: HashMap<String, AccountInputs> =
            accounts.iter().map(|a| (a.clone(), empty.clone())).collect();
        if !keys.is_empty() {
            // LATEST reads the newest value whatever its age: the window's rows, plus the
            // newest of each key when it is older.
            type Row = (String, String, f64, DateTime<Utc>, String, String);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT account, key, value, observe_time, unit, source FROM health.measurements
                 WHERE account = ANY($1) AND key = ANY($2) AND observe_time >= $3
                 UNION ALL
                 SELECT * FROM (
                     SELECT DISTINCT ON (account, key) account, key, value, observe_time, unit,
                         source
                     FROM health.measurements WHERE account = ANY($1) AND key = ANY($2)
                     ORDER BY account, key, observe_time DESC) newest
                 WHERE observe_time < $3",
            )
            .bind(accounts)
            .bind(keys)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
            for (account, key, value, observe_time, unit, source) in rows {
                if let Some(i) = inputs.get_mut(&account) {
                    i.measurements.push(Observation { key, value, observe_time, unit, source });
                }
            }
            for i in inputs.values_mut() {
                i.measurements
                    .sort_by(|a, b| (&a.key, a.observe_time).cmp(&(&b.key, b.observe_time)));
            }
        }
        for &window in arr_windows {
            // The ARR in effect one window ago; none when the account was not yet heard of.
            let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
                "SELECT DISTINCT ON (account) account, arr_minor FROM health.arr_history
                 WHERE account = ANY($1) AND valid_from <= $2
                 ORDER BY account, valid_from DESC",
            )
            .bind(accounts)
            .bind(now - chrono::Duration::seconds(window))
            .fetch_all(&self.pool)
            .await?;
            for (account, arr) in rows {
                if let Some(i) = inputs.get_mut(&account) {
                    i.arr_then.insert(window, arr);
                }
            }
        }
        Ok(inputs)
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

    /// Stores each computed score (one per account) in one transaction, unless a
    /// computation of its account that started later (after `inputs_time`) got there first;
    /// each score that changed (see [`explain::changed`]) goes to the history and the feed.
    /// Answers in the order of `scores`.
    pub async fn save_scores(
        &self,
        scores: &[NewScore],
        inputs_time: DateTime<Utc>,
    ) -> Result<Vec<Stored>, Error> {
        let mut tx = self.pool.begin().await?;
        let accounts: Vec<String> = scores.iter().map(|s| s.score.account.clone()).collect();
        let mut current = current_for_update(&mut tx, &accounts).await?;
        // Columns of the batched statements: support inputs (account, window, body), kept
        // scores (account, body, evaluate time), changed scores, feed entries.
        let mut inputs: (Vec<String>, Vec<i64>, Vec<Vec<u8>>) = Default::default();
        let mut kept: (Vec<String>, Vec<Vec<u8>>, Vec<DateTime<Utc>>) = Default::default();
        let mut changed = ScoreRows::default();
        let mut feed: (Vec<String>, Vec<Vec<u8>>) = Default::default();
        let mut outcomes = Vec::with_capacity(scores.len());
        for NewScore { score, reason, summaries } in scores {
            let account = score.account.clone();
            let stored = current.remove(&account);
            if let Some((_, stored_inputs)) = &stored
                && *stored_inputs > inputs_time
            {
                outcomes.push(Stored::Superseded);
                continue;
            }
            for (window, summary) in summaries {
                inputs.0.push(account.clone());
                inputs.1.push(*window);
                inputs.2.push(summary.encode_to_vec());
            }
            let before = stored.map(|(s, _)| s);
            let evaluated =
                score.evaluate_time.as_ref().and_then(from_timestamp).unwrap_or(inputs_time);
            if !explain::changed(before.as_ref(), score) {
                let mut body = before.unwrap_or_default();
                body.evaluate_time = score.evaluate_time;
                kept.0.push(account);
                kept.1.push(body.encode_to_vec());
                kept.2.push(evaluated);
                outcomes.push(Stored::Unchanged);
                continue;
            }
            let mut score = score.clone();
            if let Some(b) = &before {
                score.previous_score = b.score;
                score.previous_band = b.band;
                score.previous_compute_time = b.compute_time;
            }
            let change = change_of(before.as_ref(), &score, *reason);
            let compute_time =
                score.compute_time.as_ref().and_then(from_timestamp).unwrap_or(inputs_time);
            changed.push(&score, compute_time);
            feed.0.push(account);
            feed.1.push(change.encode_to_vec());
            outcomes.push(Stored::Changed(Box::new(change)));
        }
        sqlx::query(
            "INSERT INTO health.support_inputs (account, window_secs, body)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bytea[])
             ON CONFLICT (account, window_secs) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(&inputs.0)
        .bind(&inputs.1)
        .bind(&inputs.2)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE health.scores s SET body = k.body, evaluate_time = k.at, inputs_time = $4
             FROM UNNEST($1::text[], $2::bytea[], $3::timestamptz[]) AS k(account, body, at)
             WHERE s.account = k.account",
        )
        .bind(&kept.0)
        .bind(&kept.1)
        .bind(&kept.2)
        .bind(inputs_time)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO health.scores (account, body, score, band, scorecard_id,
                 scorecard_version, compute_time, evaluate_time, inputs_time)
             SELECT a, b, s, band, id, v, t, t, $8
             FROM UNNEST($1::text[], $2::bytea[], $3::float8[], $4::int[], $5::text[],
                         $6::int[], $7::timestamptz[]) AS c(a, b, s, band, id, v, t)
             ON CONFLICT (account) DO UPDATE SET body = EXCLUDED.body, score = EXCLUDED.score,
                 band = EXCLUDED.band, scorecard_id = EXCLUDED.scorecard_id,
                 scorecard_version = EXCLUDED.scorecard_version,
                 compute_time = EXCLUDED.compute_time, evaluate_time = EXCLUDED.evaluate_time,
                 inputs_time = EXCLUDED.inputs_time",
        )
        .bind(&changed.accounts)
        .bind(&changed.bodies)
        .bind(&changed.scores)
        .bind(&changed.bands)
        .bind(&changed.scorecards)
        .bind(&changed.versions)
        .bind(&changed.times)
        .bind(inputs_time)
        .execute(&mut *tx)
        .await?;
        insert_history(&mut tx, &changed).await?;
        if !feed.0.is_empty() {
            self.feed.append_encoded(&mut tx, &feed.0, &feed.1).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Removes a deleted account's score, announcing it (no new score, reason
    /// ACCOUNT_CHANGED); nothing when it had none.
    pub async fn remove_score(&self, account: &str, now: DateTime<Utc>) -> Result<Stored, Error> {
        let mut tx = self.pool.begin().await?;
        let current = current_for_update(&mut tx, &[account.to_owned()]).await?;
        let Some((before, _)) = current.into_values().next() else {
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
        let mut history = ScoreRows::default();
        history.push(&gone, now);
        insert_history(&mut tx, &history).await?;
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

/// The stored scores of `accounts` with their inputs times, locked for the rest of `tx`
/// (in account order, so that concurrent batches never wait on each other in a cycle).
async fn current_for_update(
    tx: &mut PgConnection,
    accounts: &[String],
) -> Result<HashMap<String, (pb::HealthScore, DateTime<Utc>)>, Error> {
    let rows: Vec<(String, Vec<u8>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT account, body, inputs_time FROM health.scores WHERE account = ANY($1)
         ORDER BY account FOR UPDATE",
    )
    .bind(accounts)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .map(|(account, body, t)| Ok((account, (decode(&body, "health score")?, t))))
        .collect()
}

/// Scores as the columns of `health.scores` and `health.score_history`.
#[derive(Debug, Default)]
struct ScoreRows {
    accounts: Vec<String>,
    bodies: Vec<Vec<u8>>,
    scores: Vec<Option<f64>>,
    bands: Vec<i32>,
    scorecards: Vec<String>,
    versions: Vec<i32>,
    times: Vec<DateTime<Utc>>,
}

impl ScoreRows {
    fn push(&mut self, score: &pb::HealthScore, compute_time: DateTime<Utc>) {
        self.accounts.push(score.account.clone());
        self.bodies.push(score.encode_to_vec());
        self.scores.push(score.score);
        self.bands.push(score.band);
        self.scorecards.push(score.scorecard.trim_start_matches("scorecards/").to_owned());
        self.versions.push(score.scorecard_version);
        self.times.push(compute_time);
    }
}

async fn insert_history(tx: &mut PgConnection, rows: &ScoreRows) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO health.score_history (account, body, score, band, scorecard_id,
             scorecard_version, compute_time)
         SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::float8[], $4::int[], $5::text[],
                              $6::int[], $7::timestamptz[])",
    )
    .bind(&rows.accounts)
    .bind(&rows.bodies)
    .bind(&rows.scores)
    .bind(&rows.bands)
    .bind(&rows.scorecards)
    .bind(&rows.versions)
    .bind(&rows.times)
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
