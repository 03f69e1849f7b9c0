//! The built-in support measures, read from ticket-ingest's `SupportSummary` over the
//! component's window (`current` = the window, `previous` = the one before it). The data
//! time of every support value is the summary's `as_of`.

use chrono::{DateTime, Duration, Utc};
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::text::{count, days, number, percent, window as span_of};
use super::{Absent, Found, Inputs, is_instant};
use crate::domain::scorecard::{min_sample_size, window};
use pb::BuiltinMeasure as B;
use ticket_pb::TicketPriority as Priority;

/// How many earlier windows the volume baseline averages.
const BASELINE_WINDOWS: usize = 3;

/// One summary as a measure sees it.
struct Window<'a> {
    summary: &'a ticket_pb::SupportSummary,
    current: &'a ticket_pb::SupportFigures,
    as_of: DateTime<Utc>,
    length: Duration,
    /// The window as facts say it, "30 days".
    span: String,
}

/// The unit of each support measure.
fn unit(measure: B) -> &'static str {
    match measure {
        B::HighUrgentTickets | B::MaxTicketsInCategory => "tickets",
        B::BacklogAgeP90Days | B::BacklogOldestAgeDays => "days",
        B::SlaAdherence | B::CsatGoodShare | B::ReopenRate => "share",
        B::CsatTrendPoints => "percentage points",
        _ => "ratio",
    }
}

/// Reads one support measure (see `BuiltinMeasure` for each definition).
pub(super) fn read(
    measure: B,
    component: &pb::Component,
    inputs: &Inputs,
) -> Result<Found, Absent> {
    let unit = unit(measure);
    let w = summary(measure, component, inputs, unit)?;
    let min = min_sample_size(component);
    let span = w.span.as_str();
    let cur = w.current;
    let (value, sample, fact) = match measure {
        B::TicketVolumeRatio => volume(&w, unit)?,
        B::HighUrgentTickets => (f64::from(cur.high_urgent_tickets), None, severity(cur, span)),
        B::BacklogAgeP90Days | B::BacklogOldestAgeDays => backlog(measure, cur, unit)?,
        B::ResolutionTimeSlaRatio => {
            let n = sampled(cur.resolution_sla_ratio_tickets, min, unit, || {
                format!(
                    "{} with a resolution SLA target resolved in {span}",
                    tickets(cur.resolution_sla_ratio_tickets)
                )
            })?;
            let ratio = present(cur.resolution_sla_ratio_median, unit)?;
            let fact = format!(
                "Median resolution at {}× the SLA target over {} resolved in {span}",
                number(ratio, 2),
                tickets(cur.resolution_sla_ratio_tickets)
            );
            (ratio, Some(n), fact)
        }
        B::SlaAdherence => {
            let n = sampled(cur.sla_tickets, min, unit, || {
                format!("{} with an SLA target due in {span}", tickets(cur.sla_tickets))
            })?;
            let share = present(cur.sla_ticket_adherence, unit)?;
            let fact = format!(
                "{} of {} with an SLA target due in {span} breached it ({} adherence)",
                cur.sla_breached_tickets,
                tickets(cur.sla_tickets),
                percent(share)
            );
            (share, Some(n), fact)
        }
        B::CsatGoodShare => {
            let (share, n) = csat(cur, min, span, unit)?;
            let fact = format!(
                "{} of {} GOOD in {span} ({})",
                cur.csat_good,
                count(i64::from(cur.csat_responses), "CSAT rating"),
                percent(share)
            );
            (share, Some(n), fact)
        }
        B::CsatTrendPoints => {
            let (now, n) = csat(cur, min, span, unit)?;
            let before = w.summary.previous.as_ref().ok_or_else(|| incomplete(unit))?;
            let (then, _) = csat(before, min, &format!("the {span} before"), unit)?;
            let points = (now - then) * 100.0;
            let fact = format!(
                "CSAT {} GOOD in {span} vs {} in the {span} before ({} points)",
                percent(now),
                percent(then),
                super::text::signed(points, 1)
            );
            (points, Some(n), fact)
        }
        B::ReopenRate => {
            let n = sampled(cur.tickets_solved, min, unit, || {
                format!("{} solved in {span}", tickets(cur.tickets_solved))
            })?;
            let rate = f64::from(cur.tickets_reopened) / f64::from(cur.tickets_solved.max(1));
            let fact = format!(
                "{} of {} solved in {span} reopened ({})",
                cur.tickets_reopened,
                tickets(cur.tickets_solved),
                percent(rate)
            );
            (rate, Some(n), fact)
        }
        _ => {
            // Most first: the first categorized entry is the largest; taking the maximum
            // gives the same answer and does not rely on the order.
            let top = cur.by_category.iter().filter(|c| !c.category.is_empty()).fold(
                None::<&ticket_pb::CategoryCount>,
                |best, c| match best {
                    Some(b) if b.count >= c.count => Some(b),
                    _ => Some(c),
                },
            );
            match top {
                Some(c) => (
                    f64::from(c.count),
                    None,
                    format!("{} in category \"{}\" in {span}", tickets(c.count), c.category),
                ),
                None => (0.0, None, format!("No categorized tickets in {span}")),
            }
        }
    };
    Ok(Found { value, unit: unit.to_owned(), sample, data_time: w.as_of, facts: vec![fact] })
}

