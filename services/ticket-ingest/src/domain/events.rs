//! Lifecycle events derived from two snapshots: what changed between the stored ticket and
//! the accepted one, in the vocabulary of `TicketEvent`.
//!
//! Order of the returned events (deterministic): CREATED first; then every other event by
//! `event_time`, oldest first; events with equal times keep this fixed order: RESTORED,
//! STATUS_CHANGED, SOLVED / CLOSED / REOPENED, PRIORITY_CHANGED, ASSIGNEE_CHANGED,
//! SLA_BREACHED / SLA_MET (in the ticket's `sla` order), CSAT_RATED, DELETED. So the history
//! reads in time order, a status change comes before the SOLVED it implies, and a deletion
//! ends a snapshot's events.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use steward_kit::time::from_timestamp;
use steward_proto::ticket::v1 as pb;

use pb::TicketEventKind as K;
use pb::TicketStatus as St;

/// A derived lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: pb::TicketEventKind,
    /// When it happened in the source.
    pub event_time: DateTime<Utc>,
    /// The value before (see `TicketEvent.from_value`).
    pub from_value: String,
    /// The value after.
    pub to_value: String,
}

/// The events between the stored ticket `old` (`None`: first ingest) and the accepted `new`,
/// both with their effective SLA targets.
///
/// A first snapshot yields CREATED, plus what it already shows happened: SOLVED or CLOSED
/// (so figures see the ticket open from creation until then), decided SLA targets, a CSAT
/// rating, deletion. A rating with sentiment UNSPECIFIED (offered, not answered) is not a
/// CSAT_RATED event.
pub fn derive(old: Option<&pb::Ticket>, new: &pb::Ticket) -> Vec<Event> {
    let updated = time(new.source_update_time.as_ref(), DateTime::<Utc>::UNIX_EPOCH);
    let mut events = Vec::new();
    let mut push = |kind, event_time, from: &str, to: &str| {
        events.push(Event { kind, event_time, from_value: from.into(), to_value: to.into() });
    };
    let new_status = status_name(new.status);

    match old {
        None => {
            push(K::Created, time(new.created_time.as_ref(), updated), "", new_status);
            if new.status == St::Solved as i32 {
                push(K::Solved, time(new.resolved_time.as_ref(), updated), "", new_status);
            } else if new.status == St::Closed as i32 {
                push(K::Closed, time(new.closed_time.as_ref(), updated), "", new_status);
            }
        }
        Some(old) => {
            if old.deleted && !new.deleted {
                push(K::Restored, updated, "", "");
            }
            if old.status != new.status {
                let old_status = status_name(old.status);
                push(K::StatusChanged, updated, old_status, new_status);
                if new.status == St::Solved as i32 {
                    push(
                        K::Solved,
                        time(new.resolved_time.as_ref(), updated),
                        old_status,
                        new_status,
                    );
                } else if new.status == St::Closed as i32 {
                    push(
                        K::Closed,
                        time(new.closed_time.as_ref(), updated),
                        old_status,
                        new_status,
                    );
                } else if is_resolved(old.status) && is_open(new.status) {
                    let at = time(new.last_reopened_time.as_ref(), updated);
                    push(K::Reopened, at, old_status, new_status);
                }
            }
            if old.priority != new.priority {
                push(
                    K::PriorityChanged,
                    updated,
                    priority_name(old.priority),
                    priority_name(new.priority),
                );
            }
            let (old_agent, new_agent) = (party_id(&old.assignee), party_id(&new.assignee));
            let (old_group, new_group) = (party_id(&old.group), party_id(&new.group));
            if old_agent != new_agent {
                push(K::AssigneeChanged, updated, old_agent, new_agent);
            } else if old_group != new_group {
                push(K::AssigneeChanged, updated, &group(old_group), &group(new_group));
            }
        }
    }

    let old_sla = old.map_or(&[][..], |o| &o.sla[..]);
    for (i, target) in new.sla.iter().enumerate() {
        let kind = match pb::SlaState::try_from(target.state) {
            Ok(pb::SlaState::Met) => K::SlaMet,
            Ok(pb::SlaState::Breached) => K::SlaBreached,
            _ => continue,
        };
        // Targets sharing a key (e.g. NEXT_RESPONSE cycles) are matched in order: the k-th
        // with this key now is the k-th with it before.
        let nth = new.sla[..i].iter().filter(|t| same_target(t, target)).count();
        let before = old_sla.iter().filter(|t| same_target(t, target)).nth(nth);
        if before.is_some_and(|b| b.state == target.state) {
            continue;
        }
        let at = if kind == K::SlaMet { &target.completed_time } else { &target.due_time };
        let metric = pb::SlaMetric::try_from(target.metric).map_or("", |m| m.as_str_name());
        push(kind, time(at.as_ref(), updated), "", metric);
    }

    if let Some(rating) = new.csat.as_ref().filter(|c| c.sentiment != 0) {
        let before = old.and_then(|o| o.csat.as_ref());
        let changed = before.is_none_or(|b| {
            b.sentiment != rating.sentiment
                || b.score_raw != rating.score_raw
                || b.rate_time != rating.rate_time
        });
        if changed {
            let from =
                before.filter(|b| b.sentiment != 0).map_or("", |b| sentiment_name(b.sentiment));
            let at = time(rating.rate_time.as_ref(), updated);
            push(K::CsatRated, at, from, sentiment_name(rating.sentiment));
        }
    }

    if new.deleted && !old.is_some_and(|o| o.deleted) {
        push(K::Deleted, updated, "", "");
    }

    // Stable: equal keys keep the order they were pushed in (the fixed order above).
    events.sort_by_key(|e| (e.kind != K::Created, e.event_time));
    events
}

/// `ts` when set and valid, else `fallback`.
fn time(ts: Option<&Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    ts.and_then(from_timestamp).unwrap_or(fallback)
}

fn is_open(status: i32) -> bool {
    (St::New as i32..=St::OnHold as i32).contains(&status)
}

fn is_resolved(status: i32) -> bool {
    status == St::Solved as i32 || status == St::Closed as i32
}

fn status_name(status: i32) -> &'static str {
    St::try_from(status).map_or("", |s| s.as_str_name())
}

fn priority_name(priority: i32) -> &'static str {
    pb::TicketPriority::try_from(priority).map_or("", |p| p.as_str_name())
}

fn sentiment_name(sentiment: i32) -> &'static str {
    pb::CsatSentiment::try_from(sentiment).map_or("", |s| s.as_str_name())
}

fn party_id(party: &Option<pb::PartyRef>) -> &str {
    party.as_ref().map_or("", |p| p.id.as_str())
}

/// `group:<id>`, or empty without a group.
fn group(id: &str) -> String {
    if id.is_empty() { String::new() } else { format!("group:{id}") }
}

/// Whether `a` and `b` are the same target across snapshots: metric, name and origin.
fn same_target(a: &pb::SlaTarget, b: &pb::SlaTarget) -> bool {
    a.metric == b.metric && a.name_raw == b.name_raw && a.origin == b.origin
}

// The tests are many; they live in `events/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
