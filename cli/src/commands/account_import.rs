//! `steward accounts import FILE`: accounts from a CRM export (CSV) or from JSON Lines of
//! `UpsertAccountItem`s, upserted by external ref through BatchUpsertAccounts in chunks.
//! A bad row is reported with its line and column and the others still apply; replaying a
//! file answers UNCHANGED and writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use steward_proto::account::v1 as pb;

use crate::client::Connection;
use crate::commands::accounts::{parse_label, segment_arg, stage_arg};
use crate::commands::report::{FAILED, INVALID, Problem, Report, refusal};
use crate::json;
use crate::output::Format;

const ITEM: &str = "steward.account.v1.UpsertAccountItem";

/// The CSV columns, in the order people usually export them.
const COLUMNS: [&str; 9] = [
    "system",
    "external_id",
    "display_name",
    "primary_domain",
    "domains",
    "segment",
    "lifecycle_stage",
    "owner",
    "labels",
];

/// `accounts import`.
#[derive(Debug, Args)]
#[command(after_help = "CSV: a header row naming any of the columns system, external_id \
    (both required: the key, e.g. salesforce + 0015g00000Xyz), display_name, primary_domain, \
    domains (separated by ; or spaces), segment, lifecycle_stage, owner, labels (key=value \
    separated by ;). An empty cell leaves the field as it is on update.\n\
    JSON Lines: one UpsertAccountItem per line in the proto3 JSON mapping, e.g.\n  \
    {\"key\":{\"system\":\"salesforce\",\"id\":\"0015g\"},\"account\":{\"displayName\":\"Acme\",\"segment\":\"SEGMENT_ENTERPRISE\"}}")]
pub struct ImportArgs {
    /// The file: CSV with a header row, or JSON Lines.
    file: PathBuf,
    /// The file's format; default: from its extension (.csv; .jsonl, .ndjson, .json).
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// Items per BatchUpsertAccounts call (1–1000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch_size: u16,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON document per line.
    Jsonl,
}

/// An item to upsert and the line it came from.
type Item = (u64, pb::UpsertAccountItem);

impl ImportArgs {
    /// Reads the file, upserts its items in chunks, prints the report.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let file_format = match (self.format, self.file.extension().and_then(|e| e.to_str())) {
            (Some(f), _) => f,
            (None, Some("csv")) => FileFormat::Csv,
            (None, Some("jsonl" | "ndjson" | "json")) => FileFormat::Jsonl,
            _ => anyhow::bail!("{}: say --format csv or jsonl", self.file.display()),
        };
        let text = std::fs::read_to_string(&self.file)
            .map_err(|e| anyhow::anyhow!("read {}: {e}", self.file.display()))?;
        let mut report = Report::new("accounts", &["created", "updated", "unchanged"]);
        let items = match file_format {
            FileFormat::Csv => read_csv(&text, &mut report)?,
            FileFormat::Jsonl => read_jsonl(&text, &mut report),
        };
        let (peer, mut client) = conn.accounts()?;
        let mut applied = 0;
        for chunk in items.chunks(usize::from(self.batch_size)) {
            let request = pb::BatchUpsertAccountsRequest {
                items: chunk.iter().map(|(_, item)| item.clone()).collect(),
            };
            let response = client.batch_upsert_accounts(request).await.map_err(|status| {
                peer.error(status).context(format!(
                    "importing {}: {applied} of {} accounts were applied before this",
                    self.file.display(),
                    items.len()
                ))
            })?;
            for result in response.into_inner().results {
                let line = usize::try_from(result.index)
                    .ok()
                    .and_then(|i| chunk.get(i))
                    .map_or(0, |(line, _)| *line);
                tally(&mut report, line, &result, file_format);
            }
            applied += chunk.len();
        }
        report.print(format)
    }
}

fn tally(report: &mut Report, line: u64, result: &pb::UpsertAccountResult, file: FileFormat) {
    match pb::UpsertOutcome::try_from(result.outcome) {
        Ok(pb::UpsertOutcome::Created) => return report.count("created"),
        Ok(pb::UpsertOutcome::Updated) => return report.count("updated"),
        Ok(pb::UpsertOutcome::Unchanged) => return report.count("unchanged"),
        _ => {}
    }
    let Some(error) = &result.error else {
        return report.refuse(FAILED, problem(line, "", "no outcome and no error in the answer"));
    };
    let (kind, problem) = refusal(line, error, |field| column(field, file));
    report.refuse(kind, problem);
}

/// The service names fields under `items[i]` (`items[3].account.segment`); say it as the
/// file does: the CSV column, or the item's own path in JSON Lines.
fn column(field: &str, file: FileFormat) -> String {
    let own = match field.split_once("].") {
        Some((head, rest)) if head.starts_with("items[") => rest,
        _ => field,
    };
    if file == FileFormat::Jsonl {
        return own.to_owned();
    }
    match own {
        "key.system" => "system".into(),
        "key.id" | "key" => "external_id".into(),
        _ => {
            let rest = own.strip_prefix("account.").unwrap_or(own);
            rest.split(['.', '[']).next().unwrap_or(rest).to_owned()
        }
    }
}

