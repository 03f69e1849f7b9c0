//! What commands print: plain tables for people, one JSON document for scripts, and the
//! small formatters both share (enum names, times, money).

use comfy_table::{Table, presets};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document on stdout (proto3 JSON mapping for API resources).
    Json,
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    print(&serde_json::to_string_pretty(value)?)
}

/// Writes `text` and a newline to stdout. A reader that went away (`steward … | head`) is
/// not an error, and never a panic as `println!` would make it: nobody is left to tell.
pub fn print(text: &str) -> anyhow::Result<()> {
    emit(text).map(|_| ())
}

/// As [`print`], for a live view that prints line after line: `false` once the reader is
/// gone, so that the view can end quietly instead of watching for nobody.
pub fn emit(text: &str) -> anyhow::Result<bool> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A borderless table with upper-case headers, as kubectl prints them.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    trim_lines(&table.to_string())
}

/// A two-column `field  value` table, for one resource.
pub fn fields(rows: impl IntoIterator<Item = (&'static str, String)>) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    for (field, value) in rows {
        table.add_row(vec![format!("{field}:"), value]);
    }
    trim_lines(&table.to_string())
}

/// comfy-table pads every cell, and the preset leaves a leading space: strip both.
fn trim_lines(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(l.trim_end()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An enum value's name without its type prefix, lower case: `SEGMENT_MID_MARKET` with
/// prefix `SEGMENT_` gives `mid_market`; UNSPECIFIED gives `-`.
pub fn enum_name(name: &str, prefix: &str) -> String {
    let short = name.strip_prefix(prefix).unwrap_or(name);
    if short == "UNSPECIFIED" || short.is_empty() { "-".into() } else { short.to_lowercase() }
}

/// A timestamp as RFC 3339 in UTC to the second; `-` when unset or out of range.
pub fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|ts| chrono::DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?))
        .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}

/// A duration as people read it (`3h 12m`); `-` when unset.
pub fn duration(d: Option<&prost_types::Duration>) -> String {
    let Some(d) = d else { return "-".into() };
    let secs = u64::try_from(d.seconds).unwrap_or(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// A share (0.0–1.0) as a percentage; `-` when unset.
pub fn share(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// An amount in minor units with its currency, e.g. `USD 12,500.00`. Currencies without
/// minor units (ISO 4217 exponent 0) print whole.
pub fn money(amount_minor: i64, currency: &str) -> String {
    const WHOLE: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF",
    ];
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    if WHOLE.contains(&currency) {
        format!("{currency} {sign}{}", grouped(abs))
    } else {
        format!("{currency} {sign}{}.{:02}", grouped(abs / 100), abs % 100)
    }
}

/// `n` with its thousands separated by commas.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_knows_whole_currencies() {
        assert_eq!(money(1_250_000, "USD"), "USD 12,500.00");
        assert_eq!(money(-5, "EUR"), "EUR -0.05");
        assert_eq!(money(1_000_000, "JPY"), "JPY 1,000,000");
        assert_eq!(money(0, "USD"), "USD 0.00");
    }

    #[test]
    fn enum_names_lose_their_prefix() {
        assert_eq!(enum_name("SEGMENT_MID_MARKET", "SEGMENT_"), "mid_market");
        assert_eq!(enum_name("SEGMENT_UNSPECIFIED", "SEGMENT_"), "-");
    }

    #[test]
    fn durations_read_at_a_glance() {
        let d = |seconds| Some(prost_types::Duration { seconds, nanos: 0 });
        assert_eq!(duration(d(42).as_ref()), "42s");
        assert_eq!(duration(d(3 * 60).as_ref()), "3m");
        assert_eq!(duration(d(3 * 3600 + 12 * 60).as_ref()), "3h 12m");
        assert_eq!(duration(d(2 * 86_400 + 5 * 3600).as_ref()), "2d 5h");
        assert_eq!(duration(None), "-");
    }

    #[test]
    fn tables_have_upper_case_headers_and_no_trailing_blanks() {
        let text = table(&["name", "arr"], [vec!["acme".into(), "1".into()]]);
        assert!(text.lines().next().is_some_and(|l| l.starts_with("NAME")), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text:?}");
    }
}
