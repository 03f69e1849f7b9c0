//! SLA policies: create (ids, request ids, conflicts), get, list, update (masks, etags),
//! delete, validation, and the POLICY targets they add to tickets at ingest and on every
//! policy change.
//!
//! Tickets here are created a few hours before the test runs, so that targets still running
//! (ACTIVE) can be told from decided ones (MET, BREACHED).

use chrono::{DateTime, Duration, Utc};
use steward_proto::ticket::v1 as pb;
use steward_testkit::status::assert_invalid_under;
use tonic::Code;

use crate::support::*;

use pb::SlaMetric as M;
use pb::SlaState as St;
use pb::TicketPriority as P;

fn minutes(n: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: n * 60, nanos: 0 })
}

/// A policy target: first response and resolution within so many minutes.
fn target(
    priority: P,
    first_response: Option<i64>,
    resolution: Option<i64>,
) -> pb::SlaPolicyTarget {
    pb::SlaPolicyTarget {
        priority: priority as i32,
        first_response: first_response.and_then(minutes),
        resolution: resolution.and_then(minutes),
    }
}

fn policy(
    display_name: &str,
    targets: Vec<pb::SlaPolicyTarget>,
    sources: &[pb::Source],
) -> pb::SlaPolicy {
    pb::SlaPolicy {
        display_name: display_name.into(),
        targets,
        sources: sources.iter().map(|s| *s as i32).collect(),
        ..Default::default()
    }
}

fn create_request(id: &str, policy: pb::SlaPolicy) -> pb::CreateSlaPolicyRequest {
    pb::CreateSlaPolicyRequest {
        sla_policy_id: id.into(),
        sla_policy: Some(policy),
        request_id: request_id(),
    }
}

async fn try_create(
    client: &mut Client,
    id: &str,
    policy: pb::SlaPolicy,
) -> Result<pb::SlaPolicy, tonic::Status> {
    Ok(client.create_sla_policy(create_request(id, policy)).await?.into_inner())
}

async fn create(client: &mut Client, id: &str, policy: pb::SlaPolicy) -> pb::SlaPolicy {
    try_create(client, id, policy).await.expect("create SLA policy")
}

async fn try_update(
    client: &mut Client,
    policy: pb::SlaPolicy,
    paths: &[&str],
) -> Result<pb::SlaPolicy, tonic::Status> {
    let update_mask = (!paths.is_empty())
        .then(|| prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() });
    let req = pb::UpdateSlaPolicyRequest { sla_policy: Some(policy), update_mask };
    Ok(client.update_sla_policy(req).await?.into_inner())
}

async fn try_get_policy(client: &mut Client, name: &str) -> Result<pb::SlaPolicy, tonic::Status> {
    let req = pb::GetSlaPolicyRequest { name: name.into() };
    Ok(client.get_sla_policy(req).await?.into_inner())
}

async fn try_delete(client: &mut Client, name: &str, etag: &str) -> Result<(), tonic::Status> {
    let req = pb::DeleteSlaPolicyRequest { name: name.into(), etag: etag.into() };
    client.delete_sla_policy(req).await?;
    Ok(())
}

/// Now, to the whole second.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("in range")
}

/// A Zendesk ticket of `priority` created at `created` (the snapshot taken then).
fn live(id: &str, created: DateTime<Utc>, priority: P) -> pb::Ticket {
    let mut t = ticket(id);
    t.priority = priority as i32;
    t.created_time = ts(created);
    t.source_update_time = ts(created);
    t
}

/// `t` answered first at `responded` (the snapshot taken then).
fn responded(mut t: pb::Ticket, responded: DateTime<Utc>) -> pb::Ticket {
    t.first_response_time = ts(responded);
    t.status = pb::TicketStatus::Open as i32;
    t.status_raw = "open".into();
    t.source_update_time = ts(responded);
    t
}

/// `(state, origin, due, completed, name_raw)` of a ticket's target of `metric`; `None`
/// without one. Panics when it has several.
type Seen = (St, pb::SlaOrigin, Option<DateTime<Utc>>, Option<DateTime<Utc>>, String);

fn target_of(t: &pb::Ticket, metric: M) -> Option<Seen> {
    let of_metric: Vec<&pb::SlaTarget> = t.sla.iter().filter(|s| s.metric() == metric).collect();
    assert!(of_metric.len() <= 1, "{} has several {metric:?} targets: {:?}", t.name, t.sla);
    let time =
        |x: &Option<prost_types::Timestamp>| x.as_ref().and_then(steward_kit::time::from_timestamp);
    of_metric.first().map(|s| {
        (s.state(), s.origin(), time(&s.due_time), time(&s.completed_time), s.name_raw.clone())
    })
}

