//! The client commands, one module per service area, and what they share: resource-name
//! and enum arguments, and the report every import prints.

pub mod account_import;
pub mod accounts;
pub mod report;
pub mod support;
pub mod ticket_import;
pub mod tickets;

/// `acme` or `accounts/acme` → `accounts/acme`.
pub fn account_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("accounts/") { arg.to_owned() } else { format!("accounts/{arg}") }
}

/// Reads an enum value as people type it: `enterprise`, `mid-market`, `MID_MARKET` or the
/// full `SEGMENT_MID_MARKET`. `lookup` is the generated `from_str_name`.
pub fn enum_value(
    text: &str,
    prefix: &str,
    lookup: impl Fn(&str) -> Option<i32>,
    known: &[&str],
) -> Result<i32, String> {
    let upper = text.trim().to_uppercase().replace(['-', ' '], "_");
    let full = if upper.starts_with(prefix) { upper } else { format!("{prefix}{upper}") };
    lookup(&full).filter(|v| *v != 0).ok_or_else(|| {
        format!("unknown value `{}` (expected one of: {})", text.trim(), known.join(", "))
    })
}

/// A clap value parser for the enum `E` with value-name prefix `prefix`.
#[macro_export]
#[doc(hidden)]
macro_rules! enum_arg {
    ($ty:ty, $prefix:literal, [$($known:literal),+ $(,)?]) => {
        |text: &str| -> Result<i32, String> {
            $crate::commands::enum_value(
                text,
                $prefix,
                |name| <$ty>::from_str_name(name).map(|v| v as i32),
                &[$($known),+],
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use steward_proto::account::v1 as pb;

    use super::*;

    #[test]
    fn enum_values_read_as_people_type_them() {
        let segment = enum_arg!(pb::Segment, "SEGMENT_", ["smb", "mid_market"]);
        for text in ["mid-market", "MID_MARKET", "SEGMENT_MID_MARKET", " Mid Market "] {
            assert_eq!(segment(text), Ok(pb::Segment::MidMarket as i32), "{text}");
        }
        assert_eq!(
            segment("huge"),
            Err("unknown value `huge` (expected one of: smb, mid_market)".into())
        );
        assert!(segment("unspecified").is_err(), "UNSPECIFIED is not a value to ask for");
    }

    #[test]
    fn account_names_take_the_id_alone() {
        assert_eq!(account_name("acme"), "accounts/acme");
        assert_eq!(account_name("accounts/acme"), "accounts/acme");
    }
}
