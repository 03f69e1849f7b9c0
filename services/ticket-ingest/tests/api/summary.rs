//! GetSupportSummary and GetSupportKpis over a small fixed set of tickets, every figure
//! worked out by hand below, and the requests they refuse.
//!
//! Times are hours after `at(0)` = 2026-03-02 09:00 UTC: `h(n)`. The summary is taken as of
//! `h(168)` with a 7-day window, so the current window is `[h(0), h(168))`, the previous one
//! `[h(-168), h(0))`, and the history windows `[h(-336), h(-168))`, `[h(-504), h(-336))`...
//!
//! Account A (Zendesk org `org-a`, SEGMENT_ENTERPRISE); FR = first response, 1st res = first
//! resolved, res = resolved (latest); SLA targets are the platform's:
//!
//! | id  | created | priority | category | now     | FR    | 1st res | res   | SLA                        | CSAT        |
//! |-----|---------|----------|----------|---------|-------|---------|-------|----------------------------|-------------|
//! | a1  | h10     | URGENT   | Billing  | SOLVED  | h11   | h14     | h14   | FR due h12, MET h11        | GOOD h20    |
//! | a2  | h20     | HIGH     | billing  | OPEN    | h22   |         |       | FR due h21, BREACHED (h22) |             |
//! | a3  | h30     | NORMAL   | Login    | SOLVED  | h33   | h40     | h60   | (solved h40, reopened h50, solved h60) | BAD h61 |
//! | a4  | h100    | LOW      | (none)   | PENDING |       |         |       |                            |             |
//! | a5  | h150    | NORMAL   | login    | NEW     |       |         |       |                            |             |
//! | a6  | h120    | (none)   | Feature  | SOLVED  | h124  | h132    | h132  | FR due h125 MET h124; RESOLUTION due h128 BREACHED (h132) | NEUTRAL h131 |
//! | a7  | h40     | URGENT   | Billing  | deleted at h45: in no figure |
//! | a8  | h-100   | HIGH     | Billing  | SOLVED  | h-99  | h-90    | h-90  | FR due h-98, MET h-99      | GOOD h-80   |
//! | a9  | h-50    | NORMAL   | Login    | OPEN    | h-45  |         |       |                            |             |
//! | a10 | h-10    | LOW      | (none)   | SOLVED  | h-8   | h5      | h5    | (OPEN until h5)            | GOOD h6     |
//! | a11 | h-200   | NORMAL   | Billing  | CLOSED  | h-199 | h-190   | h-190 |                            |             |
//! | a12 | h-800   | LOW      | (none)   | ON_HOLD |       |         |       |                            |             |
//!
//! Account B (`org-b`, SEGMENT_SMB): b1, h50, URGENT, Billing, SOLVED, FR h51, solved h56.
//! Unlinked: u1, Freshdesk, h60, HIGH, Login, OPEN, FR h63.

use chrono::{DateTime, Duration, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Interval;
use steward_proto::ticket::v1 as pb;
use tonic::Code;

use crate::support::*;

use pb::TicketPriority as P;
use pb::TicketStatus as S;

/// `at(0)` plus `n` hours.
fn h(n: i64) -> DateTime<Utc> {
    at(n * 60)
}

/// `n` hours as a proto duration.
fn hours(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: n * 3600, nanos: 0 })
}

/// The end of the current window.
const AS_OF: i64 = 168;