/// A POLICY target as `target_of` shows it.
fn by_policy(
    state: St,
    due: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    policy: &str,
) -> Option<Seen> {
    Some((state, pb::SlaOrigin::Policy, Some(due), completed, policy.into()))
}

async fn ingest_named(client: &mut Client, t: pb::Ticket) -> String {
    ingest(client, t).await.ticket
}

#[tokio::test]
async fn policies_are_created_read_listed_updated_and_deleted() {
    let mut s = start().await;
    let standard = policy(
        "Standard",
        vec![target(P::High, Some(60), Some(480)), target(P::Normal, None, Some(1440))],
        &[],
    );
    let req = create_request("standard", standard.clone());
    let created = s.client.create_sla_policy(req.clone()).await.expect("create").into_inner();
    assert_eq!(created.name, "slaPolicies/standard");
    assert_eq!(created.display_name, "Standard");
    assert_eq!(created.targets, standard.targets);
    assert!(created.sources.is_empty(), "the catch-all");
    assert!(created.create_time.is_some() && created.update_time.is_some());
    assert!(!created.etag.is_empty());

    // Replaying the request answers the same policy; the request id with another body is
    // refused.
    let replay = s.client.create_sla_policy(req.clone()).await.expect("replay").into_inner();
    assert_eq!(replay, created);
    let mut other = req.clone();
    other.sla_policy_id = "other".into();
    let err = s.client.create_sla_policy(other).await.expect_err("reused request id");
    assert_code(&err, Code::InvalidArgument, "REQUEST_ID_REUSED");
    // A new request for a taken id.
    let err = try_create(&mut s.client, "standard", standard.clone()).await.expect_err("taken");
    assert_code(&err, Code::AlreadyExists, "SLA_POLICY_EXISTS");

    // Without an id, the service assigns a UUID.
    let freshdesk = create(
        &mut s.client,
        "",
        policy("Freshdesk", vec![target(P::Urgent, Some(30), None)], &[pb::Source::Freshdesk]),
    )
    .await;
    let id = freshdesk.name.strip_prefix("slaPolicies/").expect("policy name");
    uuid::Uuid::parse_str(id).expect("a UUID id");
    assert_eq!(freshdesk.sources, [pb::Source::Freshdesk as i32]);

    assert_eq!(try_get_policy(&mut s.client, &created.name).await.expect("get"), created);
    let err = try_get_policy(&mut s.client, "slaPolicies/nope").await.expect_err("unknown");
    assert_code(&err, Code::NotFound, "SLA_POLICY_NOT_FOUND");

    // Listed by name, page by page.
    let intercom = create(
        &mut s.client,
        "c-intercom",
        policy("Intercom", vec![target(P::Low, None, Some(600))], &[pb::Source::Intercom]),
    )
    .await;
    let front = create(
        &mut s.client,
        "b-front",
        policy("Front", vec![target(P::Low, None, Some(600))], &[pb::Source::Front]),
    )
    .await;
    let mut want: Vec<String> =
        [&created, &freshdesk, &intercom, &front].iter().map(|p| p.name.clone()).collect();
    want.sort();
    let mut listed = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListSlaPoliciesRequest { page_size: 3, page_token };
        let page = s.client.list_sla_policies(req).await.expect("list").into_inner();
        assert!(page.sla_policies.len() <= 3);
        listed.extend(page.sla_policies);
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(listed.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), want);
    assert!(listed.contains(&front), "listed as read");

    // Update one field through the mask: the other fields sent are ignored.
    let rename = pb::SlaPolicy {
        name: created.name.clone(),
        display_name: "Standard support".into(),
        targets: vec![target(P::Low, Some(5), None)],
        etag: created.etag.clone(),
        ..Default::default()
    };
    let renamed =
        try_update(&mut s.client, rename.clone(), &["display_name"]).await.expect("update");
    assert_eq!(renamed.display_name, "Standard support");
    assert_eq!(renamed.targets, created.targets, "targets are not in the mask");
    assert_ne!(renamed.etag, created.etag);
    assert_eq!(renamed.create_time, created.create_time);
    assert!(
        renamed.update_time.as_ref().map(|t| (t.seconds, t.nanos))
            >= created.update_time.as_ref().map(|t| (t.seconds, t.nanos))
    );
    assert_eq!(try_get_policy(&mut s.client, &created.name).await.expect("get"), renamed);

    // The etag the update replaced is stale now.
    let err =
        try_update(&mut s.client, rename.clone(), &["display_name"]).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    // Paths other than display_name, targets and sources.
    let err = try_update(
        &mut s.client,
        pb::SlaPolicy { etag: String::new(), ..rename.clone() },
        &["create_time"],
    )
    .await
    .expect_err("not updatable");
    assert_invalid_under(&err, "update_mask");
    // Without a mask, the fields that are set (here: sources only).
    let only_sources = pb::SlaPolicy {
        name: created.name.clone(),
        sources: vec![pb::Source::Zendesk as i32],
        ..Default::default()
    };
    let zendesk = try_update(&mut s.client, only_sources, &[]).await.expect("update sources");
    assert_eq!(zendesk.sources, [pb::Source::Zendesk as i32]);
    assert_eq!(
        (zendesk.display_name.as_str(), &zendesk.targets),
        ("Standard support", &created.targets)
    );
    let unknown = pb::SlaPolicy { name: "slaPolicies/nope".into(), ..rename };
    let err = try_update(&mut s.client, unknown, &["display_name"]).await.expect_err("unknown");
    assert_code(&err, Code::NotFound, "SLA_POLICY_NOT_FOUND");

    // Delete: a stale etag is refused, the current one (or none) deletes.
    let err = try_delete(&mut s.client, &zendesk.name, &renamed.etag).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");
    try_delete(&mut s.client, &zendesk.name, &zendesk.etag).await.expect("delete");
    let err = try_get_policy(&mut s.client, &zendesk.name).await.expect_err("deleted");
    assert_code(&err, Code::NotFound, "SLA_POLICY_NOT_FOUND");
    let err = try_delete(&mut s.client, &zendesk.name, "").await.expect_err("deleted twice");
    assert_code(&err, Code::NotFound, "SLA_POLICY_NOT_FOUND");
    try_delete(&mut s.client, &front.name, "").await.expect("delete without etag");
    let req = pb::ListSlaPoliciesRequest::default();
    let left = s.client.list_sla_policies(req).await.expect("list").into_inner().sla_policies;
    let mut want = vec![freshdesk.name.clone(), intercom.name.clone()];
    want.sort();
    assert_eq!(left.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), want);
}

