//! ListTickets (filters, orders, keyset pagination that stays stable while tickets arrive,
//! bad requests) and ListTicketEvents (pagination, unknown tickets).

use steward_proto::google::r#type::Interval;
use steward_proto::ticket::v1 as pb;
use tonic::Code;

use crate::support::*;

use pb::TicketPriority as P;
use pb::TicketStatus as S;

/// The external ids of `tickets`, in order.
fn ids(tickets: &[pb::Ticket]) -> Vec<String> {
    tickets.iter().map(|t| t.external_id.clone()).collect()
}

async fn listed(client: &mut Client, req: pb::ListTicketsRequest) -> Vec<String> {
    ids(&list_all(client, req).await)
}

fn interval(start: Option<i64>, end: Option<i64>) -> Option<Interval> {
    Some(Interval {
        start_time: start.and_then(|m| ts(at(m))),
        end_time: end.and_then(|m| ts(at(m))),
    })
}

/// A ticket created at minute `created`, its snapshot taken at minute `updated`.
fn make(
    id: &str,
    source: pb::Source,
    created: i64,
    updated: i64,
    status: S,
    priority: P,
    category: &str,
) -> pb::Ticket {
    let mut t = ticket(id);
    t.source = source as i32;
    t.created_time = ts(at(created));
    t.source_update_time = ts(at(updated));
    t.status = status as i32;
    t.status_raw = String::new();
    t.priority = priority as i32;
    t.category = category.into();
    t
}

fn of_org(mut t: pb::Ticket) -> pb::Ticket {
    t.account_ref =
        Some(pb::PartyRef { id: "org-a".into(), system: "zendesk".into(), ..Default::default() });
    t
}

/// Six tickets; l6 is deleted.
///
/// | id | source    | created | updated | status  | priority | category | account |
/// |----|-----------|---------|---------|---------|----------|----------|---------|
/// | l1 | Zendesk   | 0       | 5       | NEW     | NORMAL   | Billing  | A       |
/// | l2 | Zendesk   | 10      | 50      | OPEN    | HIGH     | billing  | A       |
/// | l3 | Freshdesk | 20      | 30      | PENDING | LOW      | Login    | none    |
/// | l4 | Zendesk   | 30      | 40      | SOLVED  | URGENT   |          | none (unknown domain) |
/// | l5 | Intercom  | 40      | 45      | CLOSED  | (none)   | Feature  | A (a Zendesk ref) |
/// | l6 | Zendesk   | 50      | 60      | NEW     | NORMAL   | Billing  | A, deleted |
async fn fixture(s: &mut Suite) -> String {
    let account = create_account(&mut s.accounts, "Alpha", "alpha.example", Some("org-a")).await;
    use pb::Source::{Freshdesk, Intercom, Zendesk};
    let l1 = of_org(make("l1", Zendesk, 0, 5, S::New, P::Normal, "Billing"));
    let l2 = of_org(make("l2", Zendesk, 10, 50, S::Open, P::High, "billing"));
    let l3 = make("l3", Freshdesk, 20, 30, S::Pending, P::Low, "Login");
    let mut l4 = make("l4", Zendesk, 30, 40, S::Solved, P::Urgent, "");
    l4.requester = requester("someone@unknown.example");
    l4.resolved_time = ts(at(40));
    l4.first_resolved_time = ts(at(40));
    let mut l5 = of_org(make("l5", Intercom, 40, 45, S::Closed, P::Unspecified, "Feature"));
    l5.closed_time = ts(at(45));
    let l6 = of_org(make("l6", Zendesk, 50, 55, S::New, P::Normal, "Billing"));
    for (t, linked) in
        [(l1, true), (l2, true), (l3, false), (l4, false), (l5, true), (l6.clone(), true)]
    {
        let id = t.external_id.clone();
        let answer = ingest(&mut s.client, t).await;
        assert_eq!(answer.account.is_empty(), !linked, "{id}: {answer:?}");
    }
    let mut deleted = l6;
    deleted.deleted = true;
    deleted.source_update_time = ts(at(60));
    ingest(&mut s.client, deleted).await;
    account
}