/// Creates an account with a Zendesk org ref and a segment; its name.
async fn create_segmented(
    accounts: &mut Accounts,
    display_name: &str,
    domain: &str,
    zendesk_org: &str,
    segment: account_pb::Segment,
) -> String {
    let account = account_pb::Account {
        display_name: display_name.into(),
        primary_domain: domain.into(),
        external_refs: vec![account_pb::ExternalRef {
            system: "zendesk".into(),
            id: zendesk_org.into(),
        }],
        segment: segment as i32,
        ..Default::default()
    };
    let req = account_pb::CreateAccountRequest {
        account: Some(account),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_account(req).await.expect("create account").into_inner().name
}

/// A Zendesk ticket filed under `org` (`None`: no account ref), created at hour `created`,
/// the snapshot taken then.
fn make(
    id: &str,
    org: Option<&str>,
    created: i64,
    priority: P,
    category: &str,
    status: S,
) -> pb::Ticket {
    let mut t = ticket(id);
    t.account_ref = org.map(|o| pb::PartyRef { id: o.into(), ..Default::default() });
    t.created_time = ts(h(created));
    t.source_update_time = ts(h(created));
    t.priority = priority as i32;
    t.category = category.into();
    t.status = status as i32;
    t.status_raw = String::new();
    t
}

/// Marks `t` first resolved at `first` and (latest) resolved at `latest`.
fn resolve(t: &mut pb::Ticket, first: i64, latest: i64) {
    t.first_resolved_time = ts(h(first));
    t.resolved_time = ts(h(latest));
}

/// A platform SLA target.
fn target(
    metric: pb::SlaMetric,
    due: i64,
    completed: Option<i64>,
    state: pb::SlaState,
) -> pb::SlaTarget {
    pb::SlaTarget {
        metric: metric as i32,
        name_raw: "platform policy".into(),
        due_time: ts(h(due)),
        completed_time: completed.and_then(|c| ts(h(c))),
        state: state as i32,
        origin: 0,
    }
}

fn csat(sentiment: pb::CsatSentiment, hour: i64) -> Option<pb::CsatRating> {
    Some(pb::CsatRating {
        sentiment: sentiment as i32,
        score_raw: format!("{sentiment:?}").to_lowercase(),
        rate_time: ts(h(hour)),
        ..Default::default()
    })
}

/// Ingests `t` and checks which account it landed on (empty = unlinked).
async fn put(s: &mut Suite, t: pb::Ticket, account: &str) -> String {
    let id = t.external_id.clone();
    let answer = ingest(&mut s.client, t).await;
    assert_eq!(answer.account, account, "ticket {id} links to {account:?}");
    answer.ticket
}

/// The two accounts of the fixture.
struct Fixture {
    a: String,
    b: String,
}

/// Ingests the tickets of the table at the top.
async fn fixture(s: &mut Suite) -> Fixture {
    use pb::CsatSentiment as C;
    use pb::SlaMetric as M;
    use pb::SlaState as St;
    let a = create_segmented(
        &mut s.accounts,
        "Alpha",
        "alpha.example",
        "org-a",
        account_pb::Segment::Enterprise,
    )
    .await;
    let b = create_segmented(
        &mut s.accounts,
        "Beta",
        "beta.example",
        "org-b",
        account_pb::Segment::Smb,
    )
    .await;
    let org = Some("org-a");

    let mut a1 = make("a1", org, 10, P::Urgent, "Billing", S::Solved);
    a1.first_response_time = ts(h(11));
    resolve(&mut a1, 14, 14);
    a1.sla = vec![target(M::FirstResponse, 12, Some(11), St::Met)];
    a1.csat = csat(C::Good, 20);
    a1.source_update_time = ts(h(20));
    put(s, a1, &a).await;

    let mut a2 = make("a2", org, 20, P::High, "billing", S::Open);
    a2.first_response_time = ts(h(22));
    a2.sla = vec![target(M::FirstResponse, 21, Some(22), St::Breached)];
    a2.source_update_time = ts(h(22));
    put(s, a2, &a).await;

    // a3: solved at h40, reopened at h50, solved again at h60.
    let mut a3 = make("a3", org, 30, P::Normal, "Login", S::Solved);
    a3.first_response_time = ts(h(33));
    resolve(&mut a3, 40, 40);
    a3.source_update_time = ts(h(40));
    put(s, a3.clone(), &a).await;
    a3.status = S::Open as i32;
    a3.resolved_time = None;
    a3.last_reopened_time = ts(h(50));
    a3.source_update_time = ts(h(50));
    put(s, a3.clone(), &a).await;
    a3.status = S::Solved as i32;
    resolve(&mut a3, 40, 60);
    a3.csat = csat(C::Bad, 61);
    a3.source_update_time = ts(h(61));
    put(s, a3, &a).await;

    put(s, make("a4", org, 100, P::Low, "", S::Pending), &a).await;
    put(s, make("a5", org, 150, P::Normal, "login", S::New), &a).await;

    let mut a6 = make("a6", org, 120, P::Unspecified, "Feature", S::Solved);
    a6.first_response_time = ts(h(124));
    resolve(&mut a6, 132, 132);
    a6.sla = vec![
        target(M::FirstResponse, 125, Some(124), St::Met),
        target(M::Resolution, 128, Some(132), St::Breached),
    ];
    a6.csat = csat(C::Neutral, 131);
    a6.source_update_time = ts(h(132));
    put(s, a6, &a).await;

    // a7 counts until it is deleted.
    let a7 = make("a7", org, 40, P::Urgent, "Billing", S::New);
    put(s, a7.clone(), &a).await;
    let mut deleted = a7;
    deleted.deleted = true;
    deleted.source_update_time = ts(h(45));
    put(s, deleted, &a).await;

    let mut a8 = make("a8", org, -100, P::High, "Billing", S::Solved);
    a8.first_response_time = ts(h(-99));
    resolve(&mut a8, -90, -90);
    a8.sla = vec![target(M::FirstResponse, -98, Some(-99), St::Met)];
    a8.csat = csat(C::Good, -80);
    a8.source_update_time = ts(h(-80));
    put(s, a8, &a).await;

    let mut a9 = make("a9", org, -50, P::Normal, "Login", S::Open);
    a9.first_response_time = ts(h(-45));
    a9.source_update_time = ts(h(-45));
    put(s, a9, &a).await;

    // a10: open from h-10 until solved at h5.
    let mut a10 = make("a10", org, -10, P::Low, "", S::Open);
    a10.first_response_time = ts(h(-8));
    a10.source_update_time = ts(h(-8));
    put(s, a10.clone(), &a).await;
    a10.status = S::Solved as i32;
    resolve(&mut a10, 5, 5);
    a10.csat = csat(C::Good, 6);
    a10.source_update_time = ts(h(6));
    put(s, a10, &a).await;

    let mut a11 = make("a11", org, -200, P::Normal, "Billing", S::Closed);
    a11.first_response_time = ts(h(-199));
    resolve(&mut a11, -190, -190);
    a11.closed_time = ts(h(-190));
    a11.source_update_time = ts(h(-190));
    put(s, a11, &a).await;

    put(s, make("a12", org, -800, P::Low, "", S::OnHold), &a).await;

    let mut b1 = make("b1", Some("org-b"), 50, P::Urgent, "Billing", S::Solved);
    b1.first_response_time = ts(h(51));
    resolve(&mut b1, 56, 56);
    b1.source_update_time = ts(h(56));
    put(s, b1, &b).await;

    let mut u1 = make("u1", None, 60, P::High, "Login", S::Open);
    u1.source = pb::Source::Freshdesk as i32;
    u1.first_response_time = ts(h(63));
    u1.source_update_time = ts(h(63));
    put(s, u1, "").await;

    Fixture { a, b }
}

/// Counts per priority in enum order: UNSPECIFIED, LOW, NORMAL, HIGH, URGENT.
fn by_priority(counts: [i32; 5]) -> Vec<pb::PriorityCount> {
    [P::Unspecified, P::Low, P::Normal, P::High, P::Urgent]
        .into_iter()
        .zip(counts)
        .map(|(p, count)| pb::PriorityCount { priority: p as i32, count })
        .collect()
}

fn category(name: &str, counts: [i32; 5]) -> pb::CategoryCount {
    pb::CategoryCount {
        category: name.into(),
        count: counts.iter().sum(),
        by_priority: by_priority(counts),
    }
}

#[track_caller]
fn close(what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: got {g}, want {w}"),
        _ => assert_eq!(got, want, "{what}"),
    }
}

