//! SLA policies, and the recomputation of the ACTIVE policy targets they set.

use chrono::{DateTime, Utc};
use prost::Message;
use sqlx::{PgConnection, Row};
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, page};
use steward_proto::ticket::v1 as pb;

use super::changes::Changes;
use super::{Store, append_changes, decode_ticket, insert_events, ticket_name, writers_lock};
use crate::domain::events;
use crate::domain::figures::latest_time;
use crate::domain::sla::{self, PolicyFields};

/// `slaPolicies/{id}`.
fn policy_name(id: &str) -> String {
    format!("slaPolicies/{id}")
}

#[derive(Debug, sqlx::FromRow)]
struct PolicyRow {
    id: String,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

impl PolicyRow {
    fn body(&self) -> Result<pb::SlaPolicy, Error> {
        pb::SlaPolicy::decode(self.body.as_slice())
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored SLA policy {}: {e}", self.id)))
    }

    fn to_proto(&self) -> Result<pb::SlaPolicy, Error> {
        Ok(pb::SlaPolicy {
            name: policy_name(&self.id),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag::of(self.version),
            ..self.body()?
        })
    }

    fn to_policy(&self) -> Result<sla::Policy, Error> {
        let fields = sla::parse_fields(&self.body()?, "sla_policy")?;
        Ok(sla::Policy {
            name: policy_name(&self.id),
            sources: fields.sources,
            targets: fields.targets,
        })
    }
}

/// The writable fields as stored.
fn body(policy: &pb::SlaPolicy) -> pb::SlaPolicy {
    pb::SlaPolicy {
        display_name: policy.display_name.clone(),
        targets: policy.targets.clone(),
        sources: policy.sources.clone(),
        ..Default::default()
    }
}

fn source_names(fields: &PolicyFields) -> Vec<&'static str> {
    fields
        .sources
        .iter()
        .filter_map(|s| pb::Source::try_from(*s).ok())
        .map(|s| s.as_str_name())
        .collect()
}

const POLICY_COLUMNS: &str = "id, body, create_time, update_time, version";

/// Every policy, as the ingest applies them.
pub(super) async fn load(tx: &mut PgConnection) -> Result<Vec<sla::Policy>, Error> {
    let rows: Vec<PolicyRow> = sqlx::query_as(
        "SELECT id, body, create_time, update_time, version FROM ticket.sla_policies",
    )
    .fetch_all(tx)
    .await?;
    rows.iter().map(PolicyRow::to_policy).collect()
}

async fn row(tx: &mut PgConnection, id: &str) -> Result<PolicyRow, Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLUMNS} FROM ticket.sla_policies WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(tx)
    .await?
    .ok_or_else(|| Error::NotFound(policy_name(id)))
}

/// `FAILED_PRECONDITION` when `fields` would make the choice of policy ambiguous.
async fn check_conflict(
    tx: &mut PgConnection,
    id: &str,
    fields: &PolicyFields,
) -> Result<(), Error> {
    if sla::conflicts(&load(tx).await?, &policy_name(id), &fields.sources) {
        return Err(Error::FailedPrecondition {
            reason: "SLA_POLICY_CONFLICT",
            message: if fields.sources.is_empty() {
                "another policy is the catch-all already (empty `sources`)".into()
            } else {
                "another policy covers one of these sources already".into()
            },
        });
    }
    Ok(())
}

