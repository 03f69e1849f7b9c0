//! `steward measurements record | list`: custom measurements (usage, NPS, ...) that
//! scorecards read by key, pushed to and read from health-scoring.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use steward_proto::health::v1 as pb;

use crate::client::Connection;
use crate::commands::{account_name, parse_time};
use crate::json;
use crate::output::{self, Format};

const MEASUREMENT: &str = "steward.health.v1.Measurement";
const RECORDED: &str = "steward.health.v1.RecordMeasurementsResponse";

/// Custom measurements.
#[derive(Debug, Subcommand)]
pub enum MeasurementsCommand {
    /// Record one measurement; the account is re-scored (a fresh request id each time, so
    /// running it again records again: the same time replaces the value).
    Record(RecordArgs),
    /// List one account's measurements, newest first.
    List(ListArgs),
}

/// One measurement.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
    /// What was measured, lowercase snake_case, e.g. `active_user_ratio`.
    key: String,
    /// The value.
    #[arg(allow_negative_numbers = true)]
    value: f64,
    /// When the value was true, RFC 3339; default now.
    #[arg(long, value_parser = parse_time)]
    time: Option<prost_types::Timestamp>,
    /// Its unit, for display, e.g. `ratio`.
    #[arg(long)]
    unit: Option<String>,
    /// Where it came from, e.g. `product-analytics`.
    #[arg(long)]
    source: Option<String>,
}

/// Filters for `measurements list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
    /// Only this key.
    #[arg(long)]
    key: Option<String>,
    /// At most this many measurements; 0 lists them all.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

impl MeasurementsCommand {
    /// Runs the command against health-scoring.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            MeasurementsCommand::Record(args) => record(conn, format, args).await,
            MeasurementsCommand::List(args) => list(conn, format, args).await,
        }
    }
}

async fn record(conn: &Connection, format: Format, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let observed = args.time.unwrap_or_else(|| steward_kit::time::timestamp(chrono::Utc::now()));
    let measurement = pb::Measurement {
        account: account_name(&args.account),
        key: args.key,
        value: args.value,
        observe_time: Some(observed),
        unit: args.unit.unwrap_or_default(),
        source: args.source.unwrap_or_default(),
        record_time: None,
    };
    let request = pb::RecordMeasurementsRequest {
        // A fresh key per invocation: running the command again is a new recording.
        request_id: uuid::Uuid::new_v4().to_string(),
        measurements: vec![measurement],
    };
    let done = client.record_measurements(request).await.map_err(|s| peer.error(s))?.into_inner();
    match format {
        Format::Json => output::print_json(&json::to_value(RECORDED, &done)?)?,
        Format::Table => output::print(&format!(
            "measurements: recorded {}, replaced {}, unchanged {}",
            done.recorded_count, done.replaced_count, done.unchanged_count
        ))?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(conn: &Connection, format: Format, args: ListArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.health(false)?;
    let page_size = if args.limit == 0 { 1000 } else { args.limit.min(1000) };
    let mut request = pb::ListMeasurementsRequest {
        account: account_name(&args.account),
        key: args.key.unwrap_or_default(),
        interval: None,
        page_size: i32::try_from(page_size).unwrap_or(1000),
        page_token: String::new(),
    };
    let mut measurements = Vec::new();
    loop {
        let page = client
            .list_measurements(request.clone())
            .await
            .map_err(|s| peer.error(s))?
            .into_inner();
        measurements.extend(page.measurements);
        if page.next_page_token.is_empty() || (args.limit > 0 && measurements.len() >= args.limit) {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if args.limit > 0 {
        measurements.truncate(args.limit);
    }
    match format {
        Format::Json => {
            let items = measurements
                .iter()
                .map(|m| json::to_value(MEASUREMENT, m))
                .collect::<Result<_, _>>()?;
            output::print_json(
                &serde_json::json!({ "measurements": serde_json::Value::Array(items) }),
            )?;
        }
        Format::Table => {
            let headers = ["key", "value", "observed", "source", "recorded"];
            let rows = measurements.iter().map(|m| {
                vec![
                    m.key.clone(),
                    // Exactly as recorded: no rounding.
                    format!("{} {}", m.value, m.unit).trim_end().to_owned(),
                    output::time(m.observe_time.as_ref()),
                    if m.source.is_empty() { "-".into() } else { m.source.clone() },
                    output::time(m.record_time.as_ref()),
                ]
            });
            output::print(&output::table(&headers, rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
