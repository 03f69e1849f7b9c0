//! StreamIngestTickets: one answer per item, in order, echoing the item ids; bad items get
//! their own INVALID_ARGUMENT and the stream goes on; replays answer UNCHANGED and write
//! nothing; answers come once their items are committed; half-close ends with OK.

use std::collections::BTreeSet;
use std::time::Instant;

use steward_proto::ticket::v1 as pb;
use steward_testkit::server::READ_TOKEN;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::RpcStatusExt;

use crate::support::*;

type Answer = pb::stream_ingest_tickets_response::Result;

fn item(item_id: &str, ticket: pb::Ticket) -> pb::StreamIngestTicketsRequest {
    pb::StreamIngestTicketsRequest { item_id: item_id.into(), ticket: Some(ticket) }
}

/// Sends `items` as one stream (half-closing after the last) while reading the answers; the
/// answers, and how the stream ended (`Ok` = closed with OK).
async fn stream_all(
    client: &mut Client,
    items: Vec<pb::StreamIngestTicketsRequest>,
) -> (Vec<pb::StreamIngestTicketsResponse>, Result<(), tonic::Status>) {
    let mut answers = Vec::with_capacity(items.len());
    let mut inbound = match client.stream_ingest_tickets(tokio_stream::iter(items)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return (answers, Err(status)),
    };
    loop {
        match inbound.message().await {
            Ok(Some(answer)) => answers.push(answer),
            Ok(None) => return (answers, Ok(())),
            Err(status) => return (answers, Err(status)),
        }
    }
}

/// The ingest answer of a streamed item; panics on an error answer.
#[track_caller]
fn ingested(answer: &pb::StreamIngestTicketsResponse) -> &pb::IngestTicketResponse {
    match &answer.result {
        Some(Answer::Ingested(ingested)) => ingested,
        other => panic!("item {:?} was not ingested: {other:?}", answer.item_id),
    }
}

/// The error answer of a streamed item; panics when it was ingested.
#[track_caller]
fn refused(answer: &pb::StreamIngestTicketsResponse) -> &tonic_types::pb::Status {
    match &answer.result {
        Some(Answer::Error(status)) => status,
        other => panic!("item {:?} should have been refused: {other:?}", answer.item_id),
    }
}

/// The item was refused with INVALID_ARGUMENT, an ErrorInfo and a BadRequest naming exactly
/// `field`, as a unary call would be.
#[track_caller]
fn assert_item_invalid(answer: &pb::StreamIngestTicketsResponse, field: &str) {
    let error = refused(answer);
    assert_eq!(error.code, Code::InvalidArgument as i32, "{}: {error:?}", answer.item_id);
    let fields: Vec<String> = error
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, [field], "{}: {error:?}", answer.item_id);
    let info = error.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.domain, "steward.dev", "{error:?}");
}

fn all_tickets() -> pb::ListTicketsRequest {
    pb::ListTicketsRequest { page_size: 1000, include_deleted: true, ..Default::default() }
}

fn by_key(external_id: &str) -> pb::GetTicketRequest {
    pb::GetTicketRequest {
        key: Some(pb::get_ticket_request::Key::SourceKey(pb::SourceKey {
            source: pb::Source::Zendesk as i32,
            source_instance: "acme".into(),
            external_id: external_id.into(),
        })),
    }
}

const TEN_THOUSAND: usize = 10_000;

/// Makes a valid item invalid in one way.
type Breakage = Box<dyn Fn(&mut pb::StreamIngestTicketsRequest)>;

/// The item's ticket.
fn t(r: &mut pb::StreamIngestTicketsRequest) -> &mut pb::Ticket {
    r.ticket.as_mut().expect("a ticket")
}

/// The bad items of the big stream: position, the field its error must name, and the
/// breakage (each keeps a distinct external id so that "not stored" is checkable by key).
fn breakages() -> Vec<(usize, &'static str, Breakage)> {
    vec![
        (4_000, "ticket.external_id", Box::new(|r| t(r).external_id.clear())),
        (4_001, "ticket.status", Box::new(|r| t(r).status = 99)),
        (
            5_000,
            "ticket.created_time",
            // Created after its update.
            Box::new(|r| t(r).created_time = ts(at(60))),
        ),
        (5_500, "ticket.source", Box::new(|r| t(r).source = 0)),
        (6_999, "ticket.source_update_time", Box::new(|r| t(r).source_update_time = None)),
        (7_000, "ticket", Box::new(|r| r.ticket = None)),
    ]
}