/// Makes a valid policy invalid in one way.
type Breakage = Box<dyn Fn(&mut pb::SlaPolicy)>;

#[tokio::test]
async fn invalid_policies_name_the_field_and_store_nothing() {
    let mut s = start().await;
    let valid = || {
        policy(
            "Standard",
            vec![target(P::High, Some(60), Some(480)), target(P::Normal, None, Some(1440))],
            &[pb::Source::Zendesk],
        )
    };
    let cases: Vec<(&str, Breakage)> = vec![
        ("sla_policy.display_name", Box::new(|p| p.display_name = "  ".into())),
        ("sla_policy.display_name", Box::new(|p| p.display_name = "x".repeat(201))),
        ("sla_policy.targets", Box::new(|p| p.targets.clear())),
        ("sla_policy.targets[1].priority", Box::new(|p| p.targets[1].priority = P::High as i32)),
        ("sla_policy.targets[1].priority", Box::new(|p| p.targets[1].priority = 9)),
        (
            "sla_policy.targets[0]",
            Box::new(|p| {
                p.targets[0].first_response = None;
                p.targets[0].resolution = None;
            }),
        ),
        ("sla_policy.targets[1].resolution", Box::new(|p| p.targets[1].resolution = minutes(-60))),
        ("sla_policy.targets[1].resolution", Box::new(|p| p.targets[1].resolution = minutes(0))),
        (
            "sla_policy.targets[0].first_response",
            Box::new(|p| p.targets[0].first_response = minutes(366 * 24 * 60)),
        ),
        ("sla_policy.sources[0]", Box::new(|p| p.sources = vec![77])),
        ("sla_policy.sources[0]", Box::new(|p| p.sources = vec![0])),
        (
            "sla_policy.sources[1]",
            Box::new(|p| p.sources = vec![pb::Source::Zendesk as i32, pb::Source::Zendesk as i32]),
        ),
    ];
    for (field, break_it) in cases {
        let mut p = valid();
        break_it(&mut p);
        let err = try_create(&mut s.client, "", p).await.expect_err(field);
        assert_invalid(&err, field);
    }
    // Six targets: one too many (and, with five priorities, one repeats).
    let mut six = valid();
    six.targets = [P::Unspecified, P::Low, P::Normal, P::High, P::Urgent, P::Low]
        .into_iter()
        .map(|p| target(p, Some(60), None))
        .collect();
    let err = try_create(&mut s.client, "", six).await.expect_err("six targets");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violations(&err).iter().any(|v| v == "sla_policy.targets"), "{err:?}");
    // Exactly 365 days and all five priorities are fine.
    let mut widest = valid();
    widest.targets = [P::Unspecified, P::Low, P::Normal, P::High, P::Urgent]
        .into_iter()
        .map(|p| target(p, Some(365 * 24 * 60), None))
        .collect();
    create(&mut s.client, "widest", widest).await;

    let err = try_create(&mut s.client, "Bad_Id", valid()).await.expect_err("bad id");
    assert_invalid(&err, "sla_policy_id");
    let req =
        pb::CreateSlaPolicyRequest { request_id: String::new(), ..create_request("", valid()) };
    let err = s.client.create_sla_policy(req).await.expect_err("no request id");
    assert_invalid(&err, "request_id");

    // An update is validated the same way.
    let stored = try_get_policy(&mut s.client, "slaPolicies/widest").await.expect("get");
    let bad = pb::SlaPolicy {
        name: stored.name.clone(),
        targets: vec![target(P::Low, Some(60), None), target(P::High, None, Some(-5))],
        ..Default::default()
    };
    let err = try_update(&mut s.client, bad, &["targets"]).await.expect_err("bad targets");
    assert_invalid(&err, "sla_policy.targets[1].resolution");

    let req = pb::ListSlaPoliciesRequest::default();
    let all = s.client.list_sla_policies(req).await.expect("list").into_inner().sla_policies;
    assert_eq!(all, [stored], "refused writes stored nothing");
}

