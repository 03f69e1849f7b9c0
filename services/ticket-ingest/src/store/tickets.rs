//! Reading tickets and their events.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use steward_kit::time::timestamp;
use steward_kit::{Error, page};
use steward_proto::ticket::v1 as pb;

use super::{Store, TICKET_COLUMNS, TicketRow, ticket_name};

/// The orders `ListTickets` offers; ties are broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketOrder {
    /// `created_time desc` (the default).
    CreatedDesc,
    /// `created_time`.
    Created,
    /// `updated_time desc` (by `source_update_time`).
    UpdatedDesc,
    /// `updated_time`.
    Updated,
}

/// A time range `[start, end)`; an unset bound is open.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A validated `ListTickets` query; every value is in stored form.
#[derive(Debug, Clone)]
pub struct TicketQuery {
    /// Only this account's tickets.
    pub account_id: Option<String>,
    /// Only unlinked (UNLINKED or AMBIGUOUS) tickets.
    pub unlinked: bool,
    /// Status names.
    pub statuses: Vec<String>,
    /// Priority names.
    pub priorities: Vec<String>,
    /// Categories, lowercase.
    pub categories: Vec<String>,
    /// Source names.
    pub sources: Vec<String>,
    /// `created_time` in `[start, end)`.
    pub created: TimeRange,
    /// `source_update_time` in `[start, end)`.
    pub updated: TimeRange,
    /// Deleted tickets too.
    pub include_deleted: bool,
    /// The order.
    pub order: TicketOrder,
}

#[derive(Debug, sqlx::FromRow)]
struct EventRow {
    seq: i64,
    kind: String,
    event_time: DateTime<Utc>,
    from_value: String,
    to_value: String,
    ingest_time: DateTime<Utc>,
}

impl Store {
    /// The ticket with id `id`.
    pub async fn get_ticket(&self, id: &str) -> Result<pb::Ticket, Error> {
        let row: Option<TicketRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM ticket.tickets WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| Error::NotFound(ticket_name(id)))?.to_proto(Utc::now())
    }

    /// The ticket with this source key.
    pub async fn get_ticket_by_key(
        &self,
        source: pb::Source,
        instance: &str,
        external_id: &str,
    ) -> Result<pb::Ticket, Error> {
        let row: Option<TicketRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM ticket.tickets
             WHERE source = $1 AND source_instance = $2 AND external_id = $3"
        )))
        .bind(source.as_str_name())
        .bind(instance)
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await?;
        let name = format!("tickets/{}:{instance}:{external_id}", source.as_str_name());
        row.ok_or(Error::NotFound(name))?.to_proto(Utc::now())
    }

    /// A page of tickets matching `query`.
    pub async fn list_tickets(
        &self,
        query: &TicketQuery,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Ticket>, String), Error> {
        let fingerprint = format!("{query:?}");
        let after: Option<(i64, String)> = page::decode(&fingerprint, page_token)?;
        let (column, desc) = match query.order {
            TicketOrder::CreatedDesc => ("created_time", true),
            TicketOrder::Created => ("created_time", false),
            TicketOrder::UpdatedDesc => ("source_update_time", true),
            TicketOrder::Updated => ("source_update_time", false),
        };
        let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
        let (after_time, after_id) = after
            .map(|(micros, id)| (DateTime::from_timestamp_micros(micros), Some(id)))
            .unwrap_or((None, None));
        let sql = format!(
            "SELECT {TICKET_COLUMNS}, {column} AS sort_time FROM ticket.tickets
             WHERE ($1::text IS NULL OR account_id = $1)
               AND (NOT $2 OR link_state IN ('LINK_STATE_UNLINKED', 'LINK_STATE_AMBIGUOUS'))
               AND (cardinality($3::text[]) = 0 OR status = ANY($3))
               AND (cardinality($4::text[]) = 0 OR priority = ANY($4))
               AND (cardinality($5::text[]) = 0 OR category = ANY($5))
               AND (cardinality($6::text[]) = 0 OR source = ANY($6))
               AND ($7::timestamptz IS NULL OR created_time >= $7)
               AND ($8::timestamptz IS NULL OR created_time < $8)
               AND ($9::timestamptz IS NULL OR source_update_time >= $9)
               AND ($10::timestamptz IS NULL OR source_update_time < $10)
               AND ($11 OR NOT deleted)
               AND ($12::timestamptz IS NULL OR ({column}, id) {cmp} ($12, $13))
             ORDER BY {column} {dir}, id {dir}
             LIMIT $14"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&query.account_id)
            .bind(query.unlinked)
            .bind(&query.statuses)
            .bind(&query.priorities)
            .bind(&query.categories)
            .bind(&query.sources)
            .bind(query.created.0)
            .bind(query.created.1)
            .bind(query.updated.0)
            .bind(query.updated.1)
            .bind(query.include_deleted)
            .bind(after_time)
            .bind(after_id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                let sort: DateTime<Utc> = sqlx::Row::try_get(r, "sort_time")?;
                Ok((<TicketRow as sqlx::FromRow<_>>::from_row(r)?, sort))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let (rows, token) = page::finish(rows, limit, &fingerprint, |(row, sort)| {
            (sort.timestamp_micros(), row.id.clone())
        });
        let now = Utc::now();
        let tickets = rows.iter().map(|(row, _)| row.to_proto(now)).collect::<Result<_, _>>()?;
        Ok((tickets, token))
    }

    /// A page of ticket `id`'s events, oldest first.
    pub async fn list_ticket_events(
        &self,
        id: &str,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::TicketEvent>, String), Error> {
        let query = format!("events of {id}");
        let after: Option<i64> = page::decode(&query, page_token)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ticket.tickets WHERE id = $1)")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        if !exists {
            return Err(Error::NotFound(ticket_name(id)));
        }
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT seq, kind, event_time, from_value, to_value, ingest_time
                 FROM ticket.ticket_events
                 WHERE ticket_id = $1 AND ($2::bigint IS NULL OR seq > $2)
                 ORDER BY seq LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let (rows, token) = page::finish(rows, limit, &query, |r| r.seq);
        let events = rows
            .into_iter()
            .map(|e| pb::TicketEvent {
                name: format!("{}/events/{}", ticket_name(id), e.seq),
                kind: pb::TicketEventKind::from_str_name(&e.kind).unwrap_or_default() as i32,
                event_time: Some(timestamp(e.event_time)),
                from_value: e.from_value,
                to_value: e.to_value,
                ingest_time: Some(timestamp(e.ingest_time)),
            })
            .collect();
        Ok((events, token))
    }
}
