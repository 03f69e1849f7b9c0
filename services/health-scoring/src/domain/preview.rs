//! A scorecard dry run's outcome: each evaluated account's live score beside its score under
//! the draft, summed up into band distributions, the mean score delta and the accounts that
//! would change band.

use std::cmp::Ordering;

use steward_proto::health::v1 as pb;

/// How many accounts a preview evaluates by default, and at most.
pub const DEFAULT_SAMPLE: i32 = 10_000;
pub const MAX_SAMPLE: i32 = 100_000;
/// How many band changes a preview lists by default, and at most.
pub const DEFAULT_BAND_CHANGES: i32 = 100;
pub const MAX_BAND_CHANGES: i32 = 1000;
/// Most accounts a preview may name.
pub const MAX_ACCOUNTS: usize = 1000;

/// `requested` as a limit: 0 means `default`, larger than `max` is coerced; `None` when
/// negative.
pub fn limit(requested: i32, default: i32, max: i32) -> Option<i32> {
    match requested {
        n if n < 0 => None,
        0 => Some(default),
        n => Some(n.min(max)),
    }
}

/// One evaluated account: its live score (`None` when it has never been scored) and its
/// score under the draft.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub account: String,
    pub live: Option<pb::HealthScore>,
    pub draft: pb::HealthScore,
}

/// The response's comparison fields for `evaluated` (matched and evaluated counts are the
/// caller's), listing at most `max_band_changes` band changes.
pub fn compare(evaluated: &[Evaluated], max_band_changes: usize) -> pb::PreviewScorecardResponse {
    let mut live_distribution = pb::BandDistribution::default();
    let mut draft_distribution = pb::BandDistribution::default();
    let mut deltas = Vec::new();
    let mut changes = Vec::new();
    for e in evaluated {
        let (live_score, live_band) = e.live.as_ref().map_or((None, 0), |l| (l.score, band_of(l)));
        let (draft_score, draft_band) = (e.draft.score, band_of(&e.draft));
        count(&mut live_distribution, live_band);
        count(&mut draft_distribution, draft_band);
        let delta = match (live_score, draft_score) {
            (Some(l), Some(d)) => {
                deltas.push(d - l);
                Some(d - l)
            }
            _ => None,
        };
        if live_band != draft_band {
            changes.push((
                delta.unwrap_or(0.0),
                pb::BandChange {
                    account: e.account.clone(),
                    live_score,
                    live_band,
                    draft_score,
                    draft_band,
                    live_scorecard: e
                        .live
                        .as_ref()
                        .map(|l| l.scorecard.clone())
                        .unwrap_or_default(),
                    live_scorecard_version: e.live.as_ref().map_or(0, |l| l.scorecard_version),
                },
            ));
        }
    }
    let mean_score_delta = if deltas.is_empty() {
        0.0
    } else {
        round2(deltas.iter().sum::<f64>() / deltas.len() as f64)
    };
    changes.sort_by(|(da, a), (db, b)| {
        da.partial_cmp(db).unwrap_or(Ordering::Equal).then_with(|| a.account.cmp(&b.account))
    });
    let band_change_count = i32::try_from(changes.len()).unwrap_or(i32::MAX);
    pb::PreviewScorecardResponse {
        live_distribution: Some(live_distribution),
        draft_distribution: Some(draft_distribution),
        mean_score_delta,
        band_change_count,
        band_changes: changes.into_iter().take(max_band_changes).map(|(_, c)| c).collect(),
        ..Default::default()
    }
}

/// A score's band, UNSPECIFIED when it has no score.
fn band_of(s: &pb::HealthScore) -> i32 {
    if s.score.is_some() { s.band } else { pb::HealthBand::Unspecified as i32 }
}

fn count(d: &mut pb::BandDistribution, band: i32) {
    match pb::HealthBand::try_from(band) {
        Ok(pb::HealthBand::Red) => d.red_count += 1,
        Ok(pb::HealthBand::Yellow) => d.yellow_count += 1,
        Ok(pb::HealthBand::Green) => d.green_count += 1,
        _ => d.unscored_count += 1,
    }
}

