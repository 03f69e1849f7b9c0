//! One check per trigger kind, each with its documented evidence names.

use chrono::{DateTime, TimeDelta, Utc};
use steward_proto::playbook::v1 as pb;

use super::evidence::{at_least, compared, context, two};
use super::{Check, Entry};
use crate::domain::definition::DEFAULT_ENTRY_WITHIN_DAYS;
use crate::domain::duration::{DAY, english, hours, label, to_delta};
use crate::domain::facts::{self, Facts};
use pb::NotFiringReason as R;

/// BAND_ENTERED: in the band, entered at most `within` ago, that entry not fired yet.
pub(super) fn band_entered(t: &pb::BandEnteredTrigger, facts: &Facts, fired: &[Entry]) -> Check {
    let wanted = facts::band_name(pb::HealthBand::try_from(t.band).unwrap_or_default());
    let current = facts::band_name(facts.band());
    let entered = if current.is_empty() { None } else { facts.band_entered };
    entry_check(Entered {
        kind: pb::TriggerKind::BandEntered,
        what: "health_band",
        ago_name: "band_entered_hours_ago",
        wanted: &wanted,
        current: &current,
        entered,
        within: within_or_default(t.within.as_ref()),
        now: facts.now,
        no_data: "No health score",
        fired,
    })
}

/// LIFECYCLE_STAGE_ENTERED: in the stage, entered at most `within` ago, not fired yet.
pub(super) fn stage_entered(
    t: &pb::LifecycleStageEnteredTrigger,
    facts: &Facts,
    fired: &[Entry],
) -> Check {
    let wanted = facts::stage_name(pb::LifecycleStage::try_from(t.stage).unwrap_or_default());
    let current = facts::stage_name(facts.stage());
    let entered = if current.is_empty() { None } else { facts.stage_entered };
    entry_check(Entered {
        kind: pb::TriggerKind::LifecycleStageEntered,
        what: "lifecycle_stage",
        ago_name: "stage_entered_hours_ago",
        wanted: &wanted,
        current: &current,
        entered,
        within: within_or_default(t.within.as_ref()),
        now: facts.now,
        no_data: "Lifecycle stage unknown",
        fired,
    })
}

fn within_or_default(d: Option<&prost_types::Duration>) -> TimeDelta {
    d.and_then(to_delta).unwrap_or(TimeDelta::days(DEFAULT_ENTRY_WITHIN_DAYS))
}

/// The shared shape of band and stage entries.
struct Entered<'a> {
    kind: pb::TriggerKind,
    what: &'a str,
    ago_name: &'a str,
    wanted: &'a str,
    current: &'a str,
    entered: Option<DateTime<Utc>>,
    within: TimeDelta,
    now: DateTime<Utc>,
    no_data: &'a str,
    fired: &'a [Entry],
}

fn entry_check(e: Entered<'_>) -> Check {
    let in_it = !e.current.is_empty() && e.current == e.wanted;
    let label = if e.kind == pb::TriggerKind::BandEntered { "band" } else { "stage" };
    let state = compared(
        e.what,
        e.current,
        "=",
        e.wanted,
        in_it,
        if e.current.is_empty() {
            e.no_data.to_owned()
        } else {
            format!("In {label} {}", e.current)
        },
    );
    let limit = hours(e.within);
    if e.current.is_empty() {
        let ago = compared(e.ago_name, "", "<=", &limit, false, "Entry time unknown");
        return Check::new(
            R::NoData,
            vec![state, ago],
            format!("{} (waiting for {})", e.no_data, e.wanted),
        );
    }
    if !in_it {
        let ago =
            compared(e.ago_name, "", "<=", &limit, false, format!("Not in {label} {}", e.wanted));
        let summary = format!("In {label} {}, not {}", e.current, e.wanted);
        return Check::new(R::BelowThreshold, vec![state, ago], summary);
    }
    let Some(entered) = e.entered else {
        let ago = compared(e.ago_name, "", "<=", &limit, false, "Entry time unknown");
        let summary = format!("In {label} {}, entry time unknown", e.current);
        return Check::new(R::NoData, vec![state, ago], summary);
    };
    let age = e.now - entered;
    let recent = age <= e.within;
    let ago_text = hours(age);
    let ago = compared(
        e.ago_name,
        &ago_text,
        "<=",
        &limit,
        recent,
        format!("Entered {label} {} {ago_text} hours ago", e.current),
    );
    let within = english(e.within.num_seconds());
    let (reason, summary) = if !recent {
        (
            R::OutsideWindow,
            format!("Entered {} {ago_text} hours ago, more than {within} ago", e.current),
        )
    } else if e.fired.iter().any(|f| f.kind == e.kind && f.time == entered) {
        (
            R::AlreadyFired,
            format!("Entered {} {ago_text} hours ago; this entry already started a run", e.current),
        )
    } else {
        (R::Unspecified, format!("Entered {} {ago_text} hours ago (within {within})", e.current))
    };
    Check { reason, evidence: vec![state, ago], summary, entry_time: Some(entered) }
}

