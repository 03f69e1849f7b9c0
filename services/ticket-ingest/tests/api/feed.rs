//! The support change feed (ListSupportChanges, WatchSupportChanges): one SupportChange per
//! account per ingest transaction, with its kinds in enum order and the tickets by name;
//! UNCHANGED, STALE and unlinked tickets append nothing; linking and moving tickets append
//! TICKET_LINKED / TICKET_UNLINKED; cursors resume; a watch delivers later commits.
//!
//! Entries become visible at a cluster-wide safe point, not at commit: every check waits
//! (with `eventually`) for the entries it expects rather than assuming read-your-writes.

use std::time::Duration;

use steward_proto::ticket::v1 as pb;
use tonic::Code;

use crate::support::*;

use pb::SupportChangeKind as K;

/// Every change after `cursor`, oldest first, following the pages.
async fn changes_after(client: &mut Client, cursor: &str) -> Vec<pb::SupportChange> {
    let mut out = Vec::new();
    let mut after = cursor.to_owned();
    loop {
        let req = pb::ListSupportChangesRequest { after_cursor: after.clone(), page_size: 1000 };
        let page = client.list_support_changes(req).await.expect("list changes").into_inner();
        if page.changes.is_empty() {
            assert_eq!(page.next_cursor, after, "an empty page keeps the cursor");
            return out;
        }
        after = page.next_cursor;
        out.extend(page.changes);
    }
}

/// Waits until at least `n` changes follow `cursor`; all the changes after it.
async fn wait_changes(client: &Client, cursor: &str, n: usize) -> Vec<pb::SupportChange> {
    eventually(&format!("{n} support changes after {cursor:?}"), || {
        let mut client = client.clone();
        async move {
            let changes = changes_after(&mut client, cursor).await;
            (changes.len() >= n).then_some(changes)
        }
    })
    .await
}

/// Waits for the one change the last transaction appended after `cursor` (the entries of
/// one transaction become visible together, so seeing one means seeing all of them).
async fn next_change(client: &Client, cursor: &str) -> pb::SupportChange {
    let mut changes = wait_changes(client, cursor, 1).await;
    assert_eq!(changes.len(), 1, "one change per account per transaction: {changes:?}");
    changes.remove(0)
}

fn kinds(change: &pb::SupportChange) -> Vec<K> {
    change.kinds.iter().map(|k| K::try_from(*k).expect("a known kind")).collect()
}

/// `requester` on ticket `id`.
fn from(id: &str, email: &str) -> pb::Ticket {
    pb::Ticket { requester: requester(email), ..ticket(id) }
}

/// `change` is about `account`, `want` kinds, and the one ticket `name`.
#[track_caller]
fn assert_change(change: &pb::SupportChange, account: &str, want: &[K], name: &str) {
    assert_eq!(change.account, account, "{change:?}");
    assert_eq!(kinds(change), want, "{change:?}");
    assert_eq!(change.tickets, [name], "{change:?}");
    assert_eq!(change.ticket_count, 1, "{change:?}");
    assert!(!change.cursor.is_empty(), "{change:?}");
    assert!(change.commit_time.is_some(), "{change:?}");
}

