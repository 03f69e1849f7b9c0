//! Which accounts a scorecard scores, given every other scorecard: the accounts a scorecard
//! write must re-score, and the accounts a draft would score if it were saved.

use std::collections::BTreeSet;

use steward_proto::health::v1 as pb;

use super::assignment::rank;

/// One account as assignment sees it: its name, segment and lifecycle stage (health enum
/// numbers, 0 when unset).
pub type Cell = (String, i32, i32);

/// The accounts of `cells` that `candidate` scores among `others` (every other scorecard's
/// assignment; the candidate's own stored versions left out): those it matches at a rank at
/// least as specific as the best of the others'. Stored scorecards never tie (a write that
/// would is refused); a draft that ties is taken to win, as if it were saved.
///
/// When the candidate is the default, the others' default flags are ignored: setting the
/// flag moves it.
pub fn scored_by(
    others: &[&pb::Assignment],
    candidate: &pb::Assignment,
    cells: &[Cell],
) -> Vec<String> {
    let demoted: Vec<pb::Assignment> = others
        .iter()
        .map(|a| pb::Assignment {
            default_scorecard: a.default_scorecard && !candidate.default_scorecard,
            ..(*a).clone()
        })
        .collect();
    cells
        .iter()
        .filter(|(_, segment, stage)| {
            let Some(mine) = rank(candidate, *segment, *stage) else { return false };
            demoted.iter().filter_map(|a| rank(a, *segment, *stage)).all(|other| mine <= other)
        })
        .map(|(name, _, _)| name.clone())
        .collect()
}

/// What a scorecard write re-scores: the accounts the written scorecard now scores, and the
/// accounts whose current score was computed by it (or by a scorecard the write demoted
/// from the default), which may now belong to another. Sorted, without duplicates.
pub fn to_rescore(now_scored: Vec<String>, scored_before: Vec<String>) -> Vec<String> {
    now_scored.into_iter().chain(scored_before).collect::<BTreeSet<_>>().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::LifecycleStage as St;
    use pb::Segment as Seg;

    fn assign(segments: &[Seg], stages: &[St], default: bool) -> pb::Assignment {
        pb::Assignment {
            segments: segments.iter().map(|s| *s as i32).collect(),
            lifecycle_stages: stages.iter().map(|s| *s as i32).collect(),
            default_scorecard: default,
        }
    }

    /// a: SMB/ONBOARDING, b: ENTERPRISE/RENEWAL, c: ENTERPRISE/ADOPTION, d: unset/unset.
    fn cells() -> Vec<Cell> {
        vec![
            ("accounts/a".into(), Seg::Smb as i32, St::Onboarding as i32),
            ("accounts/b".into(), Seg::Enterprise as i32, St::Renewal as i32),
            ("accounts/c".into(), Seg::Enterprise as i32, St::Adoption as i32),
            ("accounts/d".into(), 0, 0),
        ]
    }

    #[test]
    fn a_segment_scorecard_takes_its_segment_from_the_default() {
        let default = assign(&[], &[], true);
        let enterprise = assign(&[Seg::Enterprise], &[], false);
        assert_eq!(scored_by(&[&default], &enterprise, &cells()), ["accounts/b", "accounts/c"]);
        // And the default keeps the rest.
        assert_eq!(scored_by(&[&enterprise], &default, &cells()), ["accounts/a", "accounts/d"]);
    }

    #[test]
    fn more_specific_scorecards_keep_their_accounts() {
        let default = assign(&[], &[], true);
        let renewals = assign(&[Seg::Enterprise], &[St::Renewal], false);
        let enterprise = assign(&[Seg::Enterprise], &[], false);
        // b is in ENTERPRISE and RENEWAL: rank 1 beats the segment-only scorecard.
        assert_eq!(scored_by(&[&default, &renewals], &enterprise, &cells()), ["accounts/c"]);
        let stage_only = assign(&[], &[St::Adoption, St::Onboarding], false);
        assert_eq!(scored_by(&[&default, &enterprise], &stage_only, &cells()), ["accounts/a"]);
    }

    #[test]
    fn a_new_default_takes_every_account_nothing_more_specific_matches() {
        let old_default = assign(&[], &[], true);
        let smb = assign(&[Seg::Smb], &[], false);
        let new_default = assign(&[Seg::Enterprise], &[], true);
        // Matches b, c by segment; a goes to smb; d only to a default: the new one.
        assert_eq!(
            scored_by(&[&old_default, &smb], &new_default, &cells()),
            ["accounts/b", "accounts/c", "accounts/d"]
        );
    }

    #[test]
    fn a_draft_without_assignment_scores_nothing_and_a_tied_draft_wins() {
        let default = assign(&[], &[], true);
        assert!(scored_by(&[&default], &pb::Assignment::default(), &cells()).is_empty());
        let enterprise = assign(&[Seg::Enterprise], &[], false);
        let draft = assign(&[Seg::Enterprise, Seg::Smb], &[], false);
        assert_eq!(
            scored_by(&[&default, &enterprise], &draft, &cells()),
            ["accounts/a", "accounts/b", "accounts/c"]
        );
    }

    #[test]
    fn rescoring_unites_both_sets_in_name_order() {
        let got = to_rescore(
            vec!["accounts/c".into(), "accounts/a".into()],
            vec!["accounts/a".into(), "accounts/b".into()],
        );
        assert_eq!(got, ["accounts/a", "accounts/b", "accounts/c"]);
    }
}
