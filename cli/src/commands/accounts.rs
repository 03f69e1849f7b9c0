//! `steward accounts list | show | create | import`: the account service's accounts.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use steward_proto::account::v1 as pb;

use crate::client::Connection;
use crate::commands::{account_import, account_name};
use crate::enum_arg;
use crate::json;
use crate::output::{self, Format};

/// The account message, for JSON.
pub const ACCOUNT: &str = "steward.account.v1.Account";

/// Accounts.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List accounts (by display name unless --order-by says otherwise).
    List(ListArgs),
    /// Show one account.
    Show {
        /// The account: its id (`acme`) or name (`accounts/acme`).
        account: String,
    },
    /// Create an account.
    Create(CreateArgs),
    /// Create or update accounts from a file, keyed by an external ref (a CRM sync):
    /// BatchUpsertAccounts in chunks; replaying a file changes nothing.
    Import(account_import::ImportArgs),
}

/// Filters and order for `accounts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these segments (smb, mid_market, enterprise, strategic); repeatable.
    #[arg(long = "segment", value_parser = segment_arg())]
    segments: Vec<i32>,
    /// Only these lifecycle stages (onboarding, adoption, established, renewal, churned).
    #[arg(long = "stage", value_parser = stage_arg())]
    stages: Vec<i32>,
    /// Only accounts with exactly this owner.
    #[arg(long)]
    owner: Option<String>,
    /// Only accounts with this primary or extra domain.
    #[arg(long)]
    domain: Option<String>,
    /// `display_name`, `arr` or `renewal_date`, optionally followed by ` desc`.
    #[arg(long)]
    order_by: Option<String>,
    /// At most this many accounts; 0 lists them all.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// A new account.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The customer's name, e.g. "Acme Corp".
    #[arg(long)]
    display_name: String,
    /// The id (becomes `accounts/<id>`); default: one the service assigns.
    #[arg(long)]
    id: Option<String>,
    /// The main web/email domain, e.g. acme.com.
    #[arg(long)]
    domain: Option<String>,
    /// More domains its people mail from; repeatable.
    #[arg(long = "extra-domain")]
    extra_domains: Vec<String>,
    /// smb, mid_market, enterprise or strategic.
    #[arg(long, value_parser = segment_arg())]
    segment: Option<i32>,
    /// onboarding, adoption, established, renewal or churned.
    #[arg(long, value_parser = stage_arg())]
    stage: Option<i32>,
    /// The CSM who owns it.
    #[arg(long)]
    owner: Option<String>,
    /// An id in another system, `SYSTEM:ID` (e.g. zendesk:3601); repeatable.
    #[arg(long = "ref", value_parser = parse_ref)]
    refs: Vec<pb::ExternalRef>,
    /// A label, `KEY=VALUE`; repeatable.
    #[arg(long = "label", value_parser = parse_label)]
    labels: Vec<(String, String)>,
}

pub(crate) fn segment_arg() -> impl Fn(&str) -> Result<i32, String> + Clone + Send + Sync + 'static
{
    enum_arg!(pb::Segment, "SEGMENT_", ["smb", "mid_market", "enterprise", "strategic"])
}

pub(crate) fn stage_arg() -> impl Fn(&str) -> Result<i32, String> + Clone + Send + Sync + 'static {
    enum_arg!(
        pb::LifecycleStage,
        "LIFECYCLE_STAGE_",
        ["onboarding", "adoption", "established", "renewal", "churned"]
    )
}

/// `SYSTEM:ID` → an external ref.
pub(crate) fn parse_ref(text: &str) -> Result<pb::ExternalRef, String> {
    match text.split_once(':') {
        Some((system, id)) if !system.trim().is_empty() && !id.trim().is_empty() => {
            Ok(pb::ExternalRef { system: system.trim().into(), id: id.trim().into() })
        }
        _ => Err(format!("`{text}`: expected SYSTEM:ID, e.g. zendesk:3601")),
    }
}

/// `KEY=VALUE` → a label.
pub(crate) fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("`{text}`: expected KEY=VALUE, e.g. region=emea")),
    }
}

impl AccountsCommand {
    /// Runs the command against the account service.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            AccountsCommand::List(args) => list(conn, format, args).await,
            AccountsCommand::Show { account } => show(conn, format, &account).await,
            AccountsCommand::Create(args) => create(conn, format, args).await,
            AccountsCommand::Import(args) => args.run(conn, format).await,
        }
    }
}