fn big_stream() -> Vec<pb::StreamIngestTicketsRequest> {
    let mut items: Vec<_> =
        (0..TEN_THOUSAND).map(|i| item(&format!("item-{i}"), ticket(&format!("s-{i}")))).collect();
    for (position, _, break_it) in breakages() {
        break_it(&mut items[position]);
    }
    items
}

#[tokio::test]
async fn ten_thousand_items_with_bad_ones_in_the_middle_then_a_replay() {
    let mut s = start().await;
    let bad: Vec<(usize, &str)> = breakages().into_iter().map(|(i, f, _)| (i, f)).collect();
    let is_bad = |i: usize| bad.iter().any(|(b, _)| *b == i);

    let started = Instant::now();
    let (answers, end) = stream_all(&mut s.client, big_stream()).await;
    let first_pass = started.elapsed();
    end.expect("the stream ends with OK after the last answer");
    assert_eq!(answers.len(), TEN_THOUSAND, "one answer per item");
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.item_id, format!("item-{i}"), "answers come in request order");
    }
    for (position, field) in &bad {
        assert_item_invalid(&answers[*position], field);
    }
    let mut names = BTreeSet::new();
    for (i, answer) in answers.iter().enumerate().filter(|(i, _)| !is_bad(*i)) {
        let ingested = ingested(answer);
        assert_eq!(ingested.outcome(), pb::IngestOutcome::Created, "item {i}");
        assert_eq!(ingested.events, [pb::TicketEventKind::Created as i32], "item {i}");
        assert!(names.insert(ingested.ticket.clone()), "item {i}: a name of its own");
    }

    let stored = list_all(&mut s.client, all_tickets()).await;
    assert_eq!(stored.len(), TEN_THOUSAND - bad.len(), "every valid item stored, no bad one");
    let stored_names: BTreeSet<String> = stored.iter().map(|t| t.name.clone()).collect();
    assert_eq!(stored_names, names, "the answered names are the stored tickets");
    let stored_ids: BTreeSet<&str> = stored.iter().map(|t| t.external_id.as_str()).collect();
    for (position, field) in &bad {
        let id = format!("s-{position}");
        assert!(!stored_ids.contains(id.as_str()), "the bad item {position} ({field}) is stored");
    }
    let err = s.client.get_ticket(by_key("s-4001")).await.expect_err("refused item");
    assert_code(&err, Code::NotFound, "TICKET_NOT_FOUND");

    // The same stream again, as an adapter retrying a backfill would send it.
    let started = Instant::now();
    let (replay, end) = stream_all(&mut s.client, big_stream()).await;
    let second_pass = started.elapsed();
    end.expect("the replay ends with OK");
    assert_eq!(replay.len(), TEN_THOUSAND);
    for (i, (again, first)) in replay.iter().zip(&answers).enumerate() {
        assert_eq!(again.item_id, first.item_id);
        if is_bad(i) {
            assert_eq!(again, first, "item {i} is refused the same way");
            continue;
        }
        let again = ingested(again);
        assert_eq!(again.outcome(), pb::IngestOutcome::Unchanged, "item {i}");
        assert_eq!(again.ticket, ingested(first).ticket, "item {i}: the same ticket");
        assert!(again.events.is_empty(), "item {i}: no events on a replay");
    }
    let after_replay = list_all(&mut s.client, all_tickets()).await;
    assert_eq!(after_replay.len(), stored.len());
    for (after, before) in after_replay.iter().zip(&stored) {
        assert_eq!(after.name, before.name);
        assert_eq!(after.update_time, before.update_time, "{}: the replay wrote", after.name);
        assert_eq!(after.etag, before.etag, "{}: the replay wrote", after.name);
        assert_eq!(after, before, "{}: the replay changed the ticket", after.name);
    }
    eprintln!("10k stream: first pass {first_pass:?}, replay {second_pass:?}");
}