#[tokio::test]
async fn policies_may_not_overlap() {
    let mut s = start().await;
    let targets = || vec![target(P::High, Some(60), None)];
    create(&mut s.client, "default", policy("Default", targets(), &[])).await;
    let err = try_create(&mut s.client, "default-2", policy("Another default", targets(), &[]))
        .await
        .expect_err("two catch-alls");
    assert_code(&err, Code::FailedPrecondition, "SLA_POLICY_CONFLICT");

    create(
        &mut s.client,
        "zendesk",
        policy("Zendesk", targets(), &[pb::Source::Zendesk, pb::Source::Intercom]),
    )
    .await;
    let err = try_create(
        &mut s.client,
        "intercom",
        policy("Intercom", targets(), &[pb::Source::Front, pb::Source::Intercom]),
    )
    .await
    .expect_err("Intercom listed twice");
    assert_code(&err, Code::FailedPrecondition, "SLA_POLICY_CONFLICT");

    let front =
        create(&mut s.client, "front", policy("Front", targets(), &[pb::Source::Front])).await;
    // An update into a conflict is refused too: onto a listed source, or into a catch-all.
    let onto_zendesk = pb::SlaPolicy {
        name: front.name.clone(),
        sources: vec![pb::Source::Zendesk as i32],
        ..Default::default()
    };
    let err = try_update(&mut s.client, onto_zendesk, &["sources"]).await.expect_err("conflict");
    assert_code(&err, Code::FailedPrecondition, "SLA_POLICY_CONFLICT");
    let catch_all = pb::SlaPolicy { name: front.name.clone(), ..Default::default() };
    let err = try_update(&mut s.client, catch_all, &["sources"]).await.expect_err("catch-all");
    assert_code(&err, Code::FailedPrecondition, "SLA_POLICY_CONFLICT");
    // Its own sources again are no conflict.
    let same = pb::SlaPolicy {
        name: front.name.clone(),
        sources: vec![pb::Source::Front as i32, pb::Source::HelpScout as i32],
        ..Default::default()
    };
    try_update(&mut s.client, same, &["sources"]).await.expect("own sources");
}

/// The catch-all used below: HIGH first response within 1 h and resolution within 8 h;
/// NORMAL resolution within 3 days; nothing for LOW.
fn standard() -> pb::SlaPolicy {
    policy(
        "Standard",
        vec![target(P::High, Some(60), Some(480)), target(P::Normal, None, Some(3 * 1440))],
        &[],
    )
}

