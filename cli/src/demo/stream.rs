//! The demo's ticket stream: for each account of the book, tickets over the 120 days before
//! the anchor (four 30-day windows, so that volume has a baseline), shaped by its scenario,
//! as the final snapshots a support platform would hold: priorities, categories, first
//! response and resolution times, reopens, the platform's SLA targets and CSAT ratings. Pure:
//! the same account and anchor give the same tickets, so a replay answers UNCHANGED.
//!
//! The shapes follow the default scorecard and the shipped playbooks' triggers: healthy
//! accounts keep at most one HIGH ticket and at most two questions per onboarding or how-to
//! category in the last 30 days, and no rating below GOOD in the last 31 days (their CSAT can
//! only rise window to window), so that no playbook fires for them however the windows slide.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_proto::ticket::v1 as pb;

use super::book::{DemoAccount, Scenario};
use pb::{CsatSentiment as Csat, TicketPriority as P};

/// Days of history before the anchor.
pub(super) const HISTORY_DAYS: i64 = 120;
/// The source instance of every demo ticket (part of the ticket key).
pub(super) const INSTANCE: &str = "steward-demo";

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Every ticket of `book`, oldest first, as of `anchor` (whole seconds).
pub fn stream(book: &[DemoAccount], anchor: DateTime<Utc>) -> Vec<pb::Ticket> {
    let mut all: Vec<pb::Ticket> = book.iter().flat_map(|a| tickets(a, anchor)).collect();
    all.sort_by(|a, b| {
        let key = |t: &pb::Ticket| t.created_time.map(|c| c.seconds).unwrap_or_default();
        key(a).cmp(&key(b)).then_with(|| a.external_id.cmp(&b.external_id))
    });
    all
}

/// One ticket before it is dated: its offsets from creation, in seconds.
#[derive(Debug, Clone)]
struct Draft {
    /// Seconds before the anchor it was created.
    age: i64,
    priority: P,
    category: &'static str,
    first_response: i64,
    resolution: i64,
    /// Still open at the anchor whatever its resolution time.
    stuck: bool,
    reopened: bool,
}

/// One account's tickets.
pub(super) fn tickets(account: &DemoAccount, anchor: DateTime<Utc>) -> Vec<pb::Ticket> {
    let mut rng = StdRng::seed_from_u64(account.seed);
    let mut drafts = drafts(account, &mut rng);
    drafts.sort_by_key(|d| std::cmp::Reverse(d.age));
    let ratings = ratings(account.scenario, &drafts, &mut rng);
    drafts
        .iter()
        .zip(ratings)
        .enumerate()
        .map(|(n, (d, rating))| ticket(account, anchor, n, d, rating, &mut rng))
        .collect()
}

fn drafts(a: &DemoAccount, rng: &mut StdRng) -> Vec<Draft> {
    // The worst accounts answer slowly all month; the milder ones only on their escalations.
    let slow_month =
        matches!(a.scenario, Scenario::Souring { severe: true } | Scenario::RedRenewal);
    let (surge, escalations, stuck) = match a.scenario {
        // Milder: a few escalations and one ticket stuck, so YELLOW; churn risk all the same.
        Scenario::Souring { severe: false } => (1.3, 3, 1),
        Scenario::Souring { severe: true } => (2.5, 6, 5),
        Scenario::RedRenewal => (3.0, 7, 6),
        _ => (1.0, 0, 0),
    };
    if a.scenario == Scenario::Onboarding {
        return onboarding(rng);
    }
    let mut drafts = Vec::new();
    for window in 0..HISTORY_DAYS / 30 {
        let rate = if window == 0 { a.monthly_tickets * surge } else { a.monthly_tickets };
        let n = (rate * rng.random_range(0.8..1.2)).round() as usize;
        for _ in 0..n {
            let age = window * 30 * DAY + rng.random_range(HOUR..30 * DAY);
            drafts.push(draft(rng, age, slow_month && window == 0));
        }
    }
    // The everyday tickets of all but the worst accounts are calm; a milder account's trouble
    // is its escalations alone (so it ends YELLOW).
    if !slow_month {
        calm_last_month(&mut drafts);
    }
    for _ in 0..escalations {
        let age = rng.random_range(2 * HOUR..13 * DAY);
        let mut d = draft(rng, age, true);
        d.priority = if rng.random_bool(0.35) { P::Urgent } else { P::High };
        d.category = ["bug", "performance", "outage"][rng.random_range(0..3)];
        drafts.push(d);
    }
    for _ in 0..stuck {
        let age = rng.random_range(6 * DAY..25 * DAY);
        let mut d = draft(rng, age, true);
        d.stuck = true;
        drafts.push(d);
    }
    drafts
}

