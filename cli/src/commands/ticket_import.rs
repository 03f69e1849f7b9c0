//! `steward tickets import FILE`: JSON Lines of normalized tickets (`Ticket` in the proto3
//! JSON mapping), streamed through StreamIngestTickets while the answers are read, with a
//! progress bar and a count per outcome. A line that is not a ticket is reported with the
//! field at fault and never sent; a ticket the service refuses is reported with the field it
//! names; the rest are stored.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use steward_proto::ticket::v1 as pb;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::client::Connection;
use crate::commands::report::{FAILED, INVALID, Problem, Report, refusal};
use crate::json;
use crate::output::Format;

const TICKET: &str = "steward.ticket.v1.Ticket";
/// Items parsed ahead of sending: enough to keep the stream full, little memory.
const AHEAD: usize = 256;

/// `tickets import`.
#[derive(Debug, Args)]
#[command(after_help = "Each line is one Ticket in the proto3 JSON mapping, e.g.\n  \
    {\"source\":\"SOURCE_ZENDESK\",\"sourceInstance\":\"acme\",\"externalId\":\"35436\",\
    \"statusRaw\":\"open\",\"requester\":{\"email\":\"jane@acme.com\"},\
    \"createdTime\":\"2026-03-02T09:00:00Z\",\"sourceUpdateTime\":\"2026-03-02T09:05:00Z\"}\n\
    Importing the same file again changes nothing (every ticket UNCHANGED).")]
pub struct ImportArgs {
    /// The JSON Lines file.
    file: PathBuf,
}

/// What the reader leaves for the report: lines that never became a request.
type Refused = Vec<Problem>;

impl ImportArgs {
    /// Streams the file's tickets, prints the report.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let lines = count_lines(&self.file).await?;
        let (peer, mut client) = conn.tickets(true)?;
        let progress = progress_bar(lines);
        let (tx, rx) = mpsc::channel(AHEAD);
        let reader = tokio::spawn(read(self.file.clone(), tx, progress.clone()));

        let mut report = Report::new("tickets", &["created", "updated", "unchanged", "stale"]);
        let answers = client.stream_ingest_tickets(ReceiverStream::new(rx)).await;
        let mut answers = match answers {
            Ok(answers) => answers.into_inner(),
            Err(status) => {
                reader.abort();
                progress.finish_and_clear();
                return Err(peer.error(status));
            }
        };
        let ended = loop {
            match answers.message().await {
                Ok(Some(answer)) => {
                    tally(&mut report, &answer);
                    progress.inc(1);
                }
                Ok(None) => break Ok(()),
                Err(status) => break Err(status),
            }
        };
        progress.finish_and_clear();
        if let Err(status) = ended {
            reader.abort();
            eprintln!("{}", report.text());
            let answered = report.total();
            return Err(peer.error(status).context(format!(
                "the stream ended early: the {answered} items answered above are stored; import \
                 the file again to send the rest (ingest is idempotent)"
            )));
        }
        for refused in
            reader.await.map_err(|e| anyhow::anyhow!("the file reader failed: {e}"))??
        {
            report.refuse(INVALID, refused);
        }
        report.print(format)
    }
}

/// Sends each line's ticket (its item id is the line number); returns the lines that are
/// not tickets. Stops early, without error, when the stream has gone.
async fn read(
    file: PathBuf,
    tx: mpsc::Sender<pb::StreamIngestTicketsRequest>,
    progress: ProgressBar,
) -> anyhow::Result<Refused> {
    let mut refused = Vec::new();
    let mut lines = open(&file).await?.lines();
    let mut line: u64 = 0;
    while let Some(content) =
        lines.next_line().await.map_err(|e| anyhow::anyhow!("read {}: {e}", file.display()))?
    {
        line += 1;
        if content.trim().is_empty() {
            continue;
        }
        match json::parse::<pb::Ticket>(TICKET, &content) {
            Ok(ticket) => {
                let item = pb::StreamIngestTicketsRequest {
                    item_id: line.to_string(),
                    ticket: Some(ticket),
                };
                if tx.send(item).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                refused.push(Problem { line, field: e.field, message: e.message });
                progress.inc(1);
            }
        }
    }
    Ok(refused)
}

/// One answer into the report: its outcome, or its refusal under the item id as the line.
pub(crate) fn tally(report: &mut Report, answer: &pb::StreamIngestTicketsResponse) {
    use pb::stream_ingest_tickets_response::Result as Answer;
    let line = answer.item_id.parse().unwrap_or(0);
    match &answer.result {
        Some(Answer::Ingested(ingested)) => match pb::IngestOutcome::try_from(ingested.outcome) {
            Ok(pb::IngestOutcome::Created) => report.count("created"),
            Ok(pb::IngestOutcome::Updated) => report.count("updated"),
            Ok(pb::IngestOutcome::Unchanged) => report.count("unchanged"),
            Ok(pb::IngestOutcome::Stale) => report.count("stale"),
            _ => report.refuse(
                FAILED,
                Problem {
                    line,
                    field: String::new(),
                    message: format!("unknown outcome {}", ingested.outcome),
                },
            ),
        },
        Some(Answer::Error(error)) => {
            // The service names fields from the request (`ticket.external_id`); the line
            // holds the ticket itself.
            let (kind, problem) = refusal(line, error, |field| {
                field.strip_prefix("ticket.").unwrap_or(field).to_owned()
            });
            report.refuse(kind, problem);
        }
        None => report.refuse(
            FAILED,
            Problem {
                line,
                field: String::new(),
                message: "the answer has neither a result nor an error".into(),
            },
        ),
    }
}

async fn open(file: &Path) -> anyhow::Result<tokio::io::BufReader<tokio::fs::File>> {
    let f = tokio::fs::File::open(file)
        .await
        .map_err(|e| anyhow::anyhow!("open {}: {e}", file.display()))?;
    Ok(tokio::io::BufReader::new(f))
}

/// Non-blank lines, for the progress bar's length (a second pass is cheap next to ingest).
async fn count_lines(file: &Path) -> anyhow::Result<u64> {
    let mut lines = open(file).await?.lines();
    let mut n = 0;
    while let Some(line) =
        lines.next_line().await.map_err(|e| anyhow::anyhow!("read {}: {e}", file.display()))?
    {
        n += u64::from(!line.trim().is_empty());
    }
    Ok(n)
}

/// A bar on stderr; indicatif hides it when stderr is not a terminal, so scripts and logs
/// see only the report. Its message (none for an import) follows the figures.
pub(crate) fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = "{bar:40.cyan/blue} {pos}/{len} tickets  {rate}  eta {eta}  {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        // indicatif's own {per_sec} prints four decimals; whole tickets per second read better.
        let style =
            style.with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0}/s", state.per_sec());
            });
        bar.set_style(style);
    }
    bar
}