const STANDARD: &str = "slaPolicies/standard";

#[tokio::test]
async fn policy_targets_are_applied_at_ingest() {
    let mut s = start().await;
    create(&mut s.client, "standard", standard()).await;
    let t0 = now() - Duration::hours(3);
    let recent = now() - Duration::minutes(10);

    // Answered in 30 minutes: MET; resolution still running: ACTIVE, due at t0 + 8 h.
    let quick = responded(live("quick", t0, P::High), t0 + Duration::minutes(30));
    let quick = ingest_named(&mut s.client, quick).await;
    // Answered after 90 minutes: BREACHED, though fulfilled.
    let late = responded(live("late", t0, P::High), t0 + Duration::minutes(90));
    let late = ingest_named(&mut s.client, late).await;
    // Never answered, 3 hours on: BREACHED.
    let silent = ingest_named(&mut s.client, live("silent", t0, P::High)).await;
    // Created 10 minutes ago, not answered: ACTIVE.
    let fresh = ingest_named(&mut s.client, live("fresh", recent, P::High)).await;
    // Solved in 2 hours: both MET.
    let mut solved = responded(live("solved", t0, P::High), t0 + Duration::minutes(10));
    solved.status = pb::TicketStatus::Solved as i32;
    solved.status_raw = "solved".into();
    solved.first_resolved_time = ts(t0 + Duration::hours(2));
    solved.resolved_time = ts(t0 + Duration::hours(2));
    solved.source_update_time = ts(t0 + Duration::hours(2));
    let solved = ingest_named(&mut s.client, solved).await;

    let q = get(&mut s.client, &quick).await;
    assert_eq!(
        target_of(&q, M::FirstResponse),
        by_policy(St::Met, t0 + Duration::hours(1), Some(t0 + Duration::minutes(30)), STANDARD)
    );
    assert_eq!(
        target_of(&q, M::Resolution),
        by_policy(St::Active, t0 + Duration::hours(8), None, STANDARD)
    );
    assert!(event_kinds(&mut s.client, &quick).await.contains(&pb::TicketEventKind::SlaMet));

    let l = get(&mut s.client, &late).await;
    assert_eq!(
        target_of(&l, M::FirstResponse),
        by_policy(
            St::Breached,
            t0 + Duration::hours(1),
            Some(t0 + Duration::minutes(90)),
            STANDARD
        )
    );
    assert!(event_kinds(&mut s.client, &late).await.contains(&pb::TicketEventKind::SlaBreached));

    let si = get(&mut s.client, &silent).await;
    assert_eq!(
        target_of(&si, M::FirstResponse),
        by_policy(St::Breached, t0 + Duration::hours(1), None, STANDARD)
    );

    let f = get(&mut s.client, &fresh).await;
    assert_eq!(
        target_of(&f, M::FirstResponse),
        by_policy(St::Active, recent + Duration::hours(1), None, STANDARD)
    );
    assert_eq!(
        target_of(&f, M::Resolution),
        by_policy(St::Active, recent + Duration::hours(8), None, STANDARD)
    );

    let so = get(&mut s.client, &solved).await;
    assert_eq!(
        target_of(&so, M::Resolution),
        by_policy(St::Met, t0 + Duration::hours(8), Some(t0 + Duration::hours(2)), STANDARD)
    );
    assert_eq!(target_of(&so, M::FirstResponse).map(|t| t.0), Some(St::Met));

    // A platform target for a metric wins: kept as sent, no policy target for that metric.
    let mut platform = live("platform", t0, P::High);
    let platform_target = pb::SlaTarget {
        metric: M::FirstResponse as i32,
        name_raw: "Zendesk: VIP".into(),
        due_time: ts(t0 + Duration::hours(4)),
        completed_time: None,
        state: St::Active as i32,
        origin: pb::SlaOrigin::Policy as i32, // ignored on input
    };
    platform.sla = vec![platform_target.clone()];
    let platform = ingest_named(&mut s.client, platform).await;
    let p = get(&mut s.client, &platform).await;
    assert_eq!(
        target_of(&p, M::FirstResponse),
        Some((
            St::Active,
            pb::SlaOrigin::Platform,
            Some(t0 + Duration::hours(4)),
            None,
            "Zendesk: VIP".into()
        ))
    );
    assert_eq!(
        target_of(&p, M::Resolution),
        by_policy(St::Active, t0 + Duration::hours(8), None, STANDARD),
        "the policy still adds the metric the platform did not send"
    );

    // NORMAL: a resolution target only; LOW: no target at all.
    let normal = ingest_named(&mut s.client, live("normal", t0, P::Normal)).await;
    let n = get(&mut s.client, &normal).await;
    assert_eq!(target_of(&n, M::FirstResponse), None);
    assert_eq!(
        target_of(&n, M::Resolution),
        by_policy(St::Active, t0 + Duration::days(3), None, STANDARD)
    );
    let low = ingest_named(&mut s.client, live("low", t0, P::Low)).await;
    assert!(get(&mut s.client, &low).await.sla.is_empty());
}

