//! Ingest: snapshots compared with the stored tickets and written in one transaction per
//! batch, with their lifecycle events and the support feed entries.
//!
//! Concurrency: each batch takes a transaction-scoped advisory lock per source key (in hash
//! order, so batches never deadlock) before reading the stored rows, so two writers of one
//! ticket serialize, even for a ticket neither has stored yet. Only changed tickets are
//! written: a replayed stream reads and answers, and writes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::{PgConnection, Row};
use steward_kit::idempotency::{self, Claim};
use steward_kit::time::from_timestamp;
use steward_kit::{Error, names};
use steward_proto::ticket::v1 as pb;
use uuid::Uuid;

use super::changes::Changes;
use super::upsert::Upserts;
use super::{
    SCHEMA, Store, account_name, append_changes, decode_ticket, insert_events, link_state,
    policies, ticket_name, writers_lock,
};
use crate::domain::events::{self, Event};
use crate::domain::ordering::{Decision, StoredKey, decide};
use crate::domain::sla;
use crate::domain::validate::{Snapshot, SourceKey};
use crate::linker::{Link, LinkKeys};

/// A ticket as this batch sees it: the stored one, then each accepted snapshot.
#[derive(Debug)]
pub(super) struct Current {
    pub(super) id: String,
    /// With its policy SLA targets.
    pub(super) ticket: pb::Ticket,
    pub(super) key: StoredKey,
    pub(super) link: Link,
    pub(super) observed_reopens: i32,
    write: Write,
}

/// What the batch must write for a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Nothing,
    /// Only the ordering key moved on (UNCHANGED with a newer key).
    Advance,
    /// The ticket was created or changed.
    Upsert,
}

/// One item's answer.
pub type ItemResult = Result<pb::IngestTicketResponse, Error>;

