//! Reading scores: lists with filters, order and pages; history raw and downsampled;
//! explanations against an earlier time; bad requests.

use chrono::{Duration, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::google::r#type::Interval;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;
use tonic::Code;

use crate::support::*;

/// Four accounts whose scores are worked out below: worst first c, a, d, b.
async fn four_accounts(s: &mut Suite) -> [String; 4] {
    let a = create_account(&mut s.accounts, "a.example", account_pb::Segment::Smb).await;
    let b = create_account(&mut s.accounts, "b.example", account_pb::Segment::Smb).await;
    let c = create_account(&mut s.accounts, "c.example", account_pb::Segment::Enterprise).await;
    let d = create_account(&mut s.accounts, "d.example", account_pb::Segment::MidMarket).await;
    let tickets: [(&str, TicketPriority, usize); 3] = [
        ("a.example", TicketPriority::Urgent, 3),
        ("c.example", TicketPriority::High, 5),
        ("d.example", TicketPriority::High, 1),
    ];
    for (domain, priority, n) in tickets {
        for i in 0..n {
            let id = format!("{domain}-{i}");
            ingest(&mut s.tickets, ticket(domain, &id, priority, Duration::hours(1 + i as i64)))
                .await;
        }
    }
    // a: 3 URGENT → (25×25 + 100×15)/40 = 53.13; b: none → 100; c: 5 HIGH → (0 + 1500)/40 =
    // 37.5; d: 1 HIGH → (80×25 + 1500)/40 = 87.5.
    for (account, score) in [(&a, 53.13), (&b, 100.0), (&c, 37.5), (&d, 87.5)] {
        score_when(&s.client, account, "the worked score", |h| h.score == Some(score)).await;
    }
    [a, b, c, d]
}

async fn list(client: &mut Client, req: pb::ListHealthScoresRequest) -> Vec<(String, Option<f64>)> {
    let mut out = Vec::new();
    let mut req = req;
    loop {
        let page = client.list_health_scores(req.clone()).await.expect("list").into_inner();
        out.extend(page.health_scores.into_iter().map(|h| (h.account, h.score)));
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn scores_list_worst_first_with_filters_orders_and_pages() {
    let mut s = start().await;
    let [a, b, c, d] = four_accounts(&mut s).await;

    let worst_first =
        list(&mut s.client, pb::ListHealthScoresRequest { page_size: 3, ..Default::default() })
            .await;
    assert_eq!(
        worst_first,
        [
            (c.clone(), Some(37.5)),
            (a.clone(), Some(53.13)),
            (d.clone(), Some(87.5)),
            (b.clone(), Some(100.0))
        ]
    );
    let best_first = list(
        &mut s.client,
        pb::ListHealthScoresRequest {
            order_by: "score desc".into(),
            page_size: 1,
            ..Default::default()
        },
    )
    .await;
    let names: Vec<&String> = best_first.iter().map(|(n, _)| n).collect();
    assert_eq!(names, [&b, &d, &a, &c]);

    let red = list(
        &mut s.client,
        pb::ListHealthScoresRequest {
            bands: vec![pb::HealthBand::Red as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(red, [(c.clone(), Some(37.5))]);
    let not_smb = list(
        &mut s.client,
        pb::ListHealthScoresRequest {
            segments: vec![pb::Segment::Enterprise as i32, pb::Segment::MidMarket as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(not_smb, [(c.clone(), Some(37.5)), (d.clone(), Some(87.5))]);
    let owned = list(
        &mut s.client,
        pb::ListHealthScoresRequest { owner: "nobody@steward.dev".into(), ..Default::default() },
    )
    .await;
    assert!(owned.is_empty());

    let bad = s
        .client
        .list_health_scores(pb::ListHealthScoresRequest {
            order_by: "arr".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad order");
    assert_invalid(&bad, "order_by");
    let first = s
        .client
        .list_health_scores(pb::ListHealthScoresRequest { page_size: 1, ..Default::default() })
        .await
        .expect("page")
        .into_inner();
    let mismatched = s
        .client
        .list_health_scores(pb::ListHealthScoresRequest {
            page_size: 1,
            bands: vec![pb::HealthBand::Red as i32],
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .expect_err("token for other filters");
    assert_invalid(&mismatched, "page_token");
}

#[tokio::test]
async fn history_is_raw_or_downsampled_and_explanations_compare_with_a_time() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    let first = score_when(&s.client, &acme, "a first score", |_| true).await;
    for (id, hours) in [("u1", 1), ("u2", 2), ("u3", 3)] {
        ingest(
            &mut s.tickets,
            ticket("acme.com", id, TicketPriority::Urgent, Duration::hours(hours)),
        )
        .await;
    }
    score_when(&s.client, &acme, "the urgent score", |h| h.score == Some(53.13)).await;

    let hour = Interval {
        start_time: ts(Utc::now() - Duration::hours(1)),
        end_time: ts(Utc::now() + Duration::seconds(1)),
    };
    let raw = s
        .client
        .get_score_history(pb::GetScoreHistoryRequest {
            account: acme.clone(),
            interval: Some(hour),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    let scores: Vec<Option<f64>> = raw.points.iter().map(|p| p.score).collect();
    assert_eq!(scores.first(), Some(&Some(100.0)));
    assert_eq!(scores.last(), Some(&Some(53.13)));

    let day = |aggregation: pb::Aggregation| pb::GetScoreHistoryRequest {
        account: acme.clone(),
        interval: Some(Interval {
            start_time: ts(Utc::now() - Duration::days(3)),
            end_time: ts(Utc::now() + Duration::seconds(1)),
        }),
        step: Some(prost_types::Duration { seconds: 86_400 * 7, nanos: 0 }),
        aggregation: aggregation as i32,
        ..Default::default()
    };
    // One or two weekly buckets touch the last 3 days; the last holds both scores.
    for (aggregation, expected) in [
        (pb::Aggregation::Min, 53.13),
        (pb::Aggregation::Max, 100.0),
        (pb::Aggregation::Last, 53.13),
    ] {
        let points = s
            .client
            .get_score_history(day(aggregation))
            .await
            .expect("history")
            .into_inner()
            .points;
        assert_eq!(points.last().and_then(|p| p.score), Some(expected), "{aggregation:?}");
    }
    for (req, field) in [
        (
            pb::GetScoreHistoryRequest {
                step: Some(prost_types::Duration { seconds: 30, nanos: 0 }),
                ..day(pb::Aggregation::Last)
            },
            "step",
        ),
        // 10 days of minutes: 14,400 buckets, over the 10,000 limit.
        (
            pb::GetScoreHistoryRequest {
                step: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
                interval: Some(Interval {
                    start_time: ts(Utc::now() - Duration::days(10)),
                    end_time: ts(Utc::now()),
                }),
                ..day(pb::Aggregation::Last)
            },
            "step",
        ),
        (day(pb::Aggregation::Mean), "aggregation"),
        (
            pb::GetScoreHistoryRequest { account: "acme".into(), ..day(pb::Aggregation::Last) },
            "account",
        ),
    ] {
        let err = s.client.get_score_history(req).await.expect_err("refused");
        assert_invalid(&err, field);
    }

    // Compared with the first score's time: the whole move since then.
    let explained = s
        .client
        .explain_health_score(pb::ExplainHealthScoreRequest {
            account: acme.clone(),
            compare_time: first.compute_time,
        })
        .await
        .expect("explain")
        .into_inner();
    let comparison = explained.comparison.expect("comparison");
    assert_eq!(comparison.earlier_score, Some(100.0));
    assert_eq!(comparison.score_delta, -46.87);
    // Before any score: nothing to compare with.
    let before = s
        .client
        .explain_health_score(pb::ExplainHealthScoreRequest {
            account: acme.clone(),
            compare_time: ts(Utc::now() - Duration::days(1)),
        })
        .await
        .expect("explain")
        .into_inner();
    assert!(before.comparison.is_none());
    assert!(!before.summary.is_empty());
    let future = s
        .client
        .explain_health_score(pb::ExplainHealthScoreRequest {
            account: acme.clone(),
            compare_time: ts(Utc::now() + Duration::hours(1)),
        })
        .await
        .expect_err("future");
    assert_invalid(&future, "compare_time");
}

#[tokio::test]
async fn unknown_and_malformed_names_are_refused() {
    let mut s = start().await;
    let missing = s
        .client
        .get_health_score(pb::GetHealthScoreRequest { name: "accounts/nobody/healthScore".into() })
        .await
        .expect_err("unknown");
    assert_code(&missing, Code::NotFound, "ACCOUNT_NOT_FOUND");
    for name in ["accounts/nobody", "healthScore", "accounts//healthScore"] {
        let bad = s
            .client
            .get_health_score(pb::GetHealthScoreRequest { name: name.into() })
            .await
            .expect_err("malformed");
        assert_invalid(&bad, "name");
    }
    let history = s
        .client
        .get_score_history(pb::GetScoreHistoryRequest {
            account: "accounts/nobody".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_code(&history, Code::NotFound, "ACCOUNT_NOT_FOUND");
}
