//! Unit tests of templates: parsing, the unknown-variable rule, rendering with missing
//! values, nested parameters, and every variable's value from worked facts.

use super::*;
use crate::domain::testing::{self, facts, summary, ticket};
use chrono::TimeDelta;
use steward_proto::health::v1 as health_pb;
use steward_proto::ticket::v1::{self as ticket_pb, TicketPriority as P};

fn vars(pairs: &[(&str, &str)]) -> Variables {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn placeholders_may_have_spaces_and_lone_braces_are_text() {
    assert_eq!(
        parse("Hi {{ account.display_name }}, see }} and {x}").expect("parses"),
        [
            Piece::Text("Hi "),
            Piece::Variable("account.display_name"),
            Piece::Text(", see }} and {x}")
        ]
    );
    assert_eq!(parse("").expect("parses"), []);
}

#[test]
fn every_double_brace_must_open_a_known_variable() {
    assert_eq!(
        parse("{{account.sponsor}}"),
        Err(TemplateError::UnknownVariable("account.sponsor".into()))
    );
    assert_eq!(parse("{{}}"), Err(TemplateError::UnknownVariable(String::new())));
    assert_eq!(parse("ok {{health.band"), Err(TemplateError::Unclosed(3)));
    assert_eq!(
        parse("{{{health.band}}}"),
        Err(TemplateError::UnknownVariable("{health.band".into()))
    );
    let mut v = Violations::default();
    check("{{health.band}} {{nope}}", "playbook.steps[0].task.title", &mut v);
    let err = v.finish().expect_err("one violation");
    assert!(
        err.to_string().contains("playbook.steps[0].task.title: UNKNOWN_TEMPLATE_VARIABLE"),
        "{err}"
    );
}

#[test]
fn missing_values_render_empty_and_are_listed_once() {
    let r = render(
        "{{account.display_name}} is {{health.band}}; was {{health.band}} ({{ health.score }})",
        &vars(&[("account.display_name", "Acme")]),
    );
    assert_eq!(r.text, "Acme is ; was  ()");
    assert_eq!(r.missing, ["health.band", "health.score"]);
}

#[test]
fn parameters_render_at_every_depth_and_keep_other_values() {
    use prost_types::value::Kind as V;
    let s = |t: &str| prost_types::Value { kind: Some(V::StringValue(t.into())) };
    let params = prost_types::Struct {
        fields: [
            ("text".to_owned(), s("{{account.display_name}} is {{health.band}}")),
            ("count".to_owned(), prost_types::Value { kind: Some(V::NumberValue(3.0)) }),
            (
                "nested".to_owned(),
                prost_types::Value {
                    kind: Some(V::StructValue(prost_types::Struct {
                        fields: [(
                            "list".to_owned(),
                            prost_types::Value {
                                kind: Some(V::ListValue(prost_types::ListValue {
                                    values: vec![s("{{run.name}}")],
                                })),
                            },
                        )]
                        .into(),
                    })),
                },
            ),
        ]
        .into(),
    };
    let mut missing = Vec::new();
    let out = render_struct(
        &params,
        &vars(&[("account.display_name", "Acme"), ("run.name", "playbookRuns/r1")]),
        &mut missing,
    );
    assert_eq!(out.fields["text"], s("Acme is "));
    assert_eq!(out.fields["count"], prost_types::Value { kind: Some(V::NumberValue(3.0)) });
    let Some(V::StructValue(nested)) = &out.fields["nested"].kind else { panic!("struct kept") };
    let Some(V::ListValue(list)) = &nested.fields["list"].kind else { panic!("list kept") };
    assert_eq!(list.values, [s("playbookRuns/r1")]);
    assert_eq!(missing, ["health.band"]);
}

#[test]
fn variables_come_from_the_facts_as_documented() {
    let mut f = facts();
    f.score = Some(health_pb::HealthScore {
        previous_score: Some(72.6),
        previous_band: health_pb::HealthBand::Green as i32,
        ..testing::score(58.4, health_pb::HealthBand::Yellow)
    });
    f.health_summary =
        Some("Score 58.40 (YELLOW), down 14.20 from 72.60 (GREEN) since 2026-03-01.".into());
    let mut s = summary(
        TimeDelta::days(30),
        &[
            ticket(1, P::Urgent, "how-to"),
            ticket(2, P::High, "how-to"),
            ticket(3, P::Low, "billing"),
        ],
    );
    let figures = s.current.as_mut().expect("figures");
    figures.open_backlog = 2;
    figures.backlog_age = Some(ticket_pb::AgeDistribution {
        oldest: Some(prost_types::Duration { seconds: 9 * 86_400 + 3600, nanos: 0 }),
        ..Default::default()
    });
    figures.csat_good_share = Some(0.8235);
    f.summaries.insert(30 * 86_400, s);

    let v = variables(
        &f,
        RunContext {
            playbook_display_name: "Churn risk",
            run_name: "playbookRuns/r1",
            trigger_summary: "why",
        },
    );
    let expected = [
        ("account.arr", "120000.00 USD"),
        ("account.display_name", "Acme"),
        ("account.lifecycle_stage", "ESTABLISHED"),
        ("account.name", "accounts/acme"),
        ("account.owner", "jane@example.com"),
        ("account.segment", "ENTERPRISE"),
        ("health.band", "YELLOW"),
        ("health.previous_band", "GREEN"),
        ("health.previous_score", "72.60"),
        ("health.score", "58.40"),
        ("health.summary", "Score 58.40 (YELLOW), down 14.20 from 72.60 (GREEN) since 2026-03-01."),
        ("playbook.display_name", "Churn risk"),
        ("renewal.date", "2026-05-01"),
        ("renewal.days", "47"),
        ("run.name", "playbookRuns/r1"),
        ("run.trigger_summary", "why"),
        ("support.csat_share", "82%"),
        ("support.high_urgent_tickets", "2"),
        ("support.oldest_open_days", "9"),
        ("support.open_tickets", "2"),
        ("support.tickets_30d", "3"),
        ("support.top_category", "how-to"),
        ("support.urgent_tickets", "1"),
    ];
    assert_eq!(v, vars(&expected));
    assert_eq!(v.len(), VARIABLES.len(), "every variable has a value here");
}

#[test]
fn without_data_variables_are_absent_not_invented() {
    let f = crate::domain::facts::Facts { now: testing::now(), ..Default::default() };
    let v = variables(
        &f,
        RunContext { playbook_display_name: "P", run_name: "playbookRuns/r1", trigger_summary: "" },
    );
    assert_eq!(v, vars(&[("playbook.display_name", "P"), ("run.name", "playbookRuns/r1")]));
}
