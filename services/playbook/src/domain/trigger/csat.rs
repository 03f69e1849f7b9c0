//! The CSAT decline check: the good share of the last window against a bound and against
//! the previous window, with the least number of ratings each window needs.

use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::evidence::{at_least, compared, context, two};
use super::{Check, csat_window};
use crate::domain::definition::DEFAULT_MIN_RESPONSES;
use crate::domain::duration::{english, label};
use crate::domain::facts::Facts;
use pb::NotFiringReason as R;

/// The CSAT good share of a window's figures and its number of ratings.
fn csat(f: Option<&ticket_pb::SupportFigures>) -> (Option<f64>, i32) {
    let Some(f) = f else { return (None, 0) };
    let share = f.csat_good_share.or_else(|| {
        (f.csat_responses > 0).then(|| f64::from(f.csat_good) / f64::from(f.csat_responses))
    });
    (share.filter(|s| s.is_finite()), f.csat_responses)
}

/// CSAT_DECLINE: the share of the last `window` below `below_share` and/or at least
/// `drop_points` below the previous window's; NO_DATA under `min_responses` ratings in a
/// window involved.
pub(super) fn csat_decline(t: &pb::CsatDeclineTrigger, facts: &Facts) -> Check {
    let window = csat_window(t);
    let w = label(window);
    let span = english(window);
    let min = if t.min_responses > 0 { t.min_responses } else { DEFAULT_MIN_RESPONSES };
    let summary_of = facts.summary(window);
    let (share, responses) = csat(summary_of.and_then(|s| s.current.as_ref()));
    let (prev_share, prev_responses) = csat(summary_of.and_then(|s| s.previous.as_ref()));
    let enough = responses >= min;
    let prev_enough = prev_responses >= min;
    let usable = |s: Option<f64>, ok: bool| s.filter(|_| ok);
    let share = usable(share, enough);
    let prev_share = usable(prev_share, prev_enough);
    let drop = share.zip(prev_share).map(|(s, p)| (p - s) * 100.0);

    let below_ok = t.below_share.is_none_or(|b| share.is_some_and(|s| s < b));
    let drop_ok = t.drop_points.is_none_or(|d| drop.is_some_and(|x| at_least(x, d)));
    let share_text = share.map(two).unwrap_or_default();
    let drop_text = drop.map(two).unwrap_or_default();
    let share_fact = format!(
        "CSAT good share {} over the last {span}",
        if share_text.is_empty() { "unknown" } else { &share_text }
    );
    let drop_fact = match drop {
        Some(d) => format!("CSAT {} points below the previous {span}", two(d)),
        None => "CSAT change unknown".to_owned(),
    };
    let evidence = vec![
        match t.below_share {
            Some(b) => compared(
                format!("csat_good_share_{w}"),
                &share_text,
                "<",
                two(b),
                below_ok,
                share_fact,
            ),
            None => context(format!("csat_good_share_{w}"), &share_text, share_fact),
        },
        match t.drop_points {
            Some(d) => compared(
                format!("csat_drop_points_{w}"),
                &drop_text,
                ">=",
                two(d),
                drop_ok,
                drop_fact,
            ),
            None => context(format!("csat_drop_points_{w}"), &drop_text, drop_fact),
        },
        compared(
            format!("csat_responses_{w}"),
            responses.to_string(),
            ">=",
            min.to_string(),
            enough,
            format!("{responses} CSAT ratings in the last {span}"),
        ),
        if t.drop_points.is_some() {
            compared(
                format!("csat_previous_responses_{w}"),
                prev_responses.to_string(),
                ">=",
                min.to_string(),
                prev_enough,
                format!("{prev_responses} CSAT ratings in the previous {span}"),
            )
        } else {
            context(
                format!("csat_previous_responses_{w}"),
                prev_responses.to_string(),
                format!("{prev_responses} CSAT ratings in the previous {span}"),
            )
        },
    ];
    if summary_of.is_none() {
        return Check::new(R::NoData, evidence, format!("No support summary for {span}"));
    }
    if !enough || (t.drop_points.is_some() && !prev_enough) {
        let summary = format!(
            "Too few CSAT ratings: {responses} in the last {span}, {prev_responses} in the previous (need {min} each)"
        );
        return Check::new(R::NoData, evidence, summary);
    }
    let mut summary = format!("CSAT good share {share_text} in {span}");
    if let (Some(d), Some(p)) = (drop, prev_share) {
        summary.push_str(&format!(
            ", {} points from {}",
            if d >= 0.0 { format!("down {}", two(d)) } else { format!("up {}", two(-d)) },
            two(p)
        ));
    }
    let mut thresholds = Vec::new();
    if let Some(b) = t.below_share {
        thresholds.push(format!("below {}", two(b)));
    }
    if let Some(d) = t.drop_points {
        thresholds.push(format!("down {} points", two(d)));
    }
    summary.push_str(&format!(" (threshold {})", thresholds.join(" and ")));
    Check::new(
        if below_ok && drop_ok { R::Unspecified } else { R::BelowThreshold },
        evidence,
        summary,
    )
}
