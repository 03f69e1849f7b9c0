//! One pass over a set of tickets for one window: the counts and samples both
//! `SupportFigures` and `SupportKpis` are made of.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use steward_proto::ticket::v1 as pb;

use super::TicketFacts;
use super::stats::{self, count, duration, elapsed, percentile, share};
use super::timeline::{self, State};

/// The window `[start, end)`, and the instant reopens are judged by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    /// The summary's `as_of` (the proto counts reopens "by the summary's `as_of`"); `end`
    /// elsewhere.
    pub(super) reopened_by: DateTime<Utc>,
}

impl Window {
    fn holds(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// Every priority, in enum order (the order `by_priority` lists them in).
const PRIORITIES: [pb::TicketPriority; 5] = [
    pb::TicketPriority::Unspecified,
    pb::TicketPriority::Low,
    pb::TicketPriority::Normal,
    pb::TicketPriority::High,
    pb::TicketPriority::Urgent,
];

/// `value` as a priority; unknown values are "without a priority", so every ticket is counted
/// under one of the listed priorities.
pub(super) fn priority(value: i32) -> pb::TicketPriority {
    pb::TicketPriority::try_from(value).unwrap_or(pb::TicketPriority::Unspecified)
}

/// Counts per priority, indexed as [`PRIORITIES`].
type ByPriority = [i32; PRIORITIES.len()];

fn by_priority(counts: &ByPriority) -> Vec<pb::PriorityCount> {
    PRIORITIES
        .iter()
        .zip(counts)
        .map(|(p, n)| pb::PriorityCount { priority: *p as i32, count: *n })
        .collect()
}

const DAY_NANOS: i128 = 86_400 * 1_000_000_000;

/// The counts and samples of one window. Samples of durations are in nanoseconds.
#[derive(Debug, Default)]
pub(super) struct Measures<'a> {
    created: i32,
    created_by_priority: ByPriority,
    created_by_category: BTreeMap<&'a str, ByPriority>,
    open_ages: Vec<i128>,
    actionable: i32,
    first_response: Vec<i128>,
    first_resolution: Vec<i128>,
    full_resolution: Vec<i128>,
    resolution_sla_ratio: Vec<f64>,
    reopened: i32,
    sla_targets: i32,
    sla_breaches: i32,
    sla_tickets: i32,
    sla_breached_tickets: i32,
    csat_good: i32,
    csat_neutral: i32,
    csat_bad: i32,
}

impl<'a> Measures<'a> {
    /// Measures `tickets` over `w`.
    pub(super) fn of(tickets: &[&'a TicketFacts], w: &Window) -> Self {
        let mut m = Measures::default();
        for t in tickets {
            m.add(t, w);
        }
        for sample in [
            &mut m.open_ages,
            &mut m.first_response,
            &mut m.first_resolution,
            &mut m.full_resolution,
        ] {
            sample.sort_unstable();
        }
        m.resolution_sla_ratio.sort_by(f64::total_cmp);
        m
    }

    fn add(&mut self, t: &'a TicketFacts, w: &Window) {
        if w.holds(t.created) {
            let p = priority(t.priority) as usize;
            self.created = self.created.saturating_add(1);
            self.created_by_priority[p] = self.created_by_priority[p].saturating_add(1);
            let of_category = self.created_by_category.entry(t.category.as_str()).or_default();
            of_category[p] = of_category[p].saturating_add(1);
            if let Some(responded) = t.first_response.filter(|r| *r < w.end) {
                self.first_response.push(elapsed(t.created, responded));
            }
        }
        if let State::Open { actionable } = timeline::state_at(t, w.end) {
            self.open_ages.push(elapsed(t.created, w.end));
            self.actionable = self.actionable.saturating_add(i32::from(actionable));
        }
        if let Some(first) = t.first_resolved.filter(|r| w.holds(*r)) {
            self.first_resolution.push(elapsed(t.created, first));
            self.reopened = self
                .reopened
                .saturating_add(i32::from(timeline::reopened_before(t, w.reopened_by)));
        }
        if let Some(resolved) =
            t.resolved.filter(|r| w.holds(*r) && timeline::is_resolved(t.status))
        {
            let took = elapsed(t.created, resolved);
            self.full_resolution.push(took);
            if let Some(target) = resolution_target_length(t) {
                // Both are positive nanosecond counts far below 2^100: the f64s are exact
                // enough for a ratio.
                self.resolution_sla_ratio.push(took as f64 / target as f64);
            }
        }
        self.add_sla(t, w);
        if let Some(csat) = t.csat.filter(|c| w.holds(c.rate_time)) {
            match pb::CsatSentiment::try_from(csat.sentiment) {
                Ok(pb::CsatSentiment::Good) => self.csat_good = self.csat_good.saturating_add(1),
                Ok(pb::CsatSentiment::Neutral) => {
                    self.csat_neutral = self.csat_neutral.saturating_add(1)
                }
                Ok(pb::CsatSentiment::Bad) => self.csat_bad = self.csat_bad.saturating_add(1),
                _ => {}
            }
        }
    }

    fn add_sla(&mut self, t: &TicketFacts, w: &Window) {
        let (mut decided, mut breached) = (0, 0);
        for d in t.sla.iter().filter_map(timeline::decision).filter(|d| w.holds(d.at)) {
            decided += 1;
            breached += i32::from(d.breached);
        }
        self.sla_targets = self.sla_targets.saturating_add(decided);
        self.sla_breaches = self.sla_breaches.saturating_add(breached);
        self.sla_tickets = self.sla_tickets.saturating_add(i32::from(decided > 0));
        self.sla_breached_tickets =
            self.sla_breached_tickets.saturating_add(i32::from(breached > 0));
    }

    fn csat_responses(&self) -> i32 {
        self.csat_good.saturating_add(self.csat_neutral).saturating_add(self.csat_bad)
    }

    fn sla_adherence(&self) -> Option<f64> {
        share(self.sla_targets - self.sla_breaches, self.sla_targets)
    }

    fn sla_ticket_adherence(&self) -> Option<f64> {
        share(self.sla_breached_tickets, self.sla_tickets).map(|breached| 1.0 - breached)
    }

    /// The window's `SupportFigures`.
    pub(super) fn figures(&self) -> pb::SupportFigures {
        let mut categories: Vec<pb::CategoryCount> = self
            .created_by_category
            .iter()
            .map(|(category, counts)| pb::CategoryCount {
                category: (*category).to_owned(),
                count: counts.iter().fold(0, |a: i32, n| a.saturating_add(*n)),
                by_priority: by_priority(counts),
            })
            .collect();
        // Already in category order: the stable sort puts the most tickets first.
        categories.sort_by_key(|c| std::cmp::Reverse(c.count));
        let pct = |sample: &[i128], p| percentile(sample, p).map(duration);
        let high = self.created_by_priority[pb::TicketPriority::High as usize];
        let urgent = self.created_by_priority[pb::TicketPriority::Urgent as usize];
        pb::SupportFigures {
            tickets_created: self.created,
            by_priority: by_priority(&self.created_by_priority),
            high_urgent_tickets: high.saturating_add(urgent),
            repeated_categories: categories
                .iter()
                .filter(|c| c.count >= 2 && !c.category.is_empty())
                .cloned()
                .collect(),
            by_category: categories,
            open_backlog: count(self.open_ages.len()),
            actionable_backlog: self.actionable,
            backlog_age: Some(self.backlog_age()),
            first_response_median: pct(&self.first_response, 50),
            first_response_p90: pct(&self.first_response, 90),
            first_responses: count(self.first_response.len()),
            resolution_median: pct(&self.first_resolution, 50),
            resolution_p90: pct(&self.first_resolution, 90),
            tickets_solved: count(self.first_resolution.len()),
            full_resolution_median: pct(&self.full_resolution, 50),
            full_resolution_p90: pct(&self.full_resolution, 90),
            tickets_resolved: count(self.full_resolution.len()),
            resolution_sla_ratio_median: percentile(&self.resolution_sla_ratio, 50),
            resolution_sla_ratio_tickets: count(self.resolution_sla_ratio.len()),
            sla_breaches: self.sla_breaches,
            sla_targets_due: self.sla_targets,
            sla_adherence: self.sla_adherence(),
            sla_tickets: self.sla_tickets,
            sla_breached_tickets: self.sla_breached_tickets,
            sla_ticket_adherence: self.sla_ticket_adherence(),
            csat_responses: self.csat_responses(),
            csat_good: self.csat_good,
            csat_neutral: self.csat_neutral,
            csat_bad: self.csat_bad,
            csat_good_share: share(self.csat_good, self.csat_responses()),
            tickets_reopened: self.reopened,
            reopen_rate: share(self.reopened, count(self.first_resolution.len())),
        }
    }

    fn backlog_age(&self) -> pb::AgeDistribution {
        let mut a = pb::AgeDistribution {
            p90: percentile(&self.open_ages, 90).map(duration),
            oldest: self.open_ages.last().copied().map(duration),
            ..pb::AgeDistribution::default()
        };
        for age in &self.open_ages {
            let bucket = match age / DAY_NANOS {
                0 => &mut a.under_1_day,
                1 | 2 => &mut a.days_1_to_3,
                3..=6 => &mut a.days_3_to_7,
                7..=29 => &mut a.days_7_to_30,
                _ => &mut a.over_30_days,
            };
            *bucket = bucket.saturating_add(1);
        }
        a
    }

    /// The window's `SupportKpis`, without `period` and `groups`.
    pub(super) fn kpis(&self) -> pb::SupportKpis {
        let pct = |sample: &[i128], p| percentile(sample, p).map(duration);
        pb::SupportKpis {
            tickets_created: self.created,
            tickets_solved: count(self.first_resolution.len()),
            backlog_at_end: count(self.open_ages.len()),
            first_response_mean: stats::mean(&self.first_response).map(duration),
            first_response_median: pct(&self.first_response, 50),
            first_response_p90: pct(&self.first_response, 90),
            resolution_mean: stats::mean(&self.first_resolution).map(duration),
            resolution_median: pct(&self.first_resolution, 50),
            resolution_p90: pct(&self.first_resolution, 90),
            sla_adherence: self.sla_adherence(),
            csat_good_share: share(self.csat_good, self.csat_responses()),
            csat_responses: self.csat_responses(),
            csat_good: self.csat_good,
            sla_ticket_adherence: self.sla_ticket_adherence(),
            sla_tickets: self.sla_tickets,
            ..pb::SupportKpis::default()
        }
    }
}

/// The length (`due − created`, nanoseconds) of `t`'s first RESOLUTION target that has a due
/// time and is not CANCELLED; `None` without one, or when it is not positive.
fn resolution_target_length(t: &TicketFacts) -> Option<i128> {
    t.sla
        .iter()
        .filter(|s| {
            s.metric == pb::SlaMetric::Resolution as i32
                && s.state != pb::SlaState::Cancelled as i32
        })
        .find_map(|s| s.due)
        .map(|due| stats::nanos(due.signed_duration_since(t.created)))
        .filter(|length| *length > 0)
}
