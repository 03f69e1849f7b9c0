//! Loading the facts that support summaries and KPIs are computed from: the stored
//! snapshots and their copies of their lifecycle events, in one query, of the tickets that can count in the
//! figures' windows (open now, or with a time inside them: `figures_until`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Row};
use steward_kit::Error;
use steward_kit::time::{from_timestamp, timestamp};
use steward_proto::ticket::v1 as pb;

use super::{Store, decode_ticket};
use crate::domain::figures::{self, Csat, EventFact, SlaFact, TicketFacts};

/// Which tickets the KPIs cover, in stored form.
#[derive(Debug, Clone, Default)]
pub struct KpiFilter {
    /// Source names.
    pub sources: Vec<String>,
    /// Priority names.
    pub priorities: Vec<String>,
    /// Categories, lowercase.
    pub categories: Vec<String>,
    /// Segment names.
    pub segments: Vec<String>,
}

/// Accounts summarised together: bounds the facts held at once (a busy account has
/// thousands of tickets in its windows), for a few more queries per large batch.
const SUMMARY_CHUNK: usize = 20;

/// A ticket's facts, with its account.
struct Loaded {
    facts: TicketFacts,
    /// `None` for an unlinked ticket.
    account_id: Option<String>,
}

/// What a summary reports of all an account's tickets, beyond its windows.
struct Span {
    data_time: Option<DateTime<Utc>>,
    first_created: Option<DateTime<Utc>>,
}

/// The earliest time Postgres stores that a valid ticket can carry: horizons before it are
/// clamped to it (chrono's range is wider than Postgres's).
fn clamp(t: DateTime<Utc>) -> DateTime<Utc> {
    t.max(DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z").map_or(t, |d| d.to_utc()))
}

impl Store {
    /// The support summaries of `account_ids` (see `BatchGetSupportSummaries`), in their
    /// order: one query over their newest ingest and oldest ticket, then per
    /// [`SUMMARY_CHUNK`] accounts one over the tickets that can count in their windows.
    pub async fn support_summaries(
        &self,
        account_ids: &[&str],
        window: chrono::Duration,
        as_of: DateTime<Utc>,
        history_windows: usize,
    ) -> Result<Vec<pb::SupportSummary>, Error> {
        let horizon = figures::summary_horizon(window, as_of, history_windows);
        let mut distinct = account_ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let all: Vec<String> = distinct.iter().map(|id| (*id).to_owned()).collect();
        let spans = self.spans(&all, as_of).await?;
        let mut summaries: HashMap<&str, pb::SupportSummary> = HashMap::new();
        for chunk in distinct.chunks(SUMMARY_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|id| (*id).to_owned()).collect();
            let loaded =
                self.load("t.account_id = ANY($3)", as_of, horizon, |q| q.bind(ids)).await?;
            let mut by_account: HashMap<String, Vec<TicketFacts>> = HashMap::new();
            for l in loaded {
                by_account.entry(l.account_id.unwrap_or_default()).or_default().push(l.facts);
            }
            for id in chunk {
                let facts = by_account.get(*id).map_or(&[][..], Vec::as_slice);
                let mut summary = figures::summary(facts, window, as_of, history_windows);
                let span = spans.get(*id);
                summary.account = format!("accounts/{id}");
                summary.data_time = span.and_then(|s| s.data_time).map(timestamp);
                summary.first_ticket_create_time =
                    span.and_then(|s| s.first_created).map(timestamp);
                summaries.insert(id, summary);
            }
        }
        Ok(account_ids.iter().map(|id| summaries.get(id).cloned().unwrap_or_default()).collect())
    }

    /// For each of `ids`: its newest ticket ingest and its oldest ticket's creation, among
    /// its tickets created before `before`, not deleted. Two index probes per account.
    async fn spans(
        &self,
        ids: &[String],
        before: DateTime<Utc>,
    ) -> Result<HashMap<String, Span>, Error> {
        let rows = sqlx::query(
            "SELECT ids.id, n.ingest_time, o.created_time
             FROM (SELECT DISTINCT unnest($2::text[]) AS id) ids
             LEFT JOIN LATERAL (
                 SELECT ingest_time FROM ticket.tickets
                 WHERE account_id = ids.id AND NOT deleted AND created_time < $1
                 ORDER BY ingest_time DESC LIMIT 1) n ON true
             LEFT JOIN LATERAL (
                 SELECT created_time FROM ticket.tickets
                 WHERE account_id = ids.id AND NOT deleted AND created_time < $1
                 ORDER BY created_time LIMIT 1) o ON true",
        )
        .bind(before)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let span = Span {
                    data_time: row.try_get("ingest_time")?,
                    first_created: row.try_get("created_time")?,
                };
                Ok((row.try_get("id")?, span))
            })
            .collect()
    }

    /// The support team's KPIs over `[start, end)` (see `GetSupportKpis`).
    pub async fn support_kpis(
        &self,
        filter: &KpiFilter,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        group_by: pb::KpiDimension,
    ) -> Result<pb::SupportKpis, Error> {
        let condition = "(cardinality($3::text[]) = 0 OR t.source = ANY($3))
             AND (cardinality($4::text[]) = 0 OR t.priority = ANY($4))
             AND (cardinality($5::text[]) = 0 OR t.category = ANY($5))
             AND (cardinality($6::text[]) = 0 OR a.segment = ANY($6))";
        let loaded = self
            .load(condition, end, start.min(end), |q| {
                q.bind(filter.sources.clone())
                    .bind(filter.priorities.clone())
                    .bind(filter.categories.clone())
                    .bind(filter.segments.clone())
            })
            .await?;
        let facts: Vec<TicketFacts> = loaded.into_iter().map(|l| l.facts).collect();
        Ok(figures::kpis(&facts, start, end, group_by))
    }

    /// The facts of the tickets created before `before`, not deleted, that can count in a
    /// window starting at `horizon` or later, and match `condition` (SQL over `t` = tickets
    /// and `a` = accounts; `$1` is `before`, `$2` the horizon, `bind` adds `$3`...).
    async fn load<'q>(
        &self,
        condition: &str,
        before: DateTime<Utc>,
        horizon: DateTime<Utc>,
        bind: impl FnOnce(
            sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
        )
            -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<Loaded>, Error> {
        let sql = format!(
            "SELECT t.snapshot, t.account_id, COALESCE(a.segment, '') AS segment,
                    t.event_kinds AS kinds, t.event_times AS times, t.event_tos AS tos
             FROM ticket.tickets t
             LEFT JOIN ticket.accounts a ON a.id = t.account_id
             WHERE NOT t.deleted AND t.created_time < $1 AND t.figures_until >= $2
                   AND {condition}"
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(before).bind(clamp(horizon));
        // Row by row: only the facts are kept, not every row's snapshot at once.
        let mut rows = bind(query).fetch(&self.pool);
        let mut loaded = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let ticket = decode_ticket(row.try_get::<Vec<u8>, _>("snapshot")?.as_slice())?;
            let kinds: Vec<String> = row.try_get("kinds")?;
            let times: Vec<DateTime<Utc>> = row.try_get("times")?;
            let tos: Vec<String> = row.try_get("tos")?;
            let events = kinds
                .iter()
                .zip(&times)
                .zip(&tos)
                .map(|((kind, time), to)| event_fact(kind, *time, to))
                .collect();
            loaded.push(Loaded {
                facts: facts(ticket, row.try_get("segment")?, events),
                account_id: row.try_get("account_id")?,
            });
        }
        Ok(loaded)
    }
}

