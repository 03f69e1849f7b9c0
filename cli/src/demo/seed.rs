//! Putting the book into the suite: each account found by its id or created (with its
//! support-platform organization as an external ref, and its seed as a label), then its
//! contract and contacts, created under stable ids so that a second run finds them instead
//! of adding more. An account of that id that another seed (or someone else) created is
//! refused rather than mixed into this book. Also the check that health-scoring and
//! playbook seeded their defaults.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use steward_proto::account::v1 as pb;
use steward_proto::google::r#type::Date;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;
use tonic::Code;

use super::book::{DemoAccount, PLATFORM};
use crate::client::{Accounts, Connection, Peer};

/// Calls in flight while seeding: quick, without crowding the account service.
const PARALLEL: usize = 8;
/// The label naming the seed whose book an account belongs to.
const SEED_LABEL: &str = "demo-seed";

/// What seeding found and did.
#[derive(Debug, Default)]
pub(super) struct Seeded {
    /// Accounts created now, and found from an earlier run.
    pub(super) created: usize,
    pub(super) found: usize,
    /// Contracts and contacts created now (the rest were there).
    pub(super) contracts: usize,
    pub(super) contacts: usize,
    /// The demo's "now": when the book's first account was created, to the second. Tickets
    /// are dated from it, so that a later run sends the very same tickets.
    pub(super) anchor: DateTime<Utc>,
}

/// Finds or creates every account of `book`, then their contracts and contacts.
pub(super) async fn accounts(
    conn: &Connection,
    book: &[DemoAccount],
    seed: u64,
) -> anyhow::Result<Seeded> {
    let (peer, client) = conn.accounts()?;
    let mut seeded = Seeded::default();
    // Owned inputs: the futures run side by side, and must not borrow from the closure.
    let accounts: Vec<(bool, pb::Account)> = stream::iter(book.to_vec())
        .map(|a| find_or_create(peer.clone(), client.clone(), a, seed))
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    for (created, _) in &accounts {
        if *created { seeded.created += 1 } else { seeded.found += 1 }
    }
    let first = accounts.first().and_then(|(_, a)| a.create_time.as_ref());
    let anchor = first.and_then(steward_kit::time::from_timestamp).unwrap_or_else(Utc::now);
    seeded.anchor = DateTime::from_timestamp(anchor.timestamp(), 0).unwrap_or(anchor);
    let today = seeded.anchor.date_naive();
    let parts: Vec<(bool, usize)> = stream::iter(book.to_vec())
        .map(|a| contract_and_contacts(peer.clone(), client.clone(), a, today))
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    seeded.contracts = parts.iter().filter(|(c, _)| *c).count();
    seeded.contacts = parts.iter().map(|(_, n)| n).sum();
    Ok(seeded)
}

