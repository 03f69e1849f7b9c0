//! Unit tests of playbook evaluation: the order of the checks (DISABLED, MANUAL_ONLY,
//! AUDIENCE_MISMATCH, the first trigger's reason, ACTIVE_RUN_EXISTS, IN_COOLDOWN), every
//! field filled whatever stops it, and what a firing records.

use super::*;
use crate::domain::duration::days;
use crate::domain::testing::{self, day, facts, now, summary, ticket};
use chrono::TimeDelta;
use steward_proto::health::v1 as health_pb;
use steward_proto::ticket::v1::TicketPriority as P;

/// Triggers: [0] entering RED, [1] 3+ HIGH tickets in 14 days. Audience: ENTERPRISE.
/// Cooldown 10 days.
fn playbook() -> pb::Playbook {
    pb::Playbook {
        name: "playbooks/p".into(),
        version: 2,
        display_name: "P".into(),
        enabled: true,
        triggers: vec![
            pb::Trigger {
                kind: Some(pb::trigger::Kind::BandEntered(pb::BandEnteredTrigger {
                    band: pb::HealthBand::Red as i32,
                    within: None,
                })),
            },
            pb::Trigger {
                kind: Some(pb::trigger::Kind::TicketCount(pb::TicketCountTrigger {
                    min_count: 3,
                    min_priority: pb::TicketPriority::High as i32,
                    category: String::new(),
                    within: Some(days(14)),
                })),
            },
        ],
        audience: Some(pb::Audience {
            segments: vec![pb::Segment::Enterprise as i32],
            ..Default::default()
        }),
        cooldown: Some(days(10)),
        ..Default::default()
    }
}

/// Acme (ENTERPRISE), YELLOW, with 3 HIGH tickets in the last 14 days.
fn firing_facts() -> Facts {
    let mut f = facts();
    f.score = Some(testing::score(55.0, health_pb::HealthBand::Yellow));
    let tickets = [ticket(13, P::High, ""), ticket(5, P::High, ""), ticket(1, P::High, "")];
    f.summaries.insert(14 * 86_400, summary(TimeDelta::days(14), &tickets));
    f
}

fn reason(e: &Evaluation) -> R {
    R::try_from(e.result.reason).expect("known reason")
}

#[test]
fn a_satisfied_trigger_in_the_audience_without_runs_fires_with_its_evidence() {
    let e = evaluate(&playbook(), &firing_facts(), &History::default());
    assert!(e.result.would_fire);
    assert_eq!(reason(&e), R::Unspecified);
    assert_eq!(e.result.firing_trigger_index, Some(1));
    assert_eq!((e.result.playbook.as_str(), e.result.playbook_version), ("playbooks/p", 2));
    assert_eq!(e.result.triggers.len(), 2);
    assert_eq!(e.result.triggers[0].reason, R::BelowThreshold as i32, "YELLOW, not RED");
    assert!(e.result.audience_matched);
    assert_eq!(e.result.cooldown_end_time, None);

    let firing = e.firing.expect("fires");
    assert_eq!((firing.trigger_index, firing.kind), (1, pb::TriggerKind::TicketCount));
    assert_eq!(firing.summary, "3 HIGH or higher tickets in 14 days (threshold 3)");
    let names: Vec<_> = firing.evidence.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["high_priority_tickets_14d", "segment"]);
    assert_eq!(
        firing.origin().kind,
        Some(pb::run_origin::Kind::Automatic(pb::AutomaticOrigin {
            trigger_index: 1,
            trigger_kind: pb::TriggerKind::TicketCount as i32,
            entry_time: None,
        }))
    );
}

#[test]
fn the_first_satisfied_trigger_in_declaration_order_is_the_origin_with_its_entry() {
    let mut f = firing_facts();
    f.score = Some(testing::score(35.0, health_pb::HealthBand::Red));
    f.band_entered = Some(now() - TimeDelta::hours(2));
    let e = evaluate(&playbook(), &f, &History::default());
    let firing = e.firing.expect("fires");
    assert_eq!((firing.trigger_index, firing.kind), (0, pb::TriggerKind::BandEntered));
    assert_eq!(firing.entry_time, Some(now() - TimeDelta::hours(2)));
    assert!(e.result.triggers.iter().all(|t| t.satisfied), "both evaluated");
}

#[test]
fn the_first_failing_check_is_named_in_the_documented_order() {
    let f = firing_facts();
    let runs = |active: Option<&str>, ended_days_ago: Option<i64>| History {
        runs: Runs {
            active_run: active.map(Into::into),
            last_end: ended_days_ago.map(|d| day(-d)),
        },
        fired: vec![],
    };

    // Disabled wins over everything, yet every field is filled.
    let mut p = playbook();
    p.enabled = false;
    let e = evaluate(&p, &f, &runs(Some("playbookRuns/r1"), None));
    assert_eq!(reason(&e), R::Disabled);
    assert_eq!(e.result.firing_trigger_index, Some(1));
    assert_eq!(e.result.active_run, "playbookRuns/r1");
    assert!(e.firing.is_none());

    let mut p = playbook();
    p.triggers.clear();
    assert_eq!(reason(&evaluate(&p, &f, &History::default())), R::ManualOnly);

    let mut other = f.clone();
    other.account.as_mut().expect("account").segment =
        steward_proto::account::v1::Segment::Smb as i32;
    let e = evaluate(&playbook(), &other, &History::default());
    assert_eq!(reason(&e), R::AudienceMismatch);
    assert!(!e.result.audience_matched);
    assert_eq!(e.result.audience_evidence[0].value, "SMB");
    assert_eq!(e.result.audience_evidence[0].threshold, "ENTERPRISE");

    // No trigger satisfied: the first trigger's reason (entering RED: BELOW_THRESHOLD).
    let mut quiet = f.clone();
    quiet.summaries.clear();
    let e = evaluate(&playbook(), &quiet, &History::default());
    assert_eq!(reason(&e), R::BelowThreshold);
    assert_eq!(e.result.triggers[1].reason, R::NoData as i32);
    assert_eq!(e.result.firing_trigger_index, None);

    // Then the active run, then the cooldown (ended 9 days ago, cooldown 10 days).
    let e = evaluate(&playbook(), &f, &runs(Some("playbookRuns/r1"), Some(9)));
    assert_eq!(reason(&e), R::ActiveRunExists);
    let e = evaluate(&playbook(), &f, &runs(None, Some(9)));
    assert_eq!(reason(&e), R::InCooldown);
    assert_eq!(e.result.cooldown_end_time, Some(steward_kit::time::timestamp(day(1))));
    // Ended exactly 10 days ago: the cooldown is over.
    let e = evaluate(&playbook(), &f, &runs(None, Some(10)));
    assert!(e.result.would_fire);
    assert_eq!(e.result.cooldown_end_time, None);
}

#[test]
fn manual_runs_record_who_started_them_and_the_trigger_evidence_for_context() {
    let (origin, summary) = manual_origin("jane@example.com", "saw it in the QBR");
    assert_eq!(summary, "Started manually by jane@example.com");
    assert_eq!(
        origin.kind,
        Some(pb::run_origin::Kind::Manual(pb::ManualOrigin {
            started_by: "jane@example.com".into(),
            note: "saw it in the QBR".into(),
        }))
    );
    let names: Vec<_> = manual_evidence(&playbook(), &firing_facts(), &History::default())
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        ["health_band", "band_entered_hours_ago", "high_priority_tickets_14d", "segment"]
    );
}
