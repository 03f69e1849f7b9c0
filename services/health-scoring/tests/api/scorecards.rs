//! Scorecards: create (ids, request ids, validation, conflicts, the default flag moving),
//! get, list, versions, update (masks with sub-fields, etags, no-op updates, the default
//! required), and previews of a draft against the live scores.

use chrono::Duration;
use prost_types::FieldMask;
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as pb;
use steward_proto::ticket::v1::TicketPriority;
use tonic::Code;

use crate::support::*;

use pb::Segment as Seg;

/// One component reading HIGH/URGENT tickets over `window_days`: none earn `calm` points,
/// one or more earn `busy` points.
pub(crate) fn severity(window_days: i64, calm: f64, busy: f64) -> pb::Component {
    let range = |lower: Option<f64>, upper: Option<f64>, points| pb::ThresholdRange {
        lower_bound: lower,
        upper_bound: upper,
        points,
    };
    pb::Component {
        id: "severity".into(),
        display_name: "Severity".into(),
        measure: Some(pb::Measure {
            kind: Some(pb::measure::Kind::Builtin(pb::BuiltinMeasure::HighUrgentTickets as i32)),
        }),
        scoring: Some(pb::component::Scoring::Thresholds(pb::ThresholdScoring {
            ranges: vec![range(None, Some(1.0), calm), range(Some(1.0), None, busy)],
        })),
        weight: 10.0,
        window: Some(prost_types::Duration { seconds: window_days * 86_400, nanos: 0 }),
        ..Default::default()
    }
}

/// A scorecard of one severity component (0 tickets → 30, 1+ → 80) for `segments`.
pub(crate) fn card(display_name: &str, segments: &[Seg], default: bool) -> pb::Scorecard {
    pb::Scorecard {
        display_name: display_name.into(),
        components: vec![severity(30, 30.0, 80.0)],
        assignment: Some(pb::Assignment {
            segments: segments.iter().map(|s| *s as i32).collect(),
            lifecycle_stages: vec![],
            default_scorecard: default,
        }),
        ..Default::default()
    }
}

pub(crate) async fn try_create(
    client: &mut Client,
    id: &str,
    scorecard: pb::Scorecard,
) -> Result<pb::Scorecard, tonic::Status> {
    let req = pb::CreateScorecardRequest {
        scorecard_id: id.into(),
        scorecard: Some(scorecard),
        request_id: request_id(),
    };
    Ok(client.create_scorecard(req).await?.into_inner())
}

pub(crate) async fn create(
    client: &mut Client,
    id: &str,
    scorecard: pb::Scorecard,
) -> pb::Scorecard {
    try_create(client, id, scorecard).await.expect("create scorecard")
}

pub(crate) async fn try_update(
    client: &mut Client,
    scorecard: pb::Scorecard,
    paths: &[&str],
) -> Result<pb::Scorecard, tonic::Status> {
    let update_mask = Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() });
    let req = pb::UpdateScorecardRequest { scorecard: Some(scorecard), update_mask };
    Ok(client.update_scorecard(req).await?.into_inner())
}

async fn get(
    client: &mut Client,
    name: &str,
    version: i32,
) -> Result<pb::Scorecard, tonic::Status> {
    let req = pb::GetScorecardRequest { name: name.into(), version };
    Ok(client.get_scorecard(req).await?.into_inner())
}

