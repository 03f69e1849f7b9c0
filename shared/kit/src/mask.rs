//! AIP-134 update masks: which fields an update replaces.

use prost_types::FieldMask;

use crate::Error;

/// The fields an update replaces, from its `update_mask`: the listed paths (each must be one
/// of `updatable`); every updatable path for `*`; with no mask, the updatable fields for
/// which `is_set` holds (the fields the caller filled in).
pub fn paths(
    mask: Option<&FieldMask>,
    updatable: &[&'static str],
    is_set: impl Fn(&str) -> bool,
) -> Result<Vec<&'static str>, Error> {
    let listed = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if listed.is_empty() {
        return Ok(updatable.iter().copied().filter(|p| is_set(p)).collect());
    }
    if listed.iter().any(|p| p == "*") {
        return if listed.len() == 1 {
            Ok(updatable.to_vec())
        } else {
            Err(Error::invalid("update_mask", "`*` cannot be combined with other paths"))
        };
    }
    let mut out = Vec::with_capacity(listed.len());
    for (i, path) in listed.iter().enumerate() {
        let known = updatable.iter().find(|u| **u == path.as_str()).ok_or_else(|| {
            Error::invalid(
                format!("update_mask.paths[{i}]"),
                format!("`{path}` is not updatable; updatable: {}", updatable.join(", ")),
            )
        })?;
        if !out.contains(known) {
            out.push(*known);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATABLE: &[&str] = &["display_name", "owner", "labels"];

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
    }

    #[test]
    fn no_mask_means_the_fields_that_are_set() {
        let got = paths(None, UPDATABLE, |p| p == "owner").expect("valid");
        assert_eq!(got, ["owner"]);
    }

    #[test]
    fn star_means_every_updatable_field() {
        let got = paths(Some(&mask(&["*"])), UPDATABLE, |_| false).expect("valid");
        assert_eq!(got, UPDATABLE);
    }

    #[test]
    fn unknown_paths_are_named() {
        let err = paths(Some(&mask(&["owner", "create_time"])), UPDATABLE, |_| true)
            .expect_err("create_time is output only");
        assert!(err.to_string().contains("update_mask.paths[1]"), "{err}");
    }
}
