//! What the services are fed: accounts in a lifecycle stage, contracts that set the renewal
//! date, and ticket snapshots as a support platform's adapter sends them (open, solved,
//! rated), all at times relative to one `now` the caller fixes. Writes are retried while the
//! service answers UNAVAILABLE (a loaded machine can keep a call waiting for a database
//! connection past its limit), as a client should: each is idempotent or carries a
//! `request_id`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use steward_kit::client::retry;
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Date;
use steward_proto::ticket::v1 as ticket_pb;

use crate::suite::Accounts;

pub use account_pb::LifecycleStage as Stage;
pub use ticket_pb::{CsatSentiment as Sentiment, TicketPriority as Priority};

/// A new idempotency key.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Creates a MID_MARKET account on `domain` (tickets from `@domain` link to it) in `stage`,
/// owned by `csm@steward.dev`; its name.
pub async fn create_account(accounts: &mut Accounts, domain: &str, stage: Stage) -> String {
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
    let created = retry(|| {
        let (mut accounts, req) = (accounts.clone(), req.clone());
        async move { accounts.create_account(req).await }
    });
    created.await.unwrap_or_else(|e| panic!("create account {domain}: {e:?}")).into_inner().name
}

/// Gives `account` a 120,000 USD contract that started a year before `today` and renews
/// (the day after it ends) `renews_in_days` after `today`.
pub async fn create_contract(
    accounts: &mut Accounts,
    account: &str,
    today: NaiveDate,
    renews_in_days: i64,
) {
    let date = |d: NaiveDate| Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 };
    let contract = account_pb::Contract {
        arr: Some(account_pb::Money { amount_minor: 12_000_000, currency_code: "USD".into() }),
        start_date: Some(date(today - Duration::days(365))),
        end_date: Some(date(today + Duration::days(renews_in_days - 1))),
        ..Default::default()
    };
    let req = account_pb::CreateContractRequest {
        parent: account.into(),
        contract: Some(contract),
        request_id: request_id(),
        ..Default::default()
    };
    let created = retry(|| {
        let (mut accounts, req) = (accounts.clone(), req.clone());
        async move { accounts.create_contract(req).await }
    });
    created.await.unwrap_or_else(|e| panic!("create a contract for {account}: {e:?}"));
}

/// An open ticket `external_id` from `jane@{domain}` with `priority`, created at `created`.
pub fn ticket(
    domain: &str,
    external_id: &str,
    priority: Priority,
    created: DateTime<Utc>,
) -> ticket_pb::Ticket {
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
        created_time: Some(timestamp(created)),
        source_update_time: Some(timestamp(created)),
        ..Default::default()
    }
}

/// `ticket` in `category`.
pub fn in_category(mut ticket: ticket_pb::Ticket, category: &str) -> ticket_pb::Ticket {
    ticket.category = category.into();
    ticket
}

/// `ticket` answered and solved `after` its creation.
pub fn solved(mut ticket: ticket_pb::Ticket, after: Duration) -> ticket_pb::Ticket {
    let created = ticket.created_time.as_ref().and_then(steward_kit::time::from_timestamp);
    let solved = created.map(|c| timestamp(c + after));
    ticket.status = ticket_pb::TicketStatus::Solved as i32;
    ticket.status_raw = "solved".into();
    ticket.first_response_time.clone_from(&solved);
    ticket.first_resolved_time.clone_from(&solved);
    ticket.resolved_time.clone_from(&solved);
    ticket.source_update_time = solved;
    ticket
}

/// A solved `ticket` rated `sentiment` when it was solved.
pub fn rated(mut ticket: ticket_pb::Ticket, sentiment: Sentiment) -> ticket_pb::Ticket {
    ticket.csat = Some(ticket_pb::CsatRating {
        sentiment: sentiment as i32,
        rate_time: ticket.resolved_time,
        ..Default::default()
    });
    ticket
}

/// Ingests `ticket` on its own.
pub async fn ingest(tickets: &mut crate::suite::Tickets, ticket: ticket_pb::Ticket) {
    let id = ticket.external_id.clone();
    let req = ticket_pb::IngestTicketRequest { ticket: Some(ticket), request_id: String::new() };
    let ingested = retry(|| {
        let (mut tickets, req) = (tickets.clone(), req.clone());
        async move { tickets.ingest_ticket(req).await }
    });
    ingested.await.unwrap_or_else(|e| panic!("ingest {id}: {e:?}"));
}
