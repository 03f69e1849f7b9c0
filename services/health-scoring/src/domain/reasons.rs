//! Why an account is re-scored. Causes gather while an account waits in the coalescing
//! queue (one bit each); the change feed reports the first applicable one in the order the
//! API documents.

use steward_proto::health::v1::HealthChangeReason as R;

/// The causes, in reporting order: the first set bit wins.
const ORDER: [R; 6] = [
    R::Rescore,
    R::ScorecardChanged,
    R::AccountChanged,
    R::SupportActivity,
    R::Measurement,
    R::PeriodicSweep,
];

/// The queue bit of `reason` (0 for UNSPECIFIED).
pub fn bit(reason: R) -> i32 {
    ORDER.iter().position(|r| *r == reason).map_or(0, |i| 1 << i)
}

/// The reason to report for the causes in `bits`; a claim whose causes were lost (e.g. a
/// crashed worker's lease ran out) reports the periodic sweep, the cause without a trigger.
pub fn report(bits: i32) -> R {
    ORDER.iter().copied().find(|r| bits & bit(*r) != 0).unwrap_or(R::PeriodicSweep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_in_documented_order_is_reported() {
        assert_eq!(report(bit(R::Measurement) | bit(R::SupportActivity)), R::SupportActivity);
        assert_eq!(report(bit(R::PeriodicSweep) | bit(R::Rescore)), R::Rescore);
        assert_eq!(report(bit(R::AccountChanged) | bit(R::ScorecardChanged)), R::ScorecardChanged);
        assert_eq!(report(bit(R::Measurement)), R::Measurement);
    }

    #[test]
    fn bits_are_distinct_and_unknown_causes_read_as_the_sweep() {
        let all: Vec<i32> = ORDER.iter().map(|r| bit(*r)).collect();
        assert_eq!(all, [1, 2, 4, 8, 16, 32]);
        assert_eq!(bit(R::Unspecified), 0);
        assert_eq!(report(0), R::PeriodicSweep);
        assert_eq!(report(1 << 20), R::PeriodicSweep);
    }
}
