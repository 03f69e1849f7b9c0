//! A batch's writes in one statement: the multi-row upsert of the tickets it created or
//! changed (each with its new events appended to its copy of them), the ordering keys it
//! advanced and the lifecycle events it derived, each an `UNNEST` of column arrays. One statement is one round trip, and one commit covers all.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::Error;
use steward_kit::time::from_timestamp;

use super::ingest::{Current, Write, source_name};
use crate::domain::events::Event;
use crate::domain::figures::latest_time;
use crate::linker::LinkKeys;

/// What one batch writes, column by column (for `UNNEST`).
#[derive(Debug, Default)]
pub(super) struct Writes {
    upserts: Upserts,
    advances: Advances,
    events: Events,
}

/// Tickets whose ordering key alone moved on (UNCHANGED with a newer key).
#[derive(Debug, Default)]
struct Advances {
    id: Vec<String>,
    snapshot: Vec<Vec<u8>>,
    update_time: Vec<DateTime<Utc>>,
}

/// Lifecycle events, in the order they are recorded.
#[derive(Debug, Default)]
struct Events {
    ticket_id: Vec<String>,
    kind: Vec<&'static str>,
    event_time: Vec<DateTime<Utc>>,
    from_value: Vec<String>,
    to_value: Vec<String>,
}

/// The ticket rows of the multi-row upsert.
#[derive(Debug, Default)]
struct Upserts {
    id: Vec<String>,
    source: Vec<&'static str>,
    instance: Vec<String>,
    external_id: Vec<String>,
    account_id: Vec<Option<String>>,
    link_state: Vec<&'static str>,
    ref_system: Vec<Option<String>>,
    ref_id: Vec<Option<String>>,
    email: Vec<Option<String>>,
    status: Vec<&'static str>,
    priority: Vec<&'static str>,
    category: Vec<String>,
    created: Vec<DateTime<Utc>>,
    updated: Vec<DateTime<Utc>>,
    deleted: Vec<bool>,
    hash: Vec<Vec<u8>>,
    snapshot: Vec<Vec<u8>>,
    reopens: Vec<i32>,
    latest: Vec<DateTime<Utc>>,
}

impl Writes {
    /// Adds what `cur` needs written, if anything.
    pub(super) fn push(&mut self, cur: &Current) {
        match cur.write {
            Write::Nothing => {}
            Write::Advance => {
                self.advances.id.push(cur.id.clone());
                self.advances.snapshot.push(cur.ticket.encode_to_vec());
                self.advances.update_time.push(cur.key.update_time);
            }
            Write::Upsert => self.upserts.push(cur),
        }
    }

    /// Adds lifecycle events of tickets (by id), in order.
    pub(super) fn events(&mut self, events: &[(String, Event)]) {
        for (id, e) in events {
            self.events.ticket_id.push(id.clone());
            self.events.kind.push(e.kind.as_str_name());
            self.events.event_time.push(e.event_time);
            self.events.from_value.push(e.from_value.clone());
            self.events.to_value.push(e.to_value.clone());
        }
    }

