//! Score history as a series: raw (one point per stored change) or downsampled into fixed
//! buckets aligned to multiples of the step since the Unix epoch.

use chrono::{DateTime, TimeDelta, Utc};
use steward_kit::time::{from_timestamp, timestamp};
use steward_proto::health::v1 as pb;

/// Most buckets one request may span.
pub const MAX_BUCKETS: i64 = 10_000;

/// The point of a stored score at `time`.
fn point(score: &pb::HealthScore, time: DateTime<Utc>) -> pb::ScorePoint {
    pb::ScorePoint {
        time: Some(timestamp(time)),
        score: score.score,
        band: score.band,
        scorecard: score.scorecard.clone(),
        scorecard_version: score.scorecard_version,
    }
}

fn computed(score: &pb::HealthScore) -> Option<DateTime<Utc>> {
    score.compute_time.as_ref().and_then(from_timestamp)
}

/// One point per change computed in `[start, end)`; `changes` is oldest first and may begin
/// with the change in effect before `start`, which is skipped.
pub fn raw(
    changes: &[pb::HealthScore],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<pb::ScorePoint> {
    changes
        .iter()
        .filter_map(|c| Some((c, computed(c)?)))
        .filter(|(_, t)| *t >= start && *t < end)
        .map(|(c, t)| point(c, t))
        .collect()
}

/// The first bucket start at or before `t`: a multiple of `step` since the epoch.
pub fn bucket_start(t: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let step_ms = step.num_milliseconds().max(1);
    let ms = t.timestamp_millis().div_euclid(step_ms) * step_ms;
    DateTime::from_timestamp_millis(ms).unwrap_or(t)
}

/// How many buckets of `step` the interval `[start, end)` touches.
pub fn bucket_count(start: DateTime<Utc>, end: DateTime<Utc>, step: TimeDelta) -> i64 {
    let step_ms = step.num_milliseconds().max(1);
    let first = bucket_start(start, step).timestamp_millis();
    (end.timestamp_millis() - first + step_ms - 1).div_euclid(step_ms)
}

/// One point per bucket of `step` touching `[start, end)`, from the first bucket in which
/// the account had a stored score on. Each bucket summarizes the scores in effect during
/// it: the one in effect at its start and every change inside it; `aggregation` picks the
/// LAST (in effect at its end, the default), the MIN or the MAX. A bucket's point carries
/// the band and scorecard of the score picked. `changes` is oldest first, the one in effect
/// at `start` (if any) first.
pub fn downsample(
    changes: &[pb::HealthScore],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: TimeDelta,
    aggregation: pb::Aggregation,
) -> Vec<pb::ScorePoint> {
    let timed: Vec<(&pb::HealthScore, DateTime<Utc>)> =
        changes.iter().filter_map(|c| Some((c, computed(c)?))).collect();
    let mut points = Vec::new();
    let mut bucket = bucket_start(start, step);
    while bucket < end {
        let next = bucket + step;
        // In effect at the bucket's start, then the changes inside it.
        let at_start = timed.iter().rev().find(|(_, t)| *t <= bucket);
        let inside = timed.iter().filter(|(_, t)| *t > bucket && *t < next);
        let during: Vec<&pb::HealthScore> =
            at_start.into_iter().chain(inside).map(|(c, _)| *c).collect();
        if let Some(picked) = pick(&during, aggregation) {
            points.push(point(picked, bucket));
        }
        bucket = next;
    }
    points
}

/// The score of `during` (in time order) that `aggregation` summarizes them by.
fn pick<'a>(
    during: &[&'a pb::HealthScore],
    aggregation: pb::Aggregation,
) -> Option<&'a pb::HealthScore> {
    let scored = || during.iter().copied().filter(|c| c.score.is_some());
    let by_score = |a: &&pb::HealthScore, b: &&pb::HealthScore| {
        a.score.unwrap_or_default().total_cmp(&b.score.unwrap_or_default())
    };
    match aggregation {
        // Unscored stretches have no minimum or maximum; fall back to the last state.
        pb::Aggregation::Min => scored().min_by(by_score).or(during.last().copied()),
        // `max_by` keeps the last of equal maxima, `min_by` the first: both are fine.
        pb::Aggregation::Max => scored().max_by(by_score).or(during.last().copied()),
        _ => during.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("an RFC 3339 time")
    }

    fn score(value: Option<f64>, time: &str) -> pb::HealthScore {
        pb::HealthScore {
            score: value,
            band: value.map_or(0, |v| {
                if v < 40.0 {
                    1
                } else if v < 70.0 {
                    2
                } else {
                    3
                }
            }),
            scorecard: "scorecards/default".into(),
            scorecard_version: 1,
            compute_time: Some(timestamp(at(time))),
            ..Default::default()
        }
    }

    /// 80 before the interval, 60 at 10:30, 75 at 10:45, 30 at 12:10.
    fn changes() -> Vec<pb::HealthScore> {
        vec![
            score(Some(80.0), "2026-05-01T09:00:00Z"),
            score(Some(60.0), "2026-05-01T10:30:00Z"),
            score(Some(75.0), "2026-05-01T10:45:00Z"),
            score(Some(30.0), "2026-05-01T12:10:00Z"),
        ]
    }

    fn values(points: &[pb::ScorePoint]) -> Vec<(String, Option<f64>, i32)> {
        points
            .iter()
            .map(|p| {
                let t = p.time.as_ref().and_then(from_timestamp).expect("a point time");
                (t.format("%H:%M").to_string(), p.score, p.band)
            })
            .collect()
    }

    #[test]
    fn raw_history_lists_the_changes_inside_the_interval_only() {
        let points = raw(&changes(), at("2026-05-01T10:00:00Z"), at("2026-05-01T12:10:00Z"));
        assert_eq!(
            values(&points),
            [("10:30".into(), Some(60.0), 2), ("10:45".into(), Some(75.0), 3)]
        );
    }

    #[test]
    fn hourly_buckets_summarize_the_scores_in_effect_during_each_hour() {
        let (start, end, hour) =
            (at("2026-05-01T10:15:00Z"), at("2026-05-01T13:00:00Z"), TimeDelta::hours(1));
        // Buckets 10:00, 11:00, 12:00. In 10:00-11:00: 80 (in effect), 60, 75.
        let last = downsample(&changes(), start, end, hour, pb::Aggregation::Last);
        assert_eq!(
            values(&last),
            [
                ("10:00".into(), Some(75.0), 3),
                ("11:00".into(), Some(75.0), 3),
                ("12:00".into(), Some(30.0), 1)
            ]
        );
        let min = downsample(&changes(), start, end, hour, pb::Aggregation::Min);
        assert_eq!(
            values(&min),
            [
                ("10:00".into(), Some(60.0), 2),
                ("11:00".into(), Some(75.0), 3),
                ("12:00".into(), Some(30.0), 1)
            ]
        );
        let max = downsample(&changes(), start, end, hour, pb::Aggregation::Max);
        assert_eq!(
            values(&max),
            [
                ("10:00".into(), Some(80.0), 3),
                ("11:00".into(), Some(75.0), 3),
                ("12:00".into(), Some(75.0), 3)
            ]
        );
    }

    #[test]
    fn buckets_before_the_first_score_are_omitted_and_lost_scores_are_unset() {
        let changes =
            vec![score(Some(50.0), "2026-05-01T11:20:00Z"), score(None, "2026-05-01T12:00:00Z")];
        let points = downsample(
            &changes,
            at("2026-05-01T10:00:00Z"),
            at("2026-05-01T13:00:00Z"),
            TimeDelta::hours(1),
            pb::Aggregation::Max,
        );
        // 10:00 has no score yet; 12:00 starts unscored and stays so: no max, the state.
        assert_eq!(values(&points), [("11:00".into(), Some(50.0), 2), ("12:00".into(), None, 0)]);
    }

    #[test]
    fn buckets_align_to_the_epoch_and_are_counted_over_the_interval() {
        let step = TimeDelta::minutes(15);
        assert_eq!(bucket_start(at("2026-05-01T10:22:10Z"), step), at("2026-05-01T10:15:00Z"));
        assert_eq!(bucket_count(at("2026-05-01T10:22:10Z"), at("2026-05-01T11:00:00Z"), step), 3);
        assert_eq!(bucket_count(at("2026-05-01T10:15:00Z"), at("2026-05-01T10:15:01Z"), step), 1);
    }
}
