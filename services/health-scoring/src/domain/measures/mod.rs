//! The inputs of one account and how each measure is read from them: the built-in support
//! measures from ticket-ingest's support summaries, the account measures from the account,
//! custom measures from recorded measurements. Pure: the caller fetches the inputs (see
//! [`windows_needed`] and [`arr_windows_needed`]), this turns them into one [`Reading`] per
//! component, every formula as `BuiltinMeasure` in `health.proto` defines it.
//!
//! A reading is judged in three steps: is there a value at all (else MISSING, with the
//! reason), is its sample large enough (else MISSING), is the data behind it younger than
//! the component's `max_data_age` (else STALE, the old value kept for display). Each kind
//! of input has its own data clock: the summary's `as_of` for support measures, the time the
//! account feed was last caught up for account measures, the newest measurement used for
//! custom measures.

mod custom;
mod support;
pub(crate) mod text;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use super::scorecard::{is_support, max_data_age, window};
use pb::BuiltinMeasure as B;
use pb::measure::Kind;

/// Everything one account's score is computed from, as the store and the input services
/// delivered it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// Ticket-ingest support summaries by window length in whole seconds (the keys of
    /// [`windows_needed`]), each fetched with the default 3 history windows and an `as_of`
    /// near `now`.
    pub summaries: BTreeMap<i64, ticket_pb::SupportSummary>,
    /// The account as health scoring last received it from the account feed; `None` before
    /// the first delivery (account measures are MISSING then).
    pub account: Option<account_pb::Account>,
    /// When health scoring last caught up with the account feed for this account: the data
    /// time, hence the staleness clock, of every account measure.
    pub account_seen: Option<DateTime<Utc>>,
    /// The account's ARR in minor units one window before `now`, by window length in whole
    /// seconds (the keys of [`arr_windows_needed`]); `None` (or a missing key) when it had
    /// no ARR then.
    pub arr_then: BTreeMap<i64, Option<i64>>,
    /// The account's recorded measurements, any keys, any order.
    pub measurements: Vec<Observation>,
    /// The compute time: windows end here and data ages are measured from here.
    pub now: DateTime<Utc>,
}

/// One recorded measurement of a custom measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The measurement key, e.g. `active_user_ratio`.
    pub key: String,
    /// The value (finite when recorded through the API; others are ignored here).
    pub value: f64,
    /// When the value was true: windows and staleness judge by it.
    pub observe_time: DateTime<Utc>,
    /// Display unit, becomes the component's unit.
    pub unit: String,
    /// Where it came from, shown in the facts.
    pub source: String,
}

/// What one component's measure read from the inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A usable value: the component is INCLUDED.
    Value {
        /// The measured value, finite, in `unit`.
        value: f64,
        /// The value's unit, e.g. "tickets", "share" or a measurement's own unit.
        unit: String,
        /// The sample size behind the value, for measures computed from a sample.
        sample: Option<u32>,
        /// When the data behind the value was current.
        data_time: DateTime<Utc>,
        /// Short English statements of the evidence, most important first.
        facts: Vec<String>,
    },
    /// No value: no data, or a sample below `min_sample_size`. The component is MISSING.
    Missing {
        /// The measure's unit, when known.
        unit: String,
        /// Why, e.g. "2 CSAT ratings in 90 days (needs 5)".
        reason: String,
    },
    /// A value whose data is older than `max_data_age`: the component is STALE and the
    /// value is shown, not counted.
    Stale {
        /// The old value, for display.
        value: f64,
        /// The value's unit.
        unit: String,
        /// When the data behind the value was current.
        data_time: DateTime<Utc>,
        /// `now − data_time`.
        age: Duration,
        /// The component's `max_data_age` it exceeded.
        max_age: Duration,
        /// The evidence behind the old value.
        facts: Vec<String>,
    },
}

impl Reading {
    /// The value's unit (possibly empty for a MISSING custom measure).
    pub fn unit(&self) -> &str {
        match self {
            Reading::Value { unit, .. }
            | Reading::Missing { unit, .. }
            | Reading::Stale { unit, .. } => unit,
        }
    }