#[tokio::test]
async fn the_policy_listing_the_source_beats_the_catch_all() {
    let mut s = start().await;
    create(&mut s.client, "standard", standard()).await;
    create(
        &mut s.client,
        "freshdesk",
        policy("Freshdesk", vec![target(P::High, Some(240), None)], &[pb::Source::Freshdesk]),
    )
    .await;
    let t0 = now() - Duration::minutes(10);
    let freshdesk = |id: &str, priority: P| {
        let mut t = live(id, t0, priority);
        t.source = pb::Source::Freshdesk as i32;
        t
    };

    let high = ingest_named(&mut s.client, freshdesk("fd-high", P::High)).await;
    let h = get(&mut s.client, &high).await;
    assert_eq!(
        target_of(&h, M::FirstResponse),
        by_policy(St::Active, t0 + Duration::hours(4), None, "slaPolicies/freshdesk")
    );
    assert_eq!(
        target_of(&h, M::Resolution),
        None,
        "the Freshdesk policy has no resolution target; no fall-through to the catch-all"
    );
    let normal = ingest_named(&mut s.client, freshdesk("fd-normal", P::Normal)).await;
    assert!(
        get(&mut s.client, &normal).await.sla.is_empty(),
        "no NORMAL target in the Freshdesk policy: none from the catch-all either"
    );
    // Zendesk tickets still get the catch-all's.
    let zendesk = ingest_named(&mut s.client, live("zd-high", t0, P::High)).await;
    let z = get(&mut s.client, &zendesk).await;
    assert_eq!(
        target_of(&z, M::FirstResponse),
        by_policy(St::Active, t0 + Duration::hours(1), None, STANDARD)
    );
}

#[tokio::test]
async fn policy_changes_recompute_active_targets_only() {
    let mut s = start().await;
    let created = create(&mut s.client, "standard", standard()).await;
    let t0 = now() - Duration::hours(3);
    let recent = now() - Duration::minutes(10);
    let met = responded(live("met", t0, P::High), t0 + Duration::minutes(30));
    let met = ingest_named(&mut s.client, met).await;
    let late = responded(live("late", t0, P::High), t0 + Duration::minutes(90));
    let late = ingest_named(&mut s.client, late).await;
    let fresh = ingest_named(&mut s.client, live("fresh", recent, P::High)).await;
    let low = ingest_named(&mut s.client, live("low", recent, P::Low)).await;
    assert!(get(&mut s.client, &low).await.sla.is_empty());
    let fresh_before = get(&mut s.client, &fresh).await;

    // HIGH: 2 h to respond, 10 h to resolve; LOW gets a 1-day resolution target.
    let longer = pb::SlaPolicy {
        name: created.name.clone(),
        targets: vec![
            target(P::High, Some(120), Some(600)),
            target(P::Normal, None, Some(3 * 1440)),
            target(P::Low, None, Some(1440)),
        ],
        etag: created.etag.clone(),
        ..Default::default()
    };
    try_update(&mut s.client, longer, &["targets"]).await.expect("update");

    let m = get(&mut s.client, &met).await;
    assert_eq!(
        target_of(&m, M::FirstResponse),
        by_policy(St::Met, t0 + Duration::hours(1), Some(t0 + Duration::minutes(30)), STANDARD),
        "a MET target keeps the policy it was decided under"
    );
    assert_eq!(
        target_of(&m, M::Resolution),
        by_policy(St::Active, t0 + Duration::hours(10), None, STANDARD),
        "the running target moves"
    );
    let l = get(&mut s.client, &late).await;
    assert_eq!(
        target_of(&l, M::FirstResponse),
        by_policy(
            St::Breached,
            t0 + Duration::hours(1),
            Some(t0 + Duration::minutes(90)),
            STANDARD
        ),
        "a BREACHED target stays breached, though the new policy would have been met"
    );
    let f = get(&mut s.client, &fresh).await;
    assert_eq!(
        target_of(&f, M::FirstResponse),
        by_policy(St::Active, recent + Duration::hours(2), None, STANDARD)
    );
    assert_eq!(
        target_of(&f, M::Resolution),
        by_policy(St::Active, recent + Duration::hours(10), None, STANDARD)
    );
    assert_ne!(f.etag, fresh_before.etag, "a recomputed ticket changed");
    let lo = get(&mut s.client, &low).await;
    assert_eq!(
        target_of(&lo, M::Resolution),
        by_policy(St::Active, recent + Duration::days(1), None, STANDARD)
    );

    // Deleting the policy removes the running targets; decided ones stay.
    try_delete(&mut s.client, STANDARD, "").await.expect("delete");
    let m = get(&mut s.client, &met).await;
    assert_eq!(target_of(&m, M::FirstResponse).map(|t| t.0), Some(St::Met));
    assert_eq!(target_of(&m, M::Resolution), None);
    let l = get(&mut s.client, &late).await;
    assert_eq!(target_of(&l, M::FirstResponse).map(|t| t.0), Some(St::Breached));
    assert_eq!(target_of(&l, M::Resolution), None);
    assert!(get(&mut s.client, &fresh).await.sla.is_empty());
    assert!(get(&mut s.client, &low).await.sla.is_empty());
}

