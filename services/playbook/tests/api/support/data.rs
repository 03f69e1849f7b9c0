//! The other services' data a playbook reacts to: accounts in a lifecycle stage, contracts
//! that set the renewal date, and tickets (with categories and CSAT ratings).

use chrono::{Datelike, Utc};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Date;
use steward_proto::ticket::v1 as ticket_pb;

use super::{Accounts, Tickets, request_id};

/// Creates an ESTABLISHED account on `domain` owned by `csm@steward.dev`; its name.
pub(crate) async fn create_account(accounts: &mut Accounts, domain: &str) -> String {
    create_account_in(accounts, domain, account_pb::LifecycleStage::Established).await
}

/// Creates a MID_MARKET account on `domain` in lifecycle `stage`, owned by
/// `csm@steward.dev`; its name.
pub(crate) async fn create_account_in(
    accounts: &mut Accounts,
    domain: &str,
    stage: account_pb::LifecycleStage,
) -> String {
    let account = account_pb::Account {
        display_name: domain.into(),
        primary_domain: domain.into(),
        segment: account_pb::Segment::MidMarket as i32,
        lifecycle_stage: stage as i32,
        owner: "csm@steward.dev".into(),
        ..Default::default()
    };
    let req = account_pb::CreateAccountRequest {
        account: Some(account),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_account(req).await.expect("create account").into_inner().name
}

/// Gives `account` a 120,000 USD contract that started a year ago and ends `ends_in_days`
/// from today (UTC), so that its renewal date is the day after: in `ends_in_days + 1` days.
pub(crate) async fn create_contract(accounts: &mut Accounts, account: &str, ends_in_days: i64) {
    let today = Utc::now().date_naive();
    let date = |d: chrono::NaiveDate| Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    };
    let contract = account_pb::Contract {
        arr: Some(account_pb::Money { amount_minor: 12_000_000, currency_code: "USD".into() }),
        start_date: Some(date(today - chrono::Duration::days(365))),
        end_date: Some(date(today + chrono::Duration::days(ends_in_days))),
        ..Default::default()
    };
    let req = account_pb::CreateContractRequest {
        parent: account.into(),
        contract: Some(contract),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_contract(req).await.expect("create contract");
}

/// An open ticket from `jane@{domain}` with `priority`, created `age` ago; set more fields
/// (category, CSAT) before [`ingest_ticket`].
pub(crate) fn ticket(
    domain: &str,
    external_id: &str,
    priority: ticket_pb::TicketPriority,
    age: chrono::Duration,
) -> ticket_pb::Ticket {
    let created = Some(timestamp(Utc::now() - age));
    ticket_pb::Ticket {
        source: ticket_pb::Source::Zendesk as i32,
        external_id: external_id.into(),
        subject: format!("ticket {external_id}"),
        status: ticket_pb::TicketStatus::Open as i32,
        status_raw: "open".into(),
        priority: priority as i32,
        requester: Some(ticket_pb::PartyRef {
            email: format!("jane@{domain}"),
            ..Default::default()
        }),
        created_time: created,
        source_update_time: created,
        ..Default::default()
    }
}

/// `ticket` solved an hour after it was created and rated `sentiment` at `rated_age` ago.
pub(crate) fn rated(
    mut ticket: ticket_pb::Ticket,
    sentiment: ticket_pb::CsatSentiment,
    rated_age: chrono::Duration,
) -> ticket_pb::Ticket {
    let created = ticket.created_time.as_ref().and_then(steward_kit::time::from_timestamp);
    let solved = created.map(|c| timestamp(c + chrono::Duration::hours(1)));
    let rate_time = timestamp(Utc::now() - rated_age);
    ticket.status = ticket_pb::TicketStatus::Solved as i32;
    ticket.status_raw = "solved".into();
    ticket.first_resolved_time = solved;
    ticket.resolved_time = solved;
    ticket.source_update_time = Some(rate_time);
    ticket.csat = Some(ticket_pb::CsatRating {
        sentiment: sentiment as i32,
        rate_time: Some(rate_time),
        ..Default::default()
    });
    ticket
}

/// Ingests `ticket`.
pub(crate) async fn ingest_ticket(tickets: &mut Tickets, ticket: ticket_pb::Ticket) {
    let req = ticket_pb::IngestTicketRequest { ticket: Some(ticket), request_id: String::new() };
    tickets.ingest_ticket(req).await.expect("ingest");
}

/// Ingests an open ticket from `jane@{domain}` with `priority`, created `age` ago.
pub(crate) async fn ingest(
    tickets: &mut Tickets,
    domain: &str,
    external_id: &str,
    priority: ticket_pb::TicketPriority,
    age: chrono::Duration,
) {
    ingest_ticket(tickets, ticket(domain, external_id, priority, age)).await;
}