#[tokio::test]
async fn filters_select_the_tickets() {
    let mut s = start().await;
    let account = fixture(&mut s).await;
    let all = pb::ListTicketsRequest::default;
    let c = &mut s.client;

    assert_eq!(listed(c, all()).await, ["l5", "l4", "l3", "l2", "l1"], "newest first, l6 deleted");
    assert_eq!(
        listed(c, pb::ListTicketsRequest { account: account.clone(), ..all() }).await,
        ["l5", "l2", "l1"]
    );
    assert_eq!(listed(c, pb::ListTicketsRequest { unlinked: true, ..all() }).await, ["l4", "l3"]);
    let unlinked = list_all(c, pb::ListTicketsRequest { unlinked: true, ..all() }).await;
    assert!(unlinked.iter().all(|t| t.account.is_empty()));
    assert!(unlinked.iter().all(|t| t.link_state() == pb::LinkState::Unlinked));
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest { statuses: vec![S::New as i32, S::Pending as i32], ..all() }
        )
        .await,
        ["l3", "l1"]
    );
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest {
                priorities: vec![P::Unspecified as i32, P::Urgent as i32],
                ..all()
            }
        )
        .await,
        ["l5", "l4"],
        "UNSPECIFIED = tickets without a priority"
    );
    assert_eq!(
        listed(c, pb::ListTicketsRequest { categories: vec!["BILLING".into()], ..all() }).await,
        ["l2", "l1"],
        "categories match case-insensitively"
    );
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest { categories: vec!["login".into(), "FeAtUrE".into()], ..all() }
        )
        .await,
        ["l5", "l3"]
    );
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest {
                sources: vec![pb::Source::Freshdesk as i32, pb::Source::Intercom as i32],
                ..all()
            }
        )
        .await,
        ["l5", "l3"]
    );
    // Intervals are [start, end); an unset bound is open.
    assert_eq!(
        listed(c, pb::ListTicketsRequest { created: interval(Some(10), Some(40)), ..all() }).await,
        ["l4", "l3", "l2"]
    );
    assert_eq!(
        listed(c, pb::ListTicketsRequest { created: interval(Some(30), None), ..all() }).await,
        ["l5", "l4"]
    );
    assert_eq!(
        listed(c, pb::ListTicketsRequest { created: interval(None, Some(10)), ..all() }).await,
        ["l1"]
    );
    // `updated` is by source_update_time: l4 at 40 and l5 at 45 (l2 at 50 is out).
    assert_eq!(
        listed(c, pb::ListTicketsRequest { updated: interval(Some(40), Some(50)), ..all() }).await,
        ["l5", "l4"]
    );
    assert_eq!(
        listed(c, pb::ListTicketsRequest { include_deleted: true, ..all() }).await,
        ["l6", "l5", "l4", "l3", "l2", "l1"]
    );
    let deleted = list_all(
        c,
        pb::ListTicketsRequest { include_deleted: true, account: account.clone(), ..all() },
    )
    .await;
    assert_eq!(ids(&deleted), ["l6", "l5", "l2", "l1"]);
    assert!(deleted[0].deleted);
    // Filters combine with AND.
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest {
                account: account.clone(),
                statuses: vec![S::New as i32],
                include_deleted: false,
                ..all()
            }
        )
        .await,
        ["l1"]
    );
    assert_eq!(
        listed(
            c,
            pb::ListTicketsRequest {
                categories: vec!["billing".into()],
                priorities: vec![P::High as i32],
                ..all()
            }
        )
        .await,
        ["l2"]
    );
}

#[tokio::test]
async fn orders_by_created_or_updated_time() {
    let mut s = start().await;
    fixture(&mut s).await;
    let order = |o: &str| pb::ListTicketsRequest { order_by: o.into(), ..Default::default() };
    let c = &mut s.client;
    assert_eq!(listed(c, order("created_time desc")).await, ["l5", "l4", "l3", "l2", "l1"]);
    assert_eq!(listed(c, order("created_time")).await, ["l1", "l2", "l3", "l4", "l5"]);
    // By source_update_time: l1 5, l3 30, l4 40, l5 45, l2 50.
    assert_eq!(listed(c, order("updated_time desc")).await, ["l2", "l5", "l4", "l3", "l1"]);
    assert_eq!(listed(c, order("updated_time")).await, ["l1", "l3", "l4", "l5", "l2"]);
    // Page by page, the same orders.
    for o in ["", "created_time", "updated_time desc", "updated_time"] {
        let whole = listed(c, order(o)).await;
        let paged = listed(c, pb::ListTicketsRequest { page_size: 2, ..order(o) }).await;
        assert_eq!(paged, whole, "order {o:?} in pages of 2");
    }
}

