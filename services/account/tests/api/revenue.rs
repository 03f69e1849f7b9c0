//! GetRevenueMetrics: a worked example for Q1 2026, computed by hand below, in total, per
//! segment and per month; currencies; bad periods.
//!
//! Definitions (`RevenueMetrics` in the proto): an account's ARR on a day is the sum of its
//! contracts with `start_date <= day <= end_date`. For the period [2026-01-01, 2026-04-01):
//! `s` = ARR on 2026-01-01, `e` = ARR on 2026-04-01.
//!
//! The accounts (amounts in USD cents, "k" = thousand cents):
//!
//! | account  | segment    | contracts                                              | s      | e      | movement           |
//! |----------|------------|--------------------------------------------------------|--------|--------|--------------------|
//! | steady   | SMB        | 1,200k 2025-01-01..2026-12-31                          | 1,200k | 1,200k | none               |
//! | expand   | SMB        | 2,400k 2025-06-01..2026-05-31; 600k 2026-02-15..2026-05-31 | 2,400k | 3,000k | expansion 600k     |
//! | newco    | SMB        | 1,800k 2026-01-15..2027-01-14                          | 0      | 1,800k | new 1,800k         |
//! | gone     | SMB        | 500k 2024-01-01..2024-12-31 (before the period)        | 0      | 0      | not counted        |
//! | later    | SMB        | 700k 2026-05-01..2027-04-30 (after the period)         | 0      | 0      | not counted        |
//! | shrink   | ENTERPRISE | 6,000k 2025-02-01..2026-01-31; 4,500k 2026-02-01..2027-01-31 | 6,000k | 4,500k | contraction 1,500k |
//! | churn    | ENTERPRISE | 3,000k 2025-03-01..2026-02-28                          | 3,000k | 0      | churned 3,000k     |
//! | edge     | ENTERPRISE | 1,000k 2025-04-02..2026-04-01 (last day = e's day)     | 1,000k | 1,000k | none (end inclusive) |
//!
//! Total: starting = 1,200 + 2,400 + 6,000 + 3,000 + 1,000 = 13,600k (5 accounts);
//! new 1,800k (1 account); expansion 600k; contraction 1,500k; churned 3,000k (1 account);
//! ending = 13,600 + 1,800 + 600 − 1,500 − 3,000 = 11,500k
//! (check: 1,200 + 3,000 + 1,800 + 4,500 + 0 + 1,000 = 11,500k; 5 accounts: steady, expand,
//! newco, shrink, edge).
//! NRR = (13,600 + 600 − 1,500 − 3,000) / 13,600 = 9,700 / 13,600 = 0.713235…
//! GRR = (13,600 − 1,500 − 3,000) / 13,600 = 9,100 / 13,600 = 0.669118…
//! revenue churn = (1,500 + 3,000) / 13,600 = 4,500 / 13,600 = 0.330882…
//! logo churn = 1 / 5 = 0.2
//!
//! SMB: starting 1,200 + 2,400 = 3,600k (2 accounts); new 1,800k (1); expansion 600k;
//! contraction 0; churned 0 (0); ending 1,200 + 3,000 + 1,800 = 6,000k (3 accounts).
//! NRR = (3,600 + 600) / 3,600 = 1.166667; GRR = 3,600 / 3,600 = 1.0; revenue churn 0.0;
//! logo churn 0 / 2 = 0.0.
//!
//! ENTERPRISE: starting 6,000 + 3,000 + 1,000 = 10,000k (3 accounts); new 0; expansion 0;
//! contraction 1,500k; churned 3,000k (1); ending 4,500 + 0 + 1,000 = 5,500k (2 accounts).
//! NRR = (10,000 − 1,500 − 3,000) / 10,000 = 0.55; GRR = 0.55; revenue churn 0.45;
//! logo churn 1 / 3 = 0.333333.
//!
//! By month (each month's s on its first day, e on the first day of the next):
//! - January [01-01, 02-01): s = 13,600k (5 accounts). On 02-01: steady 1,200, expand
//!   2,400 (its 600k starts 02-15), newco 1,800, shrink 4,500 (the renewal starts 02-01),
//!   churn 3,000, edge 1,000 → e = 13,900k (6 accounts). new 1,800k (newco), contraction
//!   1,500k (shrink), expansion 0, churned 0. 13,600 + 1,800 − 1,500 = 13,900 ✓.
//!   NRR = GRR = (13,600 − 1,500) / 13,600 = 12,100 / 13,600 = 0.889706; revenue churn =
//!   1,500 / 13,600 = 0.110294; logo churn 0 / 5 = 0.0.
//! - February [02-01, 03-01): s = 13,900k. On 03-01: churn ended 02-28, expand is 3,000 →
//!   e = 11,500k. expansion 600k, churned 3,000k (1 account), new 0, contraction 0.
//!   13,900 + 600 − 3,000 = 11,500 ✓.
//! - March [03-01, 04-01): s = e = 11,500k (edge still in service on 04-01): no movement.

