//! Scorecard updates as a model: which fields an `UpdateScorecard` replaces (its field mask,
//! sub-fields included) and the scorecard that results, before validation; and whether a
//! new version changes what any account's score depends on.

use prost_types::FieldMask;
use steward_kit::{Error, mask};
use steward_proto::health::v1 as pb;

use super::scorecard::bands;

/// The paths an update mask may name. Repeated fields (`components`,
/// `assignment.segments`, `assignment.lifecycle_stages`) are replaced whole.
pub const UPDATABLE: &[&str] = &[
    "display_name",
    "description",
    "components",
    "bands",
    "bands.yellow_min_score",
    "bands.green_min_score",
    "assignment",
    "assignment.segments",
    "assignment.lifecycle_stages",
    "assignment.default_scorecard",
];

/// The top-level fields `*` and an empty mask stand for (their sub-fields come with them).
const TOP_LEVEL: &[&str] = &["display_name", "description", "components", "bands", "assignment"];

/// The paths `update_mask` replaces in `stored`, given the caller's `input`: the listed
/// paths (each must be one of [`UPDATABLE`]; output-only fields such as `version` or
/// `etag` are refused naming `update_mask.paths[i]`), every top-level field for `*`, and
/// with no mask the top-level fields set (non-default) in `input`.
pub fn paths(
    update_mask: Option<&FieldMask>,
    input: &pb::Scorecard,
) -> Result<Vec<&'static str>, Error> {
    let listed = update_mask.map_or(0, |m| m.paths.len());
    let star = update_mask.is_some_and(|m| m.paths.iter().any(|p| p == "*"));
    if listed == 0 || star {
        // `*` alone is checked by the kit; it then means every top-level field.
        let all = mask::paths(update_mask, TOP_LEVEL, |p| is_set(p, input))?;
        return Ok(all);
    }
    mask::paths(update_mask, UPDATABLE, |_| false)
}

/// Whether the top-level field `path` is set (non-default) in `input`.
fn is_set(path: &str, input: &pb::Scorecard) -> bool {
    match path {
        "display_name" => !input.display_name.is_empty(),
        "description" => !input.description.is_empty(),
        "components" => !input.components.is_empty(),
        "bands" => input.bands.is_some(),
        _ => input.assignment.is_some(),
    }
}

/// `stored` with the fields at `paths` replaced by `input`'s. A cleared `bands` means the
/// default bands again (see `scorecard::with_defaults`); a cleared `assignment` scores no
/// account.
pub fn apply(stored: &pb::Scorecard, input: &pb::Scorecard, paths: &[&str]) -> pb::Scorecard {
    let mut out = stored.clone();
    let input_bands = input.bands.unwrap_or_default();
    let input_assignment = input.assignment.clone().unwrap_or_default();
    for path in paths {
        match *path {
            "display_name" => out.display_name.clone_from(&input.display_name),
            "description" => out.description.clone_from(&input.description),
            "components" => out.components.clone_from(&input.components),
            "bands" => out.bands = input.bands,
            "bands.yellow_min_score" => {
                out.bands.get_or_insert_with(|| bands(stored)).yellow_min_score =
                    input_bands.yellow_min_score;
            }
            "bands.green_min_score" => {
                out.bands.get_or_insert_with(|| bands(stored)).green_min_score =
                    input_bands.green_min_score;
            }
            "assignment" => out.assignment.clone_from(&input.assignment),
            "assignment.segments" => {
                out.assignment.get_or_insert_with(Default::default).segments =
                    input_assignment.segments.clone();
            }
            "assignment.lifecycle_stages" => {
                out.assignment.get_or_insert_with(Default::default).lifecycle_stages =
                    input_assignment.lifecycle_stages.clone();
            }
            _ => {
                out.assignment.get_or_insert_with(Default::default).default_scorecard =
                    input_assignment.default_scorecard;
            }
        }
    }
    out
}

