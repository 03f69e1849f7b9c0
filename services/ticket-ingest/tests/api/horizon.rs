//! Summaries read only the tickets that can count in their windows (open now, or with a
//! time inside them), yet every figure and the account's span stay those of all its tickets.
//!
//! Hours after `at(0)`; as of h168 with a 7-day window and one history window, the summary
//! looks back to h-168. Every ticket below was created long before that.

use steward_proto::ticket::v1 as pb;

use crate::support::*;

use pb::TicketPriority as P;
use pb::TicketStatus as S;

/// `hour` as a timestamp.
fn h(hour: i64) -> Option<prost_types::Timestamp> {
    ts(at(hour * 60))
}

/// A ticket of `org-a` created at `created`, solved at `solved`, the snapshot taken then.
fn solved(id: &str, created: i64, solved: i64) -> pb::Ticket {
    let mut t = ticket_of(id, "org-a", created, P::Normal);
    t.status = S::Solved as i32;
    t.status_raw = String::new();
    (t.first_response_time, t.first_resolved_time, t.resolved_time) =
        (h(solved), h(solved), h(solved));
    t.source_update_time = h(solved);
    t
}

#[tokio::test]
async fn old_tickets_count_where_they_reach_into_the_windows() {
    let mut s = start().await;
    let a = create_account(&mut s.accounts, "Alpha", "alpha.example", Some("org-a")).await;
    let mut put = async |t: pb::Ticket| {
        let answer = ingest(&mut s.client, t).await;
        assert_eq!(answer.account, a);
        answer.ticket
    };
    // Out of every window: solved long ago.
    put(solved("settled", -2000, -1990)).await;
    // Open since long ago: in the backlog at both window ends.
    let mut open = ticket_of("open", "org-a", -2000, P::High);
    open.status = S::Open as i32;
    put(open).await;
    // Solved long ago, rated inside the current window: a CSAT response of it.
    let mut rated = solved("rated", -2000, -1990);
    rated.csat = Some(pb::CsatRating {
        sentiment: pb::CsatSentiment::Bad as i32,
        rate_time: h(10),
        ..Default::default()
    });
    rated.source_update_time = h(10);
    put(rated).await;
    // Solved long ago, reopened in the current window and still open: backlog again.
    put(solved("reopened", -2000, -1990)).await;
    let mut reopened = solved("reopened", -2000, -1990);
    reopened.status = S::Open as i32;
    (reopened.resolved_time, reopened.last_reopened_time) = (None, h(20));
    reopened.source_update_time = h(20);
    put(reopened).await;
    // The newest ingest, of the oldest ticket: out of every window, yet it sets the span.
    let oldest = put(solved("backfilled", -3000, -2990)).await;
    let oldest = get(&mut s.client, &oldest).await;

    let got = s
        .client
        .get_support_summary(pb::GetSupportSummaryRequest {
            account: a.clone(),
            window: Some(prost_types::Duration { seconds: 7 * 86_400, nanos: 0 }),
            as_of: h(168),
            history_windows: 1,
        })
        .await
        .expect("summary")
        .into_inner();
    let current = got.current.expect("current");
    let previous = got.previous.expect("previous");
    assert_eq!((current.tickets_created, previous.tickets_created), (0, 0));
    assert_eq!(got.tickets_created_history, [0]);
    assert_eq!(previous.open_backlog, 1, "open; reopened was solved then");
    assert_eq!(current.open_backlog, 2, "open and reopened");
    assert_eq!(current.csat_responses, 1, "rated in the window");
    assert_eq!(current.csat_good_share, Some(0.0));
    assert_eq!(current.reopen_rate, None, "first resolved long before the window");
    assert_eq!(got.first_ticket_create_time, h(-3000));
    assert_eq!(got.data_time, oldest.ingest_time, "the newest ingest");
}