/// A new customer's first four weeks: twelve tickets, half of them onboarding questions.
fn onboarding(rng: &mut StdRng) -> Vec<Draft> {
    (0..12)
        .map(|i| {
            let age = rng.random_range(HOUR..27 * DAY);
            let mut d = draft(rng, age, false);
            d.priority = if rng.random_bool(0.3) { P::Low } else { P::Normal };
            d.category = match i {
                0..6 => "onboarding",
                6..8 => "how-to",
                _ => ["integration", "account", "billing"][i % 3],
            };
            d
        })
        .collect()
}

/// A ticket created `age` seconds before the anchor; `slow` ones wait long for answers.
fn draft(rng: &mut StdRng, age: i64, slow: bool) -> Draft {
    const CATEGORIES: [(&str, u32); 8] = [
        ("how-to", 20),
        ("bug", 20),
        ("billing", 12),
        ("integration", 12),
        ("feature-request", 12),
        ("account", 8),
        ("performance", 8),
        ("onboarding", 8),
    ];
    let priority = match rng.random_range(0..100) {
        0..25 => P::Low,
        25..87 => P::Normal,
        87..99 => P::High,
        _ => P::Urgent,
    };
    let mut pick = rng.random_range(0..CATEGORIES.iter().map(|c| c.1).sum::<u32>());
    let category = CATEGORIES
        .iter()
        .find(|(_, w)| {
            let hit = pick < *w;
            pick = pick.saturating_sub(*w);
            hit
        })
        .map_or("how-to", |c| c.0);
    let (first_response, resolution) = if slow {
        (rng.random_range(8 * HOUR..40 * HOUR), rng.random_range(3 * DAY..12 * DAY))
    } else {
        (rng.random_range(15 * 60..6 * HOUR), rng.random_range(2 * HOUR..3 * DAY))
    };
    Draft {
        age,
        priority,
        category,
        first_response,
        resolution: resolution.max(first_response + HOUR),
        stuck: false,
        reopened: rng.random_bool(if slow { 0.2 } else { 0.03 }),
    }
}

/// Healthy months stay clear of every trigger: at most one HIGH or URGENT ticket and at most
/// two tickets per onboarding or how-to category in the last 30 days.
fn calm_last_month(drafts: &mut [Draft]) {
    let (mut severe, mut onboarding, mut how_to) = (0, 0, 0);
    for d in drafts.iter_mut().filter(|d| d.age < 30 * DAY) {
        if matches!(d.priority, P::High | P::Urgent) {
            severe += 1;
            if severe > 1 {
                d.priority = P::Normal;
            }
        }
        let seen = match d.category {
            "onboarding" => &mut onboarding,
            "how-to" => &mut how_to,
            _ => continue,
        };
        *seen += 1;
        if *seen > 2 {
            d.category = "feature-request";
        }
    }
}

