//! How facts and explanations write numbers, counts and windows, so that every English line
//! of a breakdown reads the same way.

use chrono::Duration;

/// `n` followed by `word`, pluralized with an `s`: "1 day", "3 days".
pub(crate) fn count(n: i64, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// A window length as people say it: "30 days", "1 day", "36 hours", "90 minutes".
pub(crate) fn window(w: Duration) -> String {
    if w.num_days() != 0 && w == Duration::days(w.num_days()) {
        count(w.num_days(), "day")
    } else if w.num_hours() != 0 && w == Duration::hours(w.num_hours()) {
        count(w.num_hours(), "hour")
    } else {
        count(w.num_minutes(), "minute")
    }
}

/// A share 0–1 as a percentage with at most one decimal: 0.9 → "90%", 0.125 → "12.5%".
pub(crate) fn percent(share: f64) -> String {
    format!("{}%", number(share * 100.0, 1))
}

/// `x` with at most `decimals` decimals, trailing zeros dropped: 3.0 → "3", 0.4200 →
/// "0.42". Magnitudes of a billion and more use scientific notation (a custom measurement
/// may be anything; a fact stays one short line).
pub(crate) fn number(x: f64, decimals: usize) -> String {
    if !x.is_finite() || x.abs() >= 1e9 {
        return format!("{x:e}");
    }
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    // "-0" after rounding a tiny negative reads as a sign error.
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

/// A change with its sign, in exactly `decimals` decimals: "+12.00", "−3.50" (a true minus
/// sign, U+2212, as the API's examples write it), "0.00".
pub(crate) fn signed(x: f64, decimals: usize) -> String {
    let magnitude = format!("{:.decimals$}", x.abs());
    let zero = magnitude.trim_start_matches(['0', '.']).is_empty();
    match () {
        _ if zero || x.is_nan() => magnitude,
        _ if x < 0.0 => format!("\u{2212}{magnitude}"),
        _ => format!("+{magnitude}"),
    }
}

/// A duration in fractional days; negative durations (clock skew) count as 0.
pub(crate) fn days(d: &prost_types::Duration) -> f64 {
    let seconds = d.seconds as f64 + f64::from(d.nanos) / 1e9;
    (seconds / 86_400.0).max(0.0)
}

/// How old data is, in its largest whole unit: "40 days", "25 hours", "3 minutes" (days
/// from 2 days on, so that 36 hours is not rounded down to "1 day").
pub(crate) fn age(d: Duration) -> String {
    if d.num_days() >= 2 {
        count(d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        count(d.num_hours(), "hour")
    } else {
        count(d.num_minutes().max(0), "minute")
    }
}
