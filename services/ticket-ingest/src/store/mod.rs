//! The ticket schema: every query the service runs, and the support feed entries written in
//! the same transactions.

mod changes;
mod ingest;
mod links;
mod policies;
mod support;
mod tickets;
mod upsert;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use steward_kit::feed::Feed;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag};
use steward_proto::ticket::v1 as pb;

use crate::domain::events::Event;
use crate::domain::sla;
use crate::linker::Linker;

pub use ingest::{ItemResult, Turn, Turns};
pub use links::AccountFeedHandler;
pub use support::KpiFilter;
pub use tickets::{TicketOrder, TicketQuery, TimeRange};

/// The service's schema.
pub const SCHEMA: &str = "ticket";

/// The advisory lock (two-key form, apart from the per-ticket keys) that orders re-linking
/// and SLA policy recomputation against ingests: ingests hold it shared, those passes
/// exclusively, so a pass sees every ingest committed before it and every later ingest sees
/// the pass's outcome.
const WRITERS_LOCK: (i32, i32) = (0x5457_4b54, 1);

/// The ticket-ingest service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    feed: Arc<Feed>,
    linker: Arc<Linker>,
}

impl Store {
    /// Storage on `pool`, appending changes to `feed` and linking through `linker`.
    pub fn new(pool: PgPool, feed: Arc<Feed>, linker: Arc<Linker>) -> Self {
        Self { pool, feed, linker }
    }

    /// The support change feed.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }
}

/// `tickets/{id}`.
pub fn ticket_name(id: &str) -> String {
    format!("tickets/{id}")
}

/// `accounts/{id}`, or empty.
fn account_name(id: Option<&str>) -> String {
    id.map(|id| format!("accounts/{id}")).unwrap_or_default()
}

/// A stored ticket, as read.
#[derive(Debug, sqlx::FromRow)]
struct TicketRow {
    id: String,
    account_id: Option<String>,
    link_state: String,
    snapshot: Vec<u8>,
    observed_reopens: i32,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    ingest_time: DateTime<Utc>,
    version: i64,
}

/// The columns of [`TicketRow`], for `SELECT`s.
const TICKET_COLUMNS: &str = "id, account_id, link_state, snapshot, observed_reopens, \
                              create_time, update_time, ingest_time, version";

impl TicketRow {
    /// The stored snapshot, with the output-only fields, as of `now`.
    fn to_proto(&self, now: DateTime<Utc>) -> Result<pb::Ticket, Error> {
        let mut t = decode_ticket(&self.snapshot)?;
        t.name = ticket_name(&self.id);
        t.account = account_name(self.account_id.as_deref());
        t.link_state = link_state(&self.link_state) as i32;
        t.create_time = Some(timestamp(self.create_time));
        t.update_time = Some(timestamp(self.update_time));
        t.ingest_time = Some(timestamp(self.ingest_time));
        t.etag = etag::of(self.version);
        // The platform's count when it gives one, else what we saw; the larger of the two.
        t.reopen_count = Some(t.reopen_count.unwrap_or(0).max(self.observed_reopens));
        for target in &mut t.sla {
            target.state = sla::effective_state(target, now);
        }
        Ok(t)
    }
}

fn decode_ticket(bytes: &[u8]) -> Result<pb::Ticket, Error> {
    <pb::Ticket as prost::Message>::decode(bytes)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored ticket snapshot: {e}")))
}

fn link_state(name: &str) -> pb::LinkState {
    pb::LinkState::from_str_name(name).unwrap_or(pb::LinkState::Unlinked)
}

/// Takes the writers' lock in `mode` (`""` exclusive, `"_shared"` shared) for the
/// transaction.
async fn writers_lock(tx: &mut PgConnection, shared: bool) -> Result<(), Error> {
    let sql = if shared {
        "SELECT pg_advisory_xact_lock_shared($1, $2)"
    } else {
        "SELECT pg_advisory_xact_lock($1, $2)"
    };
    sqlx::query(sql).bind(WRITERS_LOCK.0).bind(WRITERS_LOCK.1).execute(tx).await?;
    Ok(())
}

/// Appends one `SupportChange` per account to the feed, inside `tx`.
async fn append_changes(
    feed: &Feed,
    tx: &mut PgConnection,
    changes: changes::Changes,
) -> Result<(), Error> {
    let (accounts, payloads) = changes.encode();
    if !accounts.is_empty() {
        feed.append_encoded(tx, &accounts, &payloads).await?;
    }
    Ok(())
}

/// Records lifecycle events of tickets (by id), in order: in `ticket_events` and appended to
/// each ticket's copy of its events.
async fn insert_events(tx: &mut PgConnection, events: &[(String, Event)]) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
    let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind.as_str_name()).collect();
    let at: Vec<DateTime<Utc>> = events.iter().map(|(_, e)| e.event_time).collect();
    let from: Vec<&str> = events.iter().map(|(_, e)| e.from_value.as_str()).collect();
    let to: Vec<&str> = events.iter().map(|(_, e)| e.to_value.as_str()).collect();
    sqlx::query(
        "WITH e AS (
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[],
                               $5::text[])
                  WITH ORDINALITY AS e(ticket_id, kind, event_time, from_value, to_value, n)),
         recorded AS (
             INSERT INTO ticket.ticket_events (ticket_id, kind, event_time, from_value, to_value)
             SELECT ticket_id, kind, event_time, from_value, to_value FROM e ORDER BY n
             RETURNING 1)
         UPDATE ticket.tickets t
         SET event_kinds = t.event_kinds || a.kinds, event_times = t.event_times || a.times,
             event_tos = t.event_tos || a.tos
         FROM (SELECT ticket_id, array_agg(kind ORDER BY n) AS kinds,
                      array_agg(event_time ORDER BY n) AS times,
                      array_agg(to_value ORDER BY n) AS tos
               FROM e GROUP BY ticket_id) a
         WHERE t.id = a.ticket_id",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&at)
    .bind(&from)
    .bind(&to)
    .execute(tx)
    .await?;
    Ok(())
}
