//! SLA policies and the targets they add: validating a policy's fields, choosing the policy
//! for a ticket, and computing its POLICY targets (calendar time; no business hours in v1).

use chrono::{DateTime, TimeDelta, Utc};
use prost_types::{Duration, Timestamp};
use steward_kit::time::{from_timestamp, timestamp};
use steward_kit::{Error, Violations};
use steward_proto::ticket::v1 as pb;

use pb::SlaMetric as M;
use pb::SlaState as S;

const MAX_DISPLAY_NAME: usize = 200;
const MAX_TARGETS: usize = 5;
/// The longest target: a year.
const MAX_SECONDS: i64 = 365 * 24 * 3600;

/// A policy's target for one priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTarget {
    /// `pb::TicketPriority` value.
    pub priority: i32,
    /// First response within.
    pub first_response: Option<chrono::Duration>,
    /// Resolution within.
    pub resolution: Option<chrono::Duration>,
}

/// An SLA policy, as the ingest applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `slaPolicies/{id}`.
    pub name: String,
    /// `pb::Source` values; empty = catch-all.
    pub sources: Vec<i32>,
    /// At most one per priority.
    pub targets: Vec<PolicyTarget>,
}

/// The validated writable fields of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFields {
    /// 1–200 characters.
    pub display_name: String,
    /// 1–5, one per priority.
    pub targets: Vec<PolicyTarget>,
    /// Without repeats.
    pub sources: Vec<i32>,
}

/// Validates the writable fields of `policy` (`display_name`, `targets`, `sources`), naming
/// bad fields under `prefix` (e.g. `sla_policy.targets[2].resolution`) and reporting every
/// violation at once. The display name is trimmed; targets and sources keep their order.
pub fn parse_fields(policy: &pb::SlaPolicy, prefix: &str) -> Result<PolicyFields, Error> {
    let mut v = Violations::default();
    let display_name = policy.display_name.trim();
    let len = display_name.chars().count();
    let field = format!("{prefix}.display_name");
    v.check(len >= 1, &field, "required");
    v.check(len <= MAX_DISPLAY_NAME, &field, format!("at most {MAX_DISPLAY_NAME} characters"));

    let field = format!("{prefix}.targets");
    v.check(!policy.targets.is_empty(), &field, "at least one target");
    v.check(policy.targets.len() <= MAX_TARGETS, &field, format!("at most {MAX_TARGETS} targets"));
    let mut targets = Vec::with_capacity(policy.targets.len());
    for (i, t) in policy.targets.iter().enumerate() {
        let at = |f: &str| format!("{prefix}.targets[{i}].{f}");
        if pb::TicketPriority::try_from(t.priority).is_err() {
            v.add(at("priority"), format!("unknown priority {}", t.priority));
        } else if policy.targets[..i].iter().any(|o| o.priority == t.priority) {
            v.add(at("priority"), "another target has this priority");
        }
        if t.first_response.is_none() && t.resolution.is_none() {
            v.add(format!("{prefix}.targets[{i}]"), "set first_response, resolution or both");
        }
        targets.push(PolicyTarget {
            priority: t.priority,
            first_response: duration(t.first_response.as_ref(), at("first_response"), &mut v),
            resolution: duration(t.resolution.as_ref(), at("resolution"), &mut v),
        });
    }

    for (i, &s) in policy.sources.iter().enumerate() {
        let field = format!("{prefix}.sources[{i}]");
        match pb::Source::try_from(s) {
            Ok(pb::Source::Unspecified) => v.add(field, "must not be SOURCE_UNSPECIFIED"),
            Err(_) => v.add(field, format!("unknown source {s}")),
            Ok(_) if policy.sources[..i].contains(&s) => v.add(field, "listed twice"),
            Ok(_) => {}
        }
    }
    v.finish()?;
    Ok(PolicyFields {
        display_name: display_name.to_owned(),
        targets,
        sources: policy.sources.clone(),
    })
}

/// A target duration: unset is `None`; a set one must be valid, positive and at most 365
/// days (else a violation of `field` and `None`).
fn duration(d: Option<&Duration>, field: String, v: &mut Violations) -> Option<TimeDelta> {
    let d = d?;
    let positive = d.seconds > 0 || (d.seconds == 0 && d.nanos > 0);
    if !(0..1_000_000_000).contains(&d.nanos) || !positive {
        // Protobuf durations carry nanos of the seconds' sign, so a positive one has
        // non-negative nanos: anything else is invalid or not positive.
        v.add(field, "must be a positive duration");
        return None;
    }
    if d.seconds > MAX_SECONDS || (d.seconds == MAX_SECONDS && d.nanos > 0) {
        v.add(field, "must be at most 365 days");
        return None;
    }
    // The checks above keep both parts in range, so this conversion always succeeds.
    TimeDelta::new(d.seconds, u32::try_from(d.nanos).ok()?)
}

