//! Enum values in requests: filters take enum values, the stores keep their names.

use crate::{Error, Violations};

/// Enum filter values as their stored names (`name` maps a value to its name); unknown
/// values are `INVALID_ARGUMENT` naming `field[i]`.
pub fn names(
    values: &[i32],
    field: &str,
    name: impl Fn(i32) -> Option<&'static str>,
) -> Result<Vec<String>, Error> {
    let mut v = Violations::default();
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        match name(*value) {
            Some(n) => out.push(n.to_owned()),
            None => v.add(format!("{field}[{i}]"), format!("unknown value {value}")),
        }
    }
    v.finish()?;
    Ok(out)
}
