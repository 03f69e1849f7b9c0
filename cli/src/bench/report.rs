//! One benchmark invocation's result: each figure as the median (counts: the total) over
//! the repeats, the service beside the baseline with their ratio, and each service
//! process's memory, printed as one table or one JSON document.

use serde::Serialize;

use super::rss::Memory;

/// How a figure's repeats combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Combine {
    Median,
    /// Counts (tickets accepted, errors): a failure in one repeat must not vanish in a median.
    Total,
}

/// One figure of one repeat.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) unit: &'static str,
    pub(crate) service: Option<f64>,
    pub(crate) baseline: Option<f64>,
    pub(crate) combine: Combine,
}

impl Figure {
    /// A figure of the service alone.
    pub(crate) fn service(name: impl Into<String>, unit: &'static str, value: f64) -> Self {
        Self::paired(name, unit, value, None)
    }

    /// A figure of the service beside the same work done straight in Postgres.
    pub(crate) fn paired(
        name: impl Into<String>,
        unit: &'static str,
        service: f64,
        baseline: Option<f64>,
    ) -> Self {
        Self { name: name.into(), unit, service: Some(service), baseline, combine: Combine::Median }
    }

    /// A count, totalled over the repeats.
    pub(crate) fn count(name: impl Into<String>, n: u64) -> Self {
        Self { combine: Combine::Total, ..Self::service(name, "", n as f64) }
    }

    /// A figure of the baseline alone.
    pub(crate) fn baseline(name: impl Into<String>, unit: &'static str, value: f64) -> Self {
        Self { service: None, baseline: Some(value), ..Self::service(name, unit, 0.0) }
    }

    /// service / baseline, when both are there.
    pub(crate) fn ratio(&self) -> Option<f64> {
        match (self.service, self.baseline) {
            (Some(s), Some(b)) if b > 0.0 => Some(s / b),
            _ => None,
        }
    }
}

/// The median of the values present; the mean of the middle two for an even count.
pub(crate) fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Each figure over the repeats, in the order they first appear.
pub(crate) fn combine(repeats: &[Vec<Figure>]) -> Vec<Figure> {
    let mut names: Vec<&str> = Vec::new();
    for f in repeats.iter().flatten() {
        if !names.contains(&f.name.as_str()) {
            names.push(&f.name);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let all: Vec<&Figure> = repeats.iter().flatten().filter(|f| f.name == name).collect();
            let first = *all.first()?;
            let side = |pick: fn(&Figure) -> Option<f64>| {
                let values = all.iter().filter_map(|f| pick(f));
                match first.combine {
                    Combine::Median => median(values),
                    Combine::Total => {
                        let values: Vec<f64> = values.collect();
                        (!values.is_empty()).then(|| values.iter().sum())
                    }
                }
            };
            Some(Figure {
                service: side(|f| f.service),
                baseline: side(|f| f.baseline),
                ..first.clone()
            })
        })
        .collect()
}

/// What `steward bench` prints.
#[derive(Debug)]
pub(crate) struct Report {
    /// The command, e.g. `ingest --mode stream --rate max --duration 10s`.
    pub(crate) title: String,
    pub(crate) repeats: usize,
    pub(crate) figures: Vec<Figure>,
    pub(crate) memory: Vec<Memory>,
    /// What the reader should know (no baseline and why, how a figure was taken).
    pub(crate) notes: Vec<String>,
}

impl Report {
    pub(crate) fn new(title: String, repeats: &[Vec<Figure>], memory: Vec<Memory>) -> Self {
        Self { title, repeats: repeats.len(), figures: combine(repeats), memory, notes: Vec::new() }
    }

