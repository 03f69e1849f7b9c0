//! Unit tests of ticket validation and normalization.

use prost_types::Timestamp;
use steward_kit::Error;
use steward_proto::ticket::v1 as pb;

use super::validate;

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

/// A valid Zendesk ticket created at 1,700,000,000 and updated an hour later.
fn ticket() -> pb::Ticket {
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: "acme".into(),
        external_id: "35436".into(),
        status_raw: "open".into(),
        created_time: ts(1_700_000_000),
        source_update_time: ts(1_700_003_600),
        ..Default::default()
    }
}

/// The fields named by the violations of `result`, in order.
fn fields<T: std::fmt::Debug>(result: Result<T, Error>) -> Vec<String> {
    match result {
        Err(Error::InvalidArgument(violations)) => {
            violations.into_iter().map(|v| v.field).collect()
        }
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn a_missing_ticket_names_ticket() {
    assert_eq!(fields(validate(None)), ["ticket"]);
}

#[test]
fn every_violation_is_reported_at_once() {
    let got = fields(validate(Some(pb::Ticket::default())));
    assert_eq!(
        got,
        [
            "ticket.source",
            "ticket.external_id",
            "ticket.status",
            "ticket.created_time",
            "ticket.source_update_time"
        ]
    );
}

#[test]
fn a_valid_ticket_is_keyed_and_its_status_mapped() {
    let s = validate(Some(ticket())).expect("valid");
    assert_eq!(s.key.source, pb::Source::Zendesk as i32);
    assert_eq!(s.key.instance, "acme");
    assert_eq!(s.key.external_id, "35436");
    assert_eq!(s.ticket.status, pb::TicketStatus::Open as i32);
    assert_eq!(s.ticket.status_raw, "open", "raw values are kept verbatim");
    assert_eq!(s.update_time.timestamp(), 1_700_003_600);
    assert_eq!(s.version, None);
    assert_eq!(s.content_hash.len(), 32);
}

#[test]
fn an_unmappable_raw_status_names_status_raw() {
    let mut t = ticket();
    t.status_raw = "Waiting for Godot".into();
    assert_eq!(fields(validate(Some(t))), ["ticket.status_raw"]);

    let mut other = ticket();
    other.source = pb::Source::Other as i32;
    assert_eq!(fields(validate(Some(other.clone()))), ["ticket.status_raw"]);
    other.status = pb::TicketStatus::Pending as i32;
    assert!(validate(Some(other)).is_ok(), "an explicit status needs no table");
}

#[test]
fn raw_priority_and_channel_are_mapped_or_left_unspecified() {
    let mut t = ticket();
    t.priority_raw = "URGENT".into();
    t.channel_raw = "web".into();
    let s = validate(Some(t.clone())).expect("valid");
    assert_eq!(s.ticket.priority, pb::TicketPriority::Urgent as i32);
    assert_eq!(s.ticket.channel, pb::Channel::WebForm as i32);

    t.priority_raw = "P1 (tenant)".into();
    t.channel_raw = "carrier pigeon".into();
    let s = validate(Some(t)).expect("unmapped raw values are not errors");
    assert_eq!(s.ticket.priority, 0);
    assert_eq!(s.ticket.channel, 0);
}

#[test]
fn unknown_enum_values_are_named() {
    let mut t = ticket();
    t.source = 77;
    t.status = 40;
    t.priority = 9;
    t.channel = -1;
    t.sla.push(pb::SlaTarget { metric: 12, state: 0, ..Default::default() });
    t.csat = Some(pb::CsatRating { sentiment: 8, ..Default::default() });
    assert_eq!(
        fields(validate(Some(t))),
        [
            "ticket.source",
            "ticket.status",
            "ticket.priority",
            "ticket.channel",
            "ticket.sla[0].metric",
            "ticket.sla[0].state",
            "ticket.csat.sentiment"
        ]
    );
}

#[test]
fn times_must_be_valid_in_range_and_ordered() {
    let mut t = ticket();
    t.first_response_time = Some(Timestamp { seconds: 1_700_000_100, nanos: 1_000_000_000 });
    t.closed_time = ts(-1);
    t.last_reopened_time = ts(253_402_300_800);
    t.sla = vec![
        pb::SlaTarget { metric: 1, state: 1, due_time: ts(1_700_000_500), ..Default::default() },
        pb::SlaTarget { metric: 3, state: 1, due_time: ts(-5), ..Default::default() },
    ];
    assert_eq!(
        fields(validate(Some(t))),
        [
            "ticket.first_response_time",
            "ticket.closed_time",
            "ticket.last_reopened_time",
            "ticket.sla[1].due_time"
        ]
    );

    let mut t = ticket();
    t.created_time = ts(1_700_003_601);
    assert_eq!(fields(validate(Some(t))), ["ticket.created_time"]);

    let mut t = ticket();
    t.created_time = ts(253_402_300_799);
    t.source_update_time = ts(253_402_300_799);
    assert!(validate(Some(t)).is_ok(), "the last second of 9999 is allowed");
}

#[test]
fn sizes_are_bounded() {
    let mut t = ticket();
    t.external_id = "x".repeat(256);
    t.subject = "s".repeat(1_001);
    t.category = "é".repeat(201);
    t.tags = vec!["t".into(); 101];
    t.tags[3] = "t".repeat(201);
    t.custom_fields.insert("k".into(), "v".repeat(10_001));
    t.custom_fields.insert(String::new(), "empty key".into());
    t.sla = vec![pb::SlaTarget { metric: 1, state: 1, ..Default::default() }; 21];
    t.csat = Some(pb::CsatRating { comment: "c".repeat(10_001), ..Default::default() });
    assert_eq!(
        fields(validate(Some(t))),
        [
            "ticket.external_id",
            "ticket.subject",
            "ticket.category",
            "ticket.tags",
            "ticket.tags[3]",
            "ticket.custom_fields[\"\"]",
            "ticket.custom_fields[\"k\"]",
            "ticket.sla",
            "ticket.csat.comment"
        ]
    );

    let mut t = ticket();
    t.subject = "é".repeat(1_000);
    assert!(validate(Some(t)).is_ok(), "limits count characters, not bytes");
}

#[test]
fn party_refs_and_counters_are_checked() {
    let mut t = ticket();
    t.account_ref =
        Some(pb::PartyRef { id: "42".into(), system: "Sales Force".into(), ..Default::default() });
    t.assignee = Some(pb::PartyRef { id: "a".repeat(256), ..Default::default() });
    t.reopen_count = Some(-1);
    t.source_version = Some(-3);
    assert_eq!(
        fields(validate(Some(t))),
        [
            "ticket.account_ref.system",
            "ticket.assignee.id",
            "ticket.reopen_count",
            "ticket.source_version"
        ]
    );
}

#[test]
fn normalization_clears_output_only_fields_and_marks_targets_platform() {
    let mut t = ticket();
    t.name = "tickets/abc".into();
    t.account = "accounts/acme".into();
    t.link_state = pb::LinkState::ByAccountRef as i32;
    t.create_time = ts(1);
    t.update_time = ts(2);
    t.ingest_time = ts(3);
    t.etag = "e".into();
    t.requester = Some(pb::PartyRef { email: "  Ada@Example.COM ".into(), ..Default::default() });
    t.group = Some(pb::PartyRef::default());
    t.sla.push(pb::SlaTarget {
        metric: pb::SlaMetric::FirstResponse as i32,
        state: pb::SlaState::Active as i32,
        origin: pb::SlaOrigin::Policy as i32,
        ..Default::default()
    });
    let s = validate(Some(t)).expect("valid");
    let n = &s.ticket;
    assert!(n.name.is_empty() && n.account.is_empty() && n.etag.is_empty());
    assert_eq!(n.link_state, 0);
    assert!(n.create_time.is_none() && n.update_time.is_none() && n.ingest_time.is_none());
    assert_eq!(n.requester.as_ref().map(|r| r.email.as_str()), Some("ada@example.com"));
    assert_eq!(n.group, None, "an empty reference is no reference");
    assert_eq!(n.sla[0].origin, pb::SlaOrigin::Platform as i32);
}

#[test]
fn the_content_hash_ignores_the_ordering_key_and_output_only_fields() {
    let base = validate(Some(ticket())).expect("valid");

    let mut later = ticket();
    later.source_update_time = ts(1_800_000_000);
    later.source_version = Some(7);
    later.etag = "ignored".into();
    let later = validate(Some(later)).expect("valid");
    assert_eq!(later.content_hash, base.content_hash);
    assert_eq!(later.version, Some(7));

    let mut changed = ticket();
    changed.subject = "Printer on fire".into();
    assert_ne!(validate(Some(changed)).expect("valid").content_hash, base.content_hash);

    // A raw status mapped by the service equals the same status sent explicitly with it.
    let mut explicit = ticket();
    explicit.status = pb::TicketStatus::Open as i32;
    assert_eq!(validate(Some(explicit)).expect("valid").content_hash, base.content_hash);
}

#[test]
fn the_content_hash_does_not_depend_on_map_insertion_order() {
    let mut a = ticket();
    let mut b = ticket();
    for (k, v) in [("z", "1"), ("a", "2"), ("m", "3")] {
        a.custom_fields.insert(k.into(), v.into());
    }
    for (k, v) in [("m", "3"), ("z", "1"), ("a", "2")] {
        b.custom_fields.insert(k.into(), v.into());
    }
    let (a, b) = (validate(Some(a)).expect("valid"), validate(Some(b)).expect("valid"));
    assert_eq!(a.content_hash, b.content_hash);
}