#[tokio::test]
async fn per_ticket_sla_adherence_appears_in_the_summary() {
    let mut s = start().await;
    let account = create_account(&mut s.accounts, "Acme", "acme.example", Some("org-1")).await;
    create(&mut s.client, "standard", standard()).await;
    let t0 = now() - Duration::hours(4);
    let of_acme = |mut t: pb::Ticket| {
        t.account_ref = Some(pb::PartyRef { id: "org-1".into(), ..Default::default() });
        t
    };
    // x1: answered in 30 min, solved in 2 h → FIRST_RESPONSE and RESOLUTION MET.
    let mut x1 = of_acme(responded(live("x1", t0, P::High), t0 + Duration::minutes(30)));
    x1.status = pb::TicketStatus::Solved as i32;
    x1.status_raw = "solved".into();
    x1.first_resolved_time = ts(t0 + Duration::hours(2));
    x1.resolved_time = ts(t0 + Duration::hours(2));
    x1.source_update_time = ts(t0 + Duration::hours(2));
    // x2: answered after 90 min → FIRST_RESPONSE BREACHED; resolution running.
    let x2 = of_acme(responded(live("x2", t0, P::High), t0 + Duration::minutes(90)));
    // x3: answered in 20 min → MET; resolution running.
    let x3 = of_acme(responded(live("x3", t0, P::High), t0 + Duration::minutes(20)));
    for t in [x1, x2, x3] {
        assert_eq!(ingest(&mut s.client, t).await.account, account);
    }

    // Decided in the last day: x1 MET ×2, x2 BREACHED, x3 MET → 4 targets, 1 breach,
    // adherence 3/4; tickets x1 x2 x3, breached x2 → per ticket 1 − 1/3 = 2/3. Running
    // resolution targets (due t0 + 8 h) are not decided yet. x1 resolved in 2 h of an 8 h
    // target: ratio 0.25.
    let req = pb::GetSupportSummaryRequest {
        account: account.clone(),
        window: Some(prost_types::Duration { seconds: 86_400, nanos: 0 }),
        as_of: ts(Utc::now()),
        history_windows: 0,
    };
    let summary = s.client.get_support_summary(req).await.expect("summary").into_inner();
    let current = summary.current.expect("current");
    assert_eq!((current.sla_targets_due, current.sla_breaches), (4, 1));
    assert_eq!((current.sla_tickets, current.sla_breached_tickets), (3, 1));
    let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1e-9);
    assert!(near(current.sla_adherence, 0.75), "{:?}", current.sla_adherence);
    assert!(near(current.sla_ticket_adherence, 2.0 / 3.0), "{:?}", current.sla_ticket_adherence);
    assert!(near(current.resolution_sla_ratio_median, 0.25), "{current:?}");
    assert_eq!(current.resolution_sla_ratio_tickets, 1);
}