/// SCORE_DROPPED: the current score at least `min_points` below the highest score in
/// effect during the last `within`.
pub(super) fn score_dropped(t: &pb::ScoreDroppedTrigger, facts: &Facts) -> Check {
    let within = t.within.as_ref().and_then(to_delta).unwrap_or(TimeDelta::zero());
    let w = label(within.num_seconds());
    let threshold = two(t.min_points);
    let Some(score) = facts.score_value() else {
        let drop =
            compared(format!("score_drop_{w}"), "", ">=", threshold, false, "No health score");
        return Check::new(R::NoData, vec![drop], "No health score");
    };
    let max = facts.max_score_within(within).unwrap_or(score);
    let drop = max - score;
    let ok = at_least(drop, t.min_points);
    let span = english(within.num_seconds());
    let evidence = vec![
        compared(
            format!("score_drop_{w}"),
            two(drop),
            ">=",
            &threshold,
            ok,
            format!("Score {} points below its {span} high", two(drop)),
        ),
        context("health_score", two(score), format!("Health score {}", two(score))),
        context(
            format!("max_score_{w}"),
            two(max),
            format!("Highest score in the last {span}: {}", two(max)),
        ),
    ];
    let summary = format!(
        "Score fell {} points in {span}, from {} to {} (threshold {threshold})",
        two(drop),
        two(max),
        two(score)
    );
    Check::new(if ok { R::Unspecified } else { R::BelowThreshold }, evidence, summary)
}

/// TICKET_COUNT: at least `min_count` tickets of `min_priority` or higher (and of
/// `category`, if set) created in the last `within`.
pub(super) fn ticket_count(t: &pb::TicketCountTrigger, facts: &Facts) -> Check {
    let window = t.within.as_ref().map_or(0, |d| d.seconds);
    let w = label(window);
    let min = pb::TicketPriority::try_from(t.min_priority).unwrap_or_default();
    let name = match min {
        pb::TicketPriority::Unspecified => format!("tickets_{w}"),
        p => format!("{}_priority_tickets_{w}", facts::priority_name(p).to_lowercase()),
    };
    let what = match min {
        pb::TicketPriority::Unspecified => String::new(),
        pb::TicketPriority::Urgent => "URGENT ".into(),
        p => format!("{} or higher ", facts::priority_name(p)),
    };
    let category = t.category.to_lowercase();
    let of =
        if category.is_empty() { String::new() } else { format!(" in category \"{category}\"") };
    let span = english(window);
    let threshold = t.min_count.to_string();
    let Some(f) = facts.summary(window).and_then(|s| s.current.as_ref()) else {
        let e =
            compared(name, "", ">=", threshold, false, format!("No support summary for {span}"));
        return Check::new(R::NoData, vec![e], format!("No support summary for {span}"));
    };
    let (by_priority, total) = if category.is_empty() {
        (f.by_priority.as_slice(), f.tickets_created)
    } else {
        f.by_category
            .iter()
            .find(|c| c.category.to_lowercase() == category)
            .map_or((&[][..], 0), |c| (c.by_priority.as_slice(), c.count))
    };
    let count = if min == pb::TicketPriority::Unspecified {
        total
    } else {
        by_priority
            .iter()
            .filter(|c| facts::priority(c.priority) as i32 >= min as i32)
            .map(|c| c.count)
            .sum()
    };
    let ok = count >= t.min_count;
    let fact = format!("{count} {what}tickets{of} in the last {span}");
    let summary = format!("{count} {what}tickets{of} in {span} (threshold {threshold})");
    let e = compared(name, count.to_string(), ">=", threshold, ok, fact);
    Check::new(if ok { R::Unspecified } else { R::BelowThreshold }, vec![e], summary)
}

