//! `steward scorecards list | show NAME [--version N]`: the scoring models in health-scoring,
//! read-only (they are edited through the API, where etags and previews belong).

use std::process::ExitCode;

use clap::Subcommand;
use steward_proto::health::v1 as pb;

use crate::client::Connection;
use crate::commands::scores::{scorecard_name, text};
use crate::json;
use crate::output::{self, Format};

const SCORECARD: &str = "steward.health.v1.Scorecard";

/// Scorecards.
#[derive(Debug, Subcommand)]
pub enum ScorecardsCommand {
    /// List every scorecard's latest version, by name.
    List,
    /// Show a scorecard: bands, assignment and components.
    Show {
        /// The scorecard: `default` or `scorecards/default`.
        name: String,
        /// This version instead of the latest.
        #[arg(long)]
        version: Option<i32>,
    },
}

impl ScorecardsCommand {
    /// Runs the command against health-scoring.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            ScorecardsCommand::List => list(conn, format).await,
            ScorecardsCommand::Show { name, version } => show(conn, format, &name, version).await,
        }
    }
}

async fn list(conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let mut request = pb::ListScorecardsRequest { page_size: 1000, page_token: String::new() };
    let mut scorecards = Vec::new();
    loop {
        let page =
            client.list_scorecards(request.clone()).await.map_err(|s| peer.error(s))?.into_inner();
        scorecards.extend(page.scorecards);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    match format {
        Format::Json => {
            let items = scorecards
                .iter()
                .map(|s| json::to_value(SCORECARD, s))
                .collect::<Result<_, _>>()?;
            output::print_json(
                &serde_json::json!({ "scorecards": serde_json::Value::Array(items) }),
            )?;
        }
        Format::Table => {
            let headers = [
                "scorecard",
                "version",
                "display name",
                "assigned to",
                "components",
                "accounts",
                "updated",
            ];
            let rows = scorecards.iter().map(|s| {
                vec![
                    s.name.trim_start_matches("scorecards/").to_owned(),
                    s.version.to_string(),
                    s.display_name.clone(),
                    assignment(s.assignment.as_ref()),
                    s.components.len().to_string(),
                    s.assigned_account_count.to_string(),
                    output::time(s.update_time.as_ref()),
                ]
            });
            output::print(&output::table(&headers, rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(
    conn: &Connection,
    format: Format,
    name: &str,
    version: Option<i32>,
) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let request =
        pb::GetScorecardRequest { name: scorecard_name(name), version: version.unwrap_or(0) };
    let scorecard = client.get_scorecard(request).await.map_err(|s| peer.error(s))?.into_inner();
    match format {
        Format::Json => output::print_json(&json::to_value(SCORECARD, &scorecard)?)?,
        Format::Table => output::print(&show_text(&scorecard))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn show_text(s: &pb::Scorecard) -> String {
    let bands = s.bands.unwrap_or_default();
    let rows = [
        ("name", s.name.clone()),
        ("version", s.version.to_string()),
        ("display name", s.display_name.clone()),
        (
            "bands",
            format!(
                "RED below {}, YELLOW below {}, GREEN from {}",
                text::number(bands.yellow_min_score),
                text::number(bands.green_min_score),
                text::number(bands.green_min_score)
            ),
        ),
        ("assigned to", assignment(s.assignment.as_ref())),
        ("accounts", s.assigned_account_count.to_string()),
        ("created", output::time(s.create_time.as_ref())),
        ("updated", output::time(s.update_time.as_ref())),
    ];
    let headers = ["component", "measure", "scoring", "weight", "window", "max age", "min sample"];
    let components = s.components.iter().map(|c| {
        vec![
            c.id.clone(),
            measure(c.measure.as_ref()),
            scoring(c.scoring.as_ref()),
            text::number(c.weight),
            output::duration(c.window.as_ref()),
            output::duration(c.max_data_age.as_ref()),
            if c.min_sample_size == 0 { "-".into() } else { c.min_sample_size.to_string() },
        ]
    });
    let mut out = output::fields(rows);
    if !s.description.is_empty() {
        out.push_str(&format!("\n\n{}", s.description));
    }
    out.push_str(&format!("\n\n{}", output::table(&headers, components)));
    out
}

/// `default`, `segments enterprise; stages renewal`, or `no account` for a draft.
fn assignment(a: Option<&pb::Assignment>) -> String {
    let a = a.cloned().unwrap_or_default();
    let names = |values: &[i32], f: fn(i32) -> String| {
        values.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
    };
    let segment = |v: i32| {
        output::enum_name(pb::Segment::try_from(v).map_or("?", |s| s.as_str_name()), "SEGMENT_")
    };
    let stage = |v: i32| {
        let name = pb::LifecycleStage::try_from(v).map_or("?", |s| s.as_str_name());
        output::enum_name(name, "LIFECYCLE_STAGE_")
    };
    let mut parts = Vec::new();
    if a.default_scorecard {
        parts.push("default".to_owned());
    }
    if !a.segments.is_empty() {
        parts.push(format!("segments {}", names(&a.segments, segment)));
    }
    if !a.lifecycle_stages.is_empty() {
        parts.push(format!("stages {}", names(&a.lifecycle_stages, stage)));
    }
    if parts.is_empty() { "no account".into() } else { parts.join("; ") }
}

/// `high_urgent_tickets`, or `custom active_user_ratio (latest)`.
fn measure(m: Option<&pb::Measure>) -> String {
    match m.and_then(|m| m.kind.as_ref()) {
        Some(pb::measure::Kind::Builtin(b)) => {
            let name = pb::BuiltinMeasure::try_from(*b).map_or("?", |b| b.as_str_name());
            output::enum_name(name, "BUILTIN_MEASURE_")
        }
        Some(pb::measure::Kind::Custom(c)) => {
            let name = pb::Aggregation::try_from(c.aggregation).map_or("?", |a| a.as_str_name());
            let agg = match output::enum_name(name, "AGGREGATION_").as_str() {
                "-" => "latest".to_owned(),
                other => other.to_owned(),
            };
            format!("custom {} ({agg})", c.key)
        }
        None => "-".into(),
    }
}

/// `<1 → 100, 1 to <2 → 80, ≥5 → 0` or `0.5 → 0 … 0.95 → 100`.
fn scoring(s: Option<&pb::component::Scoring>) -> String {
    match s {
        Some(pb::component::Scoring::Thresholds(t)) => t
            .ranges
            .iter()
            .map(|r| {
                let range = match (r.lower_bound, r.upper_bound) {
                    (None, Some(hi)) => format!("<{}", text::number(hi)),
                    (Some(lo), None) => format!("≥{}", text::number(lo)),
                    (Some(lo), Some(hi)) => {
                        format!("{} to <{}", text::number(lo), text::number(hi))
                    }
                    (None, None) => "any".into(),
                };
                format!("{range} → {}", text::number(r.points))
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(pb::component::Scoring::Linear(l)) => format!(
            "{} → 0 … {} → 100",
            text::number(l.zero_points_value),
            text::number(l.full_points_value)
        ),
        None => "-".into(),
    }
}
