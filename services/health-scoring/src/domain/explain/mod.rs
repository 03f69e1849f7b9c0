//! Explanations: how a score moved since an earlier one (by component, matched by id), the
//! top movers of a health feed entry, whether a re-score changed anything worth storing,
//! and the short English lines `ExplainHealthScore` answers with.
//!
//! Deltas are taken between the reported (cent-rounded) contributions, which sum exactly to
//! each score, so the movers' deltas sum exactly to the score delta. A component present on
//! one side only counts 0 on the other; one left out (MISSING or STALE) contributes 0.

#[cfg(test)]
mod tests;

use steward_kit::time::from_timestamp;
use steward_proto::health::v1 as pb;

use super::compute::round_to;
use super::measures::text::{percent, signed};

/// At most this many lines in an explanation (the API promises 1–10).
const MAX_LINES: usize = 10;

/// At most this many movers in a health feed entry.
const TOP_MOVERS: usize = 3;

/// Coverage below this gets a line of its own: the score rests on few signals.
const LOW_COVERAGE: f64 = 0.5;

/// The fact tails that `compute` appends to a left-out component's reason.
const LEFT_OUT: [&str; 2] = ["; left out, other weights renormalized", "; left out"];

/// How `after` moved since `before`: the earlier score, band and scorecard, the score
/// delta, and the components whose contribution moved by at least 0.01 points, largest
/// move first (equal moves in `after`'s component order, removed components last).
///
/// When either score is unset the delta is 0 (as the API defines it) and there are no
/// movers, so that the movers' deltas always sum to `score_delta`; [`summary`] says what
/// happened instead.
pub fn compare(before: &pb::HealthScore, after: &pb::HealthScore) -> pb::ScoreComparison {
    let both = before.score.zip(after.score);
    pb::ScoreComparison {
        compare_time: before.compute_time,
        earlier_score: before.score,
        earlier_band: before.band,
        earlier_scorecard: before.scorecard.clone(),
        earlier_scorecard_version: before.scorecard_version,
        score_delta: both.map_or(0.0, |(b, a)| round_to(a - b, 2)),
        movers: if both.is_some() { deltas(before, after) } else { Vec::new() },
    }
}

/// The top 3 movers for the health feed entry from `before` (`None` for a first score) to
/// `after`, largest move first. Unlike [`compare`], a side without a score counts its
/// components 0, so a first score's movers are its largest contributions and a lost score's
/// are what it lost.
pub fn moves(before: Option<&pb::HealthScore>, after: &pb::HealthScore) -> Vec<pb::ComponentMove> {
    let none = pb::HealthScore::default();
    deltas(before.unwrap_or(&none), after)
        .into_iter()
        .take(TOP_MOVERS)
        .map(|d| pb::ComponentMove {
            component_id: d.component_id,
            display_name: d.display_name,
            points_delta: d.contribution_delta,
            fact: if d.current_fact.is_empty() { d.earlier_fact } else { d.current_fact },
        })
        .collect()
}

/// Whether `after` must be stored and appended to the feed: always for a first score;
/// otherwise unless the rounded score, the band, the scorecard and its version are all the
/// same (moves in the breakdown alone are not a change, as the service comment says).
pub fn changed(before: Option<&pb::HealthScore>, after: &pb::HealthScore) -> bool {
    let Some(b) = before else { return true };
    // Scores are stored rounded; compare cents so that binary noise is no change.
    let cents = |s: Option<f64>| s.map(|s| (round_to(s, 2) * 100.0).round() as i64);
    cents(b.score) != cents(after.score)
        || b.band != after.band
        || b.scorecard != after.scorecard
        || b.scorecard_version != after.scorecard_version
}

/// The explanation lines for `current`, compared with an earlier score when there is one:
/// the headline (score, band, change since when), a model change, one line per mover
/// ([`mover_line`]), the components left out that did not move, a low-coverage warning.
/// Between 1 and 10 lines, most important first.
pub fn summary(current: &pb::HealthScore, comparison: Option<&pb::ScoreComparison>) -> Vec<String> {
    let mut lines = vec![headline(current, comparison)];
    if let Some(c) = comparison.filter(|c| {
        !c.earlier_scorecard.is_empty()
            && (c.earlier_scorecard != current.scorecard
                || c.earlier_scorecard_version != current.scorecard_version)
    }) {
        lines.push(format!(
            "Scored by {} version {} (was {} version {}): part of the change comes from the \
             model.",
            current.scorecard,
            current.scorecard_version,
            c.earlier_scorecard,
            c.earlier_scorecard_version
        ));
    }
    let movers = comparison.map_or(&[][..], |c| &c.movers[..]);
    lines.extend(movers.iter().map(mover_line));
    let left_out = current.components.iter().filter(|c| {
        c.state != pb::ComponentState::Included as i32
            && !movers.iter().any(|m| m.component_id == c.component_id)
    });
    lines.extend(left_out.map(|c| {
        let (reason, tail) = split_left_out(&c.fact);
        format!("{reason}: {} {tail}.", c.display_name)
    }));
    if current.score.is_some() && current.coverage < LOW_COVERAGE {
        lines.push(format!(
            "Only {} of the scorecard's weight had usable data: the score rests on few signals.",
            percent(current.coverage)
        ));
    }
    lines.truncate(MAX_LINES);
    lines
}

