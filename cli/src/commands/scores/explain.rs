//! `steward scores explain ACCOUNT [--since TIME|DURATION]`: ExplainHealthScore's lines, most
//! important first, and the components that moved the score since the earlier one.

use std::process::ExitCode;

use clap::Args;
use steward_proto::health::v1 as pb;

use super::text;
use crate::client::Connection;
use crate::commands::{account_name, parse_since};
use crate::json;
use crate::output::{self, Format};

const EXPLANATION: &str = "steward.health.v1.ExplainHealthScoreResponse";

/// `scores explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
    /// Compare with the score in effect then: a duration ago (`7d`) or an RFC 3339 time.
    /// Default: the score before the latest change.
    #[arg(long, value_parser = parse_since)]
    since: Option<prost_types::Timestamp>,
}

impl ExplainArgs {
    /// Asks health-scoring for the explanation and prints it.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let (peer, mut client) = conn.health(false)?;
        let request = pb::ExplainHealthScoreRequest {
            account: account_name(&self.account),
            compare_time: self.since,
        };
        let explained =
            client.explain_health_score(request).await.map_err(|s| peer.error(s))?.into_inner();
        match format {
            Format::Json => output::print_json(&json::to_value(EXPLANATION, &explained)?)?,
            Format::Table => output::print(&explain_text(&explained))?,
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The summary lines, then the movers as a table when there is a comparison.
fn explain_text(e: &pb::ExplainHealthScoreResponse) -> String {
    let mut out: Vec<String> = e.summary.iter().map(|line| format!("- {line}")).collect();
    let Some(c) = e.comparison.as_ref().filter(|c| !c.movers.is_empty()) else {
        return out.join("\n");
    };
    out.push(String::new());
    out.push(format!(
        "Moved since {}: {} → {} ({})",
        output::time(c.compare_time.as_ref()),
        text::score_and_band(c.earlier_score, c.earlier_band),
        e.health_score
            .as_ref()
            .map_or_else(|| "-".into(), |s| text::score_and_band(s.score, s.band)),
        text::delta(c.score_delta),
    ));
    out.push(String::new());
    out.push(movers(&c.movers));
    out.join("\n")
}

/// One row per mover: points and contribution before and now, the move, the current fact.
fn movers(movers: &[pb::ComponentDelta]) -> String {
    let headers = ["component", "points", "contribution", "move", "fact"];
    let rows = movers.iter().map(|m| {
        let fact = if m.current_fact.is_empty() { &m.earlier_fact } else { &m.current_fact };
        vec![
            m.component_id.clone(),
            format!("{:.2} → {:.2}", m.earlier_points, m.current_points),
            format!("{:.2} → {:.2}", m.earlier_contribution, m.current_contribution),
            text::delta(m.contribution_delta),
            fact.clone(),
        ]
    });
    output::table(&headers, rows)
}
