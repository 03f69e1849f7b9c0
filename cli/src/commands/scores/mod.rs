//! `steward scores list | show | explain | history`: health scores from health-scoring.

mod explain;
mod history;
pub mod text;

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use steward_proto::health::v1 as pb;

use crate::client::Connection;
use crate::commands::account_name;
use crate::enum_arg;
use crate::json;
use crate::output::{self, Format};

/// The health score message, for JSON.
pub const HEALTH_SCORE: &str = "steward.health.v1.HealthScore";

/// Health scores.
#[derive(Debug, Subcommand)]
pub enum ScoresCommand {
    /// List current scores, worst first unless --order says otherwise.
    List(ListArgs),
    /// Show one account's score with its breakdown by component.
    Show {
        /// The account: its id (`acme`) or name (`accounts/acme`).
        account: String,
    },
    /// Explain a score: what it rests on and which components moved it since an earlier one.
    Explain(explain::ExplainArgs),
    /// A score over time, as a sparkline and a table.
    History(history::HistoryArgs),
}

/// Filters and order for `scores list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these bands (red, yellow, green); repeatable. Leaves out unscored accounts.
    #[arg(long = "band", value_parser = enum_arg!(pb::HealthBand, "HEALTH_BAND_",
        ["red", "yellow", "green"]))]
    bands: Vec<i32>,
    /// Only these segments (smb, mid_market, enterprise, strategic); repeatable.
    #[arg(long = "segment", value_parser = enum_arg!(pb::Segment, "SEGMENT_",
        ["smb", "mid_market", "enterprise", "strategic"]))]
    segments: Vec<i32>,
    /// Only these lifecycle stages (onboarding, adoption, established, renewal, churned).
    #[arg(long = "stage", value_parser = enum_arg!(pb::LifecycleStage, "LIFECYCLE_STAGE_",
        ["onboarding", "adoption", "established", "renewal", "churned"]))]
    stages: Vec<i32>,
    /// Only accounts with exactly this owner.
    #[arg(long)]
    owner: Option<String>,
    /// Only scores computed by this scorecard (`default` or `scorecards/default`).
    #[arg(long)]
    scorecard: Option<String>,
    /// `score` (worst first), `score-desc` (best first) or `account`.
    #[arg(long, value_enum, default_value_t = Order::Score)]
    order: Order,
    /// At most this many scores; 0 lists them all.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Scores asked for per call (tests use it to walk several pages).
    #[arg(long, default_value_t = 1000, hide = true)]
    page_size: i32,
}

/// The orders `ListHealthScores` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Score ascending: worst first.
    Score,
    /// Score descending: best first.
    ScoreDesc,
    /// Account name.
    Account,
}

impl Order {
    fn order_by(self) -> &'static str {
        match self {
            Order::Score => "score",
            Order::ScoreDesc => "score desc",
            Order::Account => "account",
        }
    }
}

/// `default` or `scorecards/default` → `scorecards/default`.
pub fn scorecard_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("scorecards/") { arg.to_owned() } else { format!("scorecards/{arg}") }
}

impl ScoresCommand {
    /// Runs the command against health-scoring.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            ScoresCommand::List(args) => list(conn, format, args).await,
            ScoresCommand::Show { account } => show(conn, format, &account).await,
            ScoresCommand::Explain(args) => args.run(conn, format).await,
            ScoresCommand::History(args) => args.run(conn, format).await,
        }
    }
}

async fn list(conn: &Connection, format: Format, args: ListArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let page_size = match args.limit {
        0 => args.page_size,
        n => args.page_size.min(i32::try_from(n).unwrap_or(i32::MAX)),
    };
    let mut request = pb::ListHealthScoresRequest {
        bands: args.bands,
        scorecard: args.scorecard.as_deref().map(scorecard_name).unwrap_or_default(),
        segments: args.segments,
        lifecycle_stages: args.stages,
        owner: args.owner.unwrap_or_default(),
        order_by: args.order.order_by().to_owned(),
        page_size,
        page_token: String::new(),
    };
    let mut scores = Vec::new();
    loop {
        let page = client
            .list_health_scores(request.clone())
            .await
            .map_err(|s| peer.error(s))?
            .into_inner();
        scores.extend(page.health_scores);
        if page.next_page_token.is_empty() || (args.limit > 0 && scores.len() >= args.limit) {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if args.limit > 0 {
        scores.truncate(args.limit);
    }
    match format {
        Format::Json => {
            let items =
                scores.iter().map(|s| json::to_value(HEALTH_SCORE, s)).collect::<Result<_, _>>()?;
            output::print_json(
                &serde_json::json!({ "healthScores": serde_json::Value::Array(items) }),
            )?;
        }
        Format::Table => {
            let headers =
                ["account", "score", "band", "previous", "scorecard", "coverage", "computed"];
            let rows = scores.iter().map(|s| {
                vec![
                    s.account.trim_start_matches("accounts/").to_owned(),
                    text::score(s.score),
                    text::band(s.band),
                    text::score_and_band(s.previous_score, s.previous_band),
                    text::scorecard(&s.scorecard, s.scorecard_version),
                    output::share(Some(s.coverage)),
                    output::time(s.compute_time.as_ref()),
                ]
            });
            output::print(&output::table(&headers, rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(conn: &Connection, format: Format, account: &str) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let name = format!("{}/healthScore", account_name(account));
    let request = pb::GetHealthScoreRequest { name };
    let score = client.get_health_score(request).await.map_err(|s| peer.error(s))?.into_inner();
    match format {
        Format::Json => output::print_json(&json::to_value(HEALTH_SCORE, &score)?)?,
        Format::Table => output::print(&show_text(&score))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A score for people: its figures, where its inputs stood, and the breakdown.
fn show_text(s: &pb::HealthScore) -> String {
    let freshness = s.freshness.unwrap_or_default();
    let previous = match s.previous_score {
        Some(_) => format!(
            "{} at {}",
            text::score_and_band(s.previous_score, s.previous_band),
            output::time(s.previous_compute_time.as_ref())
        ),
        None => "-".into(),
    };
    let rows = [
        ("account", s.account.clone()),
        ("score", text::score(s.score)),
        ("band", text::band(s.band)),
        ("previous", previous),
        ("scorecard", text::scorecard(&s.scorecard, s.scorecard_version)),
        ("coverage", output::share(Some(s.coverage))),
        ("computed", output::time(s.compute_time.as_ref())),
        ("evaluated", output::time(s.evaluate_time.as_ref())),
        ("support as of", output::time(freshness.support_as_of.as_ref())),
        ("account as of", output::time(freshness.account_as_of.as_ref())),
        ("latest measurement", output::time(freshness.latest_measurement_time.as_ref())),
    ];
    format!("{}\n\n{}", output::fields(rows), text::breakdown(s))
}