#[tokio::test]
async fn bad_list_requests_are_refused() {
    let mut s = start().await;
    let account = fixture(&mut s).await;
    let c = &mut s.client;
    let err = c
        .list_tickets(pb::ListTicketsRequest { order_by: "priority".into(), ..Default::default() })
        .await
        .expect_err("unknown order");
    assert_invalid(&err, "order_by");
    let err = c
        .list_tickets(pb::ListTicketsRequest {
            account: account.clone(),
            unlinked: true,
            ..Default::default()
        })
        .await
        .expect_err("account and unlinked");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(!violations(&err).is_empty(), "{err:?}");
    let err = c
        .list_tickets(pb::ListTicketsRequest { account: "alpha".into(), ..Default::default() })
        .await
        .expect_err("malformed account");
    assert_invalid(&err, "account");
    let err = c
        .list_tickets(pb::ListTicketsRequest {
            created: interval(Some(30), Some(10)),
            ..Default::default()
        })
        .await
        .expect_err("reversed interval");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).iter().all(|v| v.starts_with("created")), "{err:?}");

    // A page token is valid only with the filters and order it came from.
    let first = pb::ListTicketsRequest { page_size: 2, ..Default::default() };
    let page = c.list_tickets(first.clone()).await.expect("first page").into_inner();
    assert!(!page.next_page_token.is_empty());
    let token = page.next_page_token;
    let others = [
        pb::ListTicketsRequest { statuses: vec![S::New as i32], ..first.clone() },
        pb::ListTicketsRequest { order_by: "created_time".into(), ..first.clone() },
        pb::ListTicketsRequest { account: account.clone(), ..first.clone() },
        pb::ListTicketsRequest { include_deleted: true, ..first.clone() },
    ];
    for req in others {
        let req = pb::ListTicketsRequest { page_token: token.clone(), ..req };
        let err = c.list_tickets(req.clone()).await.expect_err("token of another query");
        assert_invalid(&err, "page_token");
    }
    // Another page size is the same query.
    let req = pb::ListTicketsRequest { page_size: 3, page_token: token, ..first.clone() };
    let next = c.list_tickets(req).await.expect("same query").into_inner();
    assert_eq!(ids(&next.tickets), ["l3", "l2", "l1"]);
    let req = pb::ListTicketsRequest { page_token: "not a token".into(), ..first };
    let err = c.list_tickets(req).await.expect_err("garbage token");
    assert_invalid(&err, "page_token");
}

