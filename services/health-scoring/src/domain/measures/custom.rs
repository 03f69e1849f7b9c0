//! Custom measures: recorded measurements of one key reduced to one value. LATEST takes the
//! newest whatever its age (staleness then judges it); MEAN, SUM, MIN and MAX reduce the
//! measurements observed in the window `[now − window, now]` and need `min_sample_size` of
//! them. The data time is the newest measurement used.
//!
//! A measurement may be recorded up to 5 minutes ahead of the recording clock; such a
//! measurement counts in the window ending now rather than being dropped until its time
//! comes (it was the caller's latest word).

use chrono::{DateTime, Utc};
use steward_proto::health::v1 as pb;

use super::text::{count, number, window as span_of};
use super::{Absent, Found, Inputs, Observation};
use crate::domain::scorecard::{min_sample_size, window};
use pb::Aggregation as Agg;

/// Reads `measure` from the account's measurements.
pub(super) fn read(
    measure: &pb::CustomMeasure,
    component: &pb::Component,
    inputs: &Inputs,
) -> Result<Found, Absent> {
    let key = measure.key.as_str();
    let all: Vec<&Observation> =
        inputs.measurements.iter().filter(|o| o.key == key && o.value.is_finite()).collect();
    let agg = Agg::try_from(measure.aggregation).unwrap_or(Agg::Unspecified);
    let Some(latest) = newest(&all) else {
        return Err(Absent::new("", format!("No {key} measurement recorded")));
    };
    if matches!(agg, Agg::Unspecified | Agg::Latest) {
        let fact = format!(
            "{key} {} observed {}{}",
            number(latest.value, 4),
            latest.observe_time.date_naive(),
            from(&latest.source)
        );
        return Ok(found(latest, latest.value, Some(1), fact));
    }
    let span = span_of(window(component));
    let start =
        inputs.now.checked_sub_signed(window(component)).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let used: Vec<&Observation> = all.iter().copied().filter(|o| o.observe_time >= start).collect();
    let unit = latest.unit.as_str();
    let n = u32::try_from(used.len()).unwrap_or(u32::MAX);
    let min = min_sample_size(component).max(1);
    let Some(last) = newest(&used).filter(|_| n >= min) else {
        let reason = if n == 0 {
            format!("No {key} measurement in {span}")
        } else {
            format!(
                "{} in {span} (needs {min})",
                count(i64::from(n), &format!("{key} measurement"))
            )
        };
        return Err(Absent::new(unit, reason));
    };
    let values = used.iter().map(|o| o.value);
    let (value, what) = match agg {
        Agg::Mean => (mean(values), "Mean"),
        Agg::Sum => (values.sum(), "Sum of"),
        Agg::Min => (values.fold(f64::INFINITY, f64::min), "Lowest"),
        Agg::Max => (values.fold(f64::NEG_INFINITY, f64::max), "Highest"),
        // LAST is for score history; validation refuses it on a component.
        _ => {
            return Err(Absent::new(
                unit,
                format!("Aggregation {} does not apply to measurements", agg.as_str_name()),
            ));
        }
    };
    let fact = format!(
        "{what} {key} {} over {} in {span}{}",
        number(value, 4),
        count(i64::from(n), "measurement"),
        from(&last.source)
    );
    Ok(found(last, value, Some(n), fact))
}

/// The newest observation (by `observe_time`; of equal times, the later listed).
fn newest<'a>(observations: &[&'a Observation]) -> Option<&'a Observation> {
    observations.iter().copied().max_by_key(|o| o.observe_time)
}

/// The running mean: never overflows, unlike sum / n, however large the values.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let mut m = 0.0;
    for (i, x) in values.enumerate() {
        m += (x - m) / (i + 1) as f64;
    }
    m
}

/// " (product-analytics)", or nothing without a source.
fn from(source: &str) -> String {
    if source.is_empty() { String::new() } else { format!(" ({source})") }
}

fn found(newest: &Observation, value: f64, sample: Option<u32>, fact: String) -> Found {
    let unit = newest.unit.clone();
    Found { value, unit, sample, data_time: newest.observe_time, facts: vec![fact] }
}