/// A policy giving HIGH tickets 2 seconds to a first response, and a HIGH ticket left
/// unanswered past that: the policy, the ticket's name and its target as breached.
async fn breached_by_time(s: &mut Suite) -> (pb::SlaPolicy, String, Option<Seen>) {
    let quick = policy(
        "Quick",
        vec![pb::SlaPolicyTarget {
            priority: P::High as i32,
            first_response: Some(prost_types::Duration { seconds: 2, nanos: 0 }),
            resolution: None,
        }],
        &[],
    );
    let created = create(&mut s.client, "quick", quick).await;
    let t0 = now();
    let name = ingest_named(&mut s.client, live("waiting", t0, P::High)).await;
    let t = get(&mut s.client, &name).await;
    assert_eq!(target_of(&t, M::FirstResponse).map(|t| t.0), Some(St::Active));
    // Three seconds on, unanswered: the target is breached.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let breached = by_policy(St::Breached, t0 + Duration::seconds(2), None, &created.name);
    assert_eq!(target_of(&get(&mut s.client, &name).await, M::FirstResponse), breached);
    (created, name, breached)
}

/// Policy changes recompute ACTIVE targets; a target unfulfilled after its due time is
/// BREACHED (it reads so), and keeps the policy it was decided under.
#[tokio::test]
async fn a_target_past_due_stays_breached_through_a_policy_update() {
    let mut s = start().await;
    let (policy, name, breached) = breached_by_time(&mut s).await;
    let relaxed = pb::SlaPolicy {
        name: policy.name.clone(),
        targets: vec![target(P::High, Some(60), None)],
        ..Default::default()
    };
    try_update(&mut s.client, relaxed, &["targets"]).await.expect("update");
    assert_eq!(
        target_of(&get(&mut s.client, &name).await, M::FirstResponse),
        breached,
        "a breach that already happened is not undone by a policy update"
    );
}

#[tokio::test]
async fn a_target_past_due_stays_breached_through_a_policy_deletion() {
    let mut s = start().await;
    let (policy, name, breached) = breached_by_time(&mut s).await;
    try_delete(&mut s.client, &policy.name, "").await.expect("delete");
    assert_eq!(
        target_of(&get(&mut s.client, &name).await, M::FirstResponse),
        breached,
        "a breach that already happened is not dropped with its policy"
    );
}

#[tokio::test]
async fn policy_creation_and_deletion_recompute_open_tickets() {
    let mut s = start().await;
    let t0 = now() - Duration::minutes(10);
    let fd = |id: &str| {
        let mut t = live(id, t0, P::High);
        t.source = pb::Source::Freshdesk as i32;
        t
    };
    let open = ingest_named(&mut s.client, fd("fd-open")).await;
    assert!(get(&mut s.client, &open).await.sla.is_empty(), "no policy yet");

    // A new catch-all covers the open ticket that has none.
    create(&mut s.client, "standard", standard()).await;
    let t = get(&mut s.client, &open).await;
    assert_eq!(
        target_of(&t, M::FirstResponse),
        by_policy(St::Active, t0 + Duration::hours(1), None, STANDARD)
    );
    // A policy for its source takes over.
    let freshdesk = create(
        &mut s.client,
        "freshdesk",
        policy("Freshdesk", vec![target(P::High, Some(240), None)], &[pb::Source::Freshdesk]),
    )
    .await;
    let t = get(&mut s.client, &open).await;
    assert_eq!(
        target_of(&t, M::FirstResponse),
        by_policy(St::Active, t0 + Duration::hours(4), None, "slaPolicies/freshdesk")
    );
    assert_eq!(target_of(&t, M::Resolution), None);
    // Deleting it hands the ticket back to the catch-all.
    try_delete(&mut s.client, &freshdesk.name, &freshdesk.etag).await.expect("delete");
    let t = get(&mut s.client, &open).await;
    assert_eq!(
        target_of(&t, M::FirstResponse),
        by_policy(St::Active, t0 + Duration::hours(1), None, STANDARD)
    );
    assert_eq!(
        target_of(&t, M::Resolution),
        by_policy(St::Active, t0 + Duration::hours(8), None, STANDARD)
    );

    // A deleted ticket's running targets are CANCELLED.
    let mut gone = fd("fd-open");
    gone.deleted = true;
    gone.source_update_time = ts(t0 + Duration::minutes(5));
    ingest(&mut s.client, gone).await;
    let t = get(&mut s.client, &open).await;
    assert!(t.deleted);
    assert_eq!(target_of(&t, M::FirstResponse).map(|t| t.0), Some(St::Cancelled));
    assert_eq!(target_of(&t, M::Resolution).map(|t| t.0), Some(St::Cancelled));
}