/// Twenty-five tickets, three to a minute (so ties are broken by name), listed in pages of
/// seven while other tickets arrive and existing ones change between pages: each original
/// ticket is seen exactly once, in the order a single read gives.
#[tokio::test]
async fn pages_stay_stable_while_tickets_arrive() {
    let mut s = start().await;
    for i in 0..25 {
        let mut t = ticket(&format!("p{i:02}"));
        t.created_time = ts(at(i / 3));
        t.source_update_time = ts(at(100));
        ingest(&mut s.client, t).await;
    }
    for order in ["created_time desc", "created_time"] {
        let base = pb::ListTicketsRequest { order_by: order.into(), ..Default::default() };
        let whole =
            list_all(&mut s.client, pb::ListTicketsRequest { page_size: 1000, ..base.clone() })
                .await;
        let originals: Vec<String> = whole
            .iter()
            .filter(|t| t.external_id.starts_with('p'))
            .map(|t| t.name.clone())
            .collect();
        assert_eq!(originals.len(), 25);
        let times: Vec<i64> = whole
            .iter()
            .filter(|t| t.external_id.starts_with('p'))
            .map(|t| t.created_time.as_ref().map_or(0, |t| t.seconds))
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        if order == "created_time desc" {
            sorted.reverse();
        }
        assert_eq!(times, sorted, "{order}: ordered by created_time");

        let mut seen = Vec::new();
        let mut req = pb::ListTicketsRequest { page_size: 7, ..base };
        let mut pages = 0;
        loop {
            let page = s.client.list_tickets(req.clone()).await.expect("page").into_inner();
            assert!(page.tickets.len() <= 7);
            seen.extend(
                page.tickets
                    .iter()
                    .filter(|t| t.external_id.starts_with('p'))
                    .map(|t| t.name.clone()),
            );
            pages += 1;
            // Between pages: new tickets older, newer and as old as the originals, and a
            // change to an original ticket.
            for (k, minute) in [(0, -60), (1, 500), (2, 4)] {
                let mut t = ticket(&format!("new-{order}-{pages}-{k}"));
                t.created_time = ts(at(minute));
                t.source_update_time = ts(at(600));
                ingest(&mut s.client, t).await;
            }
            let mut changed = ticket(&format!("p{:02}", pages % 25));
            changed.created_time = ts(at((pages % 25) / 3));
            changed.subject = format!("changed while listing {order}, page {pages}");
            changed.source_update_time = ts(at(200 + pages));
            assert_eq!(ingest(&mut s.client, changed).await.outcome(), pb::IngestOutcome::Updated);
            if page.next_page_token.is_empty() {
                break;
            }
            req.page_token = page.next_page_token;
            assert!(pages < 50, "the listing should end");
        }
        assert_eq!(seen, originals, "{order}: each original exactly once, in order");
    }
}

#[tokio::test]
async fn ticket_events_are_paged_oldest_first() {
    let mut s = start().await;
    let mut t = ticket("e1");
    let name = ingest(&mut s.client, t.clone()).await.ticket;
    // NEW → OPEN → PENDING → OPEN → SOLVED → OPEN (reopened), with a priority change.
    for (minute, status) in
        [(10, S::Open), (20, S::Pending), (30, S::Open), (40, S::Solved), (50, S::Open)]
    {
        t.status = status as i32;
        t.status_raw = String::new();
        t.source_update_time = ts(at(minute));
        if status == S::Solved {
            t.resolved_time = ts(at(minute));
            t.first_resolved_time = ts(at(minute));
        } else {
            t.resolved_time = None;
        }
        if minute == 50 {
            t.last_reopened_time = ts(at(minute));
            t.priority = P::Urgent as i32;
        }
        ingest(&mut s.client, t.clone()).await;
    }
    let req =
        pb::ListTicketEventsRequest { parent: name.clone(), page_size: 1000, ..Default::default() };
    let whole = s.client.list_ticket_events(req).await.expect("events").into_inner();
    assert!(whole.next_page_token.is_empty());
    let kinds: Vec<pb::TicketEventKind> = whole.events.iter().map(|e| e.kind()).collect();
    use pb::TicketEventKind::*;
    assert_eq!(kinds[0], Created);
    for kind in [StatusChanged, Solved, Reopened, PriorityChanged] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(whole.events.len() >= 8, "{kinds:?}");
    assert!(whole.events.iter().all(|e| e.name.starts_with(&format!("{name}/events/"))));

    let mut paged = Vec::new();
    let mut req =
        pb::ListTicketEventsRequest { parent: name.clone(), page_size: 3, ..Default::default() };
    loop {
        let page = s.client.list_ticket_events(req.clone()).await.expect("page").into_inner();
        assert!(page.events.len() <= 3);
        paged.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    assert_eq!(paged, whole.events, "pages of 3 give the same events in the same order");

    let unknown = pb::ListTicketEventsRequest {
        parent: "tickets/0190f0f0-0000-7000-8000-000000000000".into(),
        ..Default::default()
    };
    let err = s.client.list_ticket_events(unknown).await.expect_err("unknown ticket");
    assert_code(&err, Code::NotFound, "TICKET_NOT_FOUND");
    let bad = pb::ListTicketEventsRequest { parent: "e1".into(), ..Default::default() };
    let err = s.client.list_ticket_events(bad).await.expect_err("malformed parent");
    assert_invalid(&err, "parent");
}
