//! How health scores read in a terminal, shared by `scores`, `watch` and `360`: scores to 2
//! decimals, bands, `scorecard@version`, measured values with their units, the breakdown
//! table, and the sparkline of a score series.

use steward_proto::health::v1 as pb;

use crate::output;

/// The eight levels of a sparkline, lowest first; each covers 12.5 score points.
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A score as the API gives it, 2 decimals; `-` when the account has none.
pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |s| format!("{s:.2}"))
}

/// `GREEN`, `YELLOW`, `RED`, or `-` when there is no band: upper case, as the explanations
/// write bands.
pub fn band(value: i32) -> String {
    let name = pb::HealthBand::try_from(value).map_or("?", |b| b.as_str_name());
    output::enum_name(name, "HEALTH_BAND_").to_uppercase()
}

/// `53.13 YELLOW`, or `no score`.
pub fn score_and_band(value: Option<f64>, band_value: i32) -> String {
    match value {
        Some(_) => format!("{} {}", score(value), band(band_value)),
        None => "no score".into(),
    }
}

/// `default@1` for `scorecards/default` version 1; `-` when there is none.
pub fn scorecard(name: &str, version: i32) -> String {
    if name.is_empty() {
        return "-".into();
    }
    format!("{}@{version}", name.trim_start_matches("scorecards/"))
}

/// A measured value and its unit, e.g. `3 tickets`, `0.12 days`; `-` when unset.
pub fn value(value: Option<f64>, unit: &str) -> String {
    match value {
        Some(v) if unit.is_empty() => number(v),
        Some(v) => format!("{} {unit}", number(v)),
        None => "-".into(),
    }
}

/// A number with at most 2 decimals and no trailing zeros: `3`, `0.5`, `0.12`.
pub fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.to_owned() }
}

/// A signed move in score points, e.g. `-46.87`, `+5.00`.
pub fn delta(v: f64) -> String {
    format!("{v:+.2}")
}

/// `included`, `missing` or `stale`.
pub fn state(value: i32) -> String {
    let name = pb::ComponentState::try_from(value).map_or("?", |s| s.as_str_name());
    output::enum_name(name, "COMPONENT_STATE_")
}

/// The breakdown of a score, one row per component in the scorecard's order.
pub fn breakdown(s: &pb::HealthScore) -> String {
    let headers =
        ["component", "state", "value", "points", "weight", "eff. weight", "contribution", "fact"];
    let rows = s.components.iter().map(|c| {
        vec![
            c.component_id.clone(),
            state(c.state),
            value(c.value, &c.unit),
            format!("{:.2}", c.points),
            number(c.weight),
            format!("{:.4}", c.effective_weight),
            format!("{:.2}", c.contribution),
            c.fact.clone(),
        ]
    });
    output::table(&headers, rows)
}

/// One character per point, `▁` (0–12.5) to `█` (87.5–100); a blank where the account had
/// no score.
pub fn sparkline(points: &[pb::ScorePoint]) -> String {
    points
        .iter()
        .map(|p| match p.score {
            Some(s) => {
                let level = (s.clamp(0.0, 100.0) * 8.0 / 100.0).floor() as usize;
                SPARKS[level.min(SPARKS.len() - 1)]
            }
            None => ' ',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(score: Option<f64>) -> pb::ScorePoint {
        pb::ScorePoint { score, ..Default::default() }
    }

    #[test]
    fn the_sparkline_spans_0_to_100_in_eight_steps() {
        let scores = [0.0, 12.49, 12.5, 53.13, 87.5, 99.99, 100.0];
        let points: Vec<_> = scores.iter().map(|s| point(Some(*s))).collect();
        assert_eq!(sparkline(&points), "▁▁▂▅███");
        assert_eq!(sparkline(&[point(Some(40.0)), point(None), point(Some(70.0))]), "▄ ▆");
    }

    #[test]
    fn numbers_drop_trailing_zeros_and_scores_keep_two_decimals() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.116_666), "0.12");
        assert_eq!(number(-0.001), "0");
        assert_eq!(score(Some(53.125_000_1)), "53.13");
        assert_eq!(score(Some(100.0)), "100.00");
        assert_eq!(score(None), "-");
        assert_eq!(value(Some(3.0), "tickets"), "3 tickets");
        assert_eq!(delta(-46.87), "-46.87");
        assert_eq!(delta(5.0), "+5.00");
    }

    #[test]
    fn bands_and_scorecards_read_short() {
        assert_eq!(band(pb::HealthBand::Yellow as i32), "YELLOW");
        assert_eq!(band(0), "-");
        assert_eq!(score_and_band(Some(53.13), pb::HealthBand::Yellow as i32), "53.13 YELLOW");
        assert_eq!(score_and_band(None, 0), "no score");
        assert_eq!(scorecard("scorecards/default", 1), "default@1");
        assert_eq!(scorecard("", 0), "-");
    }
}
