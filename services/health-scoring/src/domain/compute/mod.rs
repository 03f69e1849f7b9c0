//! A score from a scorecard and its components' readings, as the service comment's "How a
//! score is computed" lays it out: points per INCLUDED component, weights renormalized over
//! the included ones, `contribution = points × effective weight`, the score their sum
//! rounded half away from zero to 2 decimals, the band from the rounded score.
//!
//! Rounding is decimal, not binary: 39.995 is stored in binary as 39.99499999…, and naive
//! `(x × 100).round()` would give 39.99 and the wrong band. Every figure is first snapped
//! to a grid of 10⁻⁹ points (far below anything a measure can mean, far above the noise of
//! double arithmetic on values up to 100), then rounded in integers. The reported
//! contributions are rounded to cents by largest remainder, so that they add up exactly to
//! the score (as `HealthScore` promises) and each is within 0.01 of its unrounded value.

mod round;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use steward_proto::health::v1 as pb;

use super::measures::Reading;
use super::measures::text::age;
use super::scorecard::{band, bands};
use super::scoring::points;
pub use round::round_to;
use round::{CENT, cents, units};

/// The computed parts of a `pb::HealthScore`.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// The score, 0–100 with 2 decimals; `None` when no component was INCLUDED.
    pub score: Option<f64>,
    /// The band of `score`; UNSPECIFIED without a score.
    pub band: pb::HealthBand,
    /// One entry per scorecard component, in the scorecard's order.
    pub components: Vec<pb::ComponentScore>,
    /// Included weight / all weight, 0–1, 4 decimals.
    pub coverage: f64,
}

impl Computed {
    /// The account's `pb::HealthScore`: this result, the scorecard and version that computed
    /// it, computed and evaluated at `now`, with `freshness` (see
    /// [`measures::freshness`](super::measures::freshness)). The `previous_*` fields are the
    /// store's to fill from the score this one replaces.
    pub fn health_score(
        self,
        account: &str,
        scorecard: &pb::Scorecard,
        now: DateTime<Utc>,
        freshness: pb::InputFreshness,
    ) -> pb::HealthScore {
        let stamp = steward_kit::time::timestamp(now);
        pb::HealthScore {
            name: format!("{account}/healthScore"),
            account: account.to_owned(),
            score: self.score,
            band: self.band as i32,
            scorecard: scorecard.name.clone(),
            scorecard_version: scorecard.version,
            components: self.components,
            coverage: self.coverage,
            compute_time: Some(stamp),
            evaluate_time: Some(stamp),
            freshness: Some(freshness),
            ..Default::default()
        }
    }
}

/// One component on its way to a `ComponentScore`.
struct Part<'a> {
    component: &'a pb::Component,
    reading: Option<&'a Reading>,
    /// `(points, weight)` when INCLUDED: unrounded points, a positive finite weight.
    included: Option<(f64, f64)>,
    /// Why it is left out, when it is (MISSING or STALE).
    left_out: Option<(pb::ComponentState, String)>,
}

/// Scores `readings` (one per component of `scorecard`, in order) with `scorecard`.
///
/// A component is INCLUDED when its reading is a value, it has a scoring function and a
/// positive finite weight (validation guarantees both; a scorecard that slipped past it
/// gets that component MISSING, not a panic). A component without a reading (fewer
/// readings than components) is MISSING.
pub fn score(scorecard: &pb::Scorecard, readings: &[Reading]) -> Computed {
    let parts: Vec<Part<'_>> =
        scorecard.components.iter().enumerate().map(|(i, c)| judge(c, readings.get(i))).collect();
    let included_weight: f64 = parts.iter().filter_map(|p| p.included).map(|(_, w)| w).sum();
    let total_weight: f64 =
        scorecard.components.iter().map(|c| c.weight).filter(|w| valid_weight(*w)).sum();
    // At most 20 components of weight at most 100: the sums are finite, and positive as
    // soon as one component is included.
    let any = included_weight > 0.0;
    let raw: Vec<Option<f64>> = parts
        .iter()
        .map(|p| p.included.map(|(points, w)| points * (w / included_weight)))
        .collect();
    let score_cents = any.then(|| cents(raw.iter().flatten().map(|c| units(*c)).sum()));
    let shares = largest_remainder(&raw, score_cents.unwrap_or(0));
    let components = parts
        .iter()
        .zip(&shares)
        .map(|(p, share)| component_score(p, *share, included_weight, any))
        .collect();
    let score = score_cents.map(|c| c as f64 / 100.0);
    Computed {
        score,
        band: score.map_or(pb::HealthBand::Unspecified, |s| band(s, &bands(scorecard))),
        components,
        coverage: if total_weight > 0.0 {
            round_to((included_weight / total_weight).min(1.0), 4)
        } else {
            0.0
        },
    }
}

