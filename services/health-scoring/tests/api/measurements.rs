//! Custom measurements: recorded idempotently, replacing by (account, key, time), listed
//! newest first, and moving the score of the account they measure.

use chrono::{Duration, SubsecRound as _, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use tonic::Code;

use crate::support::*;

fn usage(account: &str, value: f64, observed: chrono::DateTime<Utc>) -> pb::Measurement {
    pb::Measurement {
        account: account.into(),
        key: "active_user_ratio".into(),
        value,
        observe_time: ts(observed),
        unit: "ratio".into(),
        source: "product-analytics".into(),
        ..Default::default()
    }
}

async fn record(
    client: &mut Client,
    request_id: &str,
    measurements: Vec<pb::Measurement>,
) -> Result<pb::RecordMeasurementsResponse, tonic::Status> {
    let req = pb::RecordMeasurementsRequest { request_id: request_id.into(), measurements };
    Ok(client.record_measurements(req).await?.into_inner())
}

fn counts(r: &pb::RecordMeasurementsResponse) -> (i32, i32, i32) {
    (r.recorded_count, r.replaced_count, r.unchanged_count)
}

#[tokio::test]
async fn usage_measurements_move_the_score_and_retries_record_once() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    score_when(&s.client, &acme, "a first score", |h| h.score == Some(100.0)).await;
    // Whole seconds: Postgres keeps microseconds.
    let observed = (Utc::now() - Duration::hours(2)).trunc_subsecs(0);

    let id = request_id();
    let first =
        record(&mut s.client, &id, vec![usage(&acme, 0.2, observed)]).await.expect("record");
    assert_eq!(counts(&first), (1, 0, 0));
    // Usage 0.2 → 0 points with weight 15 beside severity and backlog (100 each):
    // (2500 + 1500 + 0) / 55 = 72.7272… → 72.73.
    let score =
        score_when(&s.client, &acme, "usage in the score", |h| h.score == Some(72.73)).await;
    let usage_part = component(&score, "usage");
    assert_eq!(usage_part.state(), pb::ComponentState::Included);
    assert_eq!((usage_part.value, usage_part.points), (Some(0.2), 0.0));
    assert_eq!(score.freshness.and_then(|f| f.latest_measurement_time), ts(observed));

    // The same request again: the first answer, nothing recorded twice.
    let again = record(&mut s.client, &id, vec![usage(&acme, 0.2, observed)]).await.expect("retry");
    assert_eq!(again, first);
    let reused =
        record(&mut s.client, &id, vec![usage(&acme, 0.9, observed)]).await.expect_err("reused");
    assert_code(&reused, Code::InvalidArgument, "REQUEST_ID_REUSED");

    // A new request for the same (account, key, time): unchanged, then replaced.
    let same = record(&mut s.client, &request_id(), vec![usage(&acme, 0.2, observed)])
        .await
        .expect("same");
    assert_eq!(counts(&same), (0, 0, 1));
    let replaced = record(&mut s.client, &request_id(), vec![usage(&acme, 0.8, observed)])
        .await
        .expect("replace");
    assert_eq!(counts(&replaced), (0, 1, 0));
    score_when(&s.client, &acme, "full usage in the score", |h| h.score == Some(100.0)).await;

    let listed = s
        .client
        .list_measurements(pb::ListMeasurementsRequest {
            account: acme.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .measurements;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].value, listed[0].observe_time), (0.8, ts(observed)));
    assert!(listed[0].record_time.is_some());
}

#[tokio::test]
async fn measurements_list_newest_first_by_key_and_in_pages() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    score_when(&s.client, &acme, "a first score", |_| true).await;
    let now = Utc::now();
    let mut batch: Vec<pb::Measurement> =
        (1..=5).map(|d| usage(&acme, 0.1 * d as f64, now - Duration::days(d))).collect();
    batch
        .push(pb::Measurement { key: "nps".into(), ..usage(&acme, 40.0, now - Duration::days(2)) });
    let recorded = record(&mut s.client, &request_id(), batch).await.expect("record");
    assert_eq!(counts(&recorded), (6, 0, 0));

    let mut req =
        pb::ListMeasurementsRequest { account: acme.clone(), page_size: 4, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = s.client.list_measurements(req.clone()).await.expect("list").into_inner();
        seen.extend(page.measurements.into_iter().map(|m| (m.key, m.value)));
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    let expected: Vec<(String, f64)> = vec![
        ("active_user_ratio".into(), 0.1),
        ("active_user_ratio".into(), 0.2),
        ("nps".into(), 40.0),
        ("active_user_ratio".into(), 0.30000000000000004),
        ("active_user_ratio".into(), 0.4),
        ("active_user_ratio".into(), 0.5),
    ];
    assert_eq!(seen, expected);
    let nps = s
        .client
        .list_measurements(pb::ListMeasurementsRequest {
            account: acme.clone(),
            key: "nps".into(),
            ..Default::default()
        })
        .await
        .expect("list nps")
        .into_inner()
        .measurements;
    assert_eq!(nps.len(), 1);
}

#[tokio::test]
async fn bad_measurements_are_refused_whole() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "acme.com", account_pb::Segment::Smb).await;
    score_when(&s.client, &acme, "a first score", |_| true).await;
    let now = Utc::now();

    let missing_id =
        record(&mut s.client, "", vec![usage(&acme, 0.5, now)]).await.expect_err("no id");
    assert_invalid(&missing_id, "request_id");
    let unknown = record(
        &mut s.client,
        &request_id(),
        vec![usage(&acme, 0.5, now), usage("accounts/nobody", 0.5, now)],
    )
    .await
    .expect_err("unknown account");
    assert_invalid(&unknown, "measurements[1].account");
    let bad = record(
        &mut s.client,
        &request_id(),
        vec![usage(&acme, f64::INFINITY, now), usage(&acme, 0.5, now + Duration::hours(1))],
    )
    .await
    .expect_err("bad values");
    assert_eq!(violations(&bad), ["measurements[0].value", "measurements[1].observe_time"]);
    // Nothing of the refused calls was recorded.
    let listed = s
        .client
        .list_measurements(pb::ListMeasurementsRequest {
            account: acme.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .measurements;
    assert!(listed.is_empty());
    let unknown_list = s
        .client
        .list_measurements(pb::ListMeasurementsRequest {
            account: "accounts/nobody".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_code(&unknown_list, Code::NotFound, "ACCOUNT_NOT_FOUND");
}