    /// The value, fresh or stale; `None` when MISSING.
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value { value, .. } | Reading::Stale { value, .. } => Some(*value),
            Reading::Missing { .. } => None,
        }
    }

    /// When the data behind the value was current; `None` when MISSING.
    pub fn data_time(&self) -> Option<DateTime<Utc>> {
        match self {
            Reading::Value { data_time, .. } | Reading::Stale { data_time, .. } => Some(*data_time),
            Reading::Missing { .. } => None,
        }
    }
}

/// A value found before the staleness check.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    value: f64,
    unit: String,
    sample: Option<u32>,
    data_time: DateTime<Utc>,
    facts: Vec<String>,
}

/// No value, and why; the unit is the measure's.
#[derive(Debug, Clone, PartialEq)]
struct Absent {
    unit: String,
    reason: String,
}

impl Absent {
    fn new(unit: &str, reason: impl Into<String>) -> Self {
        Absent { unit: unit.to_owned(), reason: reason.into() }
    }
}

/// Reads `component`'s measure from `inputs` and judges it: a value, MISSING with the
/// reason, or STALE when the data behind it is older than the component's `max_data_age`
/// (strictly older: data exactly `max_data_age` old still counts). Never panics; values
/// that are not finite (an absurd aggregate) are MISSING.
pub fn read(component: &pb::Component, inputs: &Inputs) -> Reading {
    let found = match component.measure.as_ref().and_then(|m| m.kind.as_ref()) {
        None => Err(Absent::new("", "The component has no measure")),
        Some(Kind::Custom(c)) => custom::read(c, component, inputs),
        Some(Kind::Builtin(b)) => match B::try_from(*b) {
            Ok(B::Unspecified) | Err(_) => Err(Absent::new("", "Unknown built-in measure")),
            Ok(measure) if is_support(measure) => support::read(measure, component, inputs),
            Ok(measure) => account_measure(measure, component, inputs),
        },
    };
    match found {
        Ok(found) => judge(found, max_data_age(component), inputs.now),
        Err(Absent { unit, reason }) => Reading::Missing { unit, reason },
    }
}

/// Turns a found value into a reading: MISSING when not finite, STALE when too old.
fn judge(found: Found, max_age: Duration, now: DateTime<Utc>) -> Reading {
    let Found { value, unit, sample, data_time, facts } = found;
    if !value.is_finite() {
        return Reading::Missing {
            unit,
            reason: "The measured value is not a finite number".into(),
        };
    }
    // Both ends lie in chrono's ±262,000-year range, so the difference always fits.
    let age = now.signed_duration_since(data_time);
    if age > max_age {
        Reading::Stale { value, unit, data_time, age, max_age, facts }
    } else {
        Reading::Value { value, unit, sample, data_time, facts }
    }
}

/// Support measures taken at an instant (the backlog at `as_of`): any summary serves.
fn is_instant(measure: B) -> bool {
    matches!(measure, B::BacklogAgeP90Days | B::BacklogOldestAgeDays)
}

/// The built-in measure of a component, when it has one.
fn builtin(component: &pb::Component) -> Option<B> {
    match component.measure.as_ref()?.kind.as_ref()? {
        Kind::Builtin(b) => B::try_from(*b).ok().filter(|m| *m != B::Unspecified),
        Kind::Custom(_) => None,
    }
}

/// The support summary windows (whole seconds) `scorecard` needs: each windowed support
/// measure's window; the backlog measures read any summary (the backlog at `as_of` does not
/// depend on the window), so their window is added only when nothing else is fetched.
pub fn windows_needed(scorecard: &pb::Scorecard) -> BTreeSet<i64> {
    let mut windows = BTreeSet::new();
    let mut instant = None;
    for component in &scorecard.components {
        match builtin(component) {
            Some(m) if is_instant(m) => {
                instant.get_or_insert(window(component).num_seconds());
            }
            Some(m) if is_support(m) => {
                windows.insert(window(component).num_seconds());
            }
            _ => {}
        }
    }
    if windows.is_empty() {
        windows.extend(instant);
    }
    windows
}

/// The windows (whole seconds) for which `Inputs::arr_then` must hold the ARR one window
/// ago: one per `ARR_TREND` component.
pub fn arr_windows_needed(scorecard: &pb::Scorecard) -> BTreeSet<i64> {
    scorecard
        .components
        .iter()
        .filter(|c| builtin(c) == Some(B::ArrTrend))
        .map(|c| window(c).num_seconds())
        .collect()
}

