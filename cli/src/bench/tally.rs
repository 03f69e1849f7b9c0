//! What a load run counts: accepted requests, their latency in an HDR histogram (from each
//! request's intended send time), errors by gRPC code, and OK completions over time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use steward_proto::ticket::v1::IngestOutcome;
use tonic::Code;
use tonic_types::StatusExt;

use super::report::Figure;

/// Width of one `timeline` slot.
pub(crate) const SLOT: Duration = Duration::from_millis(100);

/// The outcome of a run (or of one of its streams; [`Tally::merge`] joins them).
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    start: Instant,
    pub(crate) accepted: u64,
    /// Accepted answers UNCHANGED (a replay's: nothing written).
    pub(crate) unchanged: u64,
    /// Microseconds from intended send to answer, of accepted requests.
    pub(crate) latency: Histogram<u64>,
    /// Each failure: when it was meant to be sent (after the start), and its label.
    pub(crate) errors: Vec<(Duration, String)>,
    /// OK answers per [`SLOT`] since the start.
    pub(crate) timeline: Vec<u32>,
    /// When the last answer came, after the start.
    pub(crate) last: Duration,
}

/// A histogram of microseconds, up to an hour, to 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant, valid bounds")
}

impl Tally {
    pub(crate) fn new(start: Instant) -> Self {
        Self {
            start,
            accepted: 0,
            unchanged: 0,
            latency: histogram(),
            errors: Vec::new(),
            timeline: Vec::new(),
            last: Duration::ZERO,
        }
    }

    /// An accepted request meant to go out `at`, answered `done`.
    pub(crate) fn ok(&mut self, at: Instant, done: Instant, outcome: IngestOutcome) {
        self.accepted += 1;
        self.unchanged += u64::from(outcome == IngestOutcome::Unchanged);
        self.latency.saturating_record(micros(done.saturating_duration_since(at)));
        let since = done.saturating_duration_since(self.start);
        let slot = (since.as_millis() / SLOT.as_millis()) as usize;
        if self.timeline.len() <= slot {
            self.timeline.resize(slot + 1, 0);
        }
        self.timeline[slot] += 1;
        self.last = self.last.max(since);
    }