/// The policy that applies to tickets of `source`: the one listing it, else the catch-all,
/// else none.
pub fn applicable(policies: &[Policy], source: i32) -> Option<&Policy> {
    policies
        .iter()
        .find(|p| p.sources.contains(&source))
        .or_else(|| policies.iter().find(|p| p.sources.is_empty()))
}

/// Whether storing a policy named `candidate_name` with `sources` would clash with another
/// policy in `existing` (the candidate's own stored copy is skipped): one of the same
/// sources listed elsewhere, or a second catch-all.
pub fn conflicts(existing: &[Policy], candidate_name: &str, sources: &[i32]) -> bool {
    existing.iter().filter(|p| p.name != candidate_name).any(|p| {
        if sources.is_empty() {
            p.sources.is_empty()
        } else {
            p.sources.iter().any(|s| sources.contains(s))
        }
    })
}

/// Replaces the POLICY targets of `ticket.sla`: `previous` are the stored ones.
///
/// The platform's targets stay as sent and, per metric, exclude a policy target. For
/// FIRST_RESPONSE and RESOLUTION without a platform target: a previous MET or BREACHED
/// target is kept as it was decided (under the policy of its time); otherwise `policy`'s
/// target for the ticket's priority, if any, is computed afresh as of `now`.
pub fn apply(
    ticket: &mut pb::Ticket,
    policy: Option<&Policy>,
    previous: &[pb::SlaTarget],
    now: DateTime<Utc>,
) {
    let is_policy = |t: &pb::SlaTarget| t.origin == pb::SlaOrigin::Policy as i32;
    ticket.sla.retain(|t| !is_policy(t));
    for metric in [M::FirstResponse, M::Resolution] {
        if ticket.sla.iter().any(|t| t.metric == metric as i32) {
            continue;
        }
        // Judged as of now: a target stored ACTIVE whose due time has passed unfulfilled was
        // breached then, under the policy of the time, whatever the policy says now.
        let decided = previous.iter().find_map(|t| {
            let state = effective_state(t, now);
            let decided = state == S::Met as i32 || state == S::Breached as i32;
            (is_policy(t) && t.metric == metric as i32 && decided)
                .then(|| pb::SlaTarget { state, ..t.clone() })
        });
        if let Some(decided) = decided {
            ticket.sla.push(decided);
        } else if let Some(target) = policy.and_then(|p| compute(ticket, p, metric, now)) {
            ticket.sla.push(target);
        }
    }
}

/// `policy`'s target of `metric` for `ticket`, if the policy has one for its priority.
fn compute(
    ticket: &pb::Ticket,
    policy: &Policy,
    metric: M,
    now: DateTime<Utc>,
) -> Option<pb::SlaTarget> {
    let target = policy.targets.iter().find(|t| t.priority == ticket.priority)?;
    let (within, completed) = match metric {
        M::FirstResponse => (target.first_response?, &ticket.first_response_time),
        M::Resolution => (target.resolution?, &ticket.first_resolved_time),
        M::Unspecified | M::NextResponse | M::Other => return None,
    };
    let created = ticket.created_time.as_ref().and_then(from_timestamp)?;
    let due = created.checked_add_signed(within)?;
    let completed = completed.as_ref().and_then(from_timestamp);
    let state = match completed {
        _ if ticket.deleted => S::Cancelled,
        Some(c) if c <= due => S::Met,
        Some(_) => S::Breached,
        None if now >= due => S::Breached,
        None => S::Active,
    };
    Some(pb::SlaTarget {
        metric: metric as i32,
        name_raw: policy.name.clone(),
        due_time: Some(timestamp(due)),
        completed_time: completed.map(timestamp),
        state: state as i32,
        origin: pb::SlaOrigin::Policy as i32,
    })
}

/// A target's state as of `now`: an ACTIVE target past its due time and not fulfilled is
/// BREACHED (platforms such as Intercom only mark a miss later, and policy targets are
/// stored as of their last computation).
pub fn effective_state(target: &pb::SlaTarget, now: DateTime<Utc>) -> i32 {
    let overdue = |due: &Timestamp| from_timestamp(due).is_some_and(|due| due <= now);
    if target.state == S::Active as i32
        && target.completed_time.is_none()
        && target.due_time.as_ref().is_some_and(overdue)
    {
        S::Breached as i32
    } else {
        target.state
    }
}

// The tests are many; they live in `sla/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