#[tokio::test]
async fn each_ingest_appends_one_change_with_its_kinds_in_enum_order() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;

    let mut t = from("1", "jane@acme.com");
    let name = ingest(&mut s.client, t.clone()).await.ticket;
    let created = next_change(&s.client, "").await;
    assert_change(&created, &acme, &[K::TicketCreated], &name);

    // Solved, with a higher priority, in one snapshot.
    t.status = pb::TicketStatus::Solved as i32;
    t.status_raw = "solved".into();
    t.priority = pb::TicketPriority::Urgent as i32;
    t.resolved_time = ts(at(30));
    t.first_resolved_time = ts(at(30));
    t.source_update_time = ts(at(30));
    ingest(&mut s.client, t.clone()).await;
    let solved = next_change(&s.client, &created.cursor).await;
    assert_change(&solved, &acme, &[K::TicketUpdated, K::TicketSolved, K::PriorityChanged], &name);

    // A CSAT rating.
    t.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Good as i32,
        score_raw: "good".into(),
        rate_time: ts(at(40)),
        ..Default::default()
    });
    t.source_update_time = ts(at(40));
    ingest(&mut s.client, t.clone()).await;
    let rated = next_change(&s.client, &solved.cursor).await;
    assert_change(&rated, &acme, &[K::TicketUpdated, K::CsatRated], &name);

    // Reopened.
    t.status = pb::TicketStatus::Open as i32;
    t.status_raw = "open".into();
    t.resolved_time = None;
    t.last_reopened_time = ts(at(50));
    t.source_update_time = ts(at(50));
    ingest(&mut s.client, t.clone()).await;
    let reopened = next_change(&s.client, &rated.cursor).await;
    assert_change(&reopened, &acme, &[K::TicketUpdated, K::TicketReopened], &name);

    // Any other change: just updated.
    t.subject = "a new subject".into();
    t.source_update_time = ts(at(55));
    ingest(&mut s.client, t.clone()).await;
    let edited = next_change(&s.client, &reopened.cursor).await;
    assert_change(&edited, &acme, &[K::TicketUpdated], &name);

    // Deleted in the source, then restored.
    t.deleted = true;
    t.source_update_time = ts(at(60));
    ingest(&mut s.client, t.clone()).await;
    let deleted = next_change(&s.client, &edited.cursor).await;
    assert_change(&deleted, &acme, &[K::TicketUpdated, K::TicketDeleted], &name);
    t.deleted = false;
    t.source_update_time = ts(at(70));
    ingest(&mut s.client, t).await;
    let restored = next_change(&s.client, &deleted.cursor).await;
    assert_change(&restored, &acme, &[K::TicketUpdated], &name);

    // The whole feed is exactly these entries, in commit order.
    let all = changes_after(&mut s.client, "").await;
    assert_eq!(all, [created, solved, rated, reopened, edited, deleted, restored]);
}

#[tokio::test]
async fn unchanged_and_stale_ingests_append_nothing() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let first = from("1", "jane@acme.com");
    ingest(&mut s.client, first.clone()).await;
    let mut open = first.clone();
    open.status = pb::TicketStatus::Open as i32;
    open.status_raw = "open".into();
    open.source_update_time = ts(at(10));
    ingest(&mut s.client, open.clone()).await;
    let before = wait_changes(&s.client, "", 2).await;
    assert_eq!(before.len(), 2, "{before:?}");
    let cursor = before[1].cursor.clone();

    use pb::IngestOutcome::*;
    assert_eq!(ingest(&mut s.client, open.clone()).await.outcome(), Unchanged);
    assert_eq!(ingest(&mut s.client, first).await.outcome(), Stale);
    let mut touched = open;
    touched.source_update_time = ts(at(20)); // a newer key, the same content
    assert_eq!(ingest(&mut s.client, touched).await.outcome(), Unchanged);

    // A real change afterwards: once it is visible, anything committed before it would be.
    let marker = ingest(&mut s.client, from("2", "joe@acme.com")).await;
    assert_eq!(marker.outcome(), Created);
    let after = next_change(&s.client, &cursor).await;
    assert_change(&after, &acme, &[K::TicketCreated], &marker.ticket);
}

