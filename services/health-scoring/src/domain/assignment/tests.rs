//! Unit tests of scorecard assignment: validation, the four ranks of precedence, choosing,
//! and same-rank conflicts, checked against a brute force over every segment × stage cell.

use steward_kit::Error;

use super::*;

use pb::LifecycleStage as St;
use pb::Segment as Seg;

const SMB: i32 = Seg::Smb as i32;
const MID: i32 = Seg::MidMarket as i32;
const ENT: i32 = Seg::Enterprise as i32;
const STRATEGIC: i32 = Seg::Strategic as i32;
const ONBOARDING: i32 = St::Onboarding as i32;
const ADOPTION: i32 = St::Adoption as i32;
const RENEWAL: i32 = St::Renewal as i32;

fn assign(segments: &[i32], stages: &[i32], default: bool) -> pb::Assignment {
    pb::Assignment {
        segments: segments.to_vec(),
        lifecycle_stages: stages.to_vec(),
        default_scorecard: default,
    }
}

fn violations(a: Option<&pb::Assignment>) -> Vec<String> {
    let mut v = Violations::default();
    check(a, "scorecard.assignment", &mut v);
    match v.finish() {
        Ok(()) => vec![],
        Err(Error::InvalidArgument(fields)) => fields.into_iter().map(|f| f.field).collect(),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// Every account cell: each known segment and stage, UNSPECIFIED (unset) included.
fn cells() -> Vec<(i32, i32)> {
    let segments = (0..).map_while(|s| Seg::try_from(s).ok().map(|_| s)).collect::<Vec<_>>();
    let stages = (0..).map_while(|s| St::try_from(s).ok().map(|_| s)).collect::<Vec<_>>();
    assert_eq!((segments.len(), stages.len()), (5, 6), "every enum value is covered");
    segments.iter().flat_map(|&seg| stages.iter().map(move |&st| (seg, st))).collect()
}

#[test]
fn valid_assignments_pass() {
    assert!(violations(None).is_empty());
    assert!(violations(Some(&pb::Assignment::default())).is_empty());
    assert!(violations(Some(&assign(&[SMB, ENT], &[RENEWAL, ONBOARDING], true))).is_empty());
}

#[test]
fn unknown_unspecified_and_repeated_values_are_named() {
    let a = assign(&[ENT, 0, 99, ENT], &[RENEWAL, 6, RENEWAL, 0], false);
    assert_eq!(
        violations(Some(&a)),
        [
            "scorecard.assignment.segments[1]",
            "scorecard.assignment.segments[2]",
            "scorecard.assignment.segments[3]",
            "scorecard.assignment.lifecycle_stages[1]",
            "scorecard.assignment.lifecycle_stages[2]",
            "scorecard.assignment.lifecycle_stages[3]",
        ]
    );
}

#[test]
fn rank_follows_the_list_shape_and_falls_back_to_default() {
    let both = assign(&[ENT, STRATEGIC], &[RENEWAL], false);
    assert_eq!(rank(&both, ENT, RENEWAL), Some(1));
    assert_eq!(rank(&both, STRATEGIC, RENEWAL), Some(1));
    assert_eq!(rank(&both, ENT, ADOPTION), None, "the stage list constrains too");
    assert_eq!(rank(&both, SMB, RENEWAL), None, "the segment list constrains too");

    let segment = assign(&[ENT], &[], false);
    assert_eq!(rank(&segment, ENT, ADOPTION), Some(2));
    assert_eq!(rank(&segment, ENT, 0), Some(2), "no stage list: any stage, unset too");
    assert_eq!(rank(&segment, SMB, ADOPTION), None);

    let stage = assign(&[], &[ONBOARDING], false);
    assert_eq!(rank(&stage, MID, ONBOARDING), Some(3));
    assert_eq!(rank(&stage, 0, ONBOARDING), Some(3), "no segment list: any segment");
    assert_eq!(rank(&stage, MID, RENEWAL), None);

    let default = assign(&[], &[], true);
    assert_eq!(rank(&default, SMB, ADOPTION), Some(4));
    assert_eq!(rank(&default, 0, 0), Some(4));

    // A draft: no lists, not the default, matches nobody.
    assert_eq!(rank(&assign(&[], &[], false), ENT, RENEWAL), None);
}

#[test]
fn a_default_with_lists_matches_its_accounts_specifically_and_the_rest_as_default() {
    let a = assign(&[ENT], &[], true);
    assert_eq!(rank(&a, ENT, RENEWAL), Some(2));
    assert_eq!(rank(&a, SMB, RENEWAL), Some(4));
}

#[test]
fn unset_segment_or_stage_matches_no_list() {
    assert_eq!(rank(&assign(&[ENT], &[RENEWAL], false), 0, RENEWAL), None);
    assert_eq!(rank(&assign(&[ENT], &[RENEWAL], false), ENT, 0), None);
    assert_eq!(rank(&assign(&[], &[RENEWAL], false), SMB, 0), None);
}

#[test]
fn the_most_specific_matching_scorecard_wins() {
    let ent_renewal = assign(&[ENT], &[RENEWAL], false);
    let ent = assign(&[ENT], &[], false);
    let renewal = assign(&[], &[RENEWAL], false);
    let default = assign(&[], &[], true);
    let draft = assign(&[], &[], false);
    let all = [
        ("scorecards/default", &default),
        ("scorecards/renewal", &renewal),
        ("scorecards/draft", &draft),
        ("scorecards/ent", &ent),
        ("scorecards/ent-renewal", &ent_renewal),
    ];
    let cases = [
        (ENT, RENEWAL, "scorecards/ent-renewal"),
        (ENT, ADOPTION, "scorecards/ent"),
        (ENT, 0, "scorecards/ent"),
        (SMB, RENEWAL, "scorecards/renewal"),
        (0, RENEWAL, "scorecards/renewal"),
        (SMB, ADOPTION, "scorecards/default"),
        (0, 0, "scorecards/default"),
    ];
    for (segment, stage, expected) in cases {
        assert_eq!(choose(all, segment, stage), Some(expected), "{segment} × {stage}");
        // The order scorecards are read in does not matter.
        let mut reversed = all;
        reversed.reverse();
        assert_eq!(choose(reversed, segment, stage), Some(expected), "{segment} × {stage}");
    }
}

#[test]
fn no_scorecard_when_nothing_matches_and_there_is_no_default() {
    let ent = assign(&[ENT], &[], false);
    let draft = assign(&[], &[], false);
    assert_eq!(choose([("scorecards/ent", &ent), ("scorecards/draft", &draft)], SMB, 1), None);
    assert_eq!(choose(std::iter::empty(), ENT, RENEWAL), None);
}

#[test]
fn ties_go_to_the_smallest_name() {
    let a = assign(&[], &[], true);
    assert_eq!(choose([("scorecards/b", &a), ("scorecards/a", &a)], SMB, 1), Some("scorecards/a"));
}

#[test]
fn choose_agrees_with_the_precedence_in_every_cell() {
    let family = family();
    let named: Vec<(String, &pb::Assignment)> =
        family.iter().enumerate().map(|(i, a)| (format!("scorecards/s{i:02}"), a)).collect();
    for (segment, stage) in cells() {
        // The service comment's precedence, spelled out literally.
        let expected = (1..=4u8).find_map(|r| {
            named
                .iter()
                .filter(|(_, a)| {
                    let has_seg = a.segments.contains(&segment);
                    let has_st = a.lifecycle_stages.contains(&stage);
                    match r {
                        1 => has_seg && has_st,
                        2 => has_seg && a.lifecycle_stages.is_empty(),
                        3 => has_st && a.segments.is_empty(),
                        _ => a.default_scorecard,
                    }
                })
                .map(|(n, _)| n.as_str())
                .min()
        });
        let got = choose(named.iter().map(|(n, a)| (n.as_str(), *a)), segment, stage);
        assert_eq!(got, expected, "{segment} × {stage}");
    }
}

/// Assignments of every shape: segment lists ∅, [SMB], [ENT], [SMB, ENT] × stage lists ∅,
/// [ONBOARDING], [RENEWAL], [ONBOARDING, RENEWAL] × default or not: 32 in all.
fn family() -> Vec<pb::Assignment> {
    let segment_lists: [&[i32]; 4] = [&[], &[SMB], &[ENT], &[SMB, ENT]];
    let stage_lists: [&[i32]; 4] = [&[], &[ONBOARDING], &[RENEWAL], &[ONBOARDING, RENEWAL]];
    let mut out = Vec::new();
    for segments in segment_lists {
        for stages in stage_lists {
            for default in [false, true] {
                out.push(assign(segments, stages, default));
            }
        }
    }
    out
}

#[test]
fn conflict_is_exactly_a_shared_cell_at_the_same_specific_rank() {
    let family = family();
    for a in &family {
        for b in &family {
            let brute = cells().into_iter().any(|(seg, st)| {
                let (ra, rb) = (rank(a, seg, st), rank(b, seg, st));
                ra == rb && ra.is_some_and(|r| r < RANK_DEFAULT)
            });
            let found = conflict(&[("scorecards/other", a)], "scorecards/new", b);
            assert_eq!(found.is_some(), brute, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn overlapping_lists_of_the_same_shape_conflict() {
    let existing = assign(&[ENT, STRATEGIC], &[], false);
    let candidate = assign(&[STRATEGIC], &[], false);
    assert_eq!(
        conflict(&[("scorecards/big", &existing)], "scorecards/new", &candidate).as_deref(),
        Some("scorecards/big")
    );
    let existing = assign(&[], &[RENEWAL, ADOPTION], false);
    let candidate = assign(&[], &[RENEWAL], true);
    assert!(conflict(&[("scorecards/r", &existing)], "scorecards/new", &candidate).is_some());
    let existing = assign(&[ENT], &[RENEWAL, ADOPTION], false);
    let candidate = assign(&[ENT, SMB], &[ADOPTION], false);
    assert!(conflict(&[("scorecards/r", &existing)], "scorecards/new", &candidate).is_some());
}

#[test]
fn different_shapes_or_disjoint_lists_do_not_conflict() {
    let ent = assign(&[ENT], &[], false);
    let ent_renewal = assign(&[ENT], &[RENEWAL], false);
    let renewal = assign(&[], &[RENEWAL], false);
    let smb = assign(&[SMB], &[], false);
    let ent_adoption = assign(&[ENT], &[ADOPTION], false);
    let existing = [("scorecards/ent", &ent), ("scorecards/renewal", &renewal)];
    // More specific than both: ENT × RENEWAL goes to the new one, by rank 1.
    assert_eq!(conflict(&existing, "scorecards/new", &ent_renewal), None);
    assert_eq!(conflict(&existing, "scorecards/new", &smb), None);
    // Same shape as ENT × RENEWAL, but no stage in common.
    assert_eq!(conflict(&[("scorecards/x", &ent_renewal)], "scorecards/new", &ent_adoption), None);
}

#[test]
fn two_defaults_are_not_a_conflict() {
    let default = assign(&[], &[], true);
    assert_eq!(conflict(&[("scorecards/default", &default)], "scorecards/new", &default), None);
}

#[test]
fn a_scorecard_does_not_conflict_with_its_own_stored_version() {
    let ent = assign(&[ENT], &[], false);
    let ent_mid = assign(&[ENT, MID], &[], false);
    assert_eq!(conflict(&[("scorecards/ent", &ent)], "scorecards/ent", &ent_mid), None);
}

#[test]
fn with_several_conflicts_the_smallest_name_is_reported() {
    let ent = assign(&[ENT], &[], false);
    let smb = assign(&[SMB], &[], false);
    let both = assign(&[SMB, ENT], &[], false);
    let existing = [("scorecards/zeta", &ent), ("scorecards/alpha", &smb)];
    assert_eq!(conflict(&existing, "scorecards/new", &both).as_deref(), Some("scorecards/alpha"));
}
