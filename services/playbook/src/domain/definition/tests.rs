//! Unit tests of playbook validation (each rule naming its field), defaults and content
//! comparison.

use super::*;
use crate::domain::shipped::{churn_risk, default_playbooks};
use prost_types::Duration;

/// The fields `check` names, in order; empty when valid.
fn violations(p: &pb::Playbook) -> Vec<String> {
    match check(p, "playbook") {
        Ok(()) => vec![],
        Err(Error::InvalidArgument(fields)) => fields.into_iter().map(|f| f.field).collect(),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// The description `check` gives `field`.
fn description(p: &pb::Playbook, field: &str) -> String {
    match check(p, "playbook") {
        Err(Error::InvalidArgument(fields)) => {
            fields.into_iter().find(|f| f.field == field).map(|f| f.description).unwrap_or_default()
        }
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

fn hours(n: i64) -> Option<Duration> {
    Some(Duration { seconds: n * 3600, nanos: 0 })
}

fn task(id: &str, title: &str) -> pb::Step {
    pb::Step {
        id: id.into(),
        display_name: "A step".into(),
        kind: Some(StepOneof::Task(pb::TaskStep { title: title.into(), ..Default::default() })),
        ..Default::default()
    }
}

#[test]
fn the_shipped_playbooks_are_valid() {
    for p in default_playbooks() {
        assert_eq!(violations(&p), Vec::<String>::new(), "{}", p.name);
    }
}

#[test]
fn the_issue_s_invalid_definitions_are_refused_naming_each_field() {
    let p = pb::Playbook {
        display_name: " ".into(),
        triggers: vec![
            pb::Trigger { kind: None },
            pb::Trigger {
                kind: Some(TriggerOneof::TicketCount(pb::TicketCountTrigger {
                    min_count: 3,
                    min_priority: 9,
                    category: String::new(),
                    within: Some(Duration { seconds: -86_400, nanos: 0 }),
                })),
            },
        ],
        steps: vec![],
        ..Default::default()
    };
    assert_eq!(
        violations(&p),
        [
            "playbook.display_name",
            "playbook.triggers[0]",
            "playbook.triggers[1].ticket_count.min_priority",
            "playbook.triggers[1].ticket_count.within",
            "playbook.steps",
        ]
    );
}

#[test]
fn an_unknown_template_variable_is_named_by_its_path() {
    let mut p = churn_risk();
    p.steps[1] = task("sponsor_call", "Call {{account.sponsor}}");
    assert_eq!(violations(&p), ["playbook.steps[1].task.title"]);
    assert!(
        description(&p, "playbook.steps[1].task.title")
            .starts_with("UNKNOWN_TEMPLATE_VARIABLE: `{{account.sponsor}}`")
    );

    let mut p = churn_risk();
    p.steps.push(pb::Step {
        id: "notify".into(),
        display_name: "Notify".into(),
        kind: Some(StepOneof::Action(pb::ActionStep {
            action_type: "slack.notify".into(),
            parameters: Some(prost_types::Struct {
                fields: [(
                    "blocks".to_owned(),
                    prost_types::Value {
                        kind: Some(prost_types::value::Kind::ListValue(prost_types::ListValue {
                            values: vec![
                                prost_types::Value {
                                    kind: Some(prost_types::value::Kind::StringValue(
                                        "{{ health.band }}".into(),
                                    )),
                                },
                                prost_types::Value {
                                    kind: Some(prost_types::value::Kind::StringValue(
                                        "{{health.colour}}".into(),
                                    )),
                                },
                            ],
                        })),
                    },
                )]
                .into(),
            }),
        })),
        ..Default::default()
    });
    assert_eq!(violations(&p), ["playbook.steps[4].action.parameters.blocks[1]"]);
}

#[test]
fn trigger_fields_are_checked_against_their_ranges() {
    let mut p = churn_risk();
    p.triggers = vec![
        pb::Trigger {
            kind: Some(TriggerOneof::BandEntered(pb::BandEnteredTrigger {
                band: 0,
                within: hours(31 * 24),
            })),
        },
        pb::Trigger {
            kind: Some(TriggerOneof::ScoreDropped(pb::ScoreDroppedTrigger {
                min_points: 0.0,
                within: None,
            })),
        },
        pb::Trigger {
            kind: Some(TriggerOneof::RepeatedCategory(pb::RepeatedCategoryTrigger {
                min_count: 1,
                within: Some(Duration { seconds: 5400, nanos: 0 }),
                categories: vec!["".into()],
            })),
        },
        pb::Trigger {
            kind: Some(TriggerOneof::CsatDecline(pb::CsatDeclineTrigger {
                below_share: None,
                drop_points: None,
                window: hours(12),
                min_responses: -1,
            })),
        },
        pb::Trigger {
            kind: Some(TriggerOneof::RenewalWithin(pb::RenewalWithinTrigger { within: hours(36) })),
        },
        pb::Trigger {
            kind: Some(TriggerOneof::LifecycleStageEntered(pb::LifecycleStageEnteredTrigger {
                stage: 42,
                within: None,
            })),
        },
    ];
    assert_eq!(
        violations(&p),
        [
            "playbook.triggers[0].band_entered.band",
            "playbook.triggers[0].band_entered.within",
            "playbook.triggers[1].score_dropped.min_points",
            "playbook.triggers[1].score_dropped.within",
            "playbook.triggers[2].repeated_category.min_count",
            "playbook.triggers[2].repeated_category.within",
            "playbook.triggers[2].repeated_category.categories[0]",
            "playbook.triggers[3].csat_decline",
            "playbook.triggers[3].csat_decline.window",
            "playbook.triggers[3].csat_decline.min_responses",
            "playbook.triggers[4].renewal_within.within",
            "playbook.triggers[5].lifecycle_stage_entered.stage",
        ]
    );
    // 10 triggers are allowed, 11 are not.
    let mut p = churn_risk();
    p.triggers = vec![p.triggers[0].clone(); 10];
    assert_eq!(violations(&p), Vec::<String>::new());
    p.triggers.push(p.triggers[0].clone());
    assert_eq!(violations(&p), ["playbook.triggers"]);
}

#[test]
fn audience_lists_refuse_unspecified_duplicates_and_bad_money() {
    let mut p = churn_risk();
    p.audience = Some(pb::Audience {
        segments: vec![pb::Segment::Smb as i32, pb::Segment::Smb as i32],
        lifecycle_stages: vec![0],
        bands: vec![7],
        min_arr: Some(pb::Money { amount_minor: -1, currency_code: "usd".into() }),
        owners: vec!["".into()],
    });
    assert_eq!(
        violations(&p),
        [
            "playbook.audience.segments[1]",
            "playbook.audience.lifecycle_stages[0]",
            "playbook.audience.bands[0]",
            "playbook.audience.min_arr.amount_minor",
            "playbook.audience.min_arr.currency_code",
            "playbook.audience.owners[0]",
        ]
    );
}

#[test]
fn steps_need_unique_ids_a_kind_and_sane_fields() {
    let mut p = churn_risk();
    p.cooldown = Some(Duration { seconds: 366 * 86_400, nanos: 0 });
    p.steps = vec![
        task("review", "Review"),
        task("review", "Again"),
        pb::Step {
            id: "Bad-Id".into(),
            display_name: "x".into(),
            kind: None,
            ..Default::default()
        },
        pb::Step { max_attempts: 2, ..task("t", "x") },
        pb::Step {
            id: "mail".into(),
            display_name: "Mail".into(),
            kind: Some(StepOneof::Email(pb::EmailStep {
                to: vec![],
                cc: vec![],
                subject: "Hi".into(),
                body: "".into(),
            })),
            max_attempts: 21,
            ..Default::default()
        },
        pb::Step {
            id: "act".into(),
            display_name: "Act".into(),
            kind: Some(StepOneof::Action(pb::ActionStep {
                action_type: "email.send".into(),
                parameters: None,
            })),
            ..Default::default()
        },
        pb::Step {
            id: "pause".into(),
            display_name: "Pause".into(),
            kind: Some(StepOneof::Wait(pb::WaitStep {
                duration: Some(Duration { seconds: 59, nanos: 0 }),
            })),
            continue_on_failure: true,
            ..Default::default()
        },
    ];
    assert_eq!(
        violations(&p),
        [
            "playbook.cooldown",
            "playbook.steps[1].id",
            "playbook.steps[2].id",
            "playbook.steps[2]",
            "playbook.steps[3].max_attempts",
            "playbook.steps[4].email.to",
            "playbook.steps[4].email.body",
            "playbook.steps[4].max_attempts",
            "playbook.steps[5].action.action_type",
            "playbook.steps[6].wait.duration",
            "playbook.steps[6].continue_on_failure",
        ]
    );
    assert_eq!(description(&p, "playbook.steps[1].id"), "steps[0] has this id already");
}

#[test]
fn action_types_are_dot_separated_lowercase_words() {
    use super::steps::is_action_type;
    assert!(is_action_type("slack.notify"));
    assert!(is_action_type("crm.create_task"));
    assert!(is_action_type("a.b.c2"));
    assert!(!is_action_type("slack"));
    assert!(!is_action_type("Slack.notify"));
    assert!(!is_action_type("slack..notify"));
    assert!(!is_action_type("slack.2fa"));
    assert!(!is_action_type(&format!("a.{}", "b".repeat(99))));
}

#[test]
fn defaults_fill_what_unset_means() {
    let mut p = churn_risk();
    p.cooldown = None;
    assert_eq!(cooldown(&p), TimeDelta::days(30));
    p.cooldown = Some(Duration { seconds: 0, nanos: 0 });
    assert_eq!(cooldown(&p), TimeDelta::zero(), "explicit 0 = no cooldown");

    let email =
        pb::Step { kind: Some(StepOneof::Email(pb::EmailStep::default())), ..Default::default() };
    assert_eq!(max_attempts(&email), 5);
    assert_eq!(max_attempts(&pb::Step { max_attempts: 2, ..email }), 2);
    assert_eq!(max_attempts(&task("t", "x")), 0);
}

#[test]
fn an_update_to_what_the_defaults_already_mean_changes_nothing() {
    let a = churn_risk();
    let mut b = churn_risk();
    b.cooldown = None; // unset = 30 days, as churn-risk has
    b.audience.as_mut().expect("audience").owners.clear();
    b.enabled = false; // operational state, not content
    b.version = 7;
    b.etag = "x".into();
    if let Some(TriggerOneof::BandEntered(t)) = &mut b.triggers[1].kind {
        t.within = None; // unset = 1 day, as churn-risk has
    }
    assert!(same_content(&a, &b));

    let mut c = churn_risk();
    c.steps.swap(0, 1);
    assert!(!same_content(&a, &c), "step order counts");
    let mut d = churn_risk();
    d.cooldown = Some(Duration { seconds: 0, nanos: 0 });
    assert!(!same_content(&a, &d), "no cooldown is not 30 days");
}

#[test]
fn trigger_kind_filters_know_manual_only_playbooks() {
    let p = churn_risk();
    assert!(has_trigger_kind(&p, pb::TriggerKind::BandEntered));
    assert!(!has_trigger_kind(&p, pb::TriggerKind::CsatDecline));
    assert!(!has_trigger_kind(&p, pb::TriggerKind::ManualOnly));
    assert!(has_trigger_kind(&pb::Playbook::default(), pb::TriggerKind::ManualOnly));
    assert!(has_trigger_kind(&p, pb::TriggerKind::Unspecified));
}