#[tokio::test]
async fn one_ticket_several_times_in_one_stream_is_ordered_by_its_key() {
    let mut s = start().await;
    let created = ticket("77");
    let mut open = ticket("77");
    open.status = pb::TicketStatus::Open as i32;
    open.status_raw = "open".into();
    open.source_update_time = ts(at(10));
    let mut older = ticket("77");
    older.status = pb::TicketStatus::Pending as i32;
    older.status_raw = "pending".into();
    older.source_update_time = ts(at(5));
    let items = vec![
        item("a", created),
        item("b", open.clone()),
        item("c", older),
        item("d", open),
        item("e", ticket("78")),
    ];
    let (answers, end) = stream_all(&mut s.client, items).await;
    end.expect("OK");
    let ids: Vec<&str> = answers.iter().map(|a| a.item_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    use pb::IngestOutcome::*;
    let outcomes: Vec<_> = answers.iter().map(|a| ingested(a).outcome()).collect();
    assert_eq!(outcomes, [Created, Updated, Stale, Unchanged, Created]);
    let name = ingested(&answers[0]).ticket.clone();
    for answer in &answers[1..4] {
        assert_eq!(ingested(answer).ticket, name, "one ticket, one name");
    }
    assert_eq!(ingested(&answers[1]).events, [pb::TicketEventKind::StatusChanged as i32]);
    assert!(ingested(&answers[2]).events.is_empty(), "a stale snapshot records nothing");

    let stored = get(&mut s.client, &name).await;
    assert_eq!(stored.status(), pb::TicketStatus::Open, "the older snapshot did not regress it");
    assert_eq!(stored.source_update_time, ts(at(10)));
    use pb::TicketEventKind as E;
    assert_eq!(event_kinds(&mut s.client, &name).await, [E::Created, E::StatusChanged]);
    assert_eq!(list_all(&mut s.client, all_tickets()).await.len(), 2);
}

/// Round `round` of ticket `n` in [`rounds_stream`]: created, then opened (newer), an older
/// pending snapshot, the opened one again, and the opened one with a newer key only.
fn round(n: usize, round: usize) -> pb::StreamIngestTicketsRequest {
    let mut t = ticket(&format!("r-{n}"));
    if round > 0 {
        t.status = pb::TicketStatus::Open as i32;
        t.status_raw = "open".into();
        t.source_update_time = ts(at(10));
    }
    match round {
        2 => {
            t.status = pb::TicketStatus::Pending as i32;
            t.status_raw = "pending".into();
            t.source_update_time = ts(at(5));
        }
        4 => t.source_update_time = ts(at(20)),
        _ => {}
    }
    item(&format!("{n}/{round}"), t)
}

/// Every ticket's round 0, then every ticket's round 1, and so on: one ticket's snapshots
/// are 300 items apart, so they fall in different batches, written while the earlier ones
/// may still be in flight.
fn rounds_stream(rounds: usize) -> Vec<pb::StreamIngestTicketsRequest> {
    (0..rounds).flat_map(|r| (0..300).map(move |n| round(n, r))).collect()
}

#[tokio::test]
async fn snapshots_of_one_ticket_in_different_batches_are_ordered_by_its_key() {
    let mut s = start().await;
    use pb::IngestOutcome::*;
    let (answers, end) = stream_all(&mut s.client, rounds_stream(5)).await;
    end.expect("OK");
    assert_eq!(answers.len(), 1500);
    let expected = [Created, Updated, Stale, Unchanged, Unchanged];
    for (i, answer) in answers.iter().enumerate() {
        let (r, n) = (i / 300, i % 300);
        assert_eq!(answer.item_id, format!("{n}/{r}"), "answers come in request order");
        assert_eq!(ingested(answer).outcome(), expected[r], "ticket {n}, round {r}");
        assert_eq!(ingested(answer).ticket, ingested(&answers[n]).ticket, "one name per ticket");
    }
    use pb::TicketEventKind as E;
    let name = ingested(&answers[7]).ticket.clone();
    assert_eq!(event_kinds(&mut s.client, &name).await, [E::Created, E::StatusChanged]);
    let stored = list_all(&mut s.client, all_tickets()).await;
    assert_eq!(stored.len(), 300);
    for t in &stored {
        assert_eq!(t.status(), pb::TicketStatus::Open, "{}: regressed", t.name);
        assert_eq!(t.source_update_time, ts(at(20)), "{}: the newest key is kept", t.name);
    }

    // A replay: every snapshot is now older than or equal to the stored one, nothing written.
    let (replay, end) = stream_all(&mut s.client, rounds_stream(5)).await;
    end.expect("OK");
    for (i, answer) in replay.iter().enumerate() {
        let expected = if i / 300 == 4 { Unchanged } else { Stale };
        assert_eq!(ingested(answer).outcome(), expected, "item {}", answer.item_id);
    }
    assert_eq!(list_all(&mut s.client, all_tickets()).await, stored, "the replay wrote");

    // A replay with one ticket moved on in its last round: that one is written, in order.
    let mut items = rounds_stream(5);
    let last = items.len() - 1;
    t(&mut items[last]).status = pb::TicketStatus::Solved as i32;
    t(&mut items[last]).status_raw = "solved".into();
    t(&mut items[last]).source_update_time = ts(at(30));
    let (answers, end) = stream_all(&mut s.client, items).await;
    end.expect("OK");
    assert_eq!(ingested(&answers[last]).outcome(), Updated);
    assert_eq!(ingested(&answers[last - 1]).outcome(), Unchanged);
    let name = ingested(&answers[last]).ticket.clone();
    assert_eq!(get(&mut s.client, &name).await.status(), pb::TicketStatus::Solved);
}

#[tokio::test]
async fn an_over_long_item_id_is_refused_alone() {
    let mut s = start().await;
    let long = "x".repeat(129);
    let longest = "y".repeat(128);
    let items = vec![
        item("first", ticket("81")),
        item(&long, ticket("82")),
        item(&longest, ticket("83")),
        // An empty id is fine: the answer correlates by position.
        item("", ticket("84")),
    ];
    let (answers, end) = stream_all(&mut s.client, items).await;
    end.expect("OK");
    assert_eq!(answers.len(), 4);
    let ids: Vec<&str> = answers.iter().map(|a| a.item_id.as_str()).collect();
    assert_eq!(ids, ["first", long.as_str(), longest.as_str(), ""], "ids are echoed");
    assert_eq!(ingested(&answers[0]).outcome(), pb::IngestOutcome::Created);
    assert_item_invalid(&answers[1], "item_id");
    assert_eq!(ingested(&answers[2]).outcome(), pb::IngestOutcome::Created, "128 is allowed");
    assert_eq!(ingested(&answers[3]).outcome(), pb::IngestOutcome::Created);

    let err = s.client.get_ticket(by_key("82")).await.expect_err("refused item");
    assert_code(&err, Code::NotFound, "TICKET_NOT_FOUND");
    let stored: BTreeSet<String> =
        list_all(&mut s.client, all_tickets()).await.into_iter().map(|t| t.external_id).collect();
    assert_eq!(stored, BTreeSet::from(["81".to_owned(), "83".to_owned(), "84".to_owned()]));
}

#[tokio::test]
async fn each_answer_comes_once_its_item_is_committed_and_half_close_ends_with_ok() {
    let mut s = start().await;
    let (tx, rx) = mpsc::channel(4);
    let mut answers = s
        .client
        .stream_ingest_tickets(ReceiverStream::new(rx))
        .await
        .expect("stream opens")
        .into_inner();
    let mut reader = s.client.clone();
    for i in 0..3 {
        let id = format!("step-{i}");
        tx.send(item(&id, ticket(&format!("9{i}")))).await.expect("send");
        let answer = answers.message().await.expect("an answer").expect("not the end");
        assert_eq!(answer.item_id, id);
        let name = ingested(&answer).ticket.clone();
        // The stream is still open: the answered item is already readable.
        assert_eq!(get(&mut reader, &name).await.external_id, format!("9{i}"));
    }
    drop(tx); // half-close
    let end = answers.message().await.expect("the stream ends with OK");
    assert!(end.is_none(), "no answer after the last item: {end:?}");

    // A stream with no items at all is answered with OK straight away.
    let (answers, end) = stream_all(&mut s.client, Vec::new()).await;
    end.expect("OK");
    assert!(answers.is_empty());
}

#[tokio::test]
async fn a_token_without_the_ingest_scope_ends_the_stream() {
    let s = start().await;
    let mut reader = pb::ticket_ingest_service_client::TicketIngestServiceClient::new(
        s.ticket.channel_with(READ_TOKEN),
    );
    let (answers, end) = stream_all(&mut reader, vec![item("a", ticket("1"))]).await;
    assert!(answers.is_empty(), "{answers:?}");
    let err = end.expect_err("refused");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let mut admin = s.client.clone();
    assert!(list_all(&mut admin, all_tickets()).await.is_empty(), "nothing stored");
}
