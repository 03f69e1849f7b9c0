//! Support figures from tickets and their lifecycle events: the `SupportFigures` of one
//! window, the `SupportSummary` of an account (a window, the one before it, earlier volumes)
//! and the team's `SupportKpis`. Pure computation: the store loads the facts, this turns them
//! into the API's figures, every formula as `ticket.proto` documents it.
//!
//! Windows are `[start, end)`. A ticket's state at a past instant (the backlog at `end`) is
//! reconstructed from its events (see [`TicketFacts::events`]); everything else is read from
//! the ticket's times. Percentiles are nearest-rank (the p-th of n ascending values is the one
//! at rank ⌈p/100 · n⌉, so the median of an even sample is its lower middle). Durations that
//! would be negative (a first response stamped before creation: clocks of two systems) count
//! as zero.

mod horizon;
mod measure;
mod stats;
mod timeline;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use steward_proto::google::r#type::Interval;
use steward_proto::ticket::v1 as pb;

pub use horizon::latest_time;
use measure::{Measures, Window};

/// One ticket as the figures see it: the stored snapshot's fields that figures use, plus its
/// lifecycle events. The caller leaves deleted tickets out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    /// `pb::Source` value: the KPI breakdown by source.
    pub source: i32,
    /// The account's segment value name (e.g. `SEGMENT_SMB`); empty = unlinked or unknown.
    /// The KPI breakdown by segment.
    pub segment: String,
    /// `pb::TicketPriority` value. Unknown values count as UNSPECIFIED (without a priority),
    /// so the per-priority counts always add up to the total.
    pub priority: i32,
    /// Case-folded (lowercase); empty = uncategorized.
    pub category: String,
    /// `pb::TicketStatus` now: decides "resolved now" (SOLVED or CLOSED) and, for tickets
    /// without lifecycle events, the state at past instants.
    pub status: i32,
    /// When the ticket was created in the source: ages and response times count from it.
    pub created: DateTime<Utc>,
    /// The first public agent reply.
    pub first_response: Option<DateTime<Utc>>,
    /// The first time the ticket became SOLVED or CLOSED ("first resolved in the window").
    pub first_resolved: Option<DateTime<Utc>>,
    /// The latest time it became SOLVED or CLOSED; `None` while open ("resolved in the
    /// window", full resolution time).
    pub resolved: Option<DateTime<Utc>>,
    /// The latest rating, only when its sentiment is GOOD, NEUTRAL or BAD.
    pub csat: Option<Csat>,
    /// Every SLA target, platform and policy.
    pub sla: Vec<SlaFact>,
    /// Lifecycle events, in any order across times; events at the same instant in the order
    /// they were recorded (the later one decides the state at that instant).
    pub events: Vec<EventFact>,
    /// The platform's `reopen_count > 0`: a reopen the service may not have seen as an event
    /// (its time is `last_reopened` when known).
    pub platform_reopened: bool,
    /// The latest time the ticket left SOLVED or CLOSED, when known.
    pub last_reopened: Option<DateTime<Utc>>,
}

/// A counted CSAT rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Csat {
    /// `pb::CsatSentiment` value; anything but GOOD, NEUTRAL or BAD is not counted.
    pub sentiment: i32,
    /// When the rating was given: decides the window it counts in.
    pub rate_time: DateTime<Utc>,
}

/// One SLA target of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaFact {
    /// `pb::SlaMetric` value: RESOLUTION targets also give the resolution-to-target ratio.
    pub metric: i32,
    /// When it is due; unset while paused.
    pub due: Option<DateTime<Utc>>,
    /// When it was fulfilled.
    pub completed: Option<DateTime<Utc>>,
    /// `pb::SlaState` value as stored (see [`figures`] for how ACTIVE targets count).
    pub state: i32,
}

/// One lifecycle event of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFact {
    /// `pb::TicketEventKind` value.
    pub kind: i32,
    /// When it happened in the source.
    pub time: DateTime<Utc>,
    /// The `pb::TicketStatus` value after the event, for CREATED, STATUS_CHANGED, SOLVED,
    /// CLOSED and REOPENED; `None` for other kinds.
    pub status: Option<i32>,
}

