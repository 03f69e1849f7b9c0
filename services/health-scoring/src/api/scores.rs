//! Health scores: the current one, lists, history, explanations.

use chrono::{TimeDelta, Utc};
use steward_kit::time::from_timestamp;
use steward_kit::{Error, Violations, page};
use steward_proto::health::v1 as pb;

use super::Api;
use super::requests::{self, account, score_account, scorecard_id};
use crate::domain::{explain, history};
use crate::store::{HistoryQuery, ScoreOrder, ScoreQuery};

/// Default span of a history request without a start.
const DEFAULT_HISTORY: TimeDelta = TimeDelta::days(90);
/// History page sizes.
const HISTORY_PAGE: i64 = 500;
const HISTORY_PAGE_MAX: i64 = 10_000;

impl Api {
    /// The account's score, or why there is none.
    async fn current(&self, account: &str) -> Result<pb::HealthScore, Error> {
        if let Some(score) = self.store.score(account).await? {
            return Ok(score);
        }
        if self.store.account(account).await?.is_none() {
            return Err(Error::NotFound(account.to_owned()));
        }
        Err(Error::NotFoundReason {
            reason: "HEALTH_SCORE_NOT_COMPUTED",
            message: format!("{account} has not been scored yet; it normally is within seconds"),
        })
    }

    pub(super) async fn get_health_score(
        &self,
        req: pb::GetHealthScoreRequest,
    ) -> Result<pb::HealthScore, Error> {
        let account = score_account(&req.name, "name")?;
        self.current(&account).await
    }

    pub(super) async fn list_health_scores(
        &self,
        req: pb::ListHealthScoresRequest,
    ) -> Result<pb::ListHealthScoresResponse, Error> {
        let limit = page::size(req.page_size)?;
        let mut v = Violations::default();
        requests::known::<pb::HealthBand>(&req.bands, "bands", &mut v);
        requests::known::<pb::Segment>(&req.segments, "segments", &mut v);
        requests::known::<pb::LifecycleStage>(&req.lifecycle_stages, "lifecycle_stages", &mut v);
        let order = match req.order_by.trim() {
            "" | "score" | "score asc" => Some(ScoreOrder::ScoreAsc),
            "score desc" => Some(ScoreOrder::ScoreDesc),
            "account" | "account asc" => Some(ScoreOrder::Account),
            _ => None,
        };
        v.check(order.is_some(), "order_by", "must be `score`, `score desc` or `account`");
        let scorecard = if req.scorecard.is_empty() {
            None
        } else {
            match scorecard_id(&req.scorecard, "scorecard") {
                Ok(id) => Some(id.to_owned()),
                Err(_) => {
                    v.add("scorecard", "must be a resource name like `scorecards/{}`");
                    None
                }
            }
        };
        v.finish()?;
        let query = ScoreQuery {
            bands: req.bands,
            scorecard_id: scorecard,
            segments: req.segments,
            stages: req.lifecycle_stages,
            owner: (!req.owner.is_empty()).then_some(req.owner),
            order: order.unwrap_or_default(),
        };
        let (health_scores, next_page_token) =
            self.store.list_scores(&query, limit, &req.page_token).await?;
        Ok(pb::ListHealthScoresResponse { health_scores, next_page_token })
    }

    pub(super) async fn get_score_history(
        &self,
        req: pb::GetScoreHistoryRequest,
    ) -> Result<pb::GetScoreHistoryResponse, Error> {
        let account = account(&req.account, "account")?;
        let (start, end) = requests::interval(req.interval.as_ref(), "interval")?;
        let end = end.unwrap_or_else(Utc::now);
        let start = start.unwrap_or(end - DEFAULT_HISTORY);
        if end <= start {
            return Err(Error::invalid("interval", "the end must be after the start"));
        }
        let step = req.step.as_ref().map_or(TimeDelta::zero(), |d| {
            TimeDelta::new(d.seconds, d.nanos.max(0) as u32).unwrap_or(TimeDelta::zero())
        });
        let raw = step.is_zero();
        if !raw && step < TimeDelta::minutes(1) {
            return Err(Error::invalid(
                "step",
                "must be at least 1 minute (or unset for raw history)",
            ));
        }
        if !raw && history::bucket_count(start, end, step) > history::MAX_BUCKETS {
            return Err(Error::invalid(
                "step",
                "more than 10,000 buckets: widen the step or narrow the interval",
            ));
        }
        let aggregation = match pb::Aggregation::try_from(req.aggregation) {
            Ok(pb::Aggregation::Unspecified | pb::Aggregation::Last) => pb::Aggregation::Last,
            Ok(a @ (pb::Aggregation::Min | pb::Aggregation::Max)) => a,
            _ => return Err(Error::invalid("aggregation", "must be LAST, MIN or MAX")),
        };
        let limit = match req.page_size {
            n if n < 0 => return Err(Error::invalid("page_size", "must not be negative")),
            0 => HISTORY_PAGE,
            n => i64::from(n).min(HISTORY_PAGE_MAX),
        };
        if self.store.account(&account).await?.is_none()
            && self.store.score(&account).await?.is_none()
        {
            // Deleted accounts keep their history; unknown ones have none.
            let any = self.store.score_at(&account, end).await?.is_some();
            if !any {
                return Err(Error::NotFound(account));
            }
        }
        // History is append-only before now, so an offset into the series is a stable
        // position; the token is bound to the query.
        let fingerprint = format!("{account} {start} {end} {step} {aggregation:?}");
        let offset: usize = page::decode(&fingerprint, &req.page_token)?.unwrap_or(0);
        let changes = self.store.history(&HistoryQuery { account, start, end }).await?;
        let series = if raw {
            history::raw(&changes, start, end)
        } else {
            history::downsample(&changes, start, end, step, aggregation)
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let points: Vec<pb::ScorePoint> = series.iter().skip(offset).take(limit).cloned().collect();
        let next = offset + points.len();
        let next_page_token =
            if next < series.len() { page::encode(&fingerprint, &next) } else { String::new() };
        Ok(pb::GetScoreHistoryResponse { points, next_page_token })
    }

    pub(super) async fn explain_health_score(
        &self,
        req: pb::ExplainHealthScoreRequest,
    ) -> Result<pb::ExplainHealthScoreResponse, Error> {
        let account = account(&req.account, "account")?;
        let compare_time =
            req.compare_time.as_ref().map(|t| requests::time(t, "compare_time")).transpose()?;
        if compare_time.is_some_and(|t| t > Utc::now()) {
            return Err(Error::invalid("compare_time", "must not be in the future"));
        }
        let current = self.current(&account).await?;
        let earlier = match compare_time {
            Some(t) => self.store.score_at(&account, t).await?,
            None => match current.previous_compute_time.as_ref().and_then(from_timestamp) {
                Some(t) => self.store.score_at(&account, t).await?,
                None => None,
            },
        };
        let comparison = earlier.filter(|e| e.score.is_some()).map(|e| {
            let mut c = explain::compare(&e, &current);
            if let Some(t) = &req.compare_time {
                c.compare_time = Some(*t);
            }
            c
        });
        let summary = explain::summary(&current, comparison.as_ref());
        Ok(pb::ExplainHealthScoreResponse { health_score: Some(current), comparison, summary })
    }
}