fn event_fact(kind: &str, time: DateTime<Utc>, to_value: &str) -> EventFact {
    let kind = pb::TicketEventKind::from_str_name(kind).unwrap_or_default();
    let status = pb::TicketStatus::from_str_name(to_value).map(|s| s as i32);
    EventFact { kind: kind as i32, time, status }
}

fn time(t: &Option<prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(from_timestamp)
}

/// What the figures need of a stored ticket.
fn facts(ticket: pb::Ticket, segment: String, events: Vec<EventFact>) -> TicketFacts {
    // A rating without its own time counts when it was first seen (its CSAT_RATED event).
    let rated_seen =
        events.iter().find(|e| e.kind == pb::TicketEventKind::CsatRated as i32).map(|e| e.time);
    let csat = ticket.csat.as_ref().and_then(|c| {
        let counted = matches!(
            c.sentiment(),
            pb::CsatSentiment::Good | pb::CsatSentiment::Neutral | pb::CsatSentiment::Bad
        );
        let rate_time = time(&c.rate_time).or(rated_seen)?;
        counted.then_some(Csat { sentiment: c.sentiment, rate_time })
    });
    TicketFacts {
        source: ticket.source,
        segment,
        priority: ticket.priority,
        category: ticket.category.to_lowercase(),
        status: ticket.status,
        created: time(&ticket.created_time).unwrap_or_default(),
        first_response: time(&ticket.first_response_time),
        first_resolved: time(&ticket.first_resolved_time),
        resolved: time(&ticket.resolved_time),
        csat,
        sla: ticket
            .sla
            .iter()
            .map(|t| SlaFact {
                metric: t.metric,
                due: time(&t.due_time),
                completed: time(&t.completed_time),
                state: t.state,
            })
            .collect(),
        events,
        // Reopens we observed are REOPENED events, with their times.
        platform_reopened: ticket.reopen_count.unwrap_or(0) > 0,
        last_reopened: time(&ticket.last_reopened_time),
    }
}