impl Store {
    /// Creates policy `id` under the request's AIP-155 request id.
    pub async fn create_sla_policy(
        &self,
        request: &pb::CreateSlaPolicyRequest,
        request_id: uuid::Uuid,
        id: String,
        fields: PolicyFields,
        policy: &pb::SlaPolicy,
    ) -> Result<pb::SlaPolicy, Error> {
        let mut tx = self.pool.begin().await?;
        if let steward_kit::idempotency::Claim::Replay(response) =
            steward_kit::idempotency::begin::<pb::SlaPolicy>(
                &mut tx,
                super::SCHEMA,
                "CreateSlaPolicy",
                request_id,
                request,
            )
            .await?
        {
            return Ok(response);
        }
        writers_lock(&mut tx, false).await?;
        check_conflict(&mut tx, &id, &fields).await?;
        let created: PolicyRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO ticket.sla_policies (id, body, sources) VALUES ($1, $2, $3)
             RETURNING {POLICY_COLUMNS}"
        )))
        .bind(&id)
        .bind(body(policy).encode_to_vec())
        .bind(source_names(&fields))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match steward_kit::error::unique_violation(&e) {
            Some(_) => Error::AlreadyExists {
                reason: "SLA_POLICY_EXISTS",
                message: format!("{} exists already", policy_name(&id)),
            },
            None => e.into(),
        })?;
        self.recompute(&mut tx).await?;
        let response = created.to_proto()?;
        steward_kit::idempotency::finish(&mut tx, super::SCHEMA, request_id, &response).await?;
        tx.commit().await?;
        Ok(response)
    }

    /// Policy `id`.
    pub async fn get_sla_policy(&self, id: &str) -> Result<pb::SlaPolicy, Error> {
        let row: Option<PolicyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM ticket.sla_policies WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| Error::NotFound(policy_name(id)))?.to_proto()
    }

    /// A page of policies by name.
    pub async fn list_sla_policies(
        &self,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::SlaPolicy>, String), Error> {
        const QUERY: &str = "sla_policies";
        let after: Option<String> = page::decode(QUERY, page_token)?;
        let rows: Vec<PolicyRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM ticket.sla_policies
             WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, QUERY, |r| r.id.clone());
        let policies = rows.iter().map(PolicyRow::to_proto).collect::<Result<_, _>>()?;
        Ok((policies, token))
    }

    /// Updates policy `id`: `merge` turns the stored writable fields into the new ones
    /// (validated), then the ACTIVE policy targets are recomputed.
    pub async fn update_sla_policy(
        &self,
        id: &str,
        given_etag: &str,
        merge: impl FnOnce(pb::SlaPolicy) -> Result<(PolicyFields, pb::SlaPolicy), Error>,
    ) -> Result<pb::SlaPolicy, Error> {
        let mut tx = self.pool.begin().await?;
        writers_lock(&mut tx, false).await?;
        let stored = row(&mut tx, id).await?;
        etag::check(given_etag, stored.version, &policy_name(id))?;
        let (fields, policy) = merge(stored.body()?)?;
        check_conflict(&mut tx, id, &fields).await?;
        let updated: PolicyRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE ticket.sla_policies
             SET body = $2, sources = $3, update_time = now(), version = version + 1
             WHERE id = $1 RETURNING {POLICY_COLUMNS}"
        )))
        .bind(id)
        .bind(body(&policy).encode_to_vec())
        .bind(source_names(&fields))
        .fetch_one(&mut *tx)
        .await?;
        self.recompute(&mut tx).await?;
        tx.commit().await?;
        updated.to_proto()
    }

    /// Deletes policy `id`; its ACTIVE targets are recomputed under what applies now.
    pub async fn delete_sla_policy(&self, id: &str, given_etag: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        writers_lock(&mut tx, false).await?;
        let stored = row(&mut tx, id).await?;
        etag::check(given_etag, stored.version, &policy_name(id))?;
        sqlx::query("DELETE FROM ticket.sla_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.recompute(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Recomputes the policy targets of open tickets under the policies in `tx` (which
    /// holds the writers' lock exclusively, so no ingest interleaves). Decided targets keep
    /// the policy they were decided under.
    async fn recompute(&self, tx: &mut PgConnection) -> Result<(), Error> {
        let policies = load(tx).await?;
        let rows = sqlx::query(
            "SELECT id, account_id, snapshot FROM ticket.tickets
             WHERE NOT deleted AND status IN ('TICKET_STATUS_NEW', 'TICKET_STATUS_OPEN',
                                              'TICKET_STATUS_PENDING', 'TICKET_STATUS_ON_HOLD')",
        )
        .fetch_all(&mut *tx)
        .await?;
        let now = Utc::now();
        let (mut ids, mut snapshots, mut latest) = (Vec::new(), Vec::new(), Vec::new());
        let mut all_events = Vec::new();
        let mut changes = Changes::default();
        for row in rows {
            let id: String = row.try_get("id")?;
            let account_id: Option<String> = row.try_get("account_id")?;
            let old = decode_ticket(row.try_get::<Vec<u8>, _>("snapshot")?.as_slice())?;
            let previous: Vec<pb::SlaTarget> = old
                .sla
                .iter()
                .filter(|t| t.origin == pb::SlaOrigin::Policy as i32)
                .cloned()
                .collect();
            let mut new = old.clone();
            let policy = sla::applicable(&policies, new.source);
            sla::apply(&mut new, policy, &previous, now);
            if new.sla == old.sla {
                continue;
            }
            let events = events::derive(Some(&old), &new);
            changes.add_events(account_id.as_deref(), &ticket_name(&id), false, &events);
            all_events.extend(events.into_iter().map(|e| (id.clone(), e)));
            latest.push(latest_time(&new));
            snapshots.push(new.encode_to_vec());
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE ticket.tickets t
             SET snapshot = u.snapshot, latest_time = GREATEST(t.latest_time, u.latest),
                 update_time = now(), version = t.version + 1
             FROM UNNEST($1::text[], $2::bytea[], $3::timestamptz[]) AS u(id, snapshot, latest)
             WHERE t.id = u.id",
        )
        .bind(&ids)
        .bind(&snapshots)
        .bind(&latest)
        .execute(&mut *tx)
        .await?;
        insert_events(tx, &all_events).await?;
        append_changes(&self.feed, tx, changes).await
    }
}
