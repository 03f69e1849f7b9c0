//! Validation of steps: each kind's fields and templates, attempts and failure handling.

use prost::Message;
use steward_kit::Violations;
use steward_proto::playbook::v1 as pb;

use super::{MAX_DISPLAY_NAME, check_text, text_problem};
use crate::domain::duration::{DAY, MINUTE, in_range};
use crate::domain::lease::EMAIL_ACTION_TYPE;
use crate::domain::template;
use pb::assignee::Target;
use pb::step::Kind;

const MAX_TITLE: usize = 200;
const MAX_TASK_DESCRIPTION: usize = 5000;
const MAX_ASSIGNEE: usize = 200;
const MAX_RECIPIENTS: usize = 20;
const MAX_SUBJECT: usize = 300;
const MAX_BODY: usize = 20_000;
const MAX_ACTION_TYPE: usize = 100;
const MAX_PARAMETERS_BYTES: usize = 64 * 1024;
const MAX_ATTEMPTS: i32 = 20;
const MAX_OFFSET: i64 = 365 * DAY;

/// Everything of one step but its id (whose uniqueness needs the others).
pub(super) fn check_step(s: &pb::Step, at: &str, v: &mut Violations) {
    check_text(&s.display_name, 1, MAX_DISPLAY_NAME, &format!("{at}.display_name"), v);
    let automated = matches!(s.kind, Some(Kind::Email(_) | Kind::Action(_)));
    match &s.kind {
        None => v.add(at, "required: set one of task, email, wait, action"),
        Some(Kind::Task(t)) => check_task(t, &format!("{at}.task"), v),
        Some(Kind::Email(e)) => check_email(e, &format!("{at}.email"), v),
        Some(Kind::Wait(w)) => {
            let field = format!("{at}.wait.duration");
            let ok = w.duration.as_ref().is_some_and(|d| in_range(d, MINUTE, MAX_OFFSET));
            v.check(ok, field, "required: whole seconds from 1 minute to 365 days");
        }
        Some(Kind::Action(a)) => check_action(a, &format!("{at}.action"), v),
    }
    if automated {
        v.check(
            (0..=MAX_ATTEMPTS).contains(&s.max_attempts),
            format!("{at}.max_attempts"),
            "must be 0 (= 5) to 20",
        );
    } else if s.kind.is_some() {
        v.check(
            s.max_attempts == 0,
            format!("{at}.max_attempts"),
            "must be 0 for TASK and WAIT steps",
        );
        v.check(
            !s.continue_on_failure,
            format!("{at}.continue_on_failure"),
            "must be false for TASK and WAIT steps (they cannot fail)",
        );
    }
}

/// A template of `min..=max` characters that parses (one problem reported per field).
fn check_template(text: &str, min: usize, max: usize, field: &str, v: &mut Violations) {
    match text_problem(text, min, max) {
        Some(problem) => v.add(field, problem),
        None => template::check(text, field, v),
    }
}

fn check_task(t: &pb::TaskStep, at: &str, v: &mut Violations) {
    check_template(&t.title, 1, MAX_TITLE, &format!("{at}.title"), v);
    check_template(&t.description, 0, MAX_TASK_DESCRIPTION, &format!("{at}.description"), v);
    if let Some(target) = t.assignee.as_ref().and_then(|a| a.target.as_ref()) {
        match target {
            Target::Role(r) => v.check(
                pb::AssigneeRole::try_from(*r).is_ok(),
                format!("{at}.assignee.role"),
                format!("unknown role {r}"),
            ),
            Target::User(u) => check_text(u, 1, MAX_ASSIGNEE, &format!("{at}.assignee.user"), v),
            Target::Team(team) => {
                check_text(team, 1, MAX_ASSIGNEE, &format!("{at}.assignee.team"), v)
            }
        }
    }
    if let Some(d) = &t.due_offset {
        v.check(
            in_range(d, MINUTE, MAX_OFFSET),
            format!("{at}.due_offset"),
            "must be whole seconds from 1 minute to 365 days",
        );
    }
}

fn check_email(e: &pb::EmailStep, at: &str, v: &mut Violations) {
    v.check(
        (1..=MAX_RECIPIENTS).contains(&e.to.len()),
        format!("{at}.to"),
        format!("must hold 1-{MAX_RECIPIENTS} recipients"),
    );
    v.check(
        e.cc.len() <= MAX_RECIPIENTS,
        format!("{at}.cc"),
        format!("must hold at most {MAX_RECIPIENTS} recipients"),
    );
    for (list, name) in [(&e.to, "to"), (&e.cc, "cc")] {
        for (i, r) in list.iter().enumerate() {
            check_template(r, 1, usize::MAX, &format!("{at}.{name}[{i}]"), v);
        }
    }
    check_template(&e.subject, 1, MAX_SUBJECT, &format!("{at}.subject"), v);
    check_template(&e.body, 1, MAX_BODY, &format!("{at}.body"), v);
}

fn check_action(a: &pb::ActionStep, at: &str, v: &mut Violations) {
    let field = format!("{at}.action_type");
    if a.action_type == EMAIL_ACTION_TYPE {
        v.add(field, "email.send is reserved for EMAIL steps: use an email step");
    } else {
        v.check(
            is_action_type(&a.action_type),
            field,
            "must be dot-separated lowercase words of at most 100 characters, e.g. slack.notify",
        );
    }
    if let Some(p) = &a.parameters {
        if p.encoded_len() > MAX_PARAMETERS_BYTES {
            v.add(format!("{at}.parameters"), "must be at most 64 KiB serialized");
        } else {
            template::check_struct(p, &format!("{at}.parameters"), v);
        }
    }
}

/// Whether `s` matches `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$` and is at most 100 long.
pub(crate) fn is_action_type(s: &str) -> bool {
    let word = |w: &str| {
        let b = w.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
    };
    s.len() <= MAX_ACTION_TYPE && s.split('.').count() >= 2 && s.split('.').all(word)
}