fn problem(line: u64, field: &str, message: &str) -> Problem {
    Problem { line, field: field.into(), message: message.into() }
}

fn read_jsonl(text: &str, report: &mut Report) -> Vec<Item> {
    let mut items = Vec::new();
    for (line, content) in (1..).zip(text.lines()) {
        if content.trim().is_empty() {
            continue;
        }
        match json::parse::<pb::UpsertAccountItem>(ITEM, content) {
            Ok(item) => items.push((line, item)),
            Err(e) => report.refuse(INVALID, problem(line, &e.field, &e.message)),
        }
    }
    items
}

/// The rows of a CSV file as items; a file without the key columns, or with a column we do
/// not know, is refused whole (every row would be wrong the same way).
fn read_csv(text: &str, report: &mut Report) -> anyhow::Result<Vec<Item>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers()?.iter().map(|h| h.to_lowercase().replace([' ', '-'], "_")).collect();
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        anyhow::bail!("unknown CSV column `{unknown}` (known: {})", COLUMNS.join(", "));
    }
    for key in ["system", "external_id"] {
        anyhow::ensure!(
            headers.iter().any(|h| h == key),
            "the CSV needs a `{key}` column (the key)"
        );
    }
    let mut items = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.refuse(INVALID, problem(line, "", &e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let cells = headers.iter().map(String::as_str).zip(record.iter());
        match row(cells) {
            Ok(item) => items.push((line, item)),
            Err((field, message)) => report.refuse(INVALID, problem(line, field, &message)),
        }
    }
    Ok(items)
}

/// One CSV row as an item; the error names the column.
fn row<'a>(
    cells: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<pb::UpsertAccountItem, (&'a str, String)> {
    let mut key = pb::ExternalRef::default();
    let mut account = pb::Account::default();
    for (column, value) in cells.filter(|(_, v)| !v.is_empty()) {
        match column {
            "system" => key.system = value.into(),
            "external_id" => key.id = value.into(),
            "display_name" => account.display_name = value.into(),
            "primary_domain" => account.primary_domain = value.into(),
            "domains" => {
                account.domains = value
                    .split([';', ',', ' '])
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "segment" => account.segment = segment_arg()(value).map_err(|e| (column, e))?,
            "lifecycle_stage" => {
                account.lifecycle_stage = stage_arg()(value).map_err(|e| (column, e))?
            }
            "owner" => account.owner = value.into(),
            "labels" => {
                for pair in value.split(';').filter(|p| !p.trim().is_empty()) {
                    let (k, v) = parse_label(pair).map_err(|e| (column, e))?;
                    account.labels.insert(k, v);
                }
            }
            _ => {}
        }
    }
    for (column, value) in [("system", &key.system), ("external_id", &key.id)] {
        if value.is_empty() {
            return Err((column, "required: the key the account is upserted by".into()));
        }
    }
    Ok(pb::UpsertAccountItem { key: Some(key), account: Some(account), update_mask: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_items_and_bad_cells_name_their_column_and_line() {
        let text = "system,external_id,display_name,domains,segment,labels\n\
                    sf,001,Acme,acme.com; acme.co.uk,enterprise,region=emea;tier=gold\n\
                    sf,002,Globex,,huge,\n\
                    sf,,Initech,,,\n";
        let mut report = Report::new("accounts", &["created"]);

        let items = read_csv(text, &mut report).expect("a readable file");

        assert_eq!(items.len(), 1);
        let (line, item) = &items[0];
        assert_eq!(*line, 2);
        let account = item.account.as_ref().expect("account");
        assert_eq!(account.domains, ["acme.com", "acme.co.uk"]);
        assert_eq!(account.segment, pb::Segment::Enterprise as i32);
        assert_eq!(account.labels.get("tier").map(String::as_str), Some("gold"));
        assert_eq!(report.get(INVALID), 2);
        let text = report.text();
        assert!(text.contains("line 3: segment: unknown value `huge`"), "{text}");
        assert!(text.contains("line 4: external_id: required"), "{text}");
    }

    #[test]
    fn a_csv_without_the_key_or_with_unknown_columns_is_refused_whole() {
        let mut report = Report::new("accounts", &[]);
        assert!(read_csv("display_name\nAcme\n", &mut report).is_err());
        assert!(read_csv("system,external_id,colour\nsf,1,red\n", &mut report).is_err());
    }

    #[test]
    fn service_field_paths_become_columns() {
        assert_eq!(column("items[3].account.segment", FileFormat::Csv), "segment");
        assert_eq!(column("items[0].account.domains[1]", FileFormat::Csv), "domains");
        assert_eq!(column("items[0].key.id", FileFormat::Csv), "external_id");
        assert_eq!(column("items[0].account.domains[1]", FileFormat::Jsonl), "account.domains[1]");
    }
}
