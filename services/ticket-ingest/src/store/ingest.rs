//! Ingest: snapshots compared with the stored tickets and written in one transaction per
//! batch, with their lifecycle events and the support feed entries.
//!
//! Concurrency: each batch takes a transaction-scoped advisory lock per source key (in hash
//! order, so batches never deadlock) before reading the stored rows, so two writers of one
//! ticket serialize, even for a ticket neither has stored yet. Only changed tickets are
//! written. A stream's batch that follows a settled one first reads without a transaction
//! and answers from the committed rows when every item is UNCHANGED or STALE, so a replayed
//! stream costs one read per batch and writes nothing.
//!
//! Round trips of a writing batch: BEGIN, the locks (one statement), the stored rows with
//! the link generation, the SLA policies, the writes (one statement), the feed, COMMIT.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, Row};
use steward_kit::idempotency::{self, Claim};
use steward_kit::time::from_timestamp;
use steward_kit::{Error, names};
use steward_proto::ticket::v1 as pb;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::changes::Changes;
use super::upsert::Writes;
use super::{
    SCHEMA, Store, WRITERS_LOCK, account_name, append_changes, decode_ticket, link_state, policies,
    ticket_name,
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
    pub(super) write: Write,
}

/// What the batch must write for a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    Nothing,
    /// Only the ordering key moved on (UNCHANGED with a newer key).
    Advance,
    /// The ticket was created or changed.
    Upsert,
}

/// One item's answer.
pub type ItemResult = Result<pb::IngestTicketResponse, Error>;

/// How far a stream's batch has got, as the next batch of the stream learns it. Batches of
/// one stream overlap, yet each must see the effects of every batch before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// Answered without writing anything (or there was no batch before): the next batch may
    /// answer from the committed rows.
    Settled,
    /// Holding the locks of its keys, not yet committed: the next batch must take its own
    /// locks, which wait for this batch's commit on every key they share.
    Locked,
}

/// One stream batch's place in the stream's order: it starts once the batch before has
/// locked its keys (or answered), and commits only after it, so a stream's batches commit in
/// the order they were sent.
#[derive(Debug)]
pub struct Turn {
    /// Where the batch before has got, and its end: `done` closes once it has committed or
    /// given up. `None` for the first batch.
    previous: Option<(oneshot::Receiver<Progress>, oneshot::Receiver<()>)>,
    /// Where this batch has got, for the next one.
    progress: oneshot::Sender<Progress>,
    /// Dropped (never sent) when this batch has committed or given up.
    done: oneshot::Sender<()>,
}

/// The turns of one stream's batches, handed out in order.
#[derive(Debug, Default)]
pub struct Turns {
    last: Option<(oneshot::Receiver<Progress>, oneshot::Receiver<()>)>,
}

impl Turns {
    /// The turn of the stream's next batch.
    pub fn turn(&mut self) -> Turn {
        let (progress, progress_rx) = oneshot::channel();
        let (done, done_rx) = oneshot::channel();
        Turn { previous: self.last.replace((progress_rx, done_rx)), progress, done }
    }
}

