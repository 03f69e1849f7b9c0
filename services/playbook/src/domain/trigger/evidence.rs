//! Building `Evidence` items and numbers as the API writes them.

use steward_proto::playbook::v1 as pb;

/// A compared fact: `value comparison threshold`, and whether it holds.
pub(crate) fn compared(
    name: impl Into<String>,
    value: impl Into<String>,
    comparison: &str,
    threshold: impl Into<String>,
    satisfied: bool,
    fact: impl Into<String>,
) -> pb::Evidence {
    pb::Evidence {
        name: name.into(),
        value: value.into(),
        comparison: comparison.into(),
        threshold: threshold.into(),
        satisfied,
        fact: fact.into(),
    }
}

/// A context fact: shown, not compared (always satisfied).
pub(crate) fn context(
    name: impl Into<String>,
    value: impl Into<String>,
    fact: impl Into<String>,
) -> pb::Evidence {
    pb::Evidence {
        name: name.into(),
        value: value.into(),
        satisfied: true,
        fact: fact.into(),
        ..Default::default()
    }
}

/// A score or point count with 2 decimals, e.g. `58.40`.
pub(crate) fn two(x: f64) -> String {
    format!("{x:.2}")
}

/// `x >= bound`, forgiving the float noise of differences between 2-decimal numbers
/// (80.00 − 60.00 is exactly a 20-point drop).
pub(crate) fn at_least(x: f64, bound: f64) -> bool {
    x >= bound - 1e-9
}