/// The `SupportFigures` of `tickets` over `[start, end)`, as `ticket.proto` defines them.
///
/// Where the proto leaves room, these rules apply:
/// - **Backlog at `end`**: a ticket exists when `created < end`. Whether it is open at an
///   instant comes from its events: the latest SOLVED/CLOSED (resolved) or REOPENED (open)
///   event at or before the instant decides; before any, it is open. While open, its status
///   is that of the latest CREATED, STATUS_CHANGED or REOPENED event at or before the instant
///   that names an open status, else its current status if open, else OPEN; actionable =
///   NEW or OPEN. A ticket without any CREATED, STATUS_CHANGED, SOLVED, CLOSED or REOPENED
///   event falls back to its times: resolved from `resolved` (else `first_resolved`) on
///   when it is SOLVED or CLOSED now (with neither time known, never in the backlog: it is
///   not open now and nothing says when it was), else open with its current status.
/// - **SLA targets** are decided MET at `completed` (state MET), BREACHED at `due` (state
///   BREACHED). An ACTIVE target (a stored state not yet brought up to date) is judged by its
///   times: completed by `due` → MET at `completed`, else → BREACHED at `due` (windows end
///   by now, so a due time inside one has passed). Targets lacking the deciding time, PAUSED,
///   CANCELLED and unknown states do not count. Every metric counts.
/// - **Resolution-to-target ratio**: the first RESOLUTION target (not CANCELLED) with a due
///   time after `created`; a target of zero or negative length gives no ratio.
/// - **Reopens**: a ticket first resolved in the window is reopened when it has a REOPENED
///   event before `end`, or the platform counts a reopen at `last_reopened` before `end` (or
///   at an unknown time). [`summary`] judges both of its windows by its `as_of` instead.
/// - **Resolved in the window** also requires SOLVED or CLOSED now.
pub fn figures(
    tickets: &[TicketFacts],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> pb::SupportFigures {
    let all: Vec<&TicketFacts> = tickets.iter().collect();
    Measures::of(&all, &Window { start, end, reopened_by: end }).figures()
}

/// The `SupportSummary` over the window `[as_of − window, as_of)`: `current`, `previous`
/// (the window before), `tickets_created_history` (`history_windows` windows before the
/// current one, nearest first, element 0 = `previous.tickets_created`), `window` and `as_of`.
/// `account`, `data_time` and `first_ticket_create_time` are filled in by the caller.
///
/// The figures follow [`figures`], except that reopens of both windows are judged by `as_of`
/// (the proto: "reopened at least once by the summary's `as_of`"), so a ticket solved late in
/// the previous window and reopened in the current one counts as a reopen of the previous
/// window. The caller resolves the request's default (`0` = 3); more than 12 windows (the
/// API's maximum) are capped at 12. Window bounds before the earliest representable time
/// are clamped to it. The changes (`current − previous`) are the reader's to compute: the
/// proto documents them, it carries no fields for them.
pub fn summary<'a>(
    tickets: impl IntoIterator<Item = &'a TicketFacts>,
    window: chrono::Duration,
    as_of: DateTime<Utc>,
    history_windows: usize,
) -> pb::SupportSummary {
    let all: Vec<&TicketFacts> = tickets.into_iter().collect();
    let bound = |k: i32| bound(window, as_of, k);
    let current = Window { start: bound(1), end: as_of, reopened_by: as_of };
    let previous = Window { start: bound(2), end: bound(1), reopened_by: as_of };
    let history = (0..history_windows.min(MAX_HISTORY_WINDOWS))
        .map(|k| {
            // k < 12, so the casts are exact.
            let k = k as i32;
            let (start, end) = (bound(k + 2), bound(k + 1));
            let n = all.iter().filter(|t| start <= t.created && t.created < end).count();
            i32::try_from(n).unwrap_or(i32::MAX)
        })
        .collect();
    pb::SupportSummary {
        window: Some(stats::duration(stats::nanos(window))),
        as_of: Some(steward_kit::time::timestamp(as_of)),
        current: Some(Measures::of(&all, &current).figures()),
        previous: Some(Measures::of(&all, &previous).figures()),
        tickets_created_history: history,
        ..pb::SupportSummary::default()
    }
}