use steward_proto::account::v1 as pb;
use tonic::Code;

use crate::support::*;

const K: i64 = 1000;

/// Creates the accounts and contracts of the table above.
async fn seed_q1(client: &mut Client) {
    type Deal = (i64, (i32, u32, u32), (i32, u32, u32));
    let seed: [(&str, pb::Segment, &[Deal]); 8] = [
        ("steady", pb::Segment::Smb, &[(1_200 * K, (2025, 1, 1), (2026, 12, 31))]),
        (
            "expand",
            pb::Segment::Smb,
            &[(2_400 * K, (2025, 6, 1), (2026, 5, 31)), (600 * K, (2026, 2, 15), (2026, 5, 31))],
        ),
        ("newco", pb::Segment::Smb, &[(1_800 * K, (2026, 1, 15), (2027, 1, 14))]),
        ("gone", pb::Segment::Smb, &[(500 * K, (2024, 1, 1), (2024, 12, 31))]),
        ("later", pb::Segment::Smb, &[(700 * K, (2026, 5, 1), (2027, 4, 30))]),
        (
            "shrink",
            pb::Segment::Enterprise,
            &[(6_000 * K, (2025, 2, 1), (2026, 1, 31)), (4_500 * K, (2026, 2, 1), (2027, 1, 31))],
        ),
        ("churn", pb::Segment::Enterprise, &[(3_000 * K, (2025, 3, 1), (2026, 2, 28))]),
        ("edge", pb::Segment::Enterprise, &[(1_000 * K, (2025, 4, 2), (2026, 4, 1))]),
    ];
    for (id, segment, deals) in seed {
        let input = pb::Account { segment: segment as i32, ..account(id, "") };
        create_account(client, id, input).await;
        for &(arr, (sy, sm, sd), (ey, em, ed)) in deals {
            let parent = format!("accounts/{id}");
            create_usd_contract(client, &parent, arr, ymd(sy, sm, sd), ymd(ey, em, ed)).await;
        }
    }
}

fn q1(currency_code: &str) -> pb::GetRevenueMetricsRequest {
    pb::GetRevenueMetricsRequest {
        start_date: date(2026, 1, 1),
        end_date: date(2026, 4, 1),
        currency_code: currency_code.into(),
        ..Default::default()
    }
}

async fn metrics(
    client: &mut Client,
    req: pb::GetRevenueMetricsRequest,
) -> pb::GetRevenueMetricsResponse {
    client.get_revenue_metrics(req).await.expect("revenue metrics").into_inner()
}

#[track_caller]
fn assert_ratio(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what} should be set"));
    assert!((got - want).abs() < 1e-4, "{what}: got {got}, want {want}");
}

/// The amounts and counts of a `RevenueMetrics`, in field order:
/// starting, new, expansion, contraction, churned, ending (ARR), then starting, new,
/// churned, ending (accounts).
fn amounts(m: &pb::RevenueMetrics) -> ([i64; 6], [i32; 4]) {
    (
        [
            m.starting_arr_minor,
            m.new_arr_minor,
            m.expansion_arr_minor,
            m.contraction_arr_minor,
            m.churned_arr_minor,
            m.ending_arr_minor,
        ],
        [m.starting_accounts, m.new_accounts, m.churned_accounts, m.ending_accounts],
    )
}