/// `got` equals `want`, the shares compared within rounding.
#[track_caller]
fn check_figures(label: &str, got: &pb::SupportFigures, mut want: pb::SupportFigures) {
    let mut got = got.clone();
    for (name, g, w) in [
        ("sla_adherence", &mut got.sla_adherence, &mut want.sla_adherence),
        ("sla_ticket_adherence", &mut got.sla_ticket_adherence, &mut want.sla_ticket_adherence),
        ("csat_good_share", &mut got.csat_good_share, &mut want.csat_good_share),
        ("reopen_rate", &mut got.reopen_rate, &mut want.reopen_rate),
        (
            "resolution_sla_ratio_median",
            &mut got.resolution_sla_ratio_median,
            &mut want.resolution_sla_ratio_median,
        ),
    ] {
        close(&format!("{label}.{name}"), g.take(), w.take());
    }
    assert_eq!(got, want, "{label}");
}

async fn summary(
    client: &mut Client,
    account: &str,
    history_windows: i32,
) -> Result<pb::SupportSummary, tonic::Status> {
    let req = pb::GetSupportSummaryRequest {
        account: account.into(),
        window: Some(prost_types::Duration { seconds: 7 * 86_400, nanos: 0 }),
        as_of: ts(h(AS_OF)),
        history_windows,
    };
    Ok(client.get_support_summary(req).await?.into_inner())
}