#[tokio::test]
async fn unlinked_tickets_append_nothing_until_linked_and_moves_are_reported_on_both_sides() {
    let mut s = start().await;
    let mut t = from("1", "ann@hooli.com");
    let name = ingest(&mut s.client, t.clone()).await.ticket;
    t.status = pb::TicketStatus::Open as i32;
    t.status_raw = "open".into();
    t.source_update_time = ts(at(10));
    assert_eq!(ingest(&mut s.client, t.clone()).await.outcome(), pb::IngestOutcome::Updated);

    // The account appears: the ticket is linked, and that is the first entry of the feed.
    let hooli = create_account(&mut s.accounts, "Hooli", "hooli.com", None).await;
    let linked = next_change(&s.client, "").await;
    assert_change(&linked, &hooli, &[K::TicketLinked], &name);

    // A snapshot naming another account's organization moves the ticket in one transaction.
    let initech = create_account(&mut s.accounts, "Initech", "initech.com", Some("org-5")).await;
    t.account_ref = Some(pb::PartyRef { id: "org-5".into(), ..Default::default() });
    t.source_update_time = ts(at(20));
    let moved = ingest(&mut s.client, t).await;
    assert_eq!(moved.account, initech);
    let mut both = wait_changes(&s.client, &linked.cursor, 1).await;
    assert_eq!(both.len(), 2, "one entry for each account: {both:?}");
    both.sort_by(|a, b| a.account.cmp(&b.account));
    let old = both.iter().find(|c| c.account == hooli).expect("an entry for the old account");
    assert_change(old, &hooli, &[K::TicketUnlinked], &name);
    let new = both.iter().find(|c| c.account == initech).expect("an entry for the new account");
    assert_change(new, &initech, &[K::TicketUpdated, K::TicketLinked], &name);
    let cursor = changes_after(&mut s.client, "").await.last().expect("entries").cursor.clone();

    // Its account is deleted: the ref matches nothing now, the email still does.
    let req = steward_proto::account::v1::DeleteAccountRequest {
        name: initech.clone(),
        etag: String::new(),
    };
    s.accounts.delete_account(req).await.expect("delete account");
    let back = wait_changes(&s.client, &cursor, 1).await;
    assert_eq!(back.len(), 2, "{back:?}");
    let old = back.iter().find(|c| c.account == initech).expect("the deleted account's entry");
    assert_change(old, &initech, &[K::TicketUnlinked], &name);
    let new = back.iter().find(|c| c.account == hooli).expect("the email's account entry");
    assert_change(new, &hooli, &[K::TicketLinked], &name);
    assert_eq!(get(&mut s.client, &name).await.account, hooli);
}

#[tokio::test]
async fn a_streamed_batch_appends_one_change_per_account() {
    let mut s = start().await;
    let a = create_account(&mut s.accounts, "A", "a.com", None).await;
    let b = create_account(&mut s.accounts, "B", "b.com", None).await;
    // 160 tickets of A and 10 of B, interleaved, small enough to arrive as one batch.
    let to_b = |i: &usize| i.is_multiple_of(17);
    let of_b = (0..170).filter(to_b).count();
    let items: Vec<pb::StreamIngestTicketsRequest> = (0..170)
        .map(|i| {
            let email = if to_b(&i) { "y@b.com" } else { "x@a.com" };
            let ticket = from(&format!("{i}"), email);
            pb::StreamIngestTicketsRequest { item_id: String::new(), ticket: Some(ticket) }
        })
        .collect();
    let mut inbound = s
        .client
        .stream_ingest_tickets(tokio_stream::iter(items))
        .await
        .expect("stream")
        .into_inner();
    let (mut names_a, mut names_b) = (Vec::new(), Vec::new());
    while let Some(answer) = inbound.message().await.expect("answer") {
        let Some(pb::stream_ingest_tickets_response::Result::Ingested(r)) = answer.result else {
            panic!("refused: {answer:?}")
        };
        match r.account {
            ref x if *x == a => names_a.push(r.ticket),
            ref x if *x == b => names_b.push(r.ticket),
            _ => panic!("not linked as expected: {r:?}"),
        }
    }
    names_a.sort();
    names_b.sort();
    assert_eq!((names_a.len(), names_b.len()), (170 - of_b, of_b));

    // The server writes whatever has arrived as one transaction, so the items normally make
    // one batch; how TCP delivers them is not in the test's hands, so it checks what holds for
    // any batching: an entry per account per transaction, not per ticket, and every ticket
    // counted once.
    let changes = wait_changes(&s.client, "", 2).await;
    let of = |account: &str| -> Vec<&pb::SupportChange> {
        changes.iter().filter(|c| c.account == account).collect()
    };
    let (for_a, for_b) = (of(&a), of(&b));
    assert!(
        for_a.len() <= 5,
        "A's {} tickets coalesce into a few entries: {}",
        names_a.len(),
        for_a.len()
    );
    let counted = |entries: &[&pb::SupportChange]| -> usize {
        entries.iter().map(|c| c.ticket_count as usize).sum()
    };
    assert_eq!(counted(&for_a), names_a.len(), "ticket_count counts them all");
    assert_eq!(counted(&for_b), names_b.len());
    assert!(for_a.iter().chain(&for_b).all(|c| kinds(c) == [K::TicketCreated]));
    if let [only] = for_a.as_slice() {
        assert_eq!(only.tickets, names_a[..100], "the first 100 tickets by name");
    }
}