impl Store {
    /// Ingests `items` in one transaction and answers each, in order. An item whose account
    /// cannot be resolved (account service unreachable) gets its own error; the others are
    /// stored. With `idempotency` (unary calls carrying a `request_id`, one item) the answer
    /// is stored with the effects, and a retry gets it back.
    pub async fn ingest(
        &self,
        items: Vec<Snapshot>,
        idempotency: Option<(Uuid, &pb::IngestTicketRequest)>,
    ) -> Result<Vec<ItemResult>, Error> {
        let mut tx = self.pool.begin().await?;
        if let Some((request_id, request)) = idempotency
            && let Claim::Replay(response) = idempotency::begin::<pb::IngestTicketResponse>(
                &mut tx,
                SCHEMA,
                "IngestTicket",
                request_id,
                request,
            )
            .await?
        {
            return Ok(vec![Ok(response)]);
        }
        writers_lock(&mut tx, true).await?;
        lock_keys(&mut tx, &items).await?;
        let generation: i64 = sqlx::query_scalar("SELECT generation FROM ticket.link_generation")
            .fetch_one(&mut *tx)
            .await?;
        self.linker.sync(generation);
        let policies = policies::load(&mut tx).await?;
        let mut current = stored(&mut tx, &items).await?;
        let now = Utc::now();
        let mut batch = Batch::default();
        let mut results = Vec::with_capacity(items.len());
        for snapshot in items {
            results.push(self.accept(snapshot, &mut current, &policies, now, &mut batch).await);
        }
        batch.write(&mut tx, current.values()).await?;
        append_changes(&self.feed, &mut tx, batch.changes).await?;
        if let Some((request_id, _)) = idempotency {
            match results.first() {
                Some(Ok(response)) => {
                    idempotency::finish(&mut tx, SCHEMA, request_id, response).await?
                }
                // Nothing to remember: the retry must run afresh.
                _ => return Ok(results),
            }
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Decides one snapshot against the batch's view of its ticket and records the effects.
    async fn accept(
        &self,
        snapshot: Snapshot,
        current: &mut HashMap<SourceKey, Current>,
        policies: &[sla::Policy],
        now: DateTime<Utc>,
        batch: &mut Batch,
    ) -> ItemResult {
        let decision = decide(current.get(&snapshot.key).map(|c| &c.key), &snapshot);
        let outcome = match decision {
            Decision::Create => pb::IngestOutcome::Created,
            Decision::Update => pb::IngestOutcome::Updated,
            Decision::Unchanged { .. } => pb::IngestOutcome::Unchanged,
            Decision::Stale => pb::IngestOutcome::Stale,
        };
        if let (Some(cur), Decision::Stale | Decision::Unchanged { .. }) =
            (current.get_mut(&snapshot.key), decision)
        {
            if decision == (Decision::Unchanged { advance: true }) {
                cur.ticket.source_update_time = snapshot.ticket.source_update_time;
                cur.ticket.source_version = snapshot.ticket.source_version;
                cur.key.version = snapshot.version;
                cur.key.update_time = snapshot.update_time;
                if cur.write == Write::Nothing {
                    cur.write = Write::Advance;
                }
            }
            return Ok(response(outcome, cur, Vec::new()));
        }

        let stored = current.get(&snapshot.key);
        let keys = LinkKeys::of(&snapshot.ticket);
        let link = match stored {
            Some(cur) if LinkKeys::of(&cur.ticket) == keys => cur.link.clone(),
            _ => self.linker.link(&keys).await?,
        };
        let mut ticket = snapshot.ticket;
        let previous: Vec<pb::SlaTarget> = stored
            .map(|c| {
                c.ticket
                    .sla
                    .iter()
                    .filter(|t| t.origin == pb::SlaOrigin::Policy as i32)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let policy = sla::applicable(policies, ticket.source);
        sla::apply(&mut ticket, policy, &previous, now);
        let events = events::derive(stored.map(|c| &c.ticket), &ticket);

        let key = snapshot.key;
        let (id, old_account, observed_reopens) = match current.get(&key) {
            Some(c) => (c.id.clone(), c.link.account_id.clone(), c.observed_reopens),
            None => (names::new_id(), None, 0),
        };
        let name = ticket_name(&id);
        let reopens = events.iter().filter(|e| e.kind == pb::TicketEventKind::Reopened).count();
        batch.changes.add_events(
            link.account_id.as_deref(),
            &name,
            decision == Decision::Create,
            &events,
        );
        if decision != Decision::Create {
            batch.changes.add_move(old_account.as_deref(), link.account_id.as_deref(), &name);
        }
        batch.events.extend(events.iter().map(|e| (id.clone(), e.clone())));
        let cur = Current {
            id,
            key: StoredKey { content_hash: snapshot.content_hash, ..key_of_ticket(&ticket) },
            ticket,
            link,
            observed_reopens: observed_reopens
                .saturating_add(i32::try_from(reopens).unwrap_or(i32::MAX)),
            write: Write::Upsert,
        };
        let answer = response(outcome, &cur, events.iter().map(|e| e.kind as i32).collect());
        current.insert(key, cur);
        Ok(answer)
    }
}

fn response(
    outcome: pb::IngestOutcome,
    cur: &Current,
    events: Vec<i32>,
) -> pb::IngestTicketResponse {
    pb::IngestTicketResponse {
        outcome: outcome as i32,
        ticket: ticket_name(&cur.id),
        account: account_name(cur.link.account_id.as_deref()),
        events,
        link_state: cur.link.state as i32,
    }
}

fn key_of_ticket(ticket: &pb::Ticket) -> StoredKey {
    StoredKey {
        version: ticket.source_version,
        update_time: ticket
            .source_update_time
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or_default(),
        content_hash: Vec::new(),
    }
}

/// The stored value name of enum value `v`.
pub(super) fn source_name(v: i32) -> &'static str {
    pb::Source::try_from(v).map(|s| s.as_str_name()).unwrap_or("SOURCE_UNSPECIFIED")
}

/// Serializes the batch against every other writer of the same tickets.
async fn lock_keys(tx: &mut PgConnection, items: &[Snapshot]) -> Result<(), Error> {
    let keys: Vec<String> = items
        .iter()
        .map(|s| format!("{}\u{1f}{}\u{1f}{}", s.key.source, s.key.instance, s.key.external_id))
        .collect();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h)
         FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM UNNEST($1::text[]) k ORDER BY h) s",
    )
    .bind(&keys)
    .execute(tx)
    .await?;
    Ok(())
}