#[tokio::test]
async fn q1_2026_worked_example_in_total() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    let got = metrics(&mut client, q1("")).await;
    assert_eq!(got.currency_code, "USD", "the one currency in service");
    assert_eq!(got.excluded_contract_count, 0);
    assert!(got.by_segment.is_empty() && got.by_month.is_empty(), "not asked for");
    let total = got.total.expect("total");
    assert_eq!(
        amounts(&total),
        ([13_600 * K, 1_800 * K, 600 * K, 1_500 * K, 3_000 * K, 11_500 * K], [5, 1, 1, 5])
    );
    assert_ratio(total.nrr, 0.713235, "NRR");
    assert_ratio(total.grr, 0.669118, "GRR");
    assert_ratio(total.revenue_churn, 0.330882, "revenue churn");
    assert_ratio(total.logo_churn, 0.2, "logo churn");

    // Asking for USD explicitly answers the same.
    let usd_only = metrics(&mut client, q1("USD")).await;
    assert_eq!(usd_only.total, Some(total));
    assert_eq!(usd_only.excluded_contract_count, 0);
}

#[tokio::test]
async fn q1_2026_worked_example_by_segment() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    let req = pb::GetRevenueMetricsRequest { by_segment: true, ..q1("") };
    let got = metrics(&mut client, req).await;
    let segments: Vec<i32> = got.by_segment.iter().map(|s| s.segment).collect();
    assert_eq!(
        segments,
        [pb::Segment::Smb as i32, pb::Segment::Enterprise as i32],
        "in segment order; segments without ARR left out"
    );
    let smb = got.by_segment[0].metrics.expect("SMB metrics");
    assert_eq!(amounts(&smb), ([3_600 * K, 1_800 * K, 600 * K, 0, 0, 6_000 * K], [2, 1, 0, 3]));
    assert_ratio(smb.nrr, 1.166667, "SMB NRR");
    assert_ratio(smb.grr, 1.0, "SMB GRR");
    assert_ratio(smb.revenue_churn, 0.0, "SMB revenue churn");
    assert_ratio(smb.logo_churn, 0.0, "SMB logo churn");

    let ent = got.by_segment[1].metrics.expect("Enterprise metrics");
    assert_eq!(amounts(&ent), ([10_000 * K, 0, 0, 1_500 * K, 3_000 * K, 5_500 * K], [3, 0, 1, 2]));
    assert_ratio(ent.nrr, 0.55, "Enterprise NRR");
    assert_ratio(ent.grr, 0.55, "Enterprise GRR");
    assert_ratio(ent.revenue_churn, 0.45, "Enterprise revenue churn");
    assert_ratio(ent.logo_churn, 0.333333, "Enterprise logo churn");

    // The total is still the whole example.
    let total = got.total.expect("total");
    assert_eq!(total.ending_arr_minor, 11_500 * K);

    // Filtering by segment: the total is that segment's numbers.
    let req =
        pb::GetRevenueMetricsRequest { segments: vec![pb::Segment::Enterprise as i32], ..q1("") };
    let only = metrics(&mut client, req).await.total.expect("total");
    assert_eq!(only, ent, "segments = [ENTERPRISE] totals the Enterprise accounts only");
}