#[tokio::test]
async fn the_summary_matches_the_figures_worked_by_hand() {
    let mut s = start().await;
    let started = Utc::now();
    let f = fixture(&mut s).await;
    let got = summary(&mut s.client, &f.a, 0).await.expect("summary");

    assert_eq!(got.account, f.a);
    assert_eq!(got.window, Some(prost_types::Duration { seconds: 7 * 86_400, nanos: 0 }));
    assert_eq!(got.as_of, ts(h(AS_OF)));

    // Current window [h0, h168): a1..a6 created (a7 deleted; a8..a12 earlier).
    // - by priority: a6 none, a4 LOW, a3 a5 NORMAL, a2 HIGH, a1 URGENT; HIGH+URGENT = 2.
    // - by category (case-folded, most first, then name): billing a1 a2 (URGENT, HIGH),
    //   login a3 a5 (NORMAL ×2), uncategorized a4 (LOW), feature a6 (none); repeated:
    //   billing and login.
    // - open at h168: a2 OPEN (age 148 h: 3–7 d), a4 PENDING (68 h: 1–3 d), a5 NEW (18 h:
    //   < 1 d), a9 OPEN (218 h: 7–30 d), a12 ON_HOLD (968 h: ≥ 30 d) = 5, of which NEW/OPEN
    //   a2 a5 a9 = 3. Ages ascending 18, 68, 148, 218, 968: p90 at rank ⌈4.5⌉ = 5 → 968 h.
    // - first response of tickets created in the window: a1 1 h, a2 2 h, a3 3 h, a6 4 h
    //   (a4, a5 none) → median rank ⌈2⌉ = 2 → 2 h (lower middle), p90 rank ⌈3.6⌉ = 4 → 4 h.
    // - first resolved in the window: a10 15 h (h-10 → h5), a1 4 h, a3 10 h, a6 12 h →
    //   4 solved; ascending 4, 10, 12, 15: median 10 h, p90 15 h.
    // - resolved (latest) in the window: a1 4 h, a3 30 h (h30 → h60), a6 12 h, a10 15 h →
    //   ascending 4, 12, 15, 30: median 12 h, p90 30 h.
    // - RESOLUTION targets of tickets resolved in the window: a6, 12 h over an 8 h target =
    //   1.5.
    // - SLA decided in the window: a1 FR MET (h11), a2 FR BREACHED (h21), a6 FR MET (h124),
    //   a6 RESOLUTION BREACHED (h128) → 4 due, 2 breaches, adherence 0.5; tickets a1 a2 a6
    //   = 3, breached a2 a6 = 2 → per ticket 1 − 2/3 = 1/3.
    // - CSAT in the window: a1 GOOD, a10 GOOD, a3 BAD, a6 NEUTRAL → 4, good share 0.5.
    // - reopened: a3 (first resolved h40, reopened h50) → 1 of 4 solved = 0.25.
    let current = pb::SupportFigures {
        tickets_created: 6,
        by_priority: by_priority([1, 1, 2, 1, 1]),
        high_urgent_tickets: 2,
        by_category: vec![
            category("billing", [0, 0, 0, 1, 1]),
            category("login", [0, 0, 2, 0, 0]),
            category("", [0, 1, 0, 0, 0]),
            category("feature", [1, 0, 0, 0, 0]),
        ],
        repeated_categories: vec![
            category("billing", [0, 0, 0, 1, 1]),
            category("login", [0, 0, 2, 0, 0]),
        ],
        open_backlog: 5,
        actionable_backlog: 3,
        backlog_age: Some(pb::AgeDistribution {
            under_1_day: 1,
            days_1_to_3: 1,
            days_3_to_7: 1,
            days_7_to_30: 1,
            over_30_days: 1,
            p90: hours(968),
            oldest: hours(968),
        }),
        first_response_median: hours(2),
        first_response_p90: hours(4),
        first_responses: 4,
        resolution_median: hours(10),
        resolution_p90: hours(15),
        tickets_solved: 4,
        full_resolution_median: hours(12),
        full_resolution_p90: hours(30),
        tickets_resolved: 4,
        resolution_sla_ratio_median: Some(1.5),
        resolution_sla_ratio_tickets: 1,
        sla_breaches: 2,
        sla_targets_due: 4,
        sla_adherence: Some(0.5),
        sla_tickets: 3,
        sla_breached_tickets: 2,
        sla_ticket_adherence: Some(1.0 / 3.0),
        csat_responses: 4,
        csat_good: 2,
        csat_neutral: 1,
        csat_bad: 1,
        csat_good_share: Some(0.5),
        tickets_reopened: 1,
        reopen_rate: Some(0.25),
    };
    check_figures("current", got.current.as_ref().expect("current"), current);

    // Previous window [h-168, h0): a8 (HIGH, billing), a9 (NORMAL, login), a10 (LOW, none)
    // created; every category once (uncategorized first by name), none repeated.
    // - open at h0: a9 OPEN (50 h), a10 OPEN (10 h, solved only at h5), a12 ON_HOLD (800 h)
    //   = 3, actionable 2; ascending 10, 50, 800: p90 rank ⌈2.7⌉ = 3 → 800 h.
    // - first responses a8 1 h, a10 2 h, a9 5 h: median 2 h, p90 5 h.
    // - first resolved: a8 10 h (also its latest resolution); no RESOLUTION target.
    // - SLA: a8 FR MET → 1 due, adherence 1; CSAT a8 GOOD → share 1; no reopen → rate 0.
    let previous = pb::SupportFigures {
        tickets_created: 3,
        by_priority: by_priority([0, 1, 1, 1, 0]),
        high_urgent_tickets: 1,
        by_category: vec![
            category("", [0, 1, 0, 0, 0]),
            category("billing", [0, 0, 0, 1, 0]),
            category("login", [0, 0, 1, 0, 0]),
        ],
        repeated_categories: vec![],
        open_backlog: 3,
        actionable_backlog: 2,
        backlog_age: Some(pb::AgeDistribution {
            under_1_day: 1,
            days_1_to_3: 1,
            days_3_to_7: 0,
            days_7_to_30: 0,
            over_30_days: 1,
            p90: hours(800),
            oldest: hours(800),
        }),
        first_response_median: hours(2),
        first_response_p90: hours(5),
        first_responses: 3,
        resolution_median: hours(10),
        resolution_p90: hours(10),
        tickets_solved: 1,
        full_resolution_median: hours(10),
        full_resolution_p90: hours(10),
        tickets_resolved: 1,
        resolution_sla_ratio_median: None,
        resolution_sla_ratio_tickets: 0,
        sla_breaches: 0,
        sla_targets_due: 1,
        sla_adherence: Some(1.0),
        sla_tickets: 1,
        sla_breached_tickets: 0,
        sla_ticket_adherence: Some(1.0),
        csat_responses: 1,
        csat_good: 1,
        csat_neutral: 0,
        csat_bad: 0,
        csat_good_share: Some(1.0),
        tickets_reopened: 0,
        reopen_rate: Some(0.0),
    };
    check_figures("previous", got.previous.as_ref().expect("previous"), previous);

    // History (3 windows by default): [h-168, h0) = 3, [h-336, h-168) = a11, [h-504, h-336)
    // none.
    assert_eq!(got.tickets_created_history, [3, 1, 0]);
    assert_eq!(got.first_ticket_create_time, ts(h(-800)), "a12 is the oldest");
    let data_time = got.data_time.as_ref().and_then(steward_kit::time::from_timestamp);
    let data_time = data_time.expect("data_time is set");
    assert!(
        started <= data_time && data_time <= Utc::now(),
        "data_time {data_time} is when the newest snapshot was ingested"
    );

    // Five history windows reach a12: element 4 is [h168 − 6 × 168 h, h168 − 5 × 168 h) =
    // [h-840, h-672), which holds h-800; element 3, [h-672, h-504), is empty.
    let longer = summary(&mut s.client, &f.a, 5).await.expect("five windows");
    assert_eq!(longer.tickets_created_history, [3, 1, 0, 0, 1]);

    // Account B sees only b1; A's tickets and the unlinked u1 are not B's.
    let b = summary(&mut s.client, &f.b, 0).await.expect("summary of B");
    let current = b.current.expect("current");
    assert_eq!((current.tickets_created, current.tickets_solved), (1, 1));
    assert_eq!(current.by_category, [category("billing", [0, 0, 0, 0, 1])]);
    assert_eq!(current.resolution_median, hours(6));
    assert_eq!(b.first_ticket_create_time, ts(h(50)));
}