/// One mover as a line, e.g. "3 URGENT tickets in 14 days: Support severity −12.00
/// points." A component left out says so; one whose own points did not change moved
/// only because other components came or went, which the line says too.
pub fn mover_line(d: &pb::ComponentDelta) -> String {
    let fact = if d.current_fact.is_empty() { &d.earlier_fact } else { &d.current_fact };
    let (reason, tail) = split_left_out(fact);
    let delta = signed(d.contribution_delta, 2);
    let name = &d.display_name;
    let reweighted = d.current_points == d.earlier_points
        && d.current_contribution != 0.0
        && d.earlier_contribution != 0.0;
    match () {
        _ if d.current_fact.is_empty() => format!("{reason}: {name} removed, {delta} points."),
        _ if !tail.is_empty() => format!("{reason}: {name} {tail}, {delta} points."),
        _ if reweighted => format!("{reason}: {name} {delta} points (weights renormalized)."),
        _ => format!("{reason}: {name} {delta} points."),
    }
}

/// A fact split into its reason and the "left out…" tail `compute` appended (without the
/// separator); the tail is empty for an included component's fact.
fn split_left_out(fact: &str) -> (&str, &str) {
    LEFT_OUT
        .iter()
        .find_map(|tail| fact.strip_suffix(tail).map(|reason| (reason, &tail[2..])))
        .unwrap_or((fact, ""))
}

/// Every component's move from `before` to `after`, at least one cent, largest first.
fn deltas(before: &pb::HealthScore, after: &pb::HealthScore) -> Vec<pb::ComponentDelta> {
    let earlier = |id: &str| before.components.iter().find(|c| c.component_id == id);
    let current = |id: &str| after.components.iter().find(|c| c.component_id == id);
    let ids = after.components.iter().map(|c| c.component_id.as_str()).chain(
        before
            .components
            .iter()
            .map(|c| c.component_id.as_str())
            .filter(|id| current(id).is_none()),
    );
    let mut out: Vec<(i64, pb::ComponentDelta)> = Vec::new();
    for id in ids {
        if out.iter().any(|(_, d)| d.component_id == id) {
            continue; // a duplicated id (never from a valid scorecard) counts once
        }
        let (e, c) = (earlier(id), current(id));
        let cents = |s: Option<&pb::ComponentScore>| {
            s.map_or(0, |s| (round_to(s.contribution, 2) * 100.0).round() as i64)
        };
        let delta = cents(c) - cents(e);
        if delta == 0 {
            continue;
        }
        let points = |s: Option<&pb::ComponentScore>| s.map_or(0.0, |s| s.points);
        let contribution = |s: Option<&pb::ComponentScore>| s.map_or(0.0, |s| s.contribution);
        let fact = |s: Option<&pb::ComponentScore>| s.map(|s| s.fact.clone()).unwrap_or_default();
        out.push((
            delta,
            pb::ComponentDelta {
                component_id: id.to_owned(),
                display_name: c.or(e).map(|s| s.display_name.clone()).unwrap_or_default(),
                earlier_points: points(e),
                current_points: points(c),
                earlier_contribution: contribution(e),
                current_contribution: contribution(c),
                contribution_delta: delta as f64 / 100.0,
                earlier_fact: fact(e),
                current_fact: fact(c),
            },
        ));
    }
    // Stable: equal moves keep `after`'s order, removed components last.
    out.sort_by_key(|(delta, _)| std::cmp::Reverse(delta.unsigned_abs()));
    out.into_iter().map(|(_, d)| d).collect()
}

/// "Score 58.40 (YELLOW), down 14.20 from 72.60 (GREEN) since 2025-05-01."
fn headline(current: &pb::HealthScore, comparison: Option<&pb::ScoreComparison>) -> String {
    let since = comparison
        .and_then(|c| c.compare_time.as_ref())
        .and_then(from_timestamp)
        .map(|t| format!(" since {}", t.date_naive()))
        .unwrap_or_default();
    let earlier = comparison.and_then(|c| c.earlier_score.map(|s| (s, c.earlier_band)));
    match (current.score, earlier) {
        (None, None) => "No score: no component had usable data.".into(),
        (None, Some((e, band))) => {
            format!(
                "No score now, {} ({}){since}: no component had usable data.",
                two(e),
                name(band)
            )
        }
        (Some(s), None) => {
            format!("Score {} ({}); no earlier score to compare with.", two(s), name(current.band))
        }
        (Some(s), Some((e, band))) => {
            let now = format!("Score {} ({})", two(s), name(current.band));
            let then = format!("{} ({}){since}", two(e), name(band));
            match round_to(s - e, 2) {
                d if d > 0.0 => format!("{now}, up {} from {then}.", two(d)),
                d if d < 0.0 => format!("{now}, down {} from {then}.", two(-d)),
                _ if band == current.band => format!("{now}, unchanged{since}."),
                _ => format!("{now}, the same score as {then}."),
            }
        }
    }
}

/// A score as the API writes it, 2 decimals.
fn two(x: f64) -> String {
    format!("{:.2}", round_to(x, 2))
}

/// "RED", "YELLOW", "GREEN", or "no band".
fn name(band: i32) -> &'static str {
    match pb::HealthBand::try_from(band) {
        Ok(pb::HealthBand::Red) => "RED",
        Ok(pb::HealthBand::Yellow) => "YELLOW",
        Ok(pb::HealthBand::Green) => "GREEN",
        _ => "no band",
    }
}
