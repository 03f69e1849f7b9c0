//! Durations as the playbook API writes them: protobuf `Duration`s turned into chrono
//! spans, window labels for evidence names (`14d`, `12h`) and plain numbers for evidence.

use chrono::TimeDelta;
use prost_types::Duration;

pub(crate) const MINUTE: i64 = 60;
pub(crate) const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 24 * HOUR;

/// A protobuf duration as a `TimeDelta`; `None` unless its nanos are in range and carry the
/// seconds' sign (the protobuf rule) and it fits chrono's range.
pub(crate) fn to_delta(d: &Duration) -> Option<TimeDelta> {
    if d.nanos.unsigned_abs() >= 1_000_000_000
        || (d.seconds > 0 && d.nanos < 0)
        || (d.seconds < 0 && d.nanos > 0)
    {
        return None;
    }
    TimeDelta::try_seconds(d.seconds)?.checked_add(&TimeDelta::nanoseconds(i64::from(d.nanos)))
}

/// Whether `d` is set, whole seconds and within `min..=max` seconds.
pub(crate) fn in_range(d: &Duration, min: i64, max: i64) -> bool {
    d.nanos == 0 && (min..=max).contains(&d.seconds)
}

/// Whether `d` is a whole number of days.
pub(crate) fn whole_days(d: &Duration) -> bool {
    d.nanos == 0 && d.seconds % DAY == 0
}

/// A duration `n` days long.
pub(crate) fn days(n: i64) -> Duration {
    Duration { seconds: n * DAY, nanos: 0 }
}

/// A window in an evidence name: `<n>d` for whole days, else `<n>h` (whole hours, which
/// every trigger window is), e.g. `14d`, `36h`.
pub(crate) fn label(seconds: i64) -> String {
    if seconds % DAY == 0 { format!("{}d", seconds / DAY) } else { format!("{}h", seconds / HOUR) }
}

/// A window in English: "14 days", "1 day", "36 hours".
pub(crate) fn english(seconds: i64) -> String {
    let (n, unit) =
        if seconds % DAY == 0 { (seconds / DAY, "day") } else { (seconds / HOUR, "hour") };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// A number in plain decimal notation with at most 2 decimals and no trailing zeros:
/// `5`, `24.5`, `0.33`.
pub(crate) fn plain(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_owned() }
}

/// Hours in `span` as a plain number (`5`, `24.5`).
pub(crate) fn hours(span: TimeDelta) -> String {
    plain(span.num_seconds() as f64 / HOUR as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_days_when_whole_else_hours() {
        assert_eq!(label(14 * DAY), "14d");
        assert_eq!(label(36 * HOUR), "36h");
        assert_eq!(label(HOUR), "1h");
        assert_eq!(english(DAY), "1 day");
        assert_eq!(english(14 * DAY), "14 days");
        assert_eq!(english(36 * HOUR), "36 hours");
    }

    #[test]
    fn plain_numbers_drop_trailing_zeros() {
        assert_eq!(plain(5.0), "5");
        assert_eq!(plain(24.5), "24.5");
        assert_eq!(plain(1.0 / 3.0), "0.33");
        assert_eq!(plain(-0.001), "0");
        assert_eq!(hours(TimeDelta::minutes(90)), "1.5");
    }

    #[test]
    fn durations_convert_only_when_normalised() {
        assert_eq!(
            to_delta(&Duration { seconds: 5, nanos: 1 }),
            Some(TimeDelta::nanoseconds(5_000_000_001))
        );
        assert_eq!(to_delta(&Duration { seconds: 5, nanos: -1 }), None);
        assert_eq!(to_delta(&Duration { seconds: 0, nanos: 1_000_000_000 }), None);
    }
}
