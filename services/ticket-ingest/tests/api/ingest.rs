//! IngestTicket: the outcomes (CREATED, UNCHANGED, UPDATED, STALE) under redelivery and
//! out-of-order delivery, ordering by version, request ids, validation, raw-value mapping,
//! exact times and lifecycle events.

use steward_proto::ticket::v1 as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn outcomes_follow_the_ordering_key_and_the_content() {
    let mut s = start().await;
    let first = ingest(&mut s.client, ticket("1")).await;
    assert_eq!(first.outcome(), pb::IngestOutcome::Created);
    assert!(first.ticket.starts_with("tickets/"));
    assert_eq!(first.events, [pb::TicketEventKind::Created as i32]);

    // The same snapshot again: a redelivery.
    let again = ingest(&mut s.client, ticket("1")).await;
    assert_eq!(again.outcome(), pb::IngestOutcome::Unchanged);
    assert_eq!(again.ticket, first.ticket);
    assert!(again.events.is_empty());

    // A newer snapshot with other content.
    let mut open = ticket("1");
    open.status = pb::TicketStatus::Open as i32;
    open.status_raw = "open".into();
    open.source_update_time = ts(at(10));
    let updated = ingest(&mut s.client, open.clone()).await;
    assert_eq!(updated.outcome(), pb::IngestOutcome::Updated);
    assert_eq!(updated.events, [pb::TicketEventKind::StatusChanged as i32]);

    // The first snapshot delivered late: older than the stored one, ignored.
    let late = ingest(&mut s.client, ticket("1")).await;
    assert_eq!(late.outcome(), pb::IngestOutcome::Stale);
    assert_eq!(get(&mut s.client, &first.ticket).await.status(), pb::TicketStatus::Open);

    // A newer key with the same content: UNCHANGED, but the stored key advances, so the
    // snapshot of minute 10 is now stale... no: equal content at a newer key.
    let mut touched = open.clone();
    touched.source_update_time = ts(at(20));
    assert_eq!(ingest(&mut s.client, touched).await.outcome(), pb::IngestOutcome::Unchanged);
    let stored = get(&mut s.client, &first.ticket).await;
    assert_eq!(stored.source_update_time, ts(at(20)), "the ordering key advanced");
    assert_eq!(ingest(&mut s.client, open).await.outcome(), pb::IngestOutcome::Stale);
}

#[tokio::test]
async fn an_equal_key_with_other_content_is_the_later_arrival_winning() {
    let mut s = start().await;
    ingest(&mut s.client, ticket("7")).await;
    let mut same_second = ticket("7");
    same_second.subject = "edited within the same second".into();
    let answer = ingest(&mut s.client, same_second).await;
    assert_eq!(answer.outcome(), pb::IngestOutcome::Updated);
    assert_eq!(get(&mut s.client, &answer.ticket).await.subject, "edited within the same second");
}

#[tokio::test]
async fn versions_order_snapshots_before_update_times() {
    let mut s = start().await;
    let mut v2 = ticket("9");
    v2.source_version = Some(2);
    v2.source_update_time = ts(at(5));
    v2.subject = "version 2".into();
    let created = ingest(&mut s.client, v2).await;

    // Version 1 carries a later update time (another clock), but the versions decide.
    let mut v1 = ticket("9");
    v1.source_version = Some(1);
    v1.source_update_time = ts(at(50));
    v1.subject = "version 1".into();
    assert_eq!(ingest(&mut s.client, v1).await.outcome(), pb::IngestOutcome::Stale);

    let mut v3 = ticket("9");
    v3.source_version = Some(3);
    v3.source_update_time = ts(at(1));
    v3.subject = "version 3".into();
    assert_eq!(ingest(&mut s.client, v3).await.outcome(), pb::IngestOutcome::Updated);
    let stored = get(&mut s.client, &created.ticket).await;
    assert_eq!((stored.subject.as_str(), stored.source_version), ("version 3", Some(3)));
}

#[tokio::test]
async fn out_of_order_delivery_never_regresses_a_ticket() {
    let mut s = start().await;
    // Five snapshots of one ticket's life, delivered in a scrambled order.
    let states = [
        (0, pb::TicketStatus::New),
        (10, pb::TicketStatus::Open),
        (20, pb::TicketStatus::Pending),
        (30, pb::TicketStatus::Open),
        (40, pb::TicketStatus::Solved),
    ];
    let snapshot = |i: usize| {
        let (minute, status) = states[i];
        let mut t = ticket("42");
        t.status = status as i32;
        t.status_raw = String::new();
        t.source_update_time = ts(at(minute));
        if status == pb::TicketStatus::Solved {
            t.resolved_time = ts(at(minute));
            t.first_resolved_time = ts(at(minute));
        }
        t
    };
    let mut outcomes = Vec::new();
    let mut name = String::new();
    for i in [2, 0, 4, 1, 3] {
        let answer = ingest(&mut s.client, snapshot(i)).await;
        name = answer.ticket.clone();
        outcomes.push(answer.outcome());
    }
    use pb::IngestOutcome::*;
    assert_eq!(outcomes, [Created, Stale, Updated, Stale, Stale]);
    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.status(), pb::TicketStatus::Solved);
    assert_eq!(stored.source_update_time, ts(at(40)));
}

