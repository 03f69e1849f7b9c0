//! Scoring functions: how a component's measured value turns into 0–100 points (threshold
//! ranges or a linear ramp between two anchors), and the validation of both forms.

use steward_kit::Violations;
use steward_proto::health::v1 as pb;

use pb::component::Scoring;

/// The most ranges a threshold scoring may have.
const MAX_RANGES: usize = 20;

/// The points `scoring` gives `value`, in 0–100, unrounded (the score is rounded once, at
/// the end, so that contributions add up exactly).
///
/// Threshold ranges are lower-inclusive and upper-exclusive. A linear scoring gives
/// `100 × (value − zero_points_value) / (full_points_value − zero_points_value)`, clamped
/// to 0–100, whichever anchor is higher. Never panics: a value no range covers, a NaN value
/// and a scoring that `check` would refuse (equal anchors) all give 0 points.
pub fn points(scoring: &Scoring, value: f64) -> f64 {
    let raw = match scoring {
        Scoring::Thresholds(t) => t
            .ranges
            .iter()
            .find(|r| {
                r.lower_bound.is_none_or(|lower| value >= lower)
                    && r.upper_bound.is_none_or(|upper| value < upper)
            })
            .map_or(0.0, |r| r.points),
        Scoring::Linear(l) => 100.0 * ramp(l.zero_points_value, l.full_points_value, value),
    };
    clamp_points(raw)
}

/// Where `value` lies between `zero` (0) and `full` (1), unclamped; 0 when the anchors are
/// equal or the value is NaN.
fn ramp(zero: f64, full: f64, value: f64) -> f64 {
    let span = full - zero;
    let t = if span.is_finite() {
        // `value − zero` may overflow to an infinity of the right sign: the clamp fixes it.
        (value - zero) / span
    } else {
        // Anchors far apart (e.g. ±1e308) overflow the span; halving every term keeps the
        // ratio and stays finite, since halving a double is exact outside subnormals.
        (value / 2.0 - zero / 2.0) / (full / 2.0 - zero / 2.0)
    };
    if t.is_nan() { 0.0 } else { t }
}

/// `p` within 0–100; NaN (only from an unvalidated scoring) counts as 0.
fn clamp_points(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) }
}

/// Validates a component's scoring function, recording every violation under `field`, the
/// component's path (e.g. `scorecard.components[2]`), so that a bad bound is named
/// `scorecard.components[2].thresholds.ranges[1].lower_bound`.
///
/// Threshold scoring: 1–20 ranges, sorted ascending and contiguous (each upper bound is the
/// next lower bound), the first without a lower bound, the last without an upper bound,
/// every other bound set and finite, each lower bound below its upper bound, points finite
/// and in 0–100. Linear scoring: both anchors finite and different. One of the two is
/// required.
pub fn check(scoring: Option<&Scoring>, field: &str, v: &mut Violations) {
    match scoring {
        None => v.add(format!("{field}.scoring"), "required: set `thresholds` or `linear`"),
        Some(Scoring::Thresholds(t)) => check_thresholds(t, &format!("{field}.thresholds"), v),
        Some(Scoring::Linear(l)) => check_linear(l, &format!("{field}.linear"), v),
    }
}

fn check_thresholds(t: &pb::ThresholdScoring, field: &str, v: &mut Violations) {
    let ranges = &t.ranges;
    let field = format!("{field}.ranges");
    if ranges.is_empty() || ranges.len() > MAX_RANGES {
        v.add(&field, format!("must hold 1-{MAX_RANGES} ranges"));
        if ranges.is_empty() {
            return;
        }
    }
    let last = ranges.len() - 1;
    for (i, r) in ranges.iter().enumerate() {
        let at = |f: &str| format!("{field}[{i}].{f}");
        match (i, r.lower_bound) {
            (0, Some(_)) => v.add(at("lower_bound"), "must be unset on the first range"),
            (0, None) => {}
            (_, None) => v.add(at("lower_bound"), "required on every range but the first"),
            (_, Some(b)) if !b.is_finite() => v.add(at("lower_bound"), "must be finite"),
            (_, Some(b)) => {
                // The previous range's upper bound is checked on its own; compare only when
                // it is usable, so that one bad number is reported once.
                let previous = ranges[i - 1].upper_bound.filter(|u| u.is_finite());
                if let Some(u) = previous.filter(|u| *u != b) {
                    v.add(
                        at("lower_bound"),
                        format!(
                            "must equal the upper bound of range {} ({u}): ranges are sorted \
                             ascending, contiguous and non-overlapping",
                            i - 1
                        ),
                    );
                }
            }
        }
        match (i == last, r.upper_bound) {
            (true, Some(_)) => v.add(at("upper_bound"), "must be unset on the last range"),
            (true, None) => {}
            (false, None) => v.add(at("upper_bound"), "required on every range but the last"),
            (false, Some(b)) if !b.is_finite() => v.add(at("upper_bound"), "must be finite"),
            (false, Some(_)) => {}
        }
        if let (Some(lower), Some(upper)) = (r.lower_bound, r.upper_bound)
            && lower.is_finite()
            && upper.is_finite()
            && lower >= upper
        {
            v.add(at("upper_bound"), format!("must be above the lower bound ({lower})"));
        }
        v.check(
            r.points.is_finite() && (0.0..=100.0).contains(&r.points),
            at("points"),
            "must be a number from 0 to 100",
        );
    }
}

fn check_linear(l: &pb::LinearScoring, field: &str, v: &mut Violations) {
    let zero_ok = l.zero_points_value.is_finite();
    let full_ok = l.full_points_value.is_finite();
    v.check(zero_ok, format!("{field}.zero_points_value"), "must be finite");
    v.check(full_ok, format!("{field}.full_points_value"), "must be finite");
    v.check(
        !(zero_ok && full_ok) || l.zero_points_value != l.full_points_value,
        format!("{field}.full_points_value"),
        "must differ from zero_points_value",
    );
}

// The tests are many; they live in `scoring/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
