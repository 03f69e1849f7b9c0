//! The client commands, one module per service area, and what they share: resource-name
//! and enum arguments, and the report every import prints.

pub mod account360;
pub mod account_import;
pub mod accounts;
pub mod measurements;
pub mod playbooks;
pub mod report;
pub mod runs;
pub mod scorecards;
pub mod scores;
pub mod support;
pub mod ticket_import;
pub mod tickets;
pub mod watch;

/// `acme` or `accounts/acme` → `accounts/acme`.
pub fn account_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("accounts/") { arg.to_owned() } else { format!("accounts/{arg}") }
}

/// An RFC 3339 time, e.g. `2026-03-31T00:00:00Z`.
pub fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    let t = chrono::DateTime::parse_from_rfc3339(text.trim())
        .map_err(|e| format!("`{text}`: {e} (expected RFC 3339, e.g. 2026-03-31T00:00:00Z)"))?;
    Ok(steward_kit::time::timestamp(t.to_utc()))
}

/// A point in the past: an RFC 3339 time, or a duration ago (`7d`, `36h`).
pub fn parse_since(text: &str) -> Result<prost_types::Timestamp, String> {
    if let Ok(ago) = humantime::parse_duration(text.trim()) {
        let ago = chrono::Duration::from_std(ago).map_err(|e| format!("`{text}`: {e}"))?;
        let t = chrono::Utc::now()
            .checked_sub_signed(ago)
            .ok_or_else(|| format!("`{text}`: too far back"))?;
        return Ok(steward_kit::time::timestamp(t));
    }
    parse_time(text).map_err(|_| {
        format!("`{text}`: expected a duration ago (e.g. 7d, 36h) or an RFC 3339 time")
    })
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
    fn since_takes_a_duration_ago_or_a_time() {
        let t = parse_since("2026-03-31T00:00:00Z").expect("a time");
        assert_eq!(t.seconds, 1_774_915_200);
        let week = parse_since("7d").expect("a duration");
        let ago = chrono::Utc::now().timestamp() - week.seconds;
        assert!((7 * 86_400..7 * 86_400 + 5).contains(&ago), "{ago}");
        assert!(parse_since("last tuesday").is_err());
    }

    #[test]
    fn account_names_take_the_id_alone() {
        assert_eq!(account_name("acme"), "accounts/acme");
        assert_eq!(account_name("accounts/acme"), "accounts/acme");
    }
}