/// The summary a measure reads: its window's; for the backlog (at an instant) its own
/// window's when fetched, else any (they share `as_of`).
fn summary<'a>(
    measure: B,
    component: &pb::Component,
    inputs: &'a Inputs,
    unit: &str,
) -> Result<Window<'a>, Absent> {
    let length = window(component);
    let own = inputs.summaries.get(&length.num_seconds());
    let summary =
        if is_instant(measure) { own.or_else(|| inputs.summaries.values().next()) } else { own };
    let span = span_of(length);
    let summary = summary
        .ok_or_else(|| Absent::new(unit, format!("No support summary over {span} available")))?;
    let as_of = summary
        .as_of
        .as_ref()
        .and_then(steward_kit::time::from_timestamp)
        .ok_or_else(|| incomplete(unit))?;
    let current = summary.current.as_ref().ok_or_else(|| incomplete(unit))?;
    Ok(Window { summary, current, as_of, length, span })
}

/// Tickets created in the window over the account's own baseline, the mean of the 3
/// windows before it floored at 1 ticket. MISSING until ticket-ingest has known the account
/// (its oldest ticket) for a whole window: a younger account has no baseline to compare.
fn volume(w: &Window<'_>, unit: &str) -> Result<(f64, Option<u32>, String), Absent> {
    let span = &w.span;
    let first = w.summary.first_ticket_create_time.as_ref();
    let Some(first) = first.and_then(steward_kit::time::from_timestamp) else {
        return Err(Absent::new(unit, format!("No tickets yet; volume needs {span} of history")));
    };
    let since = w.as_of.checked_sub_signed(w.length).unwrap_or(DateTime::<Utc>::MIN_UTC);
    if first > since {
        return Err(Absent::new(
            unit,
            format!("First ticket on {}; volume needs {span} of history", first.date_naive()),
        ));
    }
    let history: Vec<f64> = w
        .summary
        .tickets_created_history
        .iter()
        .take(BASELINE_WINDOWS)
        .map(|n| f64::from(*n))
        .collect();
    let mean =
        if history.is_empty() { 0.0 } else { history.iter().sum::<f64>() / history.len() as f64 };
    let baseline = mean.max(1.0);
    let created = w.current.tickets_created;
    let ratio = f64::from(created) / baseline;
    let fact = format!(
        "{} created in {span} vs a usual {} per {span} ({}×)",
        tickets(created),
        number(mean, 1),
        number(ratio, 2)
    );
    Ok((ratio, None, fact))
}

/// "2 URGENT and 1 HIGH tickets in 30 days", from the per-priority counts when they add up
/// to the total, else the total alone.
fn severity(cur: &ticket_pb::SupportFigures, span: &str) -> String {
    let of = |p: Priority| {
        cur.by_priority.iter().filter(|c| c.priority == p as i32).map(|c| c.count).sum::<i32>()
    };
    let (urgent, high, total) = (of(Priority::Urgent), of(Priority::High), cur.high_urgent_tickets);
    let noun = |n: i32| if n == 1 { "ticket" } else { "tickets" };
    if total == 0 {
        format!("No HIGH or URGENT tickets in {span}")
    } else if urgent.checked_add(high) != Some(total) {
        format!("{total} HIGH/URGENT {} in {span}", noun(total))
    } else if high == 0 {
        format!("{urgent} URGENT {} in {span}", noun(urgent))
    } else if urgent == 0 {
        format!("{high} HIGH {} in {span}", noun(high))
    } else {
        format!("{urgent} URGENT and {high} HIGH tickets in {span}")
    }
}

/// The backlog's p90 or oldest age in fractional days; 0 with no open tickets.
fn backlog(
    measure: B,
    cur: &ticket_pb::SupportFigures,
    unit: &str,
) -> Result<(f64, Option<u32>, String), Absent> {
    if cur.open_backlog <= 0 {
        return Ok((0.0, None, "No open tickets".into()));
    }
    let ages = cur.backlog_age.as_ref();
    let (age, what) = if measure == B::BacklogAgeP90Days {
        (ages.and_then(|a| a.p90.as_ref()), "90th percentile age")
    } else {
        (ages.and_then(|a| a.oldest.as_ref()), "oldest")
    };
    let age = days(age.ok_or_else(|| incomplete(unit))?);
    let fact = format!("{} open, {what} {} days", tickets(cur.open_backlog), number(age, 1));
    Ok((age, None, fact))
}

/// The GOOD share of one window's ratings and its sample, MISSING below `min` ratings.
fn csat(
    f: &ticket_pb::SupportFigures,
    min: u32,
    span: &str,
    unit: &str,
) -> Result<(f64, u32), Absent> {
    let n = sampled(f.csat_responses, min.max(1), unit, || {
        format!("{} in {span}", count(i64::from(f.csat_responses), "CSAT rating"))
    })?;
    // The counts are the definition (GOOD / rated); the optional share is the same ratio.
    Ok((f64::from(f.csat_good) / f64::from(n), n))
}

/// The sample size when it reaches `min`; else MISSING: "<what> (needs <min>)".
fn sampled(n: i32, min: u32, unit: &str, what: impl Fn() -> String) -> Result<u32, Absent> {
    let n = u32::try_from(n).unwrap_or(0);
    if n < min.max(1) {
        return Err(Absent::new(unit, format!("{} (needs {})", what(), min.max(1))));
    }
    Ok(n)
}

/// An optional figure that must be set once its sample is non-empty.
fn present(figure: Option<f64>, unit: &str) -> Result<f64, Absent> {
    figure.ok_or_else(|| incomplete(unit))
}

/// A summary lacking a figure its own sample says it should have.
fn incomplete(unit: &str) -> Absent {
    Absent::new(unit, "The support summary is incomplete")
}

/// "1 ticket", "3 tickets".
fn tickets(n: i32) -> String {
    count(i64::from(n), "ticket")
}
