//! `steward support ACCOUNT`: one account's support figures over a window next to the
//! window before it (GetSupportSummary).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use steward_proto::ticket::v1 as pb;

use crate::client::Connection;
use crate::commands::{account_name, parse_time};
use crate::json;
use crate::output::{self, Format};

pub(crate) const SUMMARY: &str = "steward.ticket.v1.SupportSummary";

/// `support`.
#[derive(Debug, Args)]
pub struct SupportArgs {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
    /// The window's length, e.g. 30d, 7d, 12h (1 hour to 730 days).
    #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
    window: Duration,
    /// The window's end, RFC 3339 (e.g. 2026-03-31T00:00:00Z); default now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<prost_types::Timestamp>,
}

impl SupportArgs {
    /// Asks ticket-ingest for the summary and prints it.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let (peer, mut client) = conn.tickets(false)?;
        let window = prost_types::Duration::try_from(self.window)
            .map_err(|e| anyhow::anyhow!("--window: {e}"))?;
        let request = pb::GetSupportSummaryRequest {
            account: account_name(&self.account),
            window: Some(window),
            as_of: self.as_of,
            history_windows: 0,
        };
        let summary =
            client.get_support_summary(request).await.map_err(|s| peer.error(s))?.into_inner();
        match format {
            Format::Json => output::print_json(&json::to_value(SUMMARY, &summary)?)?,
            Format::Table => output::print(&text(&summary))?,
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The summary for people: a heading, then each figure now, before, and the change.
fn text(s: &pb::SupportSummary) -> String {
    let cur = s.current.clone().unwrap_or_default();
    let table = figures_table(&figures(s));
    let categories: Vec<String> = cur
        .by_category
        .iter()
        .take(5)
        .map(|c| format!("{} {}", category(&c.category), c.count))
        .collect();
    format!(
        "Support for {} over {} to {} (data as of {})\n\n{table}\n\ntop categories: {}",
        s.account,
        output::duration(s.window.as_ref()),
        output::time(s.as_of.as_ref()),
        output::time(s.data_time.as_ref()),
        if categories.is_empty() { "-".into() } else { categories.join(", ") },
    )
}

/// Each figure of the summary by name: this window, the previous one, and the change.
pub(crate) fn figures(s: &pb::SupportSummary) -> Vec<(&'static str, Vec<String>)> {
    let (cur, prev) =
        (s.current.clone().unwrap_or_default(), s.previous.clone().unwrap_or_default());
    let count = |f: fn(&pb::SupportFigures) -> i32| {
        let (c, p) = (f(&cur), f(&prev));
        vec![c.to_string(), p.to_string(), format!("{:+}", c - p)]
    };
    let time = |f: fn(&pb::SupportFigures) -> Option<prost_types::Duration>| {
        vec![output::duration(f(&cur).as_ref()), output::duration(f(&prev).as_ref()), String::new()]
    };
    let share = |f: fn(&pb::SupportFigures) -> Option<f64>| {
        let change = match (f(&cur), f(&prev)) {
            (Some(c), Some(p)) => format!("{:+.0} pts", (c - p) * 100.0),
            _ => String::new(),
        };
        vec![output::share(f(&cur)), output::share(f(&prev)), change]
    };
    vec![
        ("tickets created", count(|f| f.tickets_created)),
        ("high or urgent", count(|f| f.high_urgent_tickets)),
        ("open backlog (at end)", count(|f| f.open_backlog)),
        ("actionable backlog", count(|f| f.actionable_backlog)),
        ("first response, median", time(|f| f.first_response_median)),
        ("first response, p90", time(|f| f.first_response_p90)),
        ("resolution, median", time(|f| f.resolution_median)),
        ("tickets solved", count(|f| f.tickets_solved)),
        ("reopened", count(|f| f.tickets_reopened)),
        ("SLA breaches", count(|f| f.sla_breaches)),
        ("SLA adherence", share(|f| f.sla_adherence)),
        ("CSAT responses", count(|f| f.csat_responses)),
        ("CSAT good", share(|f| f.csat_good_share)),
    ]
}

/// Figures as a table.
pub(crate) fn figures_table(rows: &[(&'static str, Vec<String>)]) -> String {
    output::table(
        &["figure", "this window", "previous", "change"],
        rows.iter().map(|(name, cells)| {
            let mut row = vec![(*name).to_owned()];
            row.extend(cells.iter().cloned());
            row
        }),
    )
}

fn category(name: &str) -> &str {
    if name.is_empty() { "(uncategorized)" } else { name }
}
