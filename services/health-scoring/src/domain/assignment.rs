//! Which scorecard scores an account: validating an assignment, ranking how specifically it
//! matches an account's segment and lifecycle stage, choosing the winner, and finding the
//! same-rank overlaps that a create or update must refuse.

use steward_kit::Violations;
use steward_proto::health::v1 as pb;

/// Rank of a scorecard listing both the account's segment and its lifecycle stage.
pub const RANK_SEGMENT_AND_STAGE: u8 = 1;
/// Rank of a scorecard listing the account's segment and no lifecycle stages.
pub const RANK_SEGMENT: u8 = 2;
/// Rank of a scorecard listing the account's lifecycle stage and no segments.
pub const RANK_STAGE: u8 = 3;
/// Rank of the default scorecard, for accounts no more specific scorecard matches.
pub const RANK_DEFAULT: u8 = 4;

/// Validates an assignment under `field` (e.g. `scorecard.assignment`): segments and
/// lifecycle stages known, not UNSPECIFIED, none listed twice. An unset assignment is valid:
/// the scorecard then scores no account (a draft).
pub fn check(a: Option<&pb::Assignment>, field: &str, v: &mut Violations) {
    let Some(a) = a else { return };
    check_values(&a.segments, &format!("{field}.segments"), v, |s| {
        pb::Segment::try_from(s).ok().map(|s| s == pb::Segment::Unspecified)
    });
    check_values(&a.lifecycle_stages, &format!("{field}.lifecycle_stages"), v, |s| {
        pb::LifecycleStage::try_from(s).ok().map(|s| s == pb::LifecycleStage::Unspecified)
    });
}

/// Checks one list of enum values; `unspecified` says whether a value is the enum's
/// UNSPECIFIED, or `None` for an unknown value.
fn check_values(
    values: &[i32],
    field: &str,
    v: &mut Violations,
    unspecified: impl Fn(i32) -> Option<bool>,
) {
    for (i, &value) in values.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match unspecified(value) {
            None => v.add(at, format!("unknown value {value}")),
            Some(true) => v.add(at, "must not be UNSPECIFIED"),
            Some(false) if values[..i].contains(&value) => v.add(at, "listed twice"),
            Some(false) => {}
        }
    }
}

/// How specifically `a` matches an account in `segment` and `stage` (`pb::Segment` and
/// `pb::LifecycleStage` values): 1 segment and stage, 2 segment only, 3 stage only, 4 as
/// the default; `None` when it does not match. Lower is more specific.
///
/// A scorecard listing segments matches only accounts in one of them, and likewise for
/// stages; when its lists do not match, the default flag still makes it match as the
/// default. An account with an unset segment or stage matches no list (lists never hold
/// UNSPECIFIED).
pub fn rank(a: &pb::Assignment, segment: i32, stage: i32) -> Option<u8> {
    let specific = match (a.segments.is_empty(), a.lifecycle_stages.is_empty()) {
        (false, false) => (a.segments.contains(&segment) && a.lifecycle_stages.contains(&stage))
            .then_some(RANK_SEGMENT_AND_STAGE),
        (false, true) => a.segments.contains(&segment).then_some(RANK_SEGMENT),
        (true, false) => a.lifecycle_stages.contains(&stage).then_some(RANK_STAGE),
        (true, true) => None,
    };
    specific.or(a.default_scorecard.then_some(RANK_DEFAULT))
}

/// The name of the scorecard that scores an account in `segment` and `stage`: the matching
/// one of best (lowest) rank, or `None` when none matches (no default exists).
///
/// Stored scorecards never tie (see [`conflict`]); should they, the smallest name wins so
/// that the choice never depends on the order the scorecards were read in.
pub fn choose<'a>(
    scorecards: impl IntoIterator<Item = (&'a str, &'a pb::Assignment)>,
    segment: i32,
    stage: i32,
) -> Option<&'a str> {
    scorecards
        .into_iter()
        .filter_map(|(name, a)| Some((rank(a, segment, stage)?, name)))
        .min()
        .map(|(_, name)| name)
}

/// The name of a scorecard in `existing` that could match some account at the same rank as
/// `candidate`, so that neither would be more specific than the other; `None` when storing
/// `candidate` as `name` is safe. `existing` may hold `name`'s own stored version, which is
/// skipped. With several conflicts, the smallest name is returned.
///
/// Only ranks 1–3 can conflict: two scorecards of the same list shape whose lists overlap
/// (both segments and stages for rank 1, segments for rank 2, stages for rank 3). Two
/// scorecards flagged as default are *not* a conflict here: setting the flag moves it from
/// the previous default, which the store does in the same transaction.
pub fn conflict(
    existing: &[(&str, &pb::Assignment)],
    name: &str,
    candidate: &pb::Assignment,
) -> Option<String> {
    existing
        .iter()
        .filter(|(other, a)| *other != name && overlaps(a, candidate))
        .map(|(other, _)| *other)
        .min()
        .map(str::to_owned)
}

/// Whether some account would be matched by both `a` and `b` at the same specific rank.
/// A rank depends only on which lists are empty, so the two must have the same shape, and
/// then a common account exists exactly when each non-empty pair of lists shares a value.
fn overlaps(a: &pb::Assignment, b: &pb::Assignment) -> bool {
    let shape = |x: &pb::Assignment| (x.segments.is_empty(), x.lifecycle_stages.is_empty());
    let shares = |x: &[i32], y: &[i32]| x.iter().any(|value| y.contains(value));
    match (shape(a), shape(b)) {
        // Neither lists anything: at most two defaults, which is not a conflict.
        ((true, true), _) => false,
        (sa, sb) if sa != sb => false,
        ((segments_empty, stages_empty), _) => {
            (segments_empty || shares(&a.segments, &b.segments))
                && (stages_empty || shares(&a.lifecycle_stages, &b.lifecycle_stages))
        }
    }
}

// The tests are many; they live in `assignment/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