#[tokio::test]
async fn q1_2026_worked_example_by_month() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    let req = pb::GetRevenueMetricsRequest { by_month: true, ..q1("") };
    let got = metrics(&mut client, req).await;
    let periods: Vec<_> = got.by_month.iter().map(|m| (m.start_date, m.end_date)).collect();
    assert_eq!(
        periods,
        [
            (date(2026, 1, 1), date(2026, 2, 1)),
            (date(2026, 2, 1), date(2026, 3, 1)),
            (date(2026, 3, 1), date(2026, 4, 1)),
        ],
        "oldest first"
    );
    let jan = got.by_month[0].metrics.expect("January");
    assert_eq!(amounts(&jan), ([13_600 * K, 1_800 * K, 0, 1_500 * K, 0, 13_900 * K], [5, 1, 0, 6]));
    assert_ratio(jan.nrr, 0.889706, "January NRR");
    assert_ratio(jan.grr, 0.889706, "January GRR");
    assert_ratio(jan.revenue_churn, 0.110294, "January revenue churn");
    assert_ratio(jan.logo_churn, 0.0, "January logo churn");

    let feb = got.by_month[1].metrics.expect("February");
    assert_eq!(amounts(&feb), ([13_900 * K, 0, 600 * K, 0, 3_000 * K, 11_500 * K], [6, 0, 1, 5]));
    let mar = got.by_month[2].metrics.expect("March");
    assert_eq!(amounts(&mar), ([11_500 * K, 0, 0, 0, 0, 11_500 * K], [5, 0, 0, 5]));
    assert_ratio(mar.nrr, 1.0, "March NRR");

    // A period starting mid-month clips its first and last months.
    let req = pb::GetRevenueMetricsRequest {
        start_date: date(2026, 1, 20),
        end_date: date(2026, 3, 10),
        by_month: true,
        ..Default::default()
    };
    let got = metrics(&mut client, req).await;
    let periods: Vec<_> = got.by_month.iter().map(|m| (m.start_date, m.end_date)).collect();
    assert_eq!(
        periods,
        [
            (date(2026, 1, 20), date(2026, 2, 1)),
            (date(2026, 2, 1), date(2026, 3, 1)),
            (date(2026, 3, 1), date(2026, 3, 10)),
        ]
    );
    // 2026-01-20: newco has started, so January's clipped part has no new ARR.
    let jan = got.by_month[0].metrics.expect("January");
    assert_eq!(amounts(&jan), ([15_400 * K, 0, 0, 1_500 * K, 0, 13_900 * K], [6, 0, 0, 6]));
}

#[tokio::test]
async fn a_second_currency_needs_a_currency_code() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    // A EUR customer in service throughout Q1.
    let euro = pb::Account { segment: pb::Segment::Smb as i32, ..account("Euro", "") };
    create_account(&mut client, "euro", euro).await;
    let eur = contract(900 * K, "EUR", ymd(2025, 7, 1), ymd(2026, 6, 30));
    try_create_contract(&mut client, "accounts/euro", eur).await.expect("EUR contract");

    let err = client.get_revenue_metrics(q1("")).await.expect_err("two currencies");
    assert_code(&err, Code::FailedPrecondition, "MIXED_CURRENCIES");

    // In USD the EUR contract is left out and counted.
    let got = metrics(&mut client, q1("USD")).await;
    assert_eq!(got.currency_code, "USD");
    assert_eq!(got.excluded_contract_count, 1);
    let total = got.total.expect("total");
    assert_eq!(
        amounts(&total),
        ([13_600 * K, 1_800 * K, 600 * K, 1_500 * K, 3_000 * K, 11_500 * K], [5, 1, 1, 5])
    );

    // In EUR: one steady account; the 8 USD contracts in service during Q1 are excluded
    // (steady, expand ×2, newco, shrink ×2, churn, edge; not gone nor later).
    let got = metrics(&mut client, q1("EUR")).await;
    assert_eq!(got.currency_code, "EUR");
    assert_eq!(got.excluded_contract_count, 8);
    let total = got.total.expect("total");
    assert_eq!(amounts(&total), ([900 * K, 0, 0, 0, 0, 900 * K], [1, 0, 0, 1]));
    assert_ratio(total.nrr, 1.0, "EUR NRR");
}

#[tokio::test]
async fn a_currency_out_of_service_during_the_period_does_not_count() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    create_account(&mut client, "old-euro", account("Old Euro", "")).await;
    let eur = contract(900 * K, "EUR", ymd(2023, 1, 1), ymd(2023, 12, 31));
    try_create_contract(&mut client, "accounts/old-euro", eur).await.expect("EUR contract");
    let got = metrics(&mut client, q1("")).await;
    assert_eq!(got.currency_code, "USD");
    assert_eq!(got.total.expect("total").ending_arr_minor, 11_500 * K);
}