fn valid_weight(w: f64) -> bool {
    w.is_finite() && w > 0.0
}

/// Decides whether one component counts, and with how many points.
fn judge<'a>(component: &'a pb::Component, reading: Option<&'a Reading>) -> Part<'a> {
    let part = |included, left_out| Part { component, reading, included, left_out };
    let missing = |why: &str| part(None, Some((pb::ComponentState::Missing, why.to_owned())));
    match reading {
        None => missing("Not read"),
        Some(Reading::Missing { reason, .. }) => missing(reason),
        Some(Reading::Stale { facts, age: old, max_age, .. }) => {
            let mut why = facts.join("; ");
            if !why.is_empty() {
                why.push_str("; ");
            }
            why.push_str(&format!("data {} old (limit {})", age(*old), age(*max_age)));
            part(None, Some((pb::ComponentState::Stale, why)))
        }
        Some(Reading::Value { value, .. }) => {
            let Some(scoring) = component.scoring.as_ref() else {
                return missing("The component has no scoring function");
            };
            if !valid_weight(component.weight) {
                return missing("The component's weight is not a positive number");
            }
            if !value.is_finite() {
                return missing("The measured value is not a finite number");
            }
            let p = points(scoring, *value);
            // `points` keeps to 0–100; the guard keeps a NaN from ever reaching the sum.
            part(
                Some((if p.is_finite() { p.clamp(0.0, 100.0) } else { 0.0 }, component.weight)),
                None,
            )
        }
    }
}

/// Each included contribution in cents, summing exactly to `target`: every contribution
/// rounded down to the cent, then the missing cents (`target` − sum of those) given one
/// each to the largest remainders, ties to the earlier component. `target` is the rounded
/// sum, so it lies within the number of included components of the floors' sum and every
/// share stays within one cent of its unrounded value.
fn largest_remainder(raw: &[Option<f64>], target: i64) -> Vec<i64> {
    let mut shares = vec![0_i64; raw.len()];
    let mut rest: Vec<(i64, usize)> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        if let Some(c) = r {
            let u = units(*c);
            shares[i] = u.div_euclid(CENT);
            rest.push((u.rem_euclid(CENT), i));
        }
    }
    // Largest remainder first; `sort_by_key` is stable, so ties keep the component order.
    rest.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut missing = target - shares.iter().sum::<i64>();
    // The loops end: `rest` is non-empty whenever `target` is non-zero, and each pass moves
    // `missing` towards 0 by at least one.
    while missing > 0 && !rest.is_empty() {
        for (_, i) in &rest {
            if missing == 0 {
                break;
            }
            shares[*i] += 1;
            missing -= 1;
        }
    }
    while missing < 0 && !rest.is_empty() {
        for (_, i) in rest.iter().rev() {
            if missing == 0 {
                break;
            }
            shares[*i] -= 1;
            missing += 1;
        }
    }
    shares
}

/// The API form of one component's part.
fn component_score(
    part: &Part<'_>,
    cents: i64,
    included_weight: f64,
    any_included: bool,
) -> pb::ComponentScore {
    let c = part.component;
    let (state, points, effective_weight, contribution, fact) =
        match (&part.included, &part.left_out) {
            (Some((points, weight)), _) => (
                pb::ComponentState::Included,
                round_to(*points, 2),
                round_to(weight / included_weight, 4),
                cents as f64 / 100.0,
                match part.reading {
                    Some(Reading::Value { facts, .. }) => facts.join("; "),
                    _ => String::new(),
                },
            ),
            (None, left_out) => {
                let (state, why) =
                    left_out.clone().unwrap_or((pb::ComponentState::Missing, String::new()));
                let tail =
                    if any_included { "left out, other weights renormalized" } else { "left out" };
                let fact = if why.is_empty() { tail.to_owned() } else { format!("{why}; {tail}") };
                (state, 0.0, 0.0, 0.0, fact)
            }
        };
    pb::ComponentScore {
        component_id: c.id.clone(),
        display_name: c.display_name.clone(),
        measure: c.measure.clone(),
        state: state as i32,
        value: part.reading.and_then(Reading::value),
        unit: part.reading.map(|r| r.unit().to_owned()).unwrap_or_default(),
        points,
        weight: c.weight,
        effective_weight,
        contribution,
        fact,
        data_time: part.reading.and_then(Reading::data_time).map(steward_kit::time::timestamp),
    }
}