#[tokio::test]
async fn a_request_id_returns_the_first_answer() {
    let mut s = start().await;
    let id = request_id();
    let req = pb::IngestTicketRequest { ticket: Some(ticket("11")), request_id: id.clone() };
    let first = s.client.ingest_ticket(req.clone()).await.expect("first").into_inner();
    let retry = s.client.ingest_ticket(req).await.expect("retry").into_inner();
    assert_eq!(first.outcome(), pb::IngestOutcome::Created);
    assert_eq!(retry, first, "the retry gets the first call's exact answer, not UNCHANGED");

    let mut other = ticket("12");
    other.subject = "another ticket".into();
    let reused = pb::IngestTicketRequest { ticket: Some(other), request_id: id };
    let err = s.client.ingest_ticket(reused).await.expect_err("reused id");
    assert_code(&err, Code::InvalidArgument, "REQUEST_ID_REUSED");
}

/// Makes a valid ticket invalid in one way.
type Breakage = Box<dyn Fn(&mut pb::Ticket)>;

#[tokio::test]
async fn invalid_tickets_name_the_field_and_store_nothing() {
    let mut s = start().await;
    let cases: Vec<(&str, Breakage)> = vec![
        ("ticket.source", Box::new(|t| t.source = 0)),
        ("ticket.external_id", Box::new(|t| t.external_id.clear())),
        ("ticket.external_id", Box::new(|t| t.external_id = "x".repeat(256))),
        ("ticket.created_time", Box::new(|t| t.created_time = None)),
        ("ticket.source_update_time", Box::new(|t| t.source_update_time = None)),
        ("ticket.status", Box::new(|t| t.status = 99)),
        ("ticket.priority", Box::new(|t| t.priority = 17)),
        (
            "ticket.status_raw",
            Box::new(|t| {
                t.status = 0;
                t.status_raw = "somewhere in between".into();
            }),
        ),
        ("ticket.subject", Box::new(|t| t.subject = "s".repeat(1001))),
        (
            "ticket.sla[0].metric",
            Box::new(|t| {
                t.sla =
                    vec![pb::SlaTarget { state: pb::SlaState::Active as i32, ..Default::default() }]
            }),
        ),
        (
            "ticket.created_time",
            Box::new(|t| t.created_time = ts(at(60))), // after source_update_time
        ),
    ];
    for (field, break_it) in cases {
        let mut t = ticket("bad");
        break_it(&mut t);
        let err = try_ingest(&mut s.client, t).await.expect_err(field);
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(violations(&err).iter().any(|v| v == field), "{field}: {:?}", violations(&err));
    }
    let err =
        s.client.ingest_ticket(pb::IngestTicketRequest::default()).await.expect_err("no ticket");
    assert_invalid(&err, "ticket");
    let all = list_all(
        &mut s.client,
        pb::ListTicketsRequest { include_deleted: true, ..Default::default() },
    )
    .await;
    assert!(all.is_empty(), "refused tickets leave nothing behind: {all:?}");
}

#[tokio::test]
async fn raw_values_are_mapped_case_insensitively_and_kept() {
    let mut s = start().await;
    let mut zendesk = ticket("21");
    zendesk.status = 0;
    zendesk.status_raw = "SOLVED".into();
    zendesk.priority = 0;
    zendesk.priority_raw = "Urgent".into();
    zendesk.resolved_time = ts(at(0));
    let name = ingest(&mut s.client, zendesk).await.ticket;
    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.status(), pb::TicketStatus::Solved);
    assert_eq!(stored.status_raw, "SOLVED");
    assert_eq!(stored.priority(), pb::TicketPriority::Urgent);
    assert_eq!(stored.priority_raw, "Urgent");

    let mut freshdesk = ticket("22");
    freshdesk.source = pb::Source::Freshdesk as i32;
    freshdesk.status = 0;
    freshdesk.status_raw = "3".into();
    let name = ingest(&mut s.client, freshdesk).await.ticket;
    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.status(), pb::TicketStatus::Pending);

    // SOURCE_OTHER has no table: its adapter must send the normalized status.
    let mut other = ticket("23");
    other.source = pb::Source::Other as i32;
    other.status = 0;
    other.status_raw = "open".into();
    let err = try_ingest(&mut s.client, other).await.expect_err("unmappable");
    assert_invalid(&err, "ticket.status_raw");
}