/// Each ticket's rating, if it gets one: its delay after resolution and its verdict. A rating
/// is only kept when given before the anchor (see [`ticket`]).
fn ratings(scenario: Scenario, drafts: &[Draft], rng: &mut StdRng) -> Vec<Option<(i64, Csat)>> {
    let mut recent_unhappy = 0;
    let (mut previous, mut current) = (0, 0);
    drafts
        .iter()
        .map(|d| {
            let delay = rng.random_range(2 * HOUR..20 * HOUR);
            // Seconds before the anchor the rating is given (negative: after it, dropped).
            let at = d.age - d.resolution - delay;
            let share = match scenario {
                Scenario::CsatCollapse => 1.0,
                Scenario::Healthy => 0.45,
                Scenario::Onboarding => 0.6,
                _ => 0.5,
            };
            if d.stuck || at <= 0 || !rng.random_bool(share) {
                return None;
            }
            let recent = at < 31 * DAY;
            let verdict = match scenario {
                Scenario::Healthy if !recent => weighted(rng, 88, 8),
                Scenario::Healthy | Scenario::Onboarding => Csat::Good,
                // The previous 30 days 90% good, the last 30 days 25% good; none near the
                // border between them, so the two windows stay apart as time passes.
                Scenario::CsatCollapse if (29 * DAY..31 * DAY).contains(&at) => return None,
                Scenario::CsatCollapse if recent => {
                    current += 1;
                    [Csat::Bad, Csat::Good, Csat::Bad, Csat::Neutral][current % 4]
                }
                Scenario::CsatCollapse => {
                    previous += 1;
                    if previous % 10 == 0 { Csat::Neutral } else { Csat::Good }
                }
                // Troubled accounts: unhappy, but too few recent ratings (at most 4) for the
                // check-in's 5, which is the CSAT scenario's story, not theirs.
                _ if recent => {
                    recent_unhappy += 1;
                    if recent_unhappy > 4 {
                        return None;
                    }
                    weighted(rng, 10, 30)
                }
                Scenario::Souring { severe: false } => weighted(rng, 75, 15),
                _ => weighted(rng, 55, 15),
            };
            Some((delay, verdict))
        })
        .collect()
}

/// GOOD `good`%, NEUTRAL `neutral`%, else BAD.
fn weighted(rng: &mut StdRng, good: u32, neutral: u32) -> Csat {
    let roll = rng.random_range(0..100);
    if roll < good {
        Csat::Good
    } else if roll < good + neutral {
        Csat::Neutral
    } else {
        Csat::Bad
    }
}

/// The platform's targets for a priority: (first response, resolution), in seconds.
fn sla_targets(priority: P) -> (i64, i64) {
    match priority {
        P::Urgent => (HOUR, DAY),
        P::High => (4 * HOUR, 2 * DAY),
        P::Normal => (8 * HOUR, 4 * DAY),
        _ => (24 * HOUR, 7 * DAY),
    }
}

