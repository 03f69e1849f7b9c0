//! The multi-row upsert of the tickets a batch created or changed: one `UNNEST` statement,
//! column by column.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::PgConnection;
use steward_kit::Error;
use steward_kit::time::from_timestamp;

use super::ingest::{Current, source_name};
use crate::linker::LinkKeys;

/// The ticket rows of one multi-row upsert, column by column (for `UNNEST`).
#[derive(Debug, Default)]
pub(super) struct Upserts {
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
}

impl Upserts {
    /// Adds the row of `cur`.
    pub(super) fn push(&mut self, cur: &Current) {
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
    }

    /// Writes the rows pushed (nothing when none were).
    pub(super) async fn write(&self, tx: &mut PgConnection) -> Result<(), Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO ticket.tickets AS t (id, source, source_instance, external_id, account_id,
                 link_state, ref_system, ref_id, requester_email, status, priority, category,
                 created_time, source_update_time, deleted, content_hash, snapshot,
                 observed_reopens)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                 $12::text[], $13::timestamptz[], $14::timestamptz[], $15::bool[], $16::bytea[],
                 $17::bytea[], $18::int[])
             ON CONFLICT (id) DO UPDATE SET
                 account_id = EXCLUDED.account_id, link_state = EXCLUDED.link_state,
                 ref_system = EXCLUDED.ref_system, ref_id = EXCLUDED.ref_id,
                 requester_email = EXCLUDED.requester_email, status = EXCLUDED.status,
                 priority = EXCLUDED.priority, category = EXCLUDED.category,
                 created_time = EXCLUDED.created_time,
                 source_update_time = EXCLUDED.source_update_time, deleted = EXCLUDED.deleted,
                 content_hash = EXCLUDED.content_hash, snapshot = EXCLUDED.snapshot,
                 observed_reopens = EXCLUDED.observed_reopens,
                 update_time = now(), ingest_time = now(), version = t.version + 1",
        )
        .bind(&self.id)
        .bind(&self.source)
        .bind(&self.instance)
        .bind(&self.external_id)
        .bind(&self.account_id)
        .bind(&self.link_state)
        .bind(&self.ref_system)
        .bind(&self.ref_id)
        .bind(&self.email)
        .bind(&self.status)
        .bind(&self.priority)
        .bind(&self.category)
        .bind(&self.created)
        .bind(&self.updated)
        .bind(&self.deleted)
        .bind(&self.hash)
        .bind(&self.snapshot)
        .bind(&self.reopens)
        .execute(tx)
        .await?;
        Ok(())
    }
}
