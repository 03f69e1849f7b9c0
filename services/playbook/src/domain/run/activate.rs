//! Activating a step: rendering its templates with the variables of the moment, resolving
//! a task's assignee (the account owner by default), its due time and a wait's wake time.

use chrono::{DateTime, Utc};
use steward_kit::time::timestamp;
use steward_proto::playbook::v1 as pb;

use crate::domain::duration::to_delta;
use crate::domain::template::{Variables, render, render_struct};
use pb::assignee::Target;
use pb::run_step::Content;
use pb::step::Kind;

/// Makes `step` ACTIVE at `now`, rendered from its definition `def` (a missing definition,
/// which a stored run never has, leaves the content unset).
pub(super) fn activate(
    step: &mut pb::RunStep,
    def: Option<&pb::Step>,
    vars: &Variables,
    now: DateTime<Utc>,
) {
    step.state = pb::StepState::Active as i32;
    step.activate_time = Some(timestamp(now));
    let mut missing = Vec::new();
    let mut text = |t: &str| {
        let r = render(t, vars);
        for m in r.missing {
            if !missing.contains(&m) {
                missing.push(m);
            }
        }
        r.text
    };
    step.content = match def.and_then(|d| d.kind.as_ref()) {
        None => None,
        Some(Kind::Task(t)) => {
            match t.assignee.as_ref().and_then(|a| a.target.as_ref()) {
                None | Some(Target::Role(_)) => {
                    step.assignee = vars.get("account.owner").cloned().unwrap_or_default();
                }
                Some(Target::User(u)) => step.assignee = u.clone(),
                Some(Target::Team(team)) => step.assignee_team = team.clone(),
            }
            step.due_time = t.due_offset.as_ref().and_then(to_delta).map(|d| timestamp(now + d));
            Some(Content::Task(pb::RenderedTask {
                title: text(&t.title),
                description: text(&t.description),
            }))
        }
        Some(Kind::Email(e)) => {
            let mut list = |l: &[String]| {
                l.iter().map(|r| text(r)).filter(|r| !r.trim().is_empty()).collect::<Vec<_>>()
            };
            let to = list(&e.to);
            let cc = list(&e.cc);
            Some(Content::Email(pb::RenderedEmail {
                to,
                cc,
                subject: text(&e.subject),
                body: text(&e.body),
            }))
        }
        Some(Kind::Wait(w)) => Some(Content::Wait(pb::WaitProgress {
            duration: w.duration,
            wake_time: w.duration.as_ref().and_then(to_delta).map(|d| timestamp(now + d)),
        })),
        Some(Kind::Action(a)) => {
            let mut own = Vec::new();
            let parameters = a.parameters.as_ref().map(|p| render_struct(p, vars, &mut own));
            for m in own {
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
            Some(Content::Action(pb::RenderedAction {
                action_type: a.action_type.clone(),
                parameters,
            }))
        }
    };
    step.missing_variables = missing;
}