    /// The one table: figures, then each service process's memory.
    pub(crate) fn table(&self) -> String {
        let mut rows: Vec<Vec<String>> = self
            .figures
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    value(f.service, f.unit),
                    value(f.baseline, f.unit),
                    f.ratio().map_or_else(|| "-".into(), |r| format!("{r:.2}x")),
                ]
            })
            .collect();
        if self.memory.is_empty() {
            rows.push(vec!["peak RSS".into(), "no local service process found".into()]);
        }
        for m in &self.memory {
            rows.push(vec![
                format!("peak RSS {}", m.process),
                format!("{:.1} MiB (idle {:.1}, VmHWM {:.1})", m.peak_mib, m.start_mib, m.hwm_mib),
                "-".into(),
                "-".into(),
            ]);
        }
        let table =
            crate::output::table(&["figure", "service", "baseline (postgres)", "ratio"], rows);
        let mut text = format!(
            "steward bench {}: medians of {} repeat{} (counts: totals)\n\n{table}",
            self.title,
            self.repeats,
            if self.repeats == 1 { "" } else { "s" }
        );
        for note in &self.notes {
            text.push_str(&format!("\n{note}"));
        }
        text
    }

    /// The same figures for scripts.
    pub(crate) fn json(&self) -> serde_json::Value {
        let figures: Vec<serde_json::Value> = self
            .figures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "figure": f.name,
                    "unit": f.unit,
                    "service": f.service,
                    "baseline": f.baseline,
                    "ratio": f.ratio(),
                    "combined": f.combine,
                })
            })
            .collect();
        serde_json::json!({
            "bench": self.title,
            "repeats": self.repeats,
            "figures": figures,
            "processes": self.memory,
            "notes": self.notes,
        })
    }
}

/// A value in its unit: rates grouped in thousands, milliseconds to 0.01.
fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    match unit {
        "/s" => format!("{} /s", grouped(v)),
        "" => grouped(v),
        "ms" => format!("{v:.2} ms"),
        unit => format!("{v:.2} {unit}"),
    }
}

/// `v` rounded, with its thousands separated by commas.
fn grouped(v: f64) -> String {
    let rounded = v.abs().round();
    let sign = if v < -0.5 { "-" } else { "" };
    // Figures are counts and rates: far below u64's range, and never NaN.
    format!("{sign}{}", crate::output::grouped(rounded as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_three_ignores_one_outlier() {
        assert_eq!(median([3.0, 100.0, 5.0]), Some(5.0));
        assert_eq!(median([4.0, 2.0]), Some(3.0));
        assert_eq!(median([]), None);
    }

    #[test]
    fn repeats_combine_rates_by_median_and_counts_by_total() {
        let repeat = |rate, base, errors| {
            vec![
                Figure::paired("tickets/s", "/s", rate, Some(base)),
                Figure::count("errors", errors),
            ]
        };
        let combined =
            combine(&[repeat(10.0, 20.0, 0), repeat(30.0, 40.0, 2), repeat(20.0, 25.0, 1)]);
        assert_eq!(combined[0].service, Some(20.0));
        assert_eq!(combined[0].baseline, Some(25.0));
        assert_eq!(combined[0].ratio(), Some(0.8));
        assert_eq!(combined[1].service, Some(3.0));
        assert_eq!(combined[1].ratio(), None);
    }

    #[test]
    fn the_table_has_service_baseline_ratio_and_each_process_memory() {
        let figures = vec![vec![
            Figure::paired("tickets/s", "/s", 5_000.0, Some(10_000.0)),
            Figure::service("latency p99", "ms", 4.25),
        ]];
        let memory = vec![Memory {
            process: "steward-ticket-ingest".into(),
            pid: 42,
            start_mib: 20.0,
            peak_mib: 61.5,
            hwm_mib: 62.0,
        }];
        let text = Report::new("ingest".into(), &figures, memory).table();
        let row = |first: &str| {
            text.lines()
                .find(|l| l.starts_with(first))
                .map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>())
                .unwrap_or_else(|| panic!("no {first} in\n{text}"))
        };
        assert_eq!(row("tickets/s"), ["tickets/s", "5,000 /s", "10,000 /s", "0.50x"]);
        assert_eq!(row("latency p99"), ["latency p99", "4.25 ms", "-", "-"]);
        assert_eq!(
            row("peak RSS steward-ticket-ingest"),
            ["peak RSS steward-ticket-ingest", "61.5 MiB (idle 20.0, VmHWM 62.0)", "-", "-"]
        );
    }
}