    /// Writes everything pushed (nothing when nothing was).
    pub(super) async fn write(&self, tx: &mut PgConnection) -> Result<(), Error> {
        let (u, a, e) = (&self.upserts, &self.advances, &self.events);
        if u.id.is_empty() && a.id.is_empty() {
            return Ok(()); // events come only with upserts
        }
        // Data-modifying CTEs all run, referenced or not; the events' foreign key checks run
        // at the end of the statement, after the tickets are in.
        sqlx::query(
            "WITH batch_events AS (
                 SELECT ticket_id, kind, event_time, from_value, to_value, n
                 FROM UNNEST($22::text[], $23::text[], $24::timestamptz[], $25::text[],
                          $26::text[])
                      WITH ORDINALITY AS e(ticket_id, kind, event_time, from_value, to_value, n)),
             upserted AS (
                 INSERT INTO ticket.tickets AS t (id, source, source_instance, external_id,
                     account_id, link_state, ref_system, ref_id, requester_email, status,
                     priority, category, created_time, source_update_time, deleted,
                     content_hash, snapshot, observed_reopens, latest_time, event_kinds,
                     event_times, event_tos)
                 SELECT u.*, COALESCE(e.kinds, '{}'), COALESCE(e.times, '{}'),
                        COALESCE(e.tos, '{}')
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[],
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[],
                     $15::bool[], $16::bytea[], $17::bytea[], $18::int[],
                     $27::timestamptz[]) AS u(id)
                 LEFT JOIN (SELECT ticket_id, array_agg(kind ORDER BY n) AS kinds,
                                   array_agg(event_time ORDER BY n) AS times,
                                   array_agg(to_value ORDER BY n) AS tos
                            FROM batch_events GROUP BY ticket_id) e ON e.ticket_id = u.id
                 ON CONFLICT (id) DO UPDATE SET
                     account_id = EXCLUDED.account_id, link_state = EXCLUDED.link_state,
                     ref_system = EXCLUDED.ref_system, ref_id = EXCLUDED.ref_id,
                     requester_email = EXCLUDED.requester_email, status = EXCLUDED.status,
                     priority = EXCLUDED.priority, category = EXCLUDED.category,
                     created_time = EXCLUDED.created_time,
                     source_update_time = EXCLUDED.source_update_time,
                     deleted = EXCLUDED.deleted, content_hash = EXCLUDED.content_hash,
                     snapshot = EXCLUDED.snapshot, observed_reopens = EXCLUDED.observed_reopens,
                     -- Earlier snapshots' events keep their times: it only moves forward.
                     latest_time = GREATEST(t.latest_time, EXCLUDED.latest_time),
                     event_kinds = t.event_kinds || EXCLUDED.event_kinds,
                     event_times = t.event_times || EXCLUDED.event_times,
                     event_tos = t.event_tos || EXCLUDED.event_tos,
                     update_time = now(), ingest_time = now(), version = t.version + 1
                 RETURNING 1),
             advanced AS (
                 UPDATE ticket.tickets t
                 SET snapshot = a.snapshot, source_update_time = a.update_time,
                     latest_time = GREATEST(t.latest_time, a.update_time), ingest_time = now()
                 FROM UNNEST($19::text[], $20::bytea[], $21::timestamptz[])
                      AS a(id, snapshot, update_time)
                 WHERE t.id = a.id
                 RETURNING 1),
             events AS (
                 INSERT INTO ticket.ticket_events (ticket_id, kind, event_time, from_value,
                     to_value)
                 SELECT ticket_id, kind, event_time, from_value, to_value
                 FROM batch_events ORDER BY n
                 RETURNING 1)
             SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM advanced),
                    (SELECT count(*) FROM events)",
        )
        .bind(&u.id)
        .bind(&u.source)
        .bind(&u.instance)
        .bind(&u.external_id)
        .bind(&u.account_id)
        .bind(&u.link_state)
        .bind(&u.ref_system)
        .bind(&u.ref_id)
        .bind(&u.email)
        .bind(&u.status)
        .bind(&u.priority)
        .bind(&u.category)
        .bind(&u.created)
        .bind(&u.updated)
        .bind(&u.deleted)
        .bind(&u.hash)
        .bind(&u.snapshot)
        .bind(&u.reopens)
        .bind(&a.id)
        .bind(&a.snapshot)
        .bind(&a.update_time)
        .bind(&e.ticket_id)
        .bind(&e.kind)
        .bind(&e.event_time)
        .bind(&e.from_value)
        .bind(&e.to_value)
        .bind(&u.latest)
        .execute(tx)
        .await?;
        Ok(())
    }
}

impl Upserts {
    /// Adds the row of `cur`.
    fn push(&mut self, cur: &Current) {
        let t = &cur.ticket;
        let keys = LinkKeys::of(t);
        let (ref_system, ref_id) = keys.account_ref.unzip();
        self.id.push(cur.id.clone());
        self.source.push(source_name(t.source));
        self.instance.push(t.source_instance.clone());
        self.external_id.push(t.external_id.clone());
        self.account_id.push(cur.link.account_id.clone());
        self.link_state.push(cur.link.state.as_str_name());
        self.ref_system.push(ref_system);
        self.ref_id.push(ref_id);
        self.email.push(keys.email);
        self.status.push(t.status().as_str_name());
        self.priority.push(t.priority().as_str_name());
        self.category.push(t.category.to_lowercase());
        self.created.push(t.created_time.as_ref().and_then(from_timestamp).unwrap_or_default());
        self.updated.push(cur.key.update_time);
        self.deleted.push(t.deleted);
        self.hash.push(cur.key.content_hash.clone());
        self.snapshot.push(t.encode_to_vec());
        self.reopens.push(cur.observed_reopens);
        // It includes `source_update_time`, the time events fall back to.
        self.latest.push(latest_time(t).unwrap_or(cur.key.update_time));
    }
}