/// The as-of times of a score's inputs: the newest support summary, the account feed's
/// catch-up time (when the account was received), the newest measurement behind an
/// INCLUDED custom component. `readings` are `scorecard.components`' readings, in order.
pub fn freshness(
    scorecard: &pb::Scorecard,
    readings: &[Reading],
    inputs: &Inputs,
) -> pb::InputFreshness {
    let stamp = steward_kit::time::timestamp;
    let support = inputs
        .summaries
        .values()
        .filter_map(|s| s.as_of.as_ref())
        .max_by(|a, b| (a.seconds, a.nanos).cmp(&(b.seconds, b.nanos)));
    let latest_measurement = scorecard
        .components
        .iter()
        .zip(readings)
        .filter(|(c, _)| {
            matches!(c.measure.as_ref().and_then(|m| m.kind.as_ref()), Some(Kind::Custom(_)))
        })
        .filter_map(|(_, r)| match r {
            Reading::Value { data_time, .. } => Some(*data_time),
            _ => None,
        })
        .max();
    pb::InputFreshness {
        support_as_of: support.cloned(),
        account_as_of: inputs.account.as_ref().and(inputs.account_seen).map(stamp),
        latest_measurement_time: latest_measurement.map(stamp),
    }
}

/// The account measures: days to renewal, lifecycle stage, ARR trend.
fn account_measure(
    measure: B,
    component: &pb::Component,
    inputs: &Inputs,
) -> Result<Found, Absent> {
    let unit = match measure {
        B::DaysToRenewal => "days",
        B::LifecycleStage => "stage",
        _ => "fractional change",
    };
    let (Some(account), Some(seen)) = (inputs.account.as_ref(), inputs.account_seen) else {
        return Err(Absent::new(unit, "Account data not received yet"));
    };
    let found = |value: f64, fact: String| Found {
        value,
        unit: unit.to_owned(),
        sample: None,
        data_time: seen,
        facts: vec![fact],
    };
    match measure {
        B::DaysToRenewal => {
            let date = account
                .renewal_date
                .as_ref()
                .ok_or_else(|| Absent::new(unit, "No contract, so no renewal date"))?;
            let date = u32::try_from(date.month)
                .ok()
                .zip(u32::try_from(date.day).ok())
                .and_then(|(m, d)| NaiveDate::from_ymd_opt(date.year, m, d))
                .ok_or_else(|| Absent::new(unit, "The renewal date is not a valid date"))?;
            let days = date.signed_duration_since(inputs.now.date_naive()).num_days();
            let fact = match days {
                0 => format!("Renewal today ({date})"),
                d if d > 0 => format!("Renewal on {date}, in {}", text::count(d, "day")),
                d => format!("Renewal overdue since {date} ({} ago)", text::count(-d, "day")),
            };
            Ok(found(days as f64, fact))
        }
        B::LifecycleStage => {
            // Both enums share their value names (and today their numbers): map by name.
            let stage = account_pb::LifecycleStage::try_from(account.lifecycle_stage)
                .ok()
                .and_then(|s| pb::LifecycleStage::from_str_name(s.as_str_name()))
                .filter(|s| *s != pb::LifecycleStage::Unspecified)
                .ok_or_else(|| Absent::new(unit, "Lifecycle stage not set"))?;
            let name = stage.as_str_name().trim_start_matches("LIFECYCLE_STAGE_");
            let value = stage as i32;
            Ok(found(f64::from(value), format!("Lifecycle stage {name} ({value})")))
        }
        _ => {
            let w = window(component);
            let span = text::window(w);
            let then = inputs.arr_then.get(&w.num_seconds()).copied().flatten().unwrap_or(0);
            if then <= 0 {
                return Err(Absent::new(unit, format!("No ARR {span} ago to compare with")));
            }
            let now = account.arr.as_ref().map_or(0, |m| m.amount_minor);
            // In f64: the difference of two i64 may overflow, the ratio never does.
            let change = (now as f64 - then as f64) / then as f64;
            let fact = match change {
                c if c > 0.0 => format!("ARR up {} over {span}", text::percent(c)),
                c if c < 0.0 => format!("ARR down {} over {span}", text::percent(-c)),
                _ => format!("ARR unchanged over {span}"),
            };
            Ok(found(change, fact))
        }
    }
}
