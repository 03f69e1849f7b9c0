//! Open-loop pacing: every request has an intended send time fixed in advance by the offered
//! rate, and latency is measured from it. A stalled server then shows up as latency (the
//! requests that should have gone out meanwhile wait, and their clocks run), not as fewer
//! requests sent: the coordinated-omission correction.

use std::str::FromStr;
use std::time::Duration;

/// `--rate`: a number of requests per second, or `max` (as fast as the server answers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rate {
    /// Closed loop: each worker sends its next request when the previous one is answered;
    /// latency is measured from the actual send.
    Max,
    /// Open loop at this many requests per second.
    PerSecond(f64),
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        match text.replace('_', "").parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Rate::PerSecond(rate)),
            _ => Err(format!("`{text}` is neither `max` nor a positive number of requests/s")),
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Max => f.write_str("max"),
            Rate::PerSecond(rate) => write!(f, "{rate}/s"),
        }
    }
}

/// One stretch of constant offered load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Phase {
    pub(crate) rate: f64,
    pub(crate) duration: Duration,
}

/// Offered load over time: phases one after another (e.g. capacity, twice that, normal).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    phases: Vec<Phase>,
}

impl Schedule {
    pub(crate) fn constant(rate: f64, duration: Duration) -> Self {
        Self::phases(vec![Phase { rate, duration }])
    }

    pub(crate) fn phases(phases: Vec<Phase>) -> Self {
        Self { phases }
    }

    /// When request `i` (from 0) is meant to be sent, after the start; `None` once the
    /// schedule is over. Computed from `i` rather than accumulated, so it never drifts.
    pub(crate) fn offset(&self, i: u64) -> Option<Duration> {
        let i = i as f64;
        let (mut begin, mut first) = (Duration::ZERO, 0.0);
        for phase in &self.phases {
            let count = phase.rate * phase.duration.as_secs_f64();
            if i < first + count {
                return Some(begin + Duration::from_secs_f64((i - first) / phase.rate));
            }
            first += count;
            begin += phase.duration;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_spaces_requests_evenly_and_ends_on_time() {
        let s = Schedule::constant(1000.0, Duration::from_secs(2));
        assert_eq!(s.offset(0), Some(Duration::ZERO));
        assert_eq!(s.offset(1), Some(Duration::from_millis(1)));
        // No drift after many requests: the 1,500th is due at exactly 1.5 s.
        assert_eq!(s.offset(1500), Some(Duration::from_millis(1500)));
        assert!(s.offset(1999).is_some());
        assert_eq!(s.offset(2000), None);
    }

    #[test]
    fn phases_follow_each_other_at_their_own_rates() {
        let s = Schedule::phases(vec![
            Phase { rate: 10.0, duration: Duration::from_secs(1) },
            Phase { rate: 100.0, duration: Duration::from_secs(1) },
        ]);
        assert_eq!(s.offset(9), Some(Duration::from_millis(900)));
        // The 11th request is the second phase's first.
        assert_eq!(s.offset(10), Some(Duration::from_secs(1)));
        assert_eq!(s.offset(60), Some(Duration::from_millis(1500)));
        assert_eq!(s.offset(110), None);
    }

    #[test]
    fn rates_parse_as_max_or_a_positive_number() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("2_500".parse::<Rate>(), Ok(Rate::PerSecond(2500.0)));
        assert!("0".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
    }
}
