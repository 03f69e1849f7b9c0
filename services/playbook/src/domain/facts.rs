//! What the playbook service knows about one account at one moment, as the other services
//! deliver it: the account (account service), the health score and its history and the
//! health explanation's headline (health scoring), the support summaries (ticket-ingest),
//! and when the account entered its current band and stage (from the feeds). Triggers,
//! audiences and templates read only this.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use steward_kit::time::from_timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::duration::DAY;

/// The window of the support figures behind the `support.*` template variables: 30 days.
pub const VARIABLES_WINDOW: i64 = 30 * DAY;

/// One account's facts at `now`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The evaluation time: windows end here, ages are measured from here.
    pub now: DateTime<Utc>,
    /// The account as the account feed last delivered it; `None` before the first delivery
    /// (every audience constraint then fails and renewal triggers have no data).
    pub account: Option<account_pb::Account>,
    /// When the account entered its current lifecycle stage (the commit time of the account
    /// change that set it); `None` when unknown.
    pub stage_entered: Option<DateTime<Utc>>,
    /// The current health score; `None` before the first score.
    pub score: Option<health_pb::HealthScore>,
    /// When the account entered its current band (the `compute_time` of the health change
    /// whose `new_band` differs from its `old_band`, see [`band_entry`]); `None` when
    /// unknown or without a score.
    pub band_entered: Option<DateTime<Utc>>,
    /// Raw score history (one point per stored change), oldest first, reaching back at least
    /// to the point in effect at the start of the longest score-drop window.
    pub score_history: Vec<health_pb::ScorePoint>,
    /// The first line of the health score's explanation (`health.summary`), if fetched.
    pub health_summary: Option<String>,
    /// Ticket-ingest support summaries by window length in whole seconds (the keys of
    /// [`super::trigger::windows_needed`]), each ending near `now`.
    pub summaries: BTreeMap<i64, ticket_pb::SupportSummary>,
}

impl Facts {
    /// The current score, if the account has one.
    pub fn score_value(&self) -> Option<f64> {
        self.score.as_ref().and_then(|s| s.score).filter(|s| s.is_finite())
    }

    /// The current band; UNSPECIFIED without a score.
    pub fn band(&self) -> pb::HealthBand {
        match &self.score {
            Some(s) if self.score_value().is_some() => band(s.band),
            _ => pb::HealthBand::Unspecified,
        }
    }

    /// The account's segment; UNSPECIFIED when unknown.
    pub fn segment(&self) -> pb::Segment {
        let name = self.account.as_ref().map(|a| a.segment().as_str_name());
        name.and_then(pb::Segment::from_str_name).unwrap_or(pb::Segment::Unspecified)
    }

    /// The account's lifecycle stage; UNSPECIFIED when unknown.
    pub fn stage(&self) -> pb::LifecycleStage {
        let name = self.account.as_ref().map(|a| a.lifecycle_stage().as_str_name());
        name.and_then(pb::LifecycleStage::from_str_name).unwrap_or(pb::LifecycleStage::Unspecified)
    }

    /// The support summary over `window` seconds, if fetched.
    pub fn summary(&self, window: i64) -> Option<&ticket_pb::SupportSummary> {
        self.summaries.get(&window)
    }

    /// The highest score in effect at any time in `[now − within, now]`: the last history
    /// point at or before the window's start (in effect when it began), every point after
    /// it, and the current score. `None` when none of them has a score.
    pub fn max_score_within(&self, within: TimeDelta) -> Option<f64> {
        let start = self.now - within;
        let mut in_effect: Option<f64> = None;
        let mut max: Option<f64> = self.score_value();
        for p in &self.score_history {
            let Some(t) = p.time.as_ref().and_then(from_timestamp) else { continue };
            let score = p.score.filter(|s| s.is_finite());
            if t <= start {
                in_effect = score;
            } else if let Some(s) = score {
                max = Some(max.map_or(s, |m| m.max(s)));
            }
        }
        match (max, in_effect) {
            (Some(m), Some(e)) => Some(m.max(e)),
            (m, e) => m.or(e),
        }
    }

    /// Whole days from today (UTC, at `now`) to the account's next renewal date; negative
    /// when the renewal is overdue; `None` without an account, a renewal date or a valid one.
    pub fn days_to_renewal(&self) -> Option<i64> {
        let date = self.renewal_date()?;
        Some((date - self.now.date_naive()).num_days())
    }

    /// The account's next renewal date, if it has a valid one.
    pub fn renewal_date(&self) -> Option<NaiveDate> {
        let d = self.account.as_ref()?.renewal_date.as_ref()?;
        NaiveDate::from_ymd_opt(d.year, u32::try_from(d.month).ok()?, u32::try_from(d.day).ok()?)
    }
}

/// The playbook API's band for a health band value (mapped by name; unknown = UNSPECIFIED).
pub fn band(health_band: i32) -> pb::HealthBand {
    health_pb::HealthBand::try_from(health_band)
        .ok()
        .and_then(|b| pb::HealthBand::from_str_name(b.as_str_name()))
        .unwrap_or(pb::HealthBand::Unspecified)
}

/// The playbook API's priority for a ticket priority value (mapped by name).
pub fn priority(ticket_priority: i32) -> pb::TicketPriority {
    ticket_pb::TicketPriority::try_from(ticket_priority)
        .ok()
        .and_then(|p| pb::TicketPriority::from_str_name(p.as_str_name()))
        .unwrap_or(pb::TicketPriority::Unspecified)
}

/// When a health change makes the account enter a band: its `compute_time` when `new_band`
/// differs from `old_band` and is a band; `None` otherwise (the entry stays as it was).
pub fn band_entry(change: &health_pb::HealthChange) -> Option<DateTime<Utc>> {
    let entered =
        change.new_band != change.old_band && band(change.new_band) != pb::HealthBand::Unspecified;
    if entered { change.compute_time.as_ref().and_then(from_timestamp) } else { None }
}

/// An enum value's short name: `RED` for `HEALTH_BAND_RED`, `ONBOARDING` for
/// `LIFECYCLE_STAGE_ONBOARDING`.
pub fn short(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_owned()
}

/// `RED`, `YELLOW`, `GREEN` (empty for UNSPECIFIED).
pub fn band_name(b: pb::HealthBand) -> String {
    if b == pb::HealthBand::Unspecified {
        String::new()
    } else {
        short(b.as_str_name(), "HEALTH_BAND_")
    }
}

/// `SMB`, `MID_MARKET`, ... (empty for UNSPECIFIED).
pub fn segment_name(s: pb::Segment) -> String {
    if s == pb::Segment::Unspecified { String::new() } else { short(s.as_str_name(), "SEGMENT_") }
}

/// `ONBOARDING`, `ADOPTION`, ... (empty for UNSPECIFIED).
pub fn stage_name(s: pb::LifecycleStage) -> String {
    if s == pb::LifecycleStage::Unspecified {
        String::new()
    } else {
        short(s.as_str_name(), "LIFECYCLE_STAGE_")
    }
}

/// `HIGH`, `URGENT`, ... (empty for UNSPECIFIED).
pub fn priority_name(p: pb::TicketPriority) -> String {
    if p == pb::TicketPriority::Unspecified {
        String::new()
    } else {
        short(p.as_str_name(), "TICKET_PRIORITY_")
    }
}

/// Money as `120000.00 USD` (the amount in minor units written with 2 decimals).
pub fn money(amount_minor: i64, currency: &str) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests;