async fn versions(client: &mut Client, name: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let mut req =
        pb::ListScorecardVersionsRequest { name: name.into(), page_size: 1, ..Default::default() };
    loop {
        let page =
            client.list_scorecard_versions(req.clone()).await.expect("versions").into_inner();
        out.extend(page.scorecards.iter().map(|s| s.version));
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn a_created_scorecard_reads_back_lists_by_name_and_has_one_version() {
    let mut s = start().await;
    let created =
        create(&mut s.client, "enterprise", card("Enterprise", &[Seg::Enterprise], false)).await;
    assert_eq!(created.name, "scorecards/enterprise");
    assert_eq!(created.version, 1);
    assert_eq!(created.etag, "W/\"1\"");
    assert!(created.create_time.is_some());
    assert_eq!(created.create_time, created.update_time);
    assert_eq!(
        created.bands,
        Some(pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 70.0 })
    );
    assert_eq!(created.rescore_operation, "", "no account is in ENTERPRISE");

    assert_eq!(get(&mut s.client, "scorecards/enterprise", 0).await.expect("get"), created);
    assert_eq!(get(&mut s.client, "scorecards/enterprise", 1).await.expect("get v1"), created);
    let err = get(&mut s.client, "scorecards/enterprise", 2).await.expect_err("no v2");
    assert_code(&err, Code::NotFound, "SCORECARD_VERSION_NOT_FOUND");

    let list = s.client.list_scorecards(pb::ListScorecardsRequest::default()).await.expect("list");
    let names: Vec<String> = list.into_inner().scorecards.into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["scorecards/default", "scorecards/enterprise"]);
    assert_eq!(versions(&mut s.client, "scorecards/enterprise").await, [1]);
    let err = s
        .client
        .list_scorecard_versions(pb::ListScorecardVersionsRequest {
            name: "scorecards/nope".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_code(&err, Code::NotFound, "SCORECARD_NOT_FOUND");

    // A server-assigned id when none is given.
    let anon = create(&mut s.client, "", card("Drafting", &[], false)).await;
    assert!(
        uuid::Uuid::parse_str(anon.name.trim_start_matches("scorecards/")).is_ok(),
        "{}",
        anon.name
    );
}

#[tokio::test]
async fn creates_are_idempotent_by_request_id_and_validated() {
    let mut s = start().await;
    let req = pb::CreateScorecardRequest {
        scorecard_id: "smb".into(),
        scorecard: Some(card("SMB", &[Seg::Smb], false)),
        request_id: request_id(),
    };
    let first = s.client.create_scorecard(req.clone()).await.expect("create").into_inner();
    let again = s.client.create_scorecard(req.clone()).await.expect("replay").into_inner();
    assert_eq!(again, first, "a retry answers the first result");
    assert_eq!(versions(&mut s.client, "scorecards/smb").await, [1], "and writes nothing");

    let mut reused = req.clone();
    reused.scorecard_id = "other".into();
    let err = s.client.create_scorecard(reused).await.expect_err("reused id");
    assert_code(&err, Code::InvalidArgument, "REQUEST_ID_REUSED");

    let mut fresh = req.clone();
    fresh.request_id = request_id();
    let err = s.client.create_scorecard(fresh).await.expect_err("taken");
    assert_code(&err, Code::AlreadyExists, "SCORECARD_EXISTS");

    let mut missing = req.clone();
    missing.request_id = String::new();
    assert_invalid(&s.client.create_scorecard(missing).await.expect_err("no id"), "request_id");

    let err = try_create(&mut s.client, "Bad_Id", card("x", &[], false)).await.expect_err("bad id");
    assert_invalid(&err, "scorecard_id");
    let mut bad = card("x", &[], false);
    bad.components[0].weight = 0.0;
    let err = try_create(&mut s.client, "bad", bad).await.expect_err("bad weight");
    assert_invalid(&err, "scorecard.components[0].weight");
}

#[tokio::test]
async fn updates_follow_the_mask_check_the_etag_and_skip_no_ops() {
    let mut s = start().await;
    let v1 = create(&mut s.client, "smb", card("SMB", &[Seg::Smb], false)).await;

    // Only the masked field changes, though others are sent.
    let mut input = card("SMB health", &[Seg::Enterprise], false);
    input.name = v1.name.clone();
    input.etag = v1.etag.clone();
    let v2 = try_update(&mut s.client, input.clone(), &["display_name"]).await.expect("update");
    assert_eq!((v2.version, v2.display_name.as_str()), (2, "SMB health"));
    assert_eq!(v2.assignment, v1.assignment, "not in the mask");
    assert_eq!(v2.etag, "W/\"2\"");
    assert_eq!(v2.create_time, v1.create_time);
    assert_ne!(v2.update_time, v1.update_time);

    // The old etag is stale now.
    let err = try_update(&mut s.client, input.clone(), &["display_name"]).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");

    // The same content again: the current version, nothing written.
    input.etag = String::new();
    let same = try_update(&mut s.client, input.clone(), &["display_name"]).await.expect("no-op");
    assert_eq!(same.version, 2);
    assert_eq!(versions(&mut s.client, "scorecards/smb").await, [2, 1]);

    // A sub-field; the rest of the bands stay.
    input.bands = Some(pb::BandThresholds { yellow_min_score: 0.0, green_min_score: 55.0 });
    let v3 =
        try_update(&mut s.client, input.clone(), &["bands.green_min_score"]).await.expect("bands");
    assert_eq!(
        v3.bands,
        Some(pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 55.0 })
    );
    // An empty mask replaces what is set: here display name, components, bands, assignment.
    let mut partial =
        pb::Scorecard { name: v1.name.clone(), description: "Why".into(), ..Default::default() };
    let v4 = try_update(&mut s.client, partial.clone(), &[]).await.expect("empty mask");
    assert_eq!(
        (v4.version, v4.description.as_str(), v4.display_name.as_str()),
        (4, "Why", "SMB health")
    );
    assert_eq!(versions(&mut s.client, "scorecards/smb").await, [4, 3, 2, 1]);
    assert_eq!(
        get(&mut s.client, "scorecards/smb", 1).await.expect("v1 stays").display_name,
        "SMB"
    );

    // Output-only and unknown paths, bad results, unknown scorecards.
    let err = try_update(&mut s.client, partial.clone(), &["description", "version"])
        .await
        .expect_err("version");
    assert_invalid(&err, "update_mask.paths[1]");
    let err = try_update(&mut s.client, partial.clone(), &["components"])
        .await
        .expect_err("no components");
    assert_invalid(&err, "scorecard.components");
    partial.name = "scorecards/nope".into();
    let err = try_update(&mut s.client, partial, &["description"]).await.expect_err("unknown");
    assert_code(&err, Code::NotFound, "SCORECARD_NOT_FOUND");
}

#[tokio::test]
async fn same_rank_overlaps_are_refused() {
    let mut s = start().await;
    create(&mut s.client, "enterprise", card("Enterprise", &[Seg::Enterprise], false)).await;
    let err =
        try_create(&mut s.client, "big", card("Big", &[Seg::Strategic, Seg::Enterprise], false))
            .await
            .expect_err("overlap");
    assert_code(&err, Code::FailedPrecondition, "ASSIGNMENT_CONFLICT");
    let big = create(&mut s.client, "big", card("Big", &[Seg::Strategic], false)).await;

    let mut input = card("Big", &[Seg::Strategic, Seg::Enterprise], false);
    input.name = big.name.clone();
    let err =
        try_update(&mut s.client, input, &["assignment.segments"]).await.expect_err("overlap");
    assert_code(&err, Code::FailedPrecondition, "ASSIGNMENT_CONFLICT");
    assert_eq!(versions(&mut s.client, "scorecards/big").await, [1]);
}

#[tokio::test]
async fn setting_the_default_moves_the_flag_and_the_default_cannot_be_cleared() {
    let mut s = start().await;
    let new = create(&mut s.client, "fallback", card("Fallback", &[], true)).await;
    assert!(new.assignment.as_ref().expect("set").default_scorecard);

    let old = get(&mut s.client, "scorecards/default", 0).await.expect("default");
    assert_eq!(old.version, 2, "the previous default got a version with the flag cleared");
    assert!(!old.assignment.as_ref().expect("set").default_scorecard);
    assert_eq!(versions(&mut s.client, "scorecards/default").await, [2, 1]);

    let mut input = new.clone();
    input.assignment.as_mut().expect("set").default_scorecard = false;
    let err = try_update(&mut s.client, input, &["assignment.default_scorecard"])
        .await
        .expect_err("required");
    assert_code(&err, Code::FailedPrecondition, "DEFAULT_SCORECARD_REQUIRED");

    // Moving it back by setting it on the old default.
    let mut back = old.clone();
    back.assignment.as_mut().expect("set").default_scorecard = true;
    let v3 = try_update(&mut s.client, back, &["assignment"]).await.expect("move back");
    assert_eq!(v3.version, 3);
    let fallback = get(&mut s.client, "scorecards/fallback", 0).await.expect("fallback");
    assert_eq!(fallback.version, 2);
    assert!(!fallback.assignment.expect("set").default_scorecard);
}

/// Three SMB accounts scored by the default (two calm at 100 GREEN, one with 3 URGENT
/// tickets at 53.13 YELLOW) and one ENTERPRISE account; names in that order.
async fn scored_accounts(s: &mut Suite) -> [String; 4] {
    let calm_a = create_account(&mut s.accounts, "calm-a.example", account_pb::Segment::Smb).await;
    let calm_b = create_account(&mut s.accounts, "calm-b.example", account_pb::Segment::Smb).await;
    let busy = create_account(&mut s.accounts, "busy.example", account_pb::Segment::Smb).await;
    let big = create_account(&mut s.accounts, "big.example", account_pb::Segment::Enterprise).await;
    for i in 0..3 {
        let t = ticket(
            "busy.example",
            &format!("u{i}"),
            TicketPriority::Urgent,
            Duration::hours(i + 1),
        );
        ingest(&mut s.tickets, t).await;
    }
    for (account, score) in [(&calm_a, 100.0), (&calm_b, 100.0), (&busy, 53.13), (&big, 100.0)] {
        score_when(&s.client, account, "the default's score", |h| h.score == Some(score)).await;
    }
    [calm_a, calm_b, busy, big]
}

pub(crate) async fn preview(
    client: &mut Client,
    req: pb::PreviewScorecardRequest,
) -> Result<pb::PreviewScorecardResponse, tonic::Status> {
    Ok(client.preview_scorecard(req).await?.into_inner())
}

#[tokio::test]
async fn a_preview_compares_the_draft_with_the_live_scores() {
    let mut s = start().await;
    let [calm_a, calm_b, busy, big] = scored_accounts(&mut s).await;
    // The draft scores SMB with severity over 7 days (a window no live scorecard uses, so it
    // is read from ticket-ingest): calm → 30 RED (−70), busy → 80 GREEN (+26.87).
    let mut draft = card("SMB draft", &[Seg::Smb], false);
    draft.components = vec![severity(7, 30.0, 80.0)];
    let req = pb::PreviewScorecardRequest { scorecard: Some(draft.clone()), ..Default::default() };
    let got = preview(&mut s.client, req).await.expect("preview");
    assert_eq!((got.matched_account_count, got.evaluated_account_count), (3, 3), "not {big}");
    let dist = |red, yellow, green| {
        Some(pb::BandDistribution {
            red_count: red,
            yellow_count: yellow,
            green_count: green,
            unscored_count: 0,
        })
    };
    assert_eq!(got.live_distribution, dist(0, 1, 2));
    assert_eq!(got.draft_distribution, dist(2, 0, 1));
    // (−70 − 70 + 26.87) / 3 = −37.71
    assert_eq!(got.mean_score_delta, -37.71);
    assert_eq!(got.band_change_count, 3);
    let changes: Vec<(&str, Option<f64>, Option<f64>)> = got
        .band_changes
        .iter()
        .map(|c| (c.account.as_str(), c.live_score, c.draft_score))
        .collect();
    assert_eq!(
        changes,
        [
            (calm_a.as_str(), Some(100.0), Some(30.0)),
            (calm_b.as_str(), Some(100.0), Some(30.0)),
            (busy.as_str(), Some(53.13), Some(80.0)),
        ]
    );
    let first = &got.band_changes[0];
    assert_eq!(
        (first.live_band(), first.draft_band()),
        (pb::HealthBand::Green, pb::HealthBand::Red)
    );
    assert_eq!(
        (first.live_scorecard.as_str(), first.live_scorecard_version),
        ("scorecards/default", 1)
    );

    // Caps: one evaluated, one change listed; and explicit accounts.
    let req = pb::PreviewScorecardRequest {
        scorecard: Some(draft.clone()),
        sample_limit: 1,
        max_band_changes: 1,
        ..Default::default()
    };
    let got = preview(&mut s.client, req).await.expect("preview");
    assert_eq!(
        (got.matched_account_count, got.evaluated_account_count, got.band_change_count),
        (3, 1, 1)
    );
    let req = pb::PreviewScorecardRequest {
        scorecard: Some(draft.clone()),
        accounts: vec![big.clone()],
        ..Default::default()
    };
    let got = preview(&mut s.client, req).await.expect("preview");
    assert_eq!(got.evaluated_account_count, 1);
    assert_eq!(got.band_changes[0].account, big);

    // Nothing was stored: scores and scorecards are as before.
    score_when(&s.client, &calm_a, "the live score", |h| h.score == Some(100.0)).await;
    let list = s.client.list_scorecards(pb::ListScorecardsRequest::default()).await.expect("list");
    assert_eq!(list.into_inner().scorecards.len(), 1);

    // Bad requests.
    let req = pb::PreviewScorecardRequest {
        scorecard: Some(draft.clone()),
        accounts: vec![calm_a.clone(), "accounts/nope".into()],
        ..Default::default()
    };
    assert_invalid(&preview(&mut s.client, req).await.expect_err("unknown"), "accounts[1]");
    let mut named = draft.clone();
    named.name = "scorecards/nope".into();
    let req = pb::PreviewScorecardRequest { scorecard: Some(named), ..Default::default() };
    assert_code(
        &preview(&mut s.client, req).await.expect_err("unknown"),
        Code::NotFound,
        "SCORECARD_NOT_FOUND",
    );
    let mut bad = draft;
    bad.display_name = String::new();
    let req = pb::PreviewScorecardRequest { scorecard: Some(bad), ..Default::default() };
    assert_invalid(
        &preview(&mut s.client, req).await.expect_err("invalid"),
        "scorecard.display_name",
    );
}