/// The stored tickets of `items`, by source key.
async fn stored(
    tx: &mut PgConnection,
    items: &[Snapshot],
) -> Result<HashMap<SourceKey, Current>, Error> {
    let sources: Vec<&str> = items.iter().map(|s| source_name(s.key.source)).collect();
    let instances: Vec<&str> = items.iter().map(|s| s.key.instance.as_str()).collect();
    let ids: Vec<&str> = items.iter().map(|s| s.key.external_id.as_str()).collect();
    let rows = sqlx::query(
        "SELECT DISTINCT t.id, t.account_id, t.link_state, t.content_hash, t.snapshot,
                t.observed_reopens
         FROM ticket.tickets t
         JOIN UNNEST($1::text[], $2::text[], $3::text[]) AS k(source, instance, external_id)
           ON t.source = k.source AND t.source_instance = k.instance
          AND t.external_id = k.external_id",
    )
    .bind(&sources)
    .bind(&instances)
    .bind(&ids)
    .fetch_all(tx)
    .await?;
    let mut current = HashMap::with_capacity(rows.len());
    for row in rows {
        let ticket = decode_ticket(row.try_get::<Vec<u8>, _>("snapshot")?.as_slice())?;
        let key = SourceKey {
            source: ticket.source,
            instance: ticket.source_instance.clone(),
            external_id: ticket.external_id.clone(),
        };
        let state = link_state(row.try_get("link_state")?);
        let cur = Current {
            id: row.try_get("id")?,
            key: StoredKey { content_hash: row.try_get("content_hash")?, ..key_of_ticket(&ticket) },
            link: Link { account_id: row.try_get("account_id")?, state },
            observed_reopens: row.try_get("observed_reopens")?,
            ticket,
            write: Write::Nothing,
        };
        current.insert(key, cur);
    }
    Ok(current)
}

/// What a batch writes besides the tickets themselves.
#[derive(Debug, Default)]
struct Batch {
    events: Vec<(String, Event)>,
    changes: Changes,
}

impl Batch {
    /// Writes the tickets that changed, then the events (which reference them).
    async fn write<'a>(
        &self,
        tx: &mut PgConnection,
        tickets: impl Iterator<Item = &'a Current>,
    ) -> Result<(), Error> {
        let mut upserts = Upserts::default();
        let (mut advanced, mut snapshots, mut times) = (Vec::new(), Vec::new(), Vec::new());
        for cur in tickets {
            match cur.write {
                Write::Nothing => {}
                Write::Advance => {
                    advanced.push(cur.id.clone());
                    snapshots.push(cur.ticket.encode_to_vec());
                    times.push(cur.key.update_time);
                }
                Write::Upsert => upserts.push(cur),
            }
        }
        upserts.write(tx).await?;
        if !advanced.is_empty() {
            sqlx::query(
                "UPDATE ticket.tickets t
                 SET snapshot = u.snapshot, source_update_time = u.update_time, ingest_time = now()
                 FROM UNNEST($1::text[], $2::bytea[], $3::timestamptz[]) AS u(id, snapshot, update_time)
                 WHERE t.id = u.id",
            )
            .bind(&advanced)
            .bind(&snapshots)
            .bind(&times)
            .execute(&mut *tx)
            .await?;
        }
        insert_events(tx, &self.events).await
    }
}