#[tokio::test]
async fn cursors_resume_after_the_last_change_seen() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let mut names = Vec::new();
    for i in 0..3 {
        names.push(ingest(&mut s.client, from(&format!("{i}"), "jane@acme.com")).await.ticket);
    }
    let all = wait_changes(&s.client, "", 3).await;
    assert_eq!(all.len(), 3);
    for (change, name) in all.iter().zip(&names) {
        assert_change(change, &acme, &[K::TicketCreated], name);
    }
    assert_eq!(changes_after(&mut s.client, &all[0].cursor).await, all[1..]);
    assert_eq!(changes_after(&mut s.client, &all[2].cursor).await, []);

    // Page by page.
    let mut cursor = String::new();
    for want in &all {
        let req = pb::ListSupportChangesRequest { after_cursor: cursor.clone(), page_size: 1 };
        let page = s.client.list_support_changes(req).await.expect("page").into_inner();
        assert_eq!(page.changes, std::slice::from_ref(want));
        assert_eq!(page.next_cursor, want.cursor);
        cursor = page.next_cursor;
    }

    // A new change shows up after the last cursor, alone.
    let later = ingest(&mut s.client, from("9", "jane@acme.com")).await.ticket;
    let next = next_change(&s.client, &cursor).await;
    assert_change(&next, &acme, &[K::TicketCreated], &later);

    let req = pb::ListSupportChangesRequest { after_cursor: "not a cursor".into(), page_size: 0 };
    let err = s.client.list_support_changes(req).await.expect_err("malformed cursor");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_invalid(&err, "after_cursor");
}

#[tokio::test]
async fn a_watch_delivers_changes_committed_after_it_started() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let first = ingest(&mut s.client, from("1", "jane@acme.com")).await.ticket;
    let seen = next_change(&s.client, "").await;

    let req = pb::WatchSupportChangesRequest { after_cursor: seen.cursor.clone() };
    let mut watch = s.client.watch_support_changes(req).await.expect("watch").into_inner();
    let second = ingest(&mut s.client, from("2", "jane@acme.com")).await.ticket;
    let next = tokio::time::timeout(Duration::from_secs(20), watch.message())
        .await
        .expect("the change arrives within 20 s")
        .expect("the watch goes on")
        .expect("a change");
    assert_change(&next, &acme, &[K::TicketCreated], &second);
    assert_eq!(
        changes_after(&mut s.client, &seen.cursor).await,
        std::slice::from_ref(&next),
        "as listed"
    );

    // From the start, a watch first replays the retained changes.
    let req = pb::WatchSupportChangesRequest { after_cursor: String::new() };
    let mut replay = s.client.watch_support_changes(req).await.expect("watch").into_inner();
    for want in [&first, &second] {
        let change = tokio::time::timeout(Duration::from_secs(20), replay.message())
            .await
            .expect("replayed")
            .expect("the watch goes on")
            .expect("a change");
        assert_eq!(&change.tickets[0], want);
    }

    let req = pb::WatchSupportChangesRequest { after_cursor: "garbage".into() };
    let err = s.client.watch_support_changes(req).await.expect_err("malformed cursor");
    assert_invalid(&err, "after_cursor");
}
