//! Ticket validation and normalization: what an adapter sends becomes a [`Snapshot`] the
//! ingest can compare with the stored one, or `INVALID_ARGUMENT` naming every bad field.
//!
//! Limits beyond those the API states (it says nothing about them, so these are ours):
//! `display_key`, `workflow`, the `*_raw` fields, SLA `name_raw`, CSAT `score_raw` and every
//! `PartyRef` field at most 255 characters. Lengths count characters, not bytes.

use chrono::{DateTime, Utc};
use prost::Message;
use prost_types::Timestamp;
use ring::digest;
use steward_kit::{Error, Violations};
use steward_proto::ticket::v1 as pb;

use super::mapping;

const MAX_ID: usize = 255;
const MAX_SUBJECT: usize = 1_000;
const MAX_CATEGORY: usize = 200;
const MAX_SHORT: usize = 255;
const MAX_TAGS: usize = 100;
const MAX_TAG: usize = 200;
const MAX_CUSTOM_FIELDS: usize = 200;
const MAX_CUSTOM_KEY: usize = 255;
const MAX_LONG_TEXT: usize = 10_000;
const MAX_SLA_TARGETS: usize = 20;
/// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range the API allows.
const MIN_SECONDS: i64 = 0;
const MAX_SECONDS: i64 = 253_402_300_799;

/// A ticket's key in its source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceKey {
    /// `pb::Source` value.
    pub source: i32,
    /// `source_instance`.
    pub instance: String,
    /// `external_id`.
    pub external_id: String,
}

/// A validated, normalized snapshot, ready to be compared with the stored one.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its key.
    pub key: SourceKey,
    /// The ticket: output-only fields cleared, enums mapped from raw values, SLA targets
    /// marked PLATFORM.
    pub ticket: pb::Ticket,
    /// `source_update_time`.
    pub update_time: DateTime<Utc>,
    /// `source_version`.
    pub version: Option<i64>,
    /// SHA-256 of the content: every input field but the ordering key.
    pub content_hash: Vec<u8>,
}

/// Validates `ticket` (field paths under `ticket.`) and normalizes it.
pub fn validate(ticket: Option<pb::Ticket>) -> Result<Snapshot, Error> {
    let Some(mut t) = ticket else {
        return Err(Error::invalid("ticket", "required"));
    };
    let mut v = Violations::default();
    clear_output_only(&mut t);

    let source_ok = match pb::Source::try_from(t.source) {
        Ok(pb::Source::Unspecified) => {
            v.add("ticket.source", "required");
            false
        }
        Ok(_) => true,
        Err(_) => {
            v.add("ticket.source", format!("unknown source {}", t.source));
            false
        }
    };
    let id_len = t.external_id.chars().count();
    v.check(id_len >= 1, "ticket.external_id", "required");
    v.check(id_len <= MAX_ID, "ticket.external_id", format!("at most {MAX_ID} characters"));
    text(&mut v, "ticket.source_instance", &t.source_instance, MAX_SHORT);
    text(&mut v, "ticket.display_key", &t.display_key, MAX_SHORT);
    text(&mut v, "ticket.subject", &t.subject, MAX_SUBJECT);
    text(&mut v, "ticket.category", &t.category, MAX_CATEGORY);
    text(&mut v, "ticket.workflow", &t.workflow, MAX_SHORT);
    text(&mut v, "ticket.status_raw", &t.status_raw, MAX_SHORT);
    text(&mut v, "ticket.priority_raw", &t.priority_raw, MAX_SHORT);
    text(&mut v, "ticket.channel_raw", &t.channel_raw, MAX_SHORT);

    normalize_enums(&mut t, source_ok, &mut v);
    check_parties(&mut t, &mut v);
    check_tags_and_fields(&t, &mut v);
    let (created, updated) = check_times(&t, &mut v);
    check_sla(&mut t, &mut v);
    check_csat(&t, &mut v);
    if t.reopen_count.is_some_and(|n| n < 0) {
        v.add("ticket.reopen_count", "must not be negative");
    }
    if t.source_version.is_some_and(|n| n < 0) {
        v.add("ticket.source_version", "must not be negative");
    }
    if let (Some(c), Some(u)) = (created, updated) {
        v.check(c <= u, "ticket.created_time", "must not be after source_update_time");
    }
    v.finish()?;
    let Some(update_time) = updated else {
        // Unreachable: a missing or bad source_update_time was recorded above.
        return Err(Error::invalid("ticket.source_update_time", "required"));
    };

    Ok(Snapshot {
        key: SourceKey {
            source: t.source,
            instance: t.source_instance.clone(),
            external_id: t.external_id.clone(),
        },
        update_time,
        version: t.source_version,
        content_hash: content_hash(&t),
        ticket: t,
    })
}

