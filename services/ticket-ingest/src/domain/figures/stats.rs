//! The arithmetic of figures: nearest-rank percentiles, means, shares, and durations in the
//! API's form. Durations are carried as nanoseconds in an `i128`, so sums and means of any
//! sample cannot overflow.

use chrono::{DateTime, Utc};

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// The largest `google.protobuf.Duration` the API allows: 10,000 years (±315,576,000,000 s).
const MAX_DURATION_SECONDS: i128 = 315_576_000_000;

/// `d` in nanoseconds.
pub(super) fn nanos(d: chrono::Duration) -> i128 {
    i128::from(d.num_seconds()) * NANOS_PER_SECOND + i128::from(d.subsec_nanos())
}

/// `to − from` in nanoseconds, or 0 when `to` comes first: an answer stamped before its
/// question is a clock difference between systems, not a negative wait.
pub(super) fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> i128 {
    nanos(to.signed_duration_since(from)).max(0)
}

/// `nanos` as a normalized `google.protobuf.Duration` (nanos with the seconds' sign), clamped
/// to the range the API allows.
pub(super) fn duration(nanos: i128) -> prost_types::Duration {
    let limit = MAX_DURATION_SECONDS * NANOS_PER_SECOND;
    let nanos = nanos.clamp(-limit, limit);
    // Both parts are in range after the clamp; `%` keeps the sign of the dividend.
    prost_types::Duration {
        seconds: i64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(0),
        nanos: i32::try_from(nanos % NANOS_PER_SECOND).unwrap_or(0),
    }
}

/// The `p`-th percentile (nearest rank) of an ascending sample: the value at rank
/// ⌈p/100 · n⌉ (at least 1). `None` for an empty sample.
pub(super) fn percentile<T: Copy>(sorted: &[T], p: usize) -> Option<T> {
    let rank = p.saturating_mul(sorted.len()).div_ceil(100).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// The mean of a sample of nanoseconds, truncated toward zero; `None` when empty.
pub(super) fn mean(sample: &[i128]) -> Option<i128> {
    let n = i128::try_from(sample.len()).ok().filter(|n| *n > 0)?;
    Some(sample.iter().sum::<i128>() / n)
}

/// `part / whole`; `None` when `whole` is 0.
pub(super) fn share(part: i32, whole: i32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// A sample's length as an API count.
pub(super) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_takes_the_lower_middle_of_an_even_sample() {
        let four = [10, 20, 30, 40];
        // Median: ⌈0.5 · 4⌉ = 2 → 20; p90: ⌈0.9 · 4⌉ = 4 → 40.
        assert_eq!((percentile(&four, 50), percentile(&four, 90)), (Some(20), Some(40)));
        let ten: Vec<i32> = (1..=10).collect();
        // ⌈0.9 · 10⌉ = 9 → 9; ⌈0.5 · 10⌉ = 5 → 5.
        assert_eq!((percentile(&ten, 90), percentile(&ten, 50)), (Some(9), Some(5)));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile::<i32>(&[], 50), None);
        // p = 0 still picks rank 1.
        assert_eq!(percentile(&four, 0), Some(10));
    }

    #[test]
    fn durations_are_normalized_and_clamped() {
        assert_eq!(
            duration(-1_500_000_000),
            prost_types::Duration { seconds: -1, nanos: -500_000_000 }
        );
        assert_eq!(
            duration(90 * NANOS_PER_SECOND + 1),
            prost_types::Duration { seconds: 90, nanos: 1 }
        );
        assert_eq!(duration(i128::MAX).seconds, 315_576_000_000);
        assert_eq!(
            duration(i128::MIN),
            prost_types::Duration { seconds: -315_576_000_000, nanos: 0 }
        );
        assert_eq!(nanos(chrono::Duration::milliseconds(-1_500)), -1_500_000_000);
    }

    #[test]
    fn means_truncate_and_shares_need_a_whole() {
        assert_eq!(mean(&[1, 2]), Some(1));
        assert_eq!(mean(&[-1, -2]), Some(-1));
        assert_eq!(mean(&[]), None);
        assert_eq!(share(1, 4), Some(0.25));
        assert_eq!(share(0, 0), None);
    }
}