/// The earliest instant [`summary`] looks at: a ticket SOLVED or CLOSED now whose every
/// time lies before it cannot change the summary (see [`latest_time`]).
pub fn summary_horizon(
    window: chrono::Duration,
    as_of: DateTime<Utc>,
    history_windows: usize,
) -> DateTime<Utc> {
    // The previous window starts at bound(2); history window k at bound(k + 2).
    let last = history_windows.clamp(1, MAX_HISTORY_WINDOWS) + 1;
    // At most 13, so the cast is exact; the minimum covers windows of any sign.
    (0..=last as i32).map(|k| bound(window, as_of, k)).min().unwrap_or(as_of)
}

/// `as_of − k × window`, clamped to the representable times.
fn bound(window: chrono::Duration, as_of: DateTime<Utc>, k: i32) -> DateTime<Utc> {
    window.checked_mul(k).and_then(|d| as_of.checked_sub_signed(d)).unwrap_or(
        if window < chrono::Duration::zero() {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        },
    )
}

/// The API's maximum of `GetSupportSummaryRequest.history_windows`.
const MAX_HISTORY_WINDOWS: usize = 12;

/// The `SupportKpis` of `tickets` over `[start, end)`, with the definitions of [`figures`]
/// (means truncated to the nanosecond), and `groups` per `group_by`: keyed by the `Source`
/// or `TicketPriority` value name (unknown values as UNSPECIFIED), the category, or the
/// segment (empty = unlinked); ordered by `tickets_created` descending, then key; each
/// group's own `groups` empty. A group is listed only when one of its KPIs is non-zero or
/// set, so tickets with nothing in the period (the caller may load old ones for the backlog)
/// add no empty groups.
pub fn kpis(
    tickets: &[TicketFacts],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    group_by: pb::KpiDimension,
) -> pb::SupportKpis {
    let window = Window { start, end, reopened_by: end };
    let period = Interval {
        start_time: Some(steward_kit::time::timestamp(start)),
        end_time: Some(steward_kit::time::timestamp(end)),
    };
    let all: Vec<&TicketFacts> = tickets.iter().collect();
    let mut out = Measures::of(&all, &window).kpis();
    out.period = Some(period);
    let Some(key) = group_key(group_by) else { return out };
    let mut by_key: std::collections::BTreeMap<String, Vec<&TicketFacts>> = Default::default();
    for t in tickets {
        by_key.entry(key(t)).or_default().push(t);
    }
    // BTreeMap order is key order; the stable sort then puts more tickets first.
    let mut groups: Vec<pb::SupportKpisGroup> = by_key
        .into_iter()
        .map(|(key, of_key)| (key, Measures::of(&of_key, &window).kpis()))
        .filter(|(_, k)| *k != pb::SupportKpis::default())
        .map(|(key, mut kpis)| {
            kpis.period = Some(period);
            pb::SupportKpisGroup { key, kpis: Some(kpis) }
        })
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.kpis.as_ref().map_or(0, |k| k.tickets_created)));
    out.groups = groups;
    out
}

/// How a ticket's group key is read for `dimension`; `None` = no breakdown.
fn group_key(dimension: pb::KpiDimension) -> Option<fn(&TicketFacts) -> String> {
    match dimension {
        pb::KpiDimension::Unspecified => None,
        pb::KpiDimension::Source => Some(|t| {
            pb::Source::try_from(t.source)
                .unwrap_or(pb::Source::Unspecified)
                .as_str_name()
                .to_owned()
        }),
        pb::KpiDimension::Priority => {
            Some(|t| measure::priority(t.priority).as_str_name().to_owned())
        }
        pb::KpiDimension::Category => Some(|t| t.category.clone()),
        pb::KpiDimension::Segment => Some(|t| t.segment.clone()),
    }
}