#[tokio::test]
async fn times_are_stored_exactly() {
    let mut s = start().await;
    let mut t = ticket("31");
    // Nanoseconds, which a timestamptz column would round to microseconds.
    t.created_time = Some(prost_types::Timestamp { seconds: 1_772_442_000, nanos: 123_456_789 });
    t.source_update_time =
        Some(prost_types::Timestamp { seconds: 1_772_442_001, nanos: 987_654_321 });
    t.first_response_time =
        Some(prost_types::Timestamp { seconds: 1_772_442_000, nanos: 999_999_999 });
    let name = ingest(&mut s.client, t.clone()).await.ticket;
    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.created_time, t.created_time);
    assert_eq!(stored.source_update_time, t.source_update_time);
    assert_eq!(stored.first_response_time, t.first_response_time);
    // A redelivery compares equal to the nanosecond.
    assert_eq!(ingest(&mut s.client, t).await.outcome(), pb::IngestOutcome::Unchanged);
}

#[tokio::test]
async fn lifecycle_events_are_recorded_in_order() {
    let mut s = start().await;
    let name = ingest(&mut s.client, ticket("51")).await.ticket;

    let mut solved = ticket("51");
    solved.status = pb::TicketStatus::Solved as i32;
    solved.status_raw = "solved".into();
    solved.priority = pb::TicketPriority::High as i32;
    solved.first_resolved_time = ts(at(30));
    solved.resolved_time = ts(at(30));
    solved.source_update_time = ts(at(30));
    ingest(&mut s.client, solved.clone()).await;

    let mut reopened = solved.clone();
    reopened.status = pb::TicketStatus::Open as i32;
    reopened.status_raw = "open".into();
    reopened.resolved_time = None;
    reopened.last_reopened_time = ts(at(60));
    reopened.source_update_time = ts(at(60));
    reopened.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Bad as i32,
        score_raw: "bad".into(),
        rate_time: ts(at(55)),
        ..Default::default()
    });
    let answer = ingest(&mut s.client, reopened).await;
    assert!(answer.events.contains(&(pb::TicketEventKind::Reopened as i32)));

    use pb::TicketEventKind::*;
    let kinds = event_kinds(&mut s.client, &name).await;
    for kind in [Created, Solved, PriorityChanged, Reopened, CsatRated] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    assert_eq!(kinds[0], Created);
    let solved_at = kinds.iter().position(|k| *k == Solved).expect("solved");
    let reopened_at = kinds.iter().position(|k| *k == Reopened).expect("reopened");
    assert!(solved_at < reopened_at, "{kinds:?}");
    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.reopen_count, Some(1), "one reopen observed");
}

#[tokio::test]
async fn get_ticket_by_source_key_and_not_found() {
    let mut s = start().await;
    let name = ingest(&mut s.client, ticket("61")).await.ticket;
    let key = pb::SourceKey {
        source: pb::Source::Zendesk as i32,
        source_instance: "acme".into(),
        external_id: "61".into(),
    };
    let req =
        pb::GetTicketRequest { key: Some(pb::get_ticket_request::Key::SourceKey(key.clone())) };
    assert_eq!(s.client.get_ticket(req).await.expect("by key").into_inner().name, name);

    let other_instance = pb::SourceKey { source_instance: "globex".into(), ..key };
    let req =
        pb::GetTicketRequest { key: Some(pb::get_ticket_request::Key::SourceKey(other_instance)) };
    let err = s.client.get_ticket(req).await.expect_err("other instance");
    assert_code(&err, Code::NotFound, "TICKET_NOT_FOUND");

    let req = pb::GetTicketRequest {
        key: Some(pb::get_ticket_request::Key::Name(
            "tickets/0190f0f0-0000-7000-8000-000000000000".into(),
        )),
    };
    assert_code(
        &s.client.get_ticket(req).await.expect_err("unknown"),
        Code::NotFound,
        "TICKET_NOT_FOUND",
    );
    let err = s.client.get_ticket(pb::GetTicketRequest::default()).await.expect_err("no key");
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn concurrent_unary_ingests_of_one_ticket_create_it_once() {
    let s = start().await;
    // 50 tickets, each sent 4 times at once: grouped into shared transactions or not, each
    // ticket is created exactly once and the other copies are redeliveries.
    let calls = (0..200).map(|i| {
        let mut client = s.client.clone();
        async move { ingest(&mut client, ticket(&format!("c{}", i % 50))).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    let mut created = std::collections::BTreeMap::new();
    for a in &answers {
        let entry = created.entry(a.ticket.clone()).or_insert((0, 0));
        match a.outcome() {
            pb::IngestOutcome::Created => entry.0 += 1,
            pb::IngestOutcome::Unchanged => entry.1 += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created.len(), 50, "one ticket per key");
    assert!(created.values().all(|c| *c == (1, 3)), "{created:?}");
    let mut client = s.client.clone();
    assert_eq!(list_all(&mut client, Default::default()).await.len(), 50);
}
