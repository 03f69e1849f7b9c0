//! `steward tickets import | list`: tickets in ticket-ingest.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use steward_proto::ticket::v1 as pb;

use crate::client::Connection;
use crate::commands::{account_name, ticket_import};
use crate::enum_arg;
use crate::json;
use crate::output::{self, Format};

const TICKET: &str = "steward.ticket.v1.Ticket";
/// Subjects are cut to this many characters in tables.
const SUBJECT_WIDTH: usize = 60;

/// Tickets.
#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// Stream a JSON Lines file of tickets into ticket-ingest (idempotent: replaying a file
    /// changes nothing).
    Import(ticket_import::ImportArgs),
    /// List tickets, newest first.
    List(ListArgs),
}

/// Filters for `tickets list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this account's tickets (`acme` or `accounts/acme`).
    #[arg(long, conflicts_with = "unlinked")]
    account: Option<String>,
    /// Only tickets linked to no account yet.
    #[arg(long)]
    unlinked: bool,
    /// Only these statuses (new, open, pending, on_hold, solved, closed); repeatable.
    #[arg(long = "status", value_parser = enum_arg!(pb::TicketStatus, "TICKET_STATUS_",
        ["new", "open", "pending", "on_hold", "solved", "closed"]))]
    statuses: Vec<i32>,
    /// Only these priorities (low, normal, high, urgent); repeatable.
    #[arg(long = "priority", value_parser = enum_arg!(pb::TicketPriority, "TICKET_PRIORITY_",
        ["low", "normal", "high", "urgent"]))]
    priorities: Vec<i32>,
    /// Only these categories; repeatable.
    #[arg(long = "category")]
    categories: Vec<String>,
    /// `created_time desc` (default), `created_time`, `updated_time desc` or `updated_time`.
    #[arg(long)]
    order_by: Option<String>,
    /// At most this many tickets; 0 lists them all.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

impl TicketsCommand {
    /// Runs the command against ticket-ingest.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            TicketsCommand::Import(args) => args.run(conn, format).await,
            TicketsCommand::List(args) => list(conn, format, args).await,
        }
    }
}

async fn list(conn: &Connection, format: Format, args: ListArgs) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.tickets(false)?;
    let page_size = if args.limit == 0 { 1000 } else { args.limit.min(1000) };
    let mut request = pb::ListTicketsRequest {
        page_size: i32::try_from(page_size).unwrap_or(1000),
        account: args.account.as_deref().map(account_name).unwrap_or_default(),
        unlinked: args.unlinked,
        statuses: args.statuses,
        priorities: args.priorities,
        categories: args.categories,
        order_by: args.order_by.unwrap_or_default(),
        ..Default::default()
    };
    let mut tickets = Vec::new();
    loop {
        let page =
            client.list_tickets(request.clone()).await.map_err(|s| peer.error(s))?.into_inner();
        tickets.extend(page.tickets);
        if page.next_page_token.is_empty() || (args.limit > 0 && tickets.len() >= args.limit) {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if args.limit > 0 {
        tickets.truncate(args.limit);
    }
    match format {
        Format::Json => {
            let items =
                tickets.iter().map(|t| json::to_value(TICKET, t)).collect::<Result<_, _>>()?;
            output::print_json(&serde_json::json!({ "tickets": serde_json::Value::Array(items) }))?;
        }
        Format::Table => {
            let headers =
                ["ticket", "source key", "status", "priority", "account", "created", "subject"];
            output::print(&output::table(&headers, tickets.iter().map(row)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(t: &pb::Ticket) -> Vec<String> {
    let source = pb::Source::try_from(t.source).map_or("?", |s| s.as_str_name());
    let status = pb::TicketStatus::try_from(t.status).map_or("?", |s| s.as_str_name());
    let priority = pb::TicketPriority::try_from(t.priority).map_or("?", |p| p.as_str_name());
    let instance = if t.source_instance.is_empty() {
        String::new()
    } else {
        format!("/{}", t.source_instance)
    };
    let mut subject: String = t.subject.chars().take(SUBJECT_WIDTH).collect();
    if t.subject.chars().count() > SUBJECT_WIDTH {
        subject.push('…');
    }
    vec![
        t.name.trim_start_matches("tickets/").to_owned(),
        format!("{}{instance}:{}", output::enum_name(source, "SOURCE_"), t.external_id),
        output::enum_name(status, "TICKET_STATUS_"),
        output::enum_name(priority, "TICKET_PRIORITY_"),
        if t.account.is_empty() {
            "(unlinked)".into()
        } else {
            t.account.trim_start_matches("accounts/").to_owned()
        },
        output::time(t.created_time.as_ref()),
        subject,
    ]
}
