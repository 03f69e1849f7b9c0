//! The shipped default playbooks, seeded once at first start (enabled, version 1), exactly
//! as the service comment in `playbook.proto` lists them, each with its reasons in its
//! description. They use only TASK and WAIT steps, so they work without any orchestrator;
//! tasks go to the account owner.

use steward_proto::playbook::v1 as pb;

use super::duration::days;
use pb::LifecycleStage as S;
use pb::trigger::Kind;

/// The ids of the shipped playbooks, in name order.
pub const SHIPPED_IDS: [&str; 4] =
    ["adoption", "churn-risk", "renewal-preparation", "sentiment-check-in"];

/// Every shipped playbook, ordered by name. Output-only fields (version, times, etag) are
/// left to the store.
pub fn default_playbooks() -> Vec<pb::Playbook> {
    vec![adoption(), churn_risk(), renewal_preparation(), sentiment_check_in()]
}

/// The stages every default but adoption applies to: all but CHURNED.
const CUSTOMER_STAGES: [S; 4] = [S::Onboarding, S::Adoption, S::Established, S::Renewal];

fn playbook(
    id: &str,
    display_name: &str,
    description: &str,
    triggers: Vec<Kind>,
    audience: pb::Audience,
    cooldown_days: i64,
    steps: Vec<pb::Step>,
) -> pb::Playbook {
    pb::Playbook {
        name: format!("playbooks/{id}"),
        display_name: display_name.into(),
        description: description.into(),
        enabled: true,
        triggers: triggers.into_iter().map(|k| pb::Trigger { kind: Some(k) }).collect(),
        audience: Some(audience),
        cooldown: Some(days(cooldown_days)),
        steps,
        ..Default::default()
    }
}

fn stages(list: &[S]) -> Vec<i32> {
    list.iter().map(|s| *s as i32).collect()
}

/// A task for the account owner, due `due_days` after it becomes active.
fn task(id: &str, title: &str, description: &str, due_days: i64) -> pb::Step {
    pb::Step {
        id: id.into(),
        display_name: title.into(),
        kind: Some(pb::step::Kind::Task(pb::TaskStep {
            title: format!("{title}: {{{{account.display_name}}}}"),
            description: description.into(),
            assignee: None,
            due_offset: Some(days(due_days)),
        })),
        ..Default::default()
    }
}

fn wait(id: &str, display_name: &str, n: i64) -> pb::Step {
    pb::Step {
        id: id.into(),
        display_name: display_name.into(),
        kind: Some(pb::step::Kind::Wait(pb::WaitStep { duration: Some(days(n)) })),
        ..Default::default()
    }
}

/// `playbooks/churn-risk`.
pub fn churn_risk() -> pb::Playbook {
    playbook(
        "churn-risk",
        "Churn risk",
        "Fires on 3 or more HIGH or URGENT tickets in 14 days, or when the account enters RED \
         (within a day). Why: a cluster of severe tickets is an acute problem before the score \
         catches up, and entering RED means several signals agree. Cooldown 30 days: one \
         recovery cycle.",
        vec![
            Kind::TicketCount(pb::TicketCountTrigger {
                min_count: 3,
                min_priority: pb::TicketPriority::High as i32,
                category: String::new(),
                within: Some(days(14)),
            }),
            Kind::BandEntered(pb::BandEnteredTrigger {
                band: pb::HealthBand::Red as i32,
                within: Some(days(1)),
            }),
        ],
        pb::Audience { lifecycle_stages: stages(&CUSTOMER_STAGES), ..Default::default() },
        30,
        vec![
            task(
                "review_risk",
                "Review churn risk",
                "{{run.trigger_summary}}. Health: {{health.summary}} Open tickets: \
                 {{support.open_tickets}}, HIGH or URGENT in 30 days: \
                 {{support.high_urgent_tickets}}.",
                1,
            ),
            task(
                "sponsor_call",
                "Call the executive sponsor",
                "Agree on the problems and a recovery plan with the sponsor.",
                3,
            ),
            wait("recovery_wait", "Wait for the recovery", 14),
            task(
                "check_recovery",
                "Check recovery",
                "Is the account recovering? Score now {{health.score}} ({{health.band}}).",
                2,
            ),
        ],
    )
}

/// `playbooks/adoption`.
pub fn adoption() -> pb::Playbook {
    playbook(
        "adoption",
        "Adoption help",
        "Fires on 3 or more tickets in one of the categories onboarding or how-to in 30 days, \
         for accounts in ONBOARDING or ADOPTION. Why: repeated how-to questions early in the \
         lifecycle mean users are stuck; training beats answering them one ticket at a time. \
         Cooldown 60 days.",
        vec![Kind::RepeatedCategory(pb::RepeatedCategoryTrigger {
            min_count: 3,
            within: Some(days(30)),
            categories: vec!["onboarding".into(), "how-to".into()],
        })],
        pb::Audience {
            lifecycle_stages: stages(&[S::Onboarding, S::Adoption]),
            ..Default::default()
        },
        60,
        vec![
            task(
                "enablement_session",
                "Offer an enablement session",
                "{{run.trigger_summary}}. Offer a training session on that topic.",
                5,
            ),
            task(
                "share_guides",
                "Share guides on the repeated topic",
                "Send the guides on {{support.top_category}} to the account's users.",
                7,
            ),
        ],
    )
}

/// `playbooks/sentiment-check-in`.
pub fn sentiment_check_in() -> pb::Playbook {
    playbook(
        "sentiment-check-in",
        "Sentiment check-in",
        "Fires when the CSAT good share of the last 30 days is 20 or more points below the 30 \
         days before, with at least 5 ratings in each window. Why: a 20-point fall is a change \
         of mood worth a human conversation; 5 ratings per window keep one angry rating from \
         firing it. Cooldown 45 days.",
        vec![Kind::CsatDecline(pb::CsatDeclineTrigger {
            below_share: None,
            drop_points: Some(20.0),
            window: Some(days(30)),
            min_responses: 5,
        })],
        pb::Audience { lifecycle_stages: stages(&CUSTOMER_STAGES), ..Default::default() },
        45,
        vec![
            task(
                "read_ratings",
                "Read the recent low ratings",
                "{{run.trigger_summary}}. CSAT good share now {{support.csat_share}}.",
                2,
            ),
            task("check_in_call", "Check-in call", "Ask how things are going and listen.", 5),
        ],
    )
}

/// `playbooks/renewal-preparation`.
pub fn renewal_preparation() -> pb::Playbook {
    playbook(
        "renewal-preparation",
        "Renewal preparation",
        "Fires when the next renewal is within 90 days and the account is YELLOW or RED. Why: \
         90 days leave time to fix what is wrong; healthy accounts renew through the normal \
         process. Cooldown 180 days: once per renewal cycle.",
        vec![Kind::RenewalWithin(pb::RenewalWithinTrigger { within: Some(days(90)) })],
        pb::Audience {
            bands: vec![pb::HealthBand::Yellow as i32, pb::HealthBand::Red as i32],
            lifecycle_stages: stages(&CUSTOMER_STAGES),
            ..Default::default()
        },
        180,
        vec![
            task(
                "risk_review",
                "Renewal risk review",
                "Renewal on {{renewal.date}} ({{renewal.days}} days). Health: {{health.summary}}",
                7,
            ),
            task(
                "executive_alignment",
                "Executive alignment call",
                "Align on value and plans.",
                21,
            ),
            task(
                "renewal_proposal",
                "Send the renewal proposal",
                "ARR today: {{account.arr}}.",
                45,
            ),
        ],
    )
}

#[cfg(test)]
mod tests;
