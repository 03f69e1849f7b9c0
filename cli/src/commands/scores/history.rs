//! `steward scores history ACCOUNT [--since 90d] [--step 1d] [--agg last|min|max]`: a score
//! over time (GetScoreHistory, every page), as a sparkline over 0–100 and a table.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use steward_proto::google::r#type::Interval;
use steward_proto::health::v1 as pb;

use super::text;
use crate::client::Connection;
use crate::commands::{account_name, parse_since};
use crate::json;
use crate::output::{self, Format};

const POINT: &str = "steward.health.v1.ScorePoint";

/// `scores history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
    /// From when: a duration ago (`90d`) or an RFC 3339 time. Up to now.
    #[arg(long, default_value = "90d", value_parser = parse_since)]
    since: prost_types::Timestamp,
    /// Bucket width (at least 1m); buckets align to multiples of it since the Unix epoch.
    #[arg(long, default_value = "1d", value_parser = humantime::parse_duration,
        conflicts_with = "raw")]
    step: Duration,
    /// Every stored change instead of buckets.
    #[arg(long)]
    raw: bool,
    /// What a bucket shows: the score in effect at its end, or the lowest or highest in it.
    #[arg(long, value_enum, default_value_t = Agg::Last)]
    agg: Agg,
}

/// How a bucket is summarized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Agg {
    /// The score in effect at the bucket's end.
    Last,
    /// The lowest score in effect during the bucket.
    Min,
    /// The highest score in effect during the bucket.
    Max,
}

impl From<Agg> for pb::Aggregation {
    fn from(agg: Agg) -> Self {
        match agg {
            Agg::Last => pb::Aggregation::Last,
            Agg::Min => pb::Aggregation::Min,
            Agg::Max => pb::Aggregation::Max,
        }
    }
}

impl HistoryArgs {
    /// Reads every page of the history and prints it.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let (peer, mut client) = conn.health(false)?;
        let step = if self.raw {
            None
        } else {
            Some(
                prost_types::Duration::try_from(self.step)
                    .map_err(|e| anyhow::anyhow!("--step: {e}"))?,
            )
        };
        let mut request = pb::GetScoreHistoryRequest {
            account: account_name(&self.account),
            interval: Some(Interval { start_time: Some(self.since), end_time: None }),
            step,
            aggregation: pb::Aggregation::from(self.agg) as i32,
            page_size: 10_000,
            page_token: String::new(),
        };
        let mut points = Vec::new();
        loop {
            let page = client
                .get_score_history(request.clone())
                .await
                .map_err(|s| peer.error(s))?
                .into_inner();
            points.extend(page.points);
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        match format {
            Format::Json => {
                let items =
                    points.iter().map(|p| json::to_value(POINT, p)).collect::<Result<_, _>>()?;
                output::print_json(&serde_json::json!({
                    "account": request.account,
                    "points": serde_json::Value::Array(items),
                }))?;
            }
            Format::Table => output::print(&self.text(&request.account, &points))?,
        }
        Ok(ExitCode::SUCCESS)
    }

    /// A heading, the sparkline with the range it spans, and one row per point.
    fn text(&self, account: &str, points: &[pb::ScorePoint]) -> String {
        let how = if self.raw {
            "every change".to_owned()
        } else {
            let agg = format!("{:?}", self.agg).to_lowercase();
            let step = prost_types::Duration::try_from(self.step).ok();
            format!("{agg} per {}", output::duration(step.as_ref()))
        };
        let heading =
            format!("Health of {account} since {} ({how})", output::time(Some(&self.since)));
        if points.is_empty() {
            return format!("{heading}\n\nno score in this interval");
        }
        let scores: Vec<f64> = points.iter().filter_map(|p| p.score).collect();
        let range = match (
            scores.iter().copied().reduce(f64::min),
            scores.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) => {
                format!("min {}, max {}", text::score(Some(lo)), text::score(Some(hi)))
            }
            _ => "no score".into(),
        };
        let rows = points.iter().map(|p| {
            vec![
                output::time(p.time.as_ref()),
                text::score(p.score),
                text::band(p.band),
                text::scorecard(&p.scorecard, p.scorecard_version),
            ]
        });
        format!(
            "{heading}\n\n{}  ({} {}; {range})\n\n{}",
            text::sparkline(points),
            points.len(),
            if points.len() == 1 { "point" } else { "points" },
            output::table(&["time", "score", "band", "scorecard"], rows)
        )
    }
}