/// REPEATED_CATEGORY: one category (any, or one of `categories`) with at least
/// `min_count` tickets created in the last `within`; uncategorized tickets never count.
pub(super) fn repeated_category(t: &pb::RepeatedCategoryTrigger, facts: &Facts) -> Check {
    let window = t.within.as_ref().map_or(0, |d| d.seconds);
    let w = label(window);
    let span = english(window);
    let name = format!("max_tickets_in_category_{w}");
    let threshold = t.min_count.to_string();
    let Some(f) = facts.summary(window).and_then(|s| s.current.as_ref()) else {
        let e =
            compared(name, "", ">=", threshold, false, format!("No support summary for {span}"));
        return Check::new(R::NoData, vec![e], format!("No support summary for {span}"));
    };
    let wanted: Vec<String> = t.categories.iter().map(|c| c.to_lowercase()).collect();
    let top = f
        .by_category
        .iter()
        .filter(|c| !c.category.is_empty())
        .filter(|c| wanted.is_empty() || wanted.contains(&c.category.to_lowercase()))
        .min_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));
    let (count, category) =
        top.map_or((0, String::new()), |c| (c.count, c.category.to_lowercase()));
    let ok = count >= t.min_count;
    let (fact, summary) = if category.is_empty() {
        let what = if wanted.is_empty() { "categorized".to_owned() } else { wanted.join(" or ") };
        (
            format!("No {what} tickets in the last {span}"),
            format!("No {what} tickets in {span} (threshold {threshold})"),
        )
    } else {
        (
            format!("{count} tickets in category \"{category}\" in the last {span}"),
            format!("{count} tickets in category \"{category}\" in {span} (threshold {threshold})"),
        )
    };
    let evidence = vec![
        compared(name, count.to_string(), ">=", threshold, ok, fact),
        context(
            "category",
            &category,
            if category.is_empty() {
                "No category".to_owned()
            } else {
                format!("Most tickets in category \"{category}\"")
            },
        ),
    ];
    Check::new(if ok { R::Unspecified } else { R::BelowThreshold }, evidence, summary)
}

/// RENEWAL_WITHIN: 0 ≤ whole days to the next renewal ≤ `within`.
pub(super) fn renewal_within(t: &pb::RenewalWithinTrigger, facts: &Facts) -> Check {
    let limit = t.within.as_ref().map_or(0, |d| d.seconds / DAY);
    let threshold = limit.to_string();
    let (Some(days), Some(date)) = (facts.days_to_renewal(), facts.renewal_date()) else {
        let e = compared(
            "days_to_renewal",
            "",
            "<=",
            threshold,
            false,
            "No renewal date (no contract)",
        );
        return Check::new(R::NoData, vec![e], "No renewal date (no contract)");
    };
    let ok = (0..=limit).contains(&days);
    let fact = if days >= 0 {
        format!("Renewal on {date}, in {days} days")
    } else {
        format!("Renewal on {date}, {} days overdue", -days)
    };
    let summary = format!("{fact} (within {limit} days)");
    let e = compared("days_to_renewal", days.to_string(), "<=", threshold, ok, fact);
    Check::new(if ok { R::Unspecified } else { R::OutsideWindow }, vec![e], summary)
}