/// Rounded half away from zero to 2 decimals, as scores are.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::HealthBand as Band;

    fn score(s: Option<f64>, band: Band, scorecard: &str, version: i32) -> pb::HealthScore {
        pb::HealthScore {
            score: s,
            band: band as i32,
            scorecard: scorecard.into(),
            scorecard_version: version,
            ..Default::default()
        }
    }

    fn eval(account: &str, live: Option<pb::HealthScore>, draft: pb::HealthScore) -> Evaluated {
        Evaluated { account: account.into(), live, draft }
    }

    /// Five accounts: a GREEN 80 → YELLOW 60 (−20), b YELLOW 50 → YELLOW 45 (−5),
    /// c RED 30 → GREEN 75 (+45), d never scored → RED 10, e GREEN 90 → no score.
    fn sample() -> Vec<Evaluated> {
        let live = |s, b| Some(score(Some(s), b, "scorecards/default", 2));
        vec![
            eval("accounts/a", live(80.0, Band::Green), score(Some(60.0), Band::Yellow, "", 0)),
            eval("accounts/b", live(50.0, Band::Yellow), score(Some(45.0), Band::Yellow, "", 0)),
            eval("accounts/c", live(30.0, Band::Red), score(Some(75.0), Band::Green, "", 0)),
            eval("accounts/d", None, score(Some(10.0), Band::Red, "", 0)),
            eval("accounts/e", live(90.0, Band::Green), score(None, Band::Unspecified, "", 0)),
        ]
    }

    #[test]
    fn distributions_count_each_side_with_unscored_apart() {
        let got = compare(&sample(), 100);
        let d = |red, yellow, green, unscored| {
            Some(pb::BandDistribution {
                red_count: red,
                yellow_count: yellow,
                green_count: green,
                unscored_count: unscored,
            })
        };
        assert_eq!(got.live_distribution, d(1, 1, 2, 1));
        assert_eq!(got.draft_distribution, d(1, 2, 1, 1));
    }

    #[test]
    fn the_mean_delta_counts_accounts_scored_both_ways() {
        // (−20 − 5 + 45) / 3 = 6.666… → 6.67
        assert_eq!(compare(&sample(), 100).mean_score_delta, 6.67);
        assert_eq!(compare(&[], 100).mean_score_delta, 0.0);
    }

    #[test]
    fn band_changes_come_biggest_drop_first_then_by_name() {
        let got = compare(&sample(), 100);
        assert_eq!(got.band_change_count, 4, "b stays YELLOW");
        let order: Vec<_> = got.band_changes.iter().map(|c| c.account.as_str()).collect();
        // a −20; d and e have no delta (0), by name; c +45.
        assert_eq!(order, ["accounts/a", "accounts/d", "accounts/e", "accounts/c"]);
        let a = &got.band_changes[0];
        assert_eq!((a.live_score, a.draft_score), (Some(80.0), Some(60.0)));
        assert_eq!((a.live_band, a.draft_band), (Band::Green as i32, Band::Yellow as i32));
        assert_eq!(
            (a.live_scorecard.as_str(), a.live_scorecard_version),
            ("scorecards/default", 2)
        );
        let d = &got.band_changes[1];
        assert_eq!((d.live_score, d.live_band, d.live_scorecard.as_str()), (None, 0, ""));
        let e = &got.band_changes[2];
        assert_eq!((e.draft_score, e.draft_band), (None, Band::Unspecified as i32));
    }

    #[test]
    fn the_list_is_cut_but_the_count_is_not() {
        let got = compare(&sample(), 2);
        assert_eq!(got.band_change_count, 4);
        assert_eq!(got.band_changes.len(), 2);
    }

    #[test]
    fn limits_default_coerce_and_refuse_negatives() {
        assert_eq!(limit(0, DEFAULT_SAMPLE, MAX_SAMPLE), Some(10_000));
        assert_eq!(limit(5, DEFAULT_SAMPLE, MAX_SAMPLE), Some(5));
        assert_eq!(limit(1_000_000, DEFAULT_SAMPLE, MAX_SAMPLE), Some(100_000));
        assert_eq!(limit(-1, DEFAULT_BAND_CHANGES, MAX_BAND_CHANGES), None);
    }
}