/// SHA-256 of the prost encoding of `ticket` without its ordering key. Deterministic: the
/// generated maps are `BTreeMap`s, so fields and map entries always encode in one order.
pub fn content_hash(ticket: &pb::Ticket) -> Vec<u8> {
    let mut content = ticket.clone();
    content.source_update_time = None;
    content.source_version = None;
    digest::digest(&digest::SHA256, &content.encode_to_vec()).as_ref().to_vec()
}

/// Output-only fields are ignored on ingest, so they must not reach the stored copy or the
/// content hash.
fn clear_output_only(t: &mut pb::Ticket) {
    t.name.clear();
    t.account.clear();
    t.link_state = 0;
    t.create_time = None;
    t.update_time = None;
    t.etag.clear();
    t.ingest_time = None;
}

/// Checks the enums and maps UNSPECIFIED ones from their raw values.
fn normalize_enums(t: &mut pb::Ticket, source_ok: bool, v: &mut Violations) {
    if t.status == 0 {
        if t.status_raw.trim().is_empty() {
            v.add("ticket.status", "set status or status_raw");
        } else if let Some(s) = mapping::status(t.source, &t.status_raw) {
            t.status = s as i32;
        } else if source_ok {
            // An unknown source is reported on its own; this would only repeat it.
            v.add("ticket.status_raw", "not a default status of the source: set status");
        }
    } else if pb::TicketStatus::try_from(t.status).is_err() {
        v.add("ticket.status", format!("unknown status {}", t.status));
    }

    if t.priority == 0 && !t.priority_raw.trim().is_empty() {
        t.priority = mapping::priority(t.source, &t.priority_raw).map_or(0, |p| p as i32);
    } else if pb::TicketPriority::try_from(t.priority).is_err() {
        v.add("ticket.priority", format!("unknown priority {}", t.priority));
    }

    if t.channel == 0 && !t.channel_raw.trim().is_empty() {
        t.channel = mapping::channel(t.source, &t.channel_raw).map_or(0, |c| c as i32);
    } else if pb::Channel::try_from(t.channel).is_err() {
        v.add("ticket.channel", format!("unknown channel {}", t.channel));
    }
}

fn check_parties(t: &mut pb::Ticket, v: &mut Violations) {
    let parties = [
        ("account_ref", &mut t.account_ref),
        ("requester", &mut t.requester),
        ("assignee", &mut t.assignee),
        ("group", &mut t.group),
    ];
    for (name, party) in parties {
        // An empty reference says nothing; storing it as unset keeps the content hash of
        // "no requester" one value.
        if party.as_ref().is_some_and(|p| *p == pb::PartyRef::default()) {
            *party = None;
        }
        let Some(p) = party else { continue };
        if name == "requester" {
            p.email = p.email.trim().to_lowercase();
        }
        text(v, format!("ticket.{name}.id"), &p.id, MAX_ID);
        text(v, format!("ticket.{name}.email"), &p.email, MAX_SHORT);
        text(v, format!("ticket.{name}.display_name"), &p.display_name, MAX_SHORT);
        if name == "account_ref" && !p.system.is_empty() {
            v.check(
                is_system(&p.system),
                "ticket.account_ref.system",
                "1–63 lowercase letters, digits, '_' or '-', starting with a letter",
            );
        } else {
            text(v, format!("ticket.{name}.system"), &p.system, MAX_SHORT);
        }
    }
}