fn ticket(
    a: &DemoAccount,
    anchor: DateTime<Utc>,
    n: usize,
    d: &Draft,
    rating: Option<(i64, Csat)>,
    rng: &mut StdRng,
) -> pb::Ticket {
    let at = |age: i64| anchor - Duration::seconds(age);
    let ts = |age: i64| Some(steward_kit::time::timestamp(at(age)));
    let before = |offset: i64| offset < d.age; // happened before the anchor
    let created = d.age;
    let responded = before(d.first_response).then(|| created - d.first_response);
    let resolved = (!d.stuck && before(d.resolution)).then(|| created - d.resolution);
    let first_resolved = resolved.map(|r| if d.reopened { created - d.resolution / 3 } else { r });
    let reopened = resolved.filter(|_| d.reopened).map(|_| created - d.resolution / 2);
    let closed = resolved.filter(|r| *r > 4 * DAY).map(|r| r - 4 * DAY);
    let status = match (resolved, closed, responded) {
        (Some(_), Some(_), _) => pb::TicketStatus::Closed,
        (Some(_), None, _) => pb::TicketStatus::Solved,
        (None, _, None) => pb::TicketStatus::New,
        (None, _, Some(_)) if rng.random_bool(0.3) => pb::TicketStatus::Pending,
        (None, _, Some(_)) => pb::TicketStatus::Open,
    };
    let rated = rating.zip(resolved).filter(|((delay, _), r)| r - delay > 0);
    let csat = rated.map(|((delay, sentiment), r)| pb::CsatRating {
        sentiment: sentiment as i32,
        score_raw: match sentiment {
            Csat::Good => "good",
            Csat::Neutral => "okay",
            _ => "bad",
        }
        .into(),
        rate_time: ts(r - delay),
        ..Default::default()
    });
    let last_change = [Some(created), responded, resolved, closed, reopened]
        .into_iter()
        .flatten()
        .chain(rated.map(|((delay, _), r)| r - delay))
        .min()
        .unwrap_or(created);
    let (fr_target, res_target) = sla_targets(d.priority);
    let sla = vec![
        sla_target(pb::SlaMetric::FirstResponse, created, fr_target, responded, anchor),
        sla_target(pb::SlaMetric::Resolution, created, res_target, first_resolved, anchor),
    ];
    let requester = &a.contacts[rng.random_range(0..a.contacts.len())];
    let by_org = rng.random_bool(0.5);
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: INSTANCE.into(),
        external_id: format!("{}-{:04}", a.id, n + 1),
        display_key: format!("#{}", 40_000 + n),
        account_ref: by_org.then(|| pb::PartyRef { id: a.org_id.clone(), ..Default::default() }),
        requester: Some(pb::PartyRef {
            email: requester.email.clone(),
            display_name: requester.name.clone(),
            ..Default::default()
        }),
        subject: subject(d.category, n),
        status: status as i32,
        priority: d.priority as i32,
        channel: [pb::Channel::Email, pb::Channel::WebForm, pb::Channel::Chat]
            [rng.random_range(0..3)] as i32,
        category: d.category.into(),
        tags: vec!["steward-demo".into()],
        created_time: ts(created),
        updated_time: ts(last_change),
        first_response_time: responded.and_then(ts),
        first_resolved_time: first_resolved.and_then(ts),
        resolved_time: resolved.and_then(ts),
        closed_time: closed.and_then(ts),
        reopen_count: Some(i32::from(d.reopened && resolved.is_some())),
        last_reopened_time: reopened.and_then(ts),
        sla,
        csat,
        source_update_time: ts(last_change),
        ..Default::default()
    }
}

/// A platform SLA target due `target` seconds after creation, fulfilled `done` seconds before
/// the anchor (if it was): MET or BREACHED once decided, else ACTIVE until due.
fn sla_target(
    metric: pb::SlaMetric,
    created: i64,
    target: i64,
    done: Option<i64>,
    anchor: DateTime<Utc>,
) -> pb::SlaTarget {
    let due = created - target;
    let state = match done {
        Some(done) if done >= due => pb::SlaState::Met,
        Some(_) => pb::SlaState::Breached,
        None if due > 0 => pb::SlaState::Breached,
        None => pb::SlaState::Active,
    };
    let ts = |age: i64| Some(steward_kit::time::timestamp(anchor - Duration::seconds(age)));
    pb::SlaTarget {
        metric: metric as i32,
        name_raw: "Standard support".into(),
        due_time: ts(due),
        completed_time: done.and_then(ts),
        state: state as i32,
        ..Default::default()
    }
}

fn subject(category: &str, n: usize) -> String {
    let options: &[&str] = match category {
        "how-to" => &["How do I export a report?", "How to add a user to a team?"],
        "onboarding" => &["Setting up SSO for our workspace", "Importing our existing data"],
        "bug" => &["Dashboard shows wrong totals", "Error 500 when saving a view"],
        "billing" => &["Invoice shows the wrong seat count", "Update our billing address"],
        "integration" => &["Salesforce sync stopped", "Webhook deliveries failing"],
        "feature-request" => &["Could we schedule exports?", "Dark mode for the app"],
        "performance" => &["Reports take minutes to load", "Search is very slow today"],
        "outage" => &["App down for our whole team", "Cannot log in since this morning"],
        _ => &["Question about our account", "Change the account owner"],
    };
    options[n % options.len()].to_owned()
}