#[tokio::test]
async fn other_periods_add_up_and_ratios_need_starting_arr() {
    let (_db, _server, mut client) = start().await;
    seed_q1(&mut client).await;
    // 2024-06-01 to 2024-07-01: only "gone" (500k, all of 2024) is in service: steady.
    let req = pb::GetRevenueMetricsRequest {
        start_date: date(2024, 6, 1),
        end_date: date(2024, 7, 1),
        ..Default::default()
    };
    let total = metrics(&mut client, req).await.total.expect("total");
    assert_eq!(amounts(&total), ([500 * K, 0, 0, 0, 0, 500 * K], [1, 0, 0, 1]));

    // 2020: nothing in service at all.
    let req = pb::GetRevenueMetricsRequest {
        start_date: date(2020, 1, 1),
        end_date: date(2020, 4, 1),
        currency_code: "USD".into(),
        ..Default::default()
    };
    let total = metrics(&mut client, req).await.total.expect("total");
    assert_eq!(amounts(&total), ([0; 6], [0; 4]));
    assert_eq!(
        (total.nrr, total.grr, total.revenue_churn, total.logo_churn),
        (None, None, None, None)
    );

    // The two months after Q1 [2026-04-01, 2026-06-01):
    let req = pb::GetRevenueMetricsRequest {
        start_date: date(2026, 4, 1),
        end_date: date(2026, 6, 1),
        ..Default::default()
    };
    // On 2026-04-01: steady 1,200, expand 3,000, newco 1,800, shrink 4,500, edge 1,000 =
    // 11,500k (5). On 2026-06-01: steady 1,200, newco 1,800, shrink 4,500, later 700 =
    // 8,200k (4): new 700k (later), churned 3,000k (expand, ended 05-31) + 1,000k (edge,
    // ended 04-01) = 4,000k (2 accounts).
    let total = metrics(&mut client, req).await.total.expect("total");
    assert_eq!(amounts(&total), ([11_500 * K, 700 * K, 0, 0, 4_000 * K, 8_200 * K], [5, 1, 2, 4]));
    assert_ratio(total.logo_churn, 0.4, "logo churn 2 / 5");
    assert_ratio(total.nrr, 7_500.0 / 11_500.0, "NRR");
}

#[tokio::test]
async fn a_bad_period_or_currency_is_invalid() {
    let (_db, _server, mut client) = start().await;
    let cases: Vec<(pb::GetRevenueMetricsRequest, &str)> = vec![
        (pb::GetRevenueMetricsRequest { end_date: date(2026, 1, 1), ..q1("") }, "end_date"),
        (pb::GetRevenueMetricsRequest { end_date: date(2025, 12, 1), ..q1("") }, "end_date"),
        (pb::GetRevenueMetricsRequest { end_date: date(2036, 1, 2), ..q1("") }, "end_date"),
        (pb::GetRevenueMetricsRequest { start_date: None, ..q1("") }, "start_date"),
        (pb::GetRevenueMetricsRequest { end_date: None, ..q1("") }, "end_date"),
        (q1("XYZ"), "currency_code"),
    ];
    for (req, field) in cases {
        let err = client.get_revenue_metrics(req.clone()).await.expect_err(field);
        assert_invalid(&err, field);
    }
    // Exactly ten years is allowed.
    let req = pb::GetRevenueMetricsRequest { end_date: date(2036, 1, 1), ..q1("USD") };
    metrics(&mut client, req).await;
}

#[tokio::test]
async fn accounts_without_a_segment_report_under_unspecified() {
    let (_db, _server, mut client) = start().await;
    // "plain" (no segment): 100k all year, steady. "small" (SMB): 200k all year, steady.
    create_account(&mut client, "plain", account("Plain", "")).await;
    let small = pb::Account { segment: pb::Segment::Smb as i32, ..account("Small", "") };
    create_account(&mut client, "small", small).await;
    for (id, arr) in [("plain", 100 * K), ("small", 200 * K)] {
        let parent = format!("accounts/{id}");
        create_usd_contract(&mut client, &parent, arr, ymd(2025, 7, 1), ymd(2026, 6, 30)).await;
    }
    let req = pb::GetRevenueMetricsRequest { by_segment: true, ..q1("") };
    let got = metrics(&mut client, req).await;
    let segments: Vec<(i32, i64)> = got
        .by_segment
        .iter()
        .map(|s| (s.segment, s.metrics.map_or(0, |m| m.ending_arr_minor)))
        .collect();
    assert_eq!(
        segments,
        [(pb::Segment::Unspecified as i32, 100 * K), (pb::Segment::Smb as i32, 200 * K)]
    );
}