/// What a writing stream batch owes the batches around it.
#[derive(Debug)]
struct Order {
    progress: oneshot::Sender<Progress>,
    /// Closes once the batch before has committed or given up.
    previous_done: Option<oneshot::Receiver<()>>,
}

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
        self.write(items, idempotency, None).await
    }

    /// Ingests a stream's batch in its `turn`.
    pub async fn ingest_after(
        &self,
        items: Vec<Snapshot>,
        turn: Turn,
    ) -> Result<Vec<ItemResult>, Error> {
        let Turn { previous, progress, done: _done } = turn;
        let (previous, previous_done) = match previous {
            None => (Progress::Settled, None),
            // A batch that failed before locking ends the stream; locking is always safe.
            Some((progress, done)) => (progress.await.unwrap_or(Progress::Locked), Some(done)),
        };
        if items.is_empty() {
            // Nothing to lock or commit: the next batch follows the one before this.
            let _ = progress.send(previous);
            if let Some(done) = previous_done {
                let _ = done.await;
            }
            return Ok(Vec::new());
        }
        // A settled batch before has ended: nothing of it is left to wait for.
        if previous == Progress::Settled
            && let Some(answers) = self.answer_settled(&items).await?
        {
            let _ = progress.send(Progress::Settled);
            return Ok(answers);
        }
        self.write(items, None, Some(Order { progress, previous_done })).await
    }

    /// The answers to `items` from the committed rows, when every item is UNCHANGED (with
    /// nothing to advance) or STALE; `None` when some item must be written.
    async fn answer_settled(&self, items: &[Snapshot]) -> Result<Option<Vec<ItemResult>>, Error> {
        let (_, current) = stored(&self.pool, items).await?;
        let mut answers = Vec::with_capacity(items.len());
        for snapshot in items {
            let Some(cur) = current.get(&snapshot.key) else { return Ok(None) };
            let decision = decide(Some(&cur.key), snapshot);
            if !matches!(decision, Decision::Stale | Decision::Unchanged { advance: false }) {
                return Ok(None);
            }
            answers.push(Ok(response(outcome(decision), cur, Vec::new())));
        }
        Ok(Some(answers))
    }

    /// Ingests `items` in one transaction, in a stream's `order` if any.
    async fn write(
        &self,
        items: Vec<Snapshot>,
        idempotency: Option<(Uuid, &pb::IngestTicketRequest)>,
        order: Option<Order>,
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
        lock(&mut tx, &items).await?;
        let previous_done = order.and_then(|o| {
            let _ = o.progress.send(Progress::Locked);
            o.previous_done
        });
        let (generation, mut current) = stored(&mut *tx, &items).await?;
        self.linker.sync(generation);
        let policies = policies::load(&mut tx).await?;
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
        // Safe to wait holding locks: the batch before holds all of its own already.
        if let Some(done) = previous_done {
            let _ = done.await;
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
        let outcome = outcome(decision);
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

fn outcome(decision: Decision) -> pb::IngestOutcome {
    match decision {
        Decision::Create => pb::IngestOutcome::Created,
        Decision::Update => pb::IngestOutcome::Updated,
        Decision::Unchanged { .. } => pb::IngestOutcome::Unchanged,
        Decision::Stale => pb::IngestOutcome::Stale,
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

/// Serializes the batch against every other writer of the same tickets, and holds the
/// writers' lock shared (see [`WRITERS_LOCK`]). One statement: the two locks are independent
/// (the passes holding the writers' lock exclusively take no ticket locks). It also takes
/// the transaction's id, which orders the feed: a stream's next batch, which starts only
/// after this, gets a later one, so the feed lists a stream's changes in stream order.
async fn lock(tx: &mut PgConnection, items: &[Snapshot]) -> Result<(), Error> {
    let keys: Vec<String> = items
        .iter()
        .map(|s| format!("{}\u{1f}{}\u{1f}{}", s.key.source, s.key.instance, s.key.external_id))
        .collect();
    sqlx::query(
        "SELECT pg_current_xact_id(), pg_advisory_xact_lock_shared($1, $2),
                (SELECT count(pg_advisory_xact_lock(h))
                 FROM (SELECT DISTINCT hashtextextended(k, 0) AS h
                       FROM UNNEST($3::text[]) k ORDER BY h) s)",
    )
    .bind(WRITERS_LOCK.0)
    .bind(WRITERS_LOCK.1)
    .bind(&keys)
    .execute(tx)
    .await?;
    Ok(())
}

/// The link generation and the stored tickets of `items`, by source key (one statement).
async fn stored(
    db: impl PgExecutor<'_>,
    items: &[Snapshot],
) -> Result<(i64, HashMap<SourceKey, Current>), Error> {
    let sources: Vec<&str> = items.iter().map(|s| source_name(s.key.source)).collect();
    let instances: Vec<&str> = items.iter().map(|s| s.key.instance.as_str()).collect();
    let ids: Vec<&str> = items.iter().map(|s| s.key.external_id.as_str()).collect();
    // Always one row at least (the generation), with NULL ticket columns when none is stored.
    let rows = sqlx::query(
        "SELECT g.generation, t.id, t.account_id, t.link_state, t.content_hash, t.snapshot,
                t.observed_reopens
         FROM ticket.link_generation g
         LEFT JOIN (
             SELECT * FROM ticket.tickets
             WHERE (source, source_instance, external_id) IN (
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]))
         ) t ON true",
    )
    .bind(&sources)
    .bind(&instances)
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let generation = match rows.first() {
        Some(row) => row.try_get("generation")?,
        None => return Err(Error::Internal(anyhow::anyhow!("ticket.link_generation is empty"))),
    };
    let mut current = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(snapshot) = row.try_get::<Option<Vec<u8>>, _>("snapshot")? else { continue };
        let ticket = decode_ticket(&snapshot)?;
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
    Ok((generation, current))
}

/// What a batch writes besides the tickets themselves.
#[derive(Debug, Default)]
struct Batch {
    events: Vec<(String, Event)>,
    changes: Changes,
}

impl Batch {
    /// Writes the tickets that changed and the events, in one statement.
    async fn write<'a>(
        &self,
        tx: &mut PgConnection,
        tickets: impl Iterator<Item = &'a Current>,
    ) -> Result<(), Error> {
        let mut writes = Writes::default();
        tickets.for_each(|cur| writes.push(cur));
        writes.events(&self.events);
        writes.write(tx).await
    }
}