    /// A refused or failed request meant to go out `at`.
    pub(crate) fn failed(&mut self, at: Instant, done: Instant, label: String) {
        self.errors.push((at.saturating_duration_since(self.start), label));
        self.last = self.last.max(done.saturating_duration_since(self.start));
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        self.accepted += other.accepted;
        self.unchanged += other.unchanged;
        self.latency.add(other.latency).unwrap_or_default();
        self.errors.extend(other.errors);
        if self.timeline.len() < other.timeline.len() {
            self.timeline.resize(other.timeline.len(), 0);
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(other.timeline) {
            *mine += theirs;
        }
        self.last = self.last.max(other.last);
    }

    /// Accepted requests per second, from the start to the last answer.
    pub(crate) fn rate(&self) -> f64 {
        per_second(self.accepted, self.last)
    }

    /// Errors by label, among those meant to be sent within `window` after the start.
    pub(crate) fn errors_within(&self, window: std::ops::Range<Duration>) -> BTreeMap<String, u64> {
        let mut by_label = BTreeMap::new();
        for (at, label) in &self.errors {
            if window.contains(at) {
                *by_label.entry(label.clone()).or_insert(0) += 1;
            }
        }
        by_label
    }

    /// The usual figures of a run: rate (beside `baseline`), accepted, latency, errors.
    pub(crate) fn figures(&self, what: &str, baseline: Option<f64>) -> Vec<Figure> {
        let mut figures = vec![
            Figure::paired(format!("{what}/s"), "/s", self.rate(), baseline),
            Figure::count(format!("{what} accepted"), self.accepted),
        ];
        figures.extend(latency_figures("latency", &self.latency));
        figures.extend(error_figures(&self.errors_within(Duration::ZERO..Duration::MAX)));
        figures
    }
}

/// p50, p90, p99 and max of `h` (microseconds) in milliseconds.
pub(crate) fn latency_figures(what: &str, h: &Histogram<u64>) -> Vec<Figure> {
    let ms = |v: u64| v as f64 / 1000.0;
    if h.is_empty() {
        return Vec::new();
    }
    vec![
        Figure::service(format!("{what} p50"), "ms", ms(h.value_at_quantile(0.5))),
        Figure::service(format!("{what} p90"), "ms", ms(h.value_at_quantile(0.9))),
        Figure::service(format!("{what} p99"), "ms", ms(h.value_at_quantile(0.99))),
        Figure::service(format!("{what} max"), "ms", ms(h.max())),
    ]
}

/// One count per error label; a single `errors 0` when there were none, so that "no errors"
/// is a figure too.
pub(crate) fn error_figures(errors: &BTreeMap<String, u64>) -> Vec<Figure> {
    if errors.is_empty() {
        return vec![Figure::count("errors", 0)];
    }
    errors.iter().map(|(label, n)| Figure::count(format!("errors {label}"), *n)).collect()
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

pub(crate) fn per_second(n: u64, over: Duration) -> f64 {
    if over.is_zero() { 0.0 } else { n as f64 / over.as_secs_f64() }
}

/// A failed call's label: its code as the proto names it, marked `(connection)` when the
/// call failed below the service (transport errors, a connection closed by GOAWAY): those
/// carry no `ErrorInfo`, which every answer of a Steward service does.
pub(crate) fn label(status: &tonic::Status) -> String {
    let name = code_name(status.code());
    let below_service = matches!(
        status.code(),
        Code::Unavailable | Code::Cancelled | Code::Unknown | Code::Internal
    ) && status.get_error_details().error_info().is_none();
    if below_service { format!("{name} (connection)") } else { name }
}

/// A code as the proto spells it: `ResourceExhausted` → `RESOURCE_EXHAUSTED`.
pub(crate) fn code_name(code: Code) -> String {
    let camel = format!("{code:?}");
    let mut name = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_the_proto_names_them() {
        assert_eq!(code_name(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
        assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
        assert_eq!(code_name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
    }

    #[test]
    fn a_bare_cancelled_is_a_connection_failure_a_shed_is_not() {
        let closed = tonic::Status::cancelled("connection closed");
        assert_eq!(label(&closed), "CANCELLED (connection)");
        let shed = tonic::Status::resource_exhausted("too many calls");
        assert_eq!(label(&shed), "RESOURCE_EXHAUSTED");
    }

    #[test]
    fn latency_counts_from_the_intended_send_time() {
        let start = Instant::now();
        let mut tally = Tally::new(start);
        // Meant for the start, answered 250 ms later: 250 ms, however late it really went.
        tally.ok(start, start + Duration::from_millis(250), IngestOutcome::Created);
        tally.ok(
            start + Duration::from_millis(100),
            start + Duration::from_millis(110),
            IngestOutcome::Unchanged,
        );
        tally.failed(start, start + Duration::from_millis(50), "UNAVAILABLE".into());
        assert_eq!((tally.accepted, tally.unchanged), (2, 1));
        assert!((tally.latency.max() as i64 - 250_000).abs() < 250, "{}", tally.latency.max());
        assert_eq!(tally.timeline, [0, 1, 1]);
        assert!((tally.rate() - 8.0).abs() < 1e-9, "2 in 250 ms: {}", tally.rate());
        let figures = tally.figures("tickets", Some(4.0));
        assert_eq!(figures[0].ratio(), Some(2.0));
        assert!(figures.iter().any(|f| f.name == "errors UNAVAILABLE" && f.service == Some(1.0)));
    }

    #[test]
    fn merged_streams_add_up() {
        let start = Instant::now();
        let (mut a, mut b) = (Tally::new(start), Tally::new(start));
        a.ok(start, start + Duration::from_millis(50), IngestOutcome::Created);
        b.ok(start, start + Duration::from_millis(350), IngestOutcome::Created);
        a.merge(b);
        assert_eq!(a.accepted, 2);
        assert_eq!(a.timeline, [1, 0, 0, 1]);
        assert_eq!(a.last, Duration::from_millis(350));
    }
}