/// Whether going from `before` to `after` changes which accounts the scorecard scores or how
/// it scores them (components, bands, assignment), so that accounts need re-scoring. A new
/// display name or description alone does not.
pub fn rescores(before: &pb::Scorecard, after: &pb::Scorecard) -> bool {
    let none = pb::Assignment::default();
    before.components != after.components
        || bands(before) != bands(after)
        || before.assignment.as_ref().unwrap_or(&none) != after.assignment.as_ref().unwrap_or(&none)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scorecard::{DEFAULT_BANDS, default_scorecard};

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
    }

    fn stored() -> pb::Scorecard {
        let mut s = default_scorecard();
        s.bands = Some(DEFAULT_BANDS);
        s.assignment = Some(pb::Assignment {
            segments: vec![pb::Segment::Enterprise as i32],
            lifecycle_stages: vec![],
            default_scorecard: false,
        });
        s
    }

    #[test]
    fn an_empty_mask_replaces_the_top_level_fields_that_are_set() {
        let input = pb::Scorecard {
            description: "new".into(),
            bands: Some(pb::BandThresholds { yellow_min_score: 30.0, green_min_score: 60.0 }),
            ..Default::default()
        };
        assert_eq!(paths(None, &input).expect("valid"), ["description", "bands"]);
        assert_eq!(paths(Some(&mask(&[])), &input).expect("valid"), ["description", "bands"]);
        let out = apply(&stored(), &input, &["description", "bands"]);
        assert_eq!(out.description, "new");
        assert_eq!(out.display_name, stored().display_name, "unset fields are kept");
        assert_eq!(out.components, stored().components);
    }

    #[test]
    fn star_replaces_every_top_level_field_even_with_defaults() {
        let input = pb::Scorecard { display_name: "Only name".into(), ..Default::default() };
        let got = paths(Some(&mask(&["*"])), &input).expect("valid");
        assert_eq!(got, TOP_LEVEL);
        let out = apply(&stored(), &input, &got);
        assert!(out.components.is_empty(), "cleared, so validation will refuse it");
        assert_eq!(out.bands, None, "cleared bands mean the defaults again");
        assert_eq!(out.assignment, None);
    }

    #[test]
    fn sub_fields_replace_only_themselves() {
        let input = pb::Scorecard {
            bands: Some(pb::BandThresholds { yellow_min_score: 1.0, green_min_score: 55.0 }),
            assignment: Some(pb::Assignment {
                segments: vec![pb::Segment::Smb as i32],
                lifecycle_stages: vec![pb::LifecycleStage::Renewal as i32],
                default_scorecard: true,
            }),
            ..Default::default()
        };
        let p =
            paths(Some(&mask(&["bands.green_min_score", "assignment.lifecycle_stages"])), &input)
                .expect("valid");
        let out = apply(&stored(), &input, &p);
        assert_eq!(
            out.bands,
            Some(pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 55.0 })
        );
        let a = out.assignment.expect("kept");
        assert_eq!(a.segments, [pb::Segment::Enterprise as i32], "segments untouched");
        assert_eq!(a.lifecycle_stages, [pb::LifecycleStage::Renewal as i32]);
        assert!(!a.default_scorecard, "the flag untouched");

        let out = apply(&stored(), &input, &["assignment.default_scorecard"]);
        assert!(out.assignment.expect("kept").default_scorecard);
    }

    #[test]
    fn a_sub_field_of_unset_bands_starts_from_the_default_bands() {
        let mut s = stored();
        s.bands = None;
        let input = pb::Scorecard {
            bands: Some(pb::BandThresholds { yellow_min_score: 20.0, green_min_score: 0.0 }),
            ..Default::default()
        };
        let out = apply(&s, &input, &["bands.yellow_min_score"]);
        assert_eq!(
            out.bands,
            Some(pb::BandThresholds { yellow_min_score: 20.0, green_min_score: 70.0 })
        );
    }

    #[test]
    fn output_only_and_unknown_paths_are_refused_by_index() {
        for (bad, field) in [
            (vec!["display_name", "version"], "update_mask.paths[1]"),
            (vec!["etag"], "update_mask.paths[0]"),
            (vec!["create_time"], "update_mask.paths[0]"),
            (vec!["rescore_operation"], "update_mask.paths[0]"),
            (vec!["bands.red"], "update_mask.paths[0]"),
            (vec!["*", "display_name"], "update_mask"),
        ] {
            match paths(Some(&mask(&bad)), &pb::Scorecard::default()) {
                Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, field, "{bad:?}"),
                other => panic!("{bad:?} should be refused: {other:?}"),
            }
        }
    }

    #[test]
    fn only_model_and_assignment_changes_need_rescoring() {
        let before = stored();
        let mut after = before.clone();
        after.display_name = "Renamed".into();
        after.description = "Why".into();
        assert!(!rescores(&before, &after));

        let mut after = before.clone();
        after.components[0].weight = 30.0;
        assert!(rescores(&before, &after));

        let mut after = before.clone();
        after.bands = None;
        assert!(!rescores(&before, &after), "unset bands are the default bands");
        after.bands = Some(pb::BandThresholds { yellow_min_score: 41.0, green_min_score: 70.0 });
        assert!(rescores(&before, &after));

        let mut after = before.clone();
        after.assignment.as_mut().expect("set").default_scorecard = true;
        assert!(rescores(&before, &after));
    }
}