/// The account service's `ExternalRef.system` form.
fn is_system(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_tags_and_fields(t: &pb::Ticket, v: &mut Violations) {
    v.check(t.tags.len() <= MAX_TAGS, "ticket.tags", format!("at most {MAX_TAGS} tags"));
    for (i, tag) in t.tags.iter().enumerate() {
        text(v, format!("ticket.tags[{i}]"), tag, MAX_TAG);
    }
    v.check(
        t.custom_fields.len() <= MAX_CUSTOM_FIELDS,
        "ticket.custom_fields",
        format!("at most {MAX_CUSTOM_FIELDS} custom fields"),
    );
    for (key, value) in &t.custom_fields {
        // A path quoting a huge key would be a huge error; 64 characters identify it.
        let shown: String = key.chars().take(64).collect();
        let field = format!("ticket.custom_fields[{shown:?}]");
        let key_len = key.chars().count();
        if key_len == 0 || key_len > MAX_CUSTOM_KEY {
            v.add(&field, format!("keys are 1–{MAX_CUSTOM_KEY} characters"));
        }
        text(v, field, value, MAX_LONG_TEXT);
    }
}

/// Checks every input time; answers `created_time` and `source_update_time` when valid.
fn check_times(
    t: &pb::Ticket,
    v: &mut Violations,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let created = time(v, "ticket.created_time", t.created_time.as_ref());
    let updated = time(v, "ticket.source_update_time", t.source_update_time.as_ref());
    if t.created_time.is_none() {
        v.add("ticket.created_time", "required");
    }
    if t.source_update_time.is_none() {
        v.add("ticket.source_update_time", "required");
    }
    let optional = [
        ("ticket.updated_time", &t.updated_time),
        ("ticket.first_response_time", &t.first_response_time),
        ("ticket.first_resolved_time", &t.first_resolved_time),
        ("ticket.resolved_time", &t.resolved_time),
        ("ticket.closed_time", &t.closed_time),
        ("ticket.last_reopened_time", &t.last_reopened_time),
    ];
    for (field, ts) in optional {
        time(v, field, ts.as_ref());
    }
    (created, updated)
}

fn check_sla(t: &mut pb::Ticket, v: &mut Violations) {
    v.check(
        t.sla.len() <= MAX_SLA_TARGETS,
        "ticket.sla",
        format!("at most {MAX_SLA_TARGETS} SLA targets"),
    );
    for (i, target) in t.sla.iter_mut().enumerate() {
        let at = |f: &str| format!("ticket.sla[{i}].{f}");
        match pb::SlaMetric::try_from(target.metric) {
            Ok(pb::SlaMetric::Unspecified) => v.add(at("metric"), "required"),
            Ok(_) => {}
            Err(_) => v.add(at("metric"), format!("unknown metric {}", target.metric)),
        }
        match pb::SlaState::try_from(target.state) {
            Ok(pb::SlaState::Unspecified) => v.add(at("state"), "required"),
            Ok(_) => {}
            Err(_) => v.add(at("state"), format!("unknown state {}", target.state)),
        }
        text(v, at("name_raw"), &target.name_raw, MAX_SHORT);
        time(v, &at("due_time"), target.due_time.as_ref());
        time(v, &at("completed_time"), target.completed_time.as_ref());
        // Every ingested target is the platform's; the service adds POLICY ones itself.
        target.origin = pb::SlaOrigin::Platform as i32;
    }
}

fn check_csat(t: &pb::Ticket, v: &mut Violations) {
    let Some(c) = &t.csat else { return };
    if pb::CsatSentiment::try_from(c.sentiment).is_err() {
        v.add("ticket.csat.sentiment", format!("unknown sentiment {}", c.sentiment));
    }
    text(v, "ticket.csat.score_raw", &c.score_raw, MAX_SHORT);
    text(v, "ticket.csat.comment", &c.comment, MAX_LONG_TEXT);
    for (field, bound) in
        [("ticket.csat.scale_min", c.scale_min), ("ticket.csat.scale_max", c.scale_max)]
    {
        v.check(bound.is_none_or(f64::is_finite), field, "must be a finite number");
    }
    time(v, "ticket.csat.rate_time", c.rate_time.as_ref());
}

/// Records a violation when `s` is longer than `max` characters.
fn text(v: &mut Violations, field: impl Into<String>, s: &str, max: usize) {
    // Byte length bounds character count, so short strings skip the count.
    if s.len() > max && s.chars().count() > max {
        v.add(field, format!("at most {max} characters"));
    }
}

/// A valid time within the API's range, or `None` with a violation recorded (`None`
/// without one when `ts` is unset).
fn time(v: &mut Violations, field: &str, ts: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    if !(0..1_000_000_000).contains(&ts.nanos) {
        v.add(field, "nanos must be within 0..999,999,999");
        return None;
    }
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) {
        v.add(field, "must be within years 1970–9999");
        return None;
    }
    steward_kit::time::from_timestamp(ts)
}

// The tests are many; they live in `validate/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