#[tokio::test]
async fn an_account_without_tickets_answers_zeros() {
    let mut s = start().await;
    fixture(&mut s).await;
    let nobody = "accounts/0190f0f0-0000-7000-8000-000000000000";
    let got = summary(&mut s.client, nobody, 2).await.expect("summary");
    assert_eq!(got.account, nobody);
    let current = got.current.expect("current");
    assert_eq!(current.tickets_created, 0);
    assert_eq!(current.by_priority, by_priority([0; 5]), "every priority listed, at zero");
    assert!(current.by_category.is_empty());
    assert_eq!(current.open_backlog, 0);
    let age = current.backlog_age.unwrap_or_default();
    assert_eq!((age.p90, age.oldest), (None, None));
    assert_eq!((current.first_response_median, current.sla_adherence), (None, None));
    assert_eq!((current.csat_good_share, current.reopen_rate), (None, None));
    assert_eq!(got.tickets_created_history, [0, 0]);
    assert_eq!((got.data_time, got.first_ticket_create_time), (None, None));
}

fn period(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Interval> {
    Some(Interval { start_time: ts(start), end_time: ts(end) })
}

/// A KPI request over the current window `[h0, h168)`.
fn kpi_request() -> pb::GetSupportKpisRequest {
    pb::GetSupportKpisRequest { period: period(h(0), h(AS_OF)), ..Default::default() }
}

async fn kpis(client: &mut Client, req: pb::GetSupportKpisRequest) -> pb::SupportKpis {
    client.get_support_kpis(req).await.expect("kpis").into_inner()
}

/// `(key, tickets_created)` of each group, in the answer's order.
fn groups(k: &pb::SupportKpis) -> Vec<(String, i32)> {
    k.groups
        .iter()
        .map(|g| (g.key.clone(), g.kpis.as_ref().map_or(-1, |k| k.tickets_created)))
        .collect()
}

fn group<'a>(k: &'a pb::SupportKpis, key: &str) -> &'a pb::SupportKpis {
    let g = k.groups.iter().find(|g| g.key == key);
    g.and_then(|g| g.kpis.as_ref()).unwrap_or_else(|| panic!("no group {key:?}"))
}