async fn list(conn: &Connection, format: Format, args: ListArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.accounts()?;
    let mut request = pb::ListAccountsRequest {
        page_size: 1000,
        segments: args.segments,
        lifecycle_stages: args.stages,
        owner: args.owner.unwrap_or_default(),
        domain: args.domain.unwrap_or_default(),
        order_by: args.order_by.unwrap_or_default(),
        ..Default::default()
    };
    let mut accounts = Vec::new();
    loop {
        let page =
            client.list_accounts(request.clone()).await.map_err(|s| peer.error(s))?.into_inner();
        accounts.extend(page.accounts);
        if page.next_page_token.is_empty() || (args.limit > 0 && accounts.len() >= args.limit) {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if args.limit > 0 {
        accounts.truncate(args.limit);
    }
    match format {
        Format::Json => {
            let items =
                accounts.iter().map(|a| json::to_value(ACCOUNT, a)).collect::<Result<_, _>>()?;
            output::print_json(
                &serde_json::json!({ "accounts": serde_json::Value::Array(items) }),
            )?;
        }
        Format::Table => {
            let rows = accounts.iter().map(|a| {
                vec![
                    a.name.trim_start_matches("accounts/").to_owned(),
                    a.display_name.clone(),
                    dash(&a.primary_domain),
                    segment(a.segment),
                    stage(a.lifecycle_stage),
                    dash(&a.owner),
                    arr(a.arr.as_ref()),
                    date(a.renewal_date.as_ref()),
                ]
            });
            let headers = [
                "account",
                "display name",
                "domain",
                "segment",
                "stage",
                "owner",
                "arr",
                "renewal",
            ];
            output::print(&output::table(&headers, rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(conn: &Connection, format: Format, account: &str) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.accounts()?;
    let request = pb::GetAccountRequest { name: account_name(account) };
    let account = client.get_account(request).await.map_err(|s| peer.error(s))?.into_inner();
    print_account(format, &account)?;
    Ok(ExitCode::SUCCESS)
}

async fn create(conn: &Connection, format: Format, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.accounts()?;
    let account = pb::Account {
        display_name: args.display_name,
        primary_domain: args.domain.unwrap_or_default(),
        domains: args.extra_domains,
        external_refs: args.refs,
        segment: args.segment.unwrap_or_default(),
        lifecycle_stage: args.stage.unwrap_or_default(),
        owner: args.owner.unwrap_or_default(),
        labels: args.labels.into_iter().collect::<BTreeMap<_, _>>(),
        ..Default::default()
    };
    let request = pb::CreateAccountRequest {
        account_id: args.id.unwrap_or_default(),
        account: Some(account),
        // A fresh key per invocation: retrying this command is a new create, by design.
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let account = client.create_account(request).await.map_err(|s| peer.error(s))?.into_inner();
    print_account(format, &account)?;
    Ok(ExitCode::SUCCESS)
}

fn print_account(format: Format, a: &pb::Account) -> anyhow::Result<()> {
    if format == Format::Json {
        return output::print_json(&json::to_value(ACCOUNT, a)?);
    }
    let refs: Vec<String> =
        a.external_refs.iter().map(|r| format!("{}:{}", r.system, r.id)).collect();
    let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let rows = [
        ("name", a.name.clone()),
        ("display name", a.display_name.clone()),
        ("domain", dash(&a.primary_domain)),
        ("extra domains", dash(&a.domains.join(", "))),
        ("external refs", dash(&refs.join(", "))),
        ("segment", segment(a.segment)),
        ("stage", stage(a.lifecycle_stage)),
        ("owner", dash(&a.owner)),
        ("labels", dash(&labels.join(", "))),
        ("arr", arr(a.arr.as_ref())),
        ("renewal", date(a.renewal_date.as_ref())),
        ("created", output::time(a.create_time.as_ref())),
        ("updated", output::time(a.update_time.as_ref())),
    ];
    output::print(&output::fields(rows))?;
    Ok(())
}

pub(crate) fn dash(text: &str) -> String {
    if text.is_empty() { "-".into() } else { text.to_owned() }
}

pub(crate) fn segment(value: i32) -> String {
    let name = pb::Segment::try_from(value).map_or("?", |s| s.as_str_name());
    output::enum_name(name, "SEGMENT_")
}

pub(crate) fn stage(value: i32) -> String {
    let name = pb::LifecycleStage::try_from(value).map_or("?", |s| s.as_str_name());
    output::enum_name(name, "LIFECYCLE_STAGE_")
}

pub(crate) fn arr(money: Option<&pb::Money>) -> String {
    money.map_or_else(|| "-".into(), |m| output::money(m.amount_minor, &m.currency_code))
}

pub(crate) fn date(date: Option<&steward_proto::google::r#type::Date>) -> String {
    date.map_or_else(|| "-".into(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
}