/// The account, and whether it was created now.
async fn find_or_create(
    peer: Peer,
    mut client: Accounts,
    a: DemoAccount,
    seed: u64,
) -> anyhow::Result<(bool, pb::Account)> {
    let name = format!("accounts/{}", a.id);
    match client.get_account(pb::GetAccountRequest { name: name.clone() }).await {
        Ok(found) => {
            let found = found.into_inner();
            return match found.labels.get(SEED_LABEL) {
                Some(s) if *s == seed.to_string() => Ok((false, found)),
                Some(s) => anyhow::bail!(
                    "{name} belongs to the demo of seed {s}: run the demo with --demo-seed {s}, \
                     or against a fresh database"
                ),
                None => anyhow::bail!(
                    "{name} exists and is not a demo account: run the demo against a fresh \
                     database, or with another --demo-seed"
                ),
            };
        }
        Err(status) if status.code() == Code::NotFound => {}
        Err(status) => return Err(peer.error(status)),
    }
    let account = pb::Account {
        display_name: a.display_name.clone(),
        primary_domain: a.domain.clone(),
        external_refs: vec![pb::ExternalRef { system: PLATFORM.into(), id: a.org_id.clone() }],
        segment: a.segment as i32,
        lifecycle_stage: a.stage as i32,
        owner: a.owner.into(),
        labels: [(SEED_LABEL.to_owned(), seed.to_string())].into(),
        ..Default::default()
    };
    let request = pb::CreateAccountRequest {
        account_id: a.id.clone(),
        account: Some(account),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    match client.create_account(request).await {
        Ok(created) => Ok((true, created.into_inner())),
        Err(status) => Err(peer.error(status).context(format!("create the demo account {name}"))),
    }
}

/// Creates the account's contract and contacts where missing: whether the contract was
/// created, and how many contacts were.
async fn contract_and_contacts(
    peer: Peer,
    mut client: Accounts,
    a: DemoAccount,
    today: NaiveDate,
) -> anyhow::Result<(bool, usize)> {
    let parent = format!("accounts/{}", a.id);
    let contract = pb::Contract {
        arr: Some(pb::Money { amount_minor: a.arr_usd * 100, currency_code: "USD".into() }),
        start_date: Some(date(today, -a.contract_age_days)),
        // The renewal is the day after the last day of service.
        end_date: Some(date(today, a.renewal_in_days - 1)),
        description: format!("Annual plan, renews in {} days", a.renewal_in_days),
        ..Default::default()
    };
    let request = pb::CreateContractRequest {
        parent: parent.clone(),
        // Contract and contact ids are unique across accounts: prefixed with the account's.
        contract_id: format!("{}-subscription", a.id),
        contract: Some(contract),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let contract = created(&peer, client.create_contract(request).await)?;
    let mut contacts = 0;
    for person in &a.contacts {
        let contact = pb::Contact {
            email: person.email.clone(),
            display_name: person.name.clone(),
            role: person.role as i32,
            title: person.title.into(),
            ..Default::default()
        };
        let request = pb::CreateContactRequest {
            parent: parent.clone(),
            contact_id: format!("{}-{}", a.id, person.id),
            contact: Some(contact),
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        contacts += usize::from(created(&peer, client.create_contact(request).await)?);
    }
    Ok((contract, contacts))
}

/// Whether a create made something: ALREADY_EXISTS means an earlier run did.
fn created<T>(
    peer: &Peer,
    answer: Result<tonic::Response<T>, tonic::Status>,
) -> anyhow::Result<bool> {
    match answer {
        Ok(_) => Ok(true),
        Err(status) if status.code() == Code::AlreadyExists => Ok(false),
        Err(status) => Err(peer.error(status)),
    }
}

/// `today` moved by `days`, as a calendar date.
fn date(today: NaiveDate, days: i64) -> Date {
    let magnitude = Days::new(days.unsigned_abs());
    let d = if days >= 0 {
        today.checked_add_days(magnitude)
    } else {
        today.checked_sub_days(magnitude)
    };
    let d = d.unwrap_or(today);
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// The defaults the demo's scenarios rely on, as the services seeded them: one line each.
pub(super) async fn defaults(conn: &Connection) -> anyhow::Result<Vec<String>> {
    let (peer, mut health) = conn.health(false)?;
    let request =
        health_pb::GetScorecardRequest { name: "scorecards/default".into(), ..Default::default() };
    let mut lines = Vec::new();
    match health.get_scorecard(request).await {
        Ok(card) => {
            let card = card.into_inner();
            lines.push(format!(
                "default scorecard: {}@{} (seeded by health-scoring)",
                card.name.trim_start_matches("scorecards/"),
                card.version
            ));
        }
        Err(status) if status.code() == Code::NotFound => {
            lines.push(
                "default scorecard: missing; scores use whichever scorecard is default".into(),
            );
        }
        Err(status) => return Err(peer.error(status)),
    }
    let (peer, mut playbooks) = conn.playbooks()?;
    let request = playbook_pb::ListPlaybooksRequest { page_size: 1000, ..Default::default() };
    let listed =
        playbooks.list_playbooks(request).await.map_err(|s| peer.error(s))?.into_inner().playbooks;
    let mut ready = Vec::new();
    for id in super::SHIPPED_PLAYBOOKS {
        match listed.iter().find(|p| p.name == format!("playbooks/{id}")) {
            Some(p) if p.enabled => ready.push(id),
            Some(_) => {
                lines.push(format!("playbook {id}: disabled, so its scenario starts nothing"))
            }
            None => lines.push(format!("playbook {id}: deleted, so its scenario starts nothing")),
        }
    }
    lines.push(format!("default playbooks: {} (seeded by playbook)", ready.join(", ")));
    Ok(lines)
}