fn secs(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

#[tokio::test]
async fn kpis_total_filter_and_group_the_tickets() {
    let mut s = start().await;
    fixture(&mut s).await;

    // Every ticket (both accounts and the unlinked one; a7 deleted) over [h0, h168):
    // - created: a1..a6, b1, u1 = 8; first resolved: a10 (h5), a1, a3, b1 (h56), a6 = 5;
    //   open at h168: a2, a4, a5, a9, a12, u1 = 6.
    // - first responses a1 1, b1 1, a2 2, a3 3, u1 3, a6 4 h: mean 14/6 h = 8400 s; median
    //   rank 3 → 2 h; p90 rank ⌈5.4⌉ = 6 → 4 h.
    // - first resolutions a1 4, b1 6, a3 10, a6 12, a10 15 h: mean 47/5 h = 33840 s;
    //   median rank 3 → 10 h; p90 rank ⌈4.5⌉ = 5 → 15 h.
    // - SLA and CSAT as account A's current window (no other ticket has any).
    let mut total = kpis(&mut s.client, kpi_request()).await;
    close("sla_adherence", total.sla_adherence.take(), Some(0.5));
    close("sla_ticket_adherence", total.sla_ticket_adherence.take(), Some(1.0 / 3.0));
    close("csat_good_share", total.csat_good_share.take(), Some(0.5));
    let want = pb::SupportKpis {
        period: period(h(0), h(AS_OF)),
        tickets_created: 8,
        tickets_solved: 5,
        backlog_at_end: 6,
        first_response_mean: secs(8400),
        first_response_median: hours(2),
        first_response_p90: hours(4),
        resolution_mean: secs(33_840),
        resolution_median: hours(10),
        resolution_p90: hours(15),
        sla_adherence: None,
        csat_good_share: None,
        csat_responses: 4,
        csat_good: 2,
        sla_ticket_adherence: None,
        sla_tickets: 3,
        groups: vec![],
    };
    assert_eq!(total, want);

    // Only Freshdesk: u1 (created, open, first response 3 h).
    let freshdesk = kpis(
        &mut s.client,
        pb::GetSupportKpisRequest { sources: vec![pb::Source::Freshdesk as i32], ..kpi_request() },
    )
    .await;
    assert_eq!(
        (freshdesk.tickets_created, freshdesk.tickets_solved, freshdesk.backlog_at_end),
        (1, 0, 1)
    );
    assert_eq!(
        (freshdesk.first_response_mean, freshdesk.first_response_median),
        (hours(3), hours(3))
    );
    assert_eq!((freshdesk.resolution_median, freshdesk.sla_adherence), (None, None));
    assert_eq!(freshdesk.csat_good_share, None);

    // Only URGENT: a1 and b1 (a7 is deleted): resolutions 4 and 6 h → mean 5 h, median 4 h
    // (the lower middle), p90 6 h; first responses 1 h each.
    let urgent = kpis(
        &mut s.client,
        pb::GetSupportKpisRequest { priorities: vec![P::Urgent as i32], ..kpi_request() },
    )
    .await;
    assert_eq!((urgent.tickets_created, urgent.tickets_solved, urgent.backlog_at_end), (2, 2, 0));
    assert_eq!(
        (urgent.resolution_mean, urgent.resolution_median, urgent.resolution_p90),
        (hours(5), hours(4), hours(6))
    );
    assert_eq!(urgent.first_response_mean, hours(1));

    // Categories match case-insensitively: billing = a1, a2, b1 in the period (a8, a11
    // earlier); solved a1, b1; open a2.
    let billing = kpis(
        &mut s.client,
        pb::GetSupportKpisRequest { categories: vec!["BILLING".into()], ..kpi_request() },
    )
    .await;
    assert_eq!(
        (billing.tickets_created, billing.tickets_solved, billing.backlog_at_end),
        (3, 2, 1)
    );

    // Filters combine with AND, values within one with OR.
    let zendesk_high = kpis(
        &mut s.client,
        pb::GetSupportKpisRequest {
            sources: vec![pb::Source::Zendesk as i32],
            priorities: vec![P::High as i32],
            ..kpi_request()
        },
    )
    .await;
    assert_eq!(zendesk_high.tickets_created, 1, "a2 (u1 is Freshdesk)");
    let high_or_urgent = kpis(
        &mut s.client,
        pb::GetSupportKpisRequest {
            priorities: vec![P::High as i32, P::Urgent as i32],
            ..kpi_request()
        },
    )
    .await;
    assert_eq!(high_or_urgent.tickets_created, 4, "a1, a2, b1, u1");

    // Breakdowns: ordered by tickets created, most first, then by key.
    let by = |dimension: pb::KpiDimension| pb::GetSupportKpisRequest {
        group_by: dimension as i32,
        ..kpi_request()
    };
    let by_category = kpis(&mut s.client, by(pb::KpiDimension::Category)).await;
    assert_eq!(
        groups(&by_category),
        [("billing".into(), 3), ("login".into(), 3), (String::new(), 1), ("feature".into(), 1)]
    );
    let billing_group = group(&by_category, "billing");
    assert_eq!((billing_group.tickets_solved, billing_group.backlog_at_end), (2, 1));
    assert!(billing_group.groups.is_empty(), "a group's own groups stay empty");
    // Uncategorized: a4 created; a10 solved; a4 and a12 open at the end.
    let uncategorized = group(&by_category, "");
    assert_eq!((uncategorized.tickets_solved, uncategorized.backlog_at_end), (1, 2));
    assert_eq!(by_category.tickets_created, 8, "the totals stay");

    let by_priority = kpis(&mut s.client, by(pb::KpiDimension::Priority)).await;
    assert_eq!(
        groups(&by_priority),
        [
            ("TICKET_PRIORITY_HIGH".into(), 2),
            ("TICKET_PRIORITY_NORMAL".into(), 2),
            ("TICKET_PRIORITY_URGENT".into(), 2),
            ("TICKET_PRIORITY_LOW".into(), 1),
            ("TICKET_PRIORITY_UNSPECIFIED".into(), 1),
        ]
    );
    let unspecified = group(&by_priority, "TICKET_PRIORITY_UNSPECIFIED");
    close("a6's SLA adherence", unspecified.sla_adherence, Some(0.5));

    let by_source = kpis(&mut s.client, by(pb::KpiDimension::Source)).await;
    assert_eq!(groups(&by_source), [("SOURCE_ZENDESK".into(), 7), ("SOURCE_FRESHDESK".into(), 1)]);
}

#[tokio::test]
async fn kpis_by_segment_follow_the_account_feed() {
    let mut s = start().await;
    fixture(&mut s).await;
    let segment = |names: &[&str]| pb::GetSupportKpisRequest {
        segments: names.iter().map(|n| (*n).to_owned()).collect(),
        ..kpi_request()
    };
    // The segments arrive with the account feed: wait until both accounts' are known.
    let mut client = s.client.clone();
    eventually("the account segments", || {
        let mut client = client.clone();
        let (enterprise, smb) = (segment(&["SEGMENT_ENTERPRISE"]), segment(&["SEGMENT_SMB"]));
        async move {
            let e = client.get_support_kpis(enterprise).await.ok()?.into_inner();
            let m = client.get_support_kpis(smb).await.ok()?.into_inner();
            (e.tickets_created == 6 && m.tickets_created == 1).then_some(())
        }
    })
    .await;
    let smb = kpis(&mut client, segment(&["SEGMENT_SMB"])).await;
    assert_eq!((smb.tickets_created, smb.tickets_solved, smb.backlog_at_end), (1, 1, 0));
    // Unlinked tickets never match a segment filter.
    let both = kpis(&mut client, segment(&["SEGMENT_ENTERPRISE", "SEGMENT_SMB"])).await;
    assert_eq!(both.tickets_created, 7, "every ticket but the unlinked u1");
    let none = kpis(&mut client, segment(&["SEGMENT_STRATEGIC"])).await;
    assert_eq!((none.tickets_created, none.backlog_at_end), (0, 0));

    let by_segment = kpis(
        &mut client,
        pb::GetSupportKpisRequest { group_by: pb::KpiDimension::Segment as i32, ..kpi_request() },
    )
    .await;
    assert_eq!(
        groups(&by_segment),
        [("SEGMENT_ENTERPRISE".into(), 6), (String::new(), 1), ("SEGMENT_SMB".into(), 1)],
        "the unlinked ticket is keyed empty"
    );
    assert_eq!(group(&by_segment, "").backlog_at_end, 1, "u1 is open");
}

#[tokio::test]
async fn bad_summary_and_kpi_requests_name_the_field() {
    let mut s = start().await;
    let account = create_segmented(
        &mut s.accounts,
        "Alpha",
        "alpha.example",
        "org-a",
        account_pb::Segment::Smb,
    )
    .await;
    let ok = pb::GetSupportSummaryRequest {
        account: account.clone(),
        window: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
        as_of: ts(h(0)),
        history_windows: 0,
    };
    // The bounds of the window are valid.
    s.client.get_support_summary(ok.clone()).await.expect("1 hour");
    let longest = pb::GetSupportSummaryRequest { window: secs(730 * 86_400), ..ok.clone() };
    s.client.get_support_summary(longest).await.expect("730 days");
    let soon = pb::GetSupportSummaryRequest { as_of: ts(Utc::now()), window: None, ..ok.clone() };
    s.client.get_support_summary(soon).await.expect("as of now, default window");

    let cases = [
        ("window", pb::GetSupportSummaryRequest { window: secs(3599), ..ok.clone() }),
        ("window", pb::GetSupportSummaryRequest { window: secs(731 * 86_400), ..ok.clone() }),
        ("window", pb::GetSupportSummaryRequest { window: secs(0), ..ok.clone() }),
        (
            "as_of",
            pb::GetSupportSummaryRequest {
                as_of: ts(Utc::now() + Duration::minutes(5)),
                ..ok.clone()
            },
        ),
        ("account", pb::GetSupportSummaryRequest { account: "alpha".into(), ..ok.clone() }),
        ("account", pb::GetSupportSummaryRequest { account: String::new(), ..ok.clone() }),
        ("history_windows", pb::GetSupportSummaryRequest { history_windows: 13, ..ok.clone() }),
    ];
    for (field, req) in cases {
        let err = s.client.get_support_summary(req.clone()).await.expect_err(field);
        assert_invalid(&err, field);
    }

    let ok = kpi_request();
    s.client.get_support_kpis(ok.clone()).await.expect("a week");
    let longest = pb::GetSupportKpisRequest {
        period: period(h(0) - Duration::days(731), h(0)),
        ..ok.clone()
    };
    s.client.get_support_kpis(longest).await.expect("731 days");
    let cases = [
        ("period", pb::GetSupportKpisRequest { period: None, ..ok.clone() }),
        (
            "period",
            pb::GetSupportKpisRequest {
                period: Some(Interval { start_time: ts(h(0)), end_time: None }),
                ..ok.clone()
            },
        ),
        (
            "period",
            pb::GetSupportKpisRequest {
                period: period(h(0) - Duration::days(732), h(0)),
                ..ok.clone()
            },
        ),
        (
            "period.end_time",
            pb::GetSupportKpisRequest { period: period(h(10), h(0)), ..ok.clone() },
        ),
        (
            "period.end_time",
            pb::GetSupportKpisRequest {
                period: period(h(0), Utc::now() + Duration::days(1)),
                ..ok.clone()
            },
        ),
        (
            "segments[0]",
            pb::GetSupportKpisRequest { segments: vec!["ENTERPRISE".into()], ..ok.clone() },
        ),
        ("group_by", pb::GetSupportKpisRequest { group_by: 9, ..ok.clone() }),
        (
            "segments[1]",
            pb::GetSupportKpisRequest {
                segments: vec!["SEGMENT_SMB".into(), "gold".into()],
                ..ok.clone()
            },
        ),
    ];
    for (field, req) in cases {
        let err = s.client.get_support_kpis(req.clone()).await.expect_err(field);
        assert_invalid(&err, field);
    }
    let err = s
        .client
        .get_support_kpis(pb::GetSupportKpisRequest { sources: vec![99], ..ok })
        .await
        .expect_err("unknown source");
    assert_eq!(err.code(), Code::InvalidArgument);
}
