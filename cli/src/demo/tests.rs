//! The generator: the same seed gives the same demo, and each scenario's tickets carry the
//! signal its playbook's trigger reads (counted here as the triggers count them, at the
//! anchor), while healthy accounts stay clear of every trigger, for many seeds.

use chrono::{DateTime, Utc};
use steward_proto::ticket::v1 as pb;

use super::book::{DemoAccount, MIN_ACCOUNTS, Scenario, book};
use super::stream::{stream, tickets};

fn anchor() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).expect("a valid time")
}

/// Seconds before the anchor.
fn age(t: Option<&prost_types::Timestamp>) -> Option<i64> {
    t.map(|t| anchor().timestamp() - t.seconds)
}

const DAY: i64 = 86_400;

/// What the shipped triggers read from one account's tickets at the anchor.
#[derive(Debug)]
struct Signals {
    /// HIGH or URGENT tickets created in the last 14 days (churn risk: 3).
    severe_14d: usize,
    /// The most tickets in "onboarding" or "how-to" in the last 30 days (adoption: 3).
    questions_30d: usize,
    /// CSAT ratings and GOOD ones in the last 30 days and the 30 before (check-in: 5 each,
    /// a 20-point fall).
    csat_now: (usize, usize),
    csat_before: (usize, usize),
}

impl Signals {
    fn of(tickets: &[pb::Ticket]) -> Signals {
        let created = |t: &pb::Ticket| age(t.created_time.as_ref()).unwrap_or(i64::MAX);
        let severe = |t: &&pb::Ticket| t.priority >= pb::TicketPriority::High as i32;
        let severe_14d = tickets.iter().filter(|t| created(t) < 14 * DAY).filter(severe).count();
        let questions = |category: &str| {
            tickets.iter().filter(|t| created(t) < 30 * DAY && t.category == category).count()
        };
        let ratings = |from: i64, to: i64| {
            let rated: Vec<_> = tickets
                .iter()
                .filter_map(|t| t.csat.as_ref())
                .filter(|c| age(c.rate_time.as_ref()).is_some_and(|a| (from..to).contains(&a)))
                .collect();
            let good = rated.iter().filter(|c| c.sentiment == pb::CsatSentiment::Good as i32);
            (rated.len(), good.count())
        };
        Signals {
            severe_14d,
            questions_30d: questions("onboarding").max(questions("how-to")),
            csat_now: ratings(0, 30 * DAY),
            csat_before: ratings(30 * DAY, 60 * DAY),
        }
    }

    /// The check-in's CSAT fall in points, when both windows have 5 ratings.
    fn csat_drop(&self) -> Option<f64> {
        let share = |(n, good): (usize, usize)| (n >= 5).then(|| good as f64 / n as f64);
        Some((share(self.csat_before)? - share(self.csat_now)?) * 100.0)
    }
}

#[test]
fn the_same_seed_gives_the_same_book_and_tickets_and_another_seed_another() {
    let a = book(7, 40);
    assert_eq!(a, book(7, 40));
    assert_eq!(stream(&a, anchor()), stream(&book(7, 40), anchor()));
    assert_ne!(a, book(8, 40));
    // A bigger book keeps the accounts of the smaller one, tickets and all.
    let bigger = book(7, 60);
    assert_eq!(a[..], bigger[..40]);
    assert_eq!(tickets(&a[3], anchor()), tickets(&bigger[3], anchor()));

    let ids: std::collections::HashSet<_> = bigger.iter().map(|a| &a.id).collect();
    assert_eq!(ids.len(), 60, "account ids are distinct");
    let n = stream(&a, anchor()).len();
    assert!((1_500..6_000).contains(&n), "a few thousand tickets for 40 accounts: {n}");
}

#[test]
fn every_scenario_carries_its_signal_and_healthy_accounts_none_for_many_seeds() {
    for seed in 0..25 {
        for a in book(seed, MIN_ACCOUNTS + 5) {
            let all = tickets(&a, anchor());
            let s = Signals::of(&all);
            let drop = s.csat_drop();
            let fires_check_in = drop.is_some_and(|d| d >= 20.0);
            let context = format!("seed {seed}, {} ({:?}): {s:?}, drop {drop:?}", a.id, a.scenario);
            match a.scenario {
                Scenario::Healthy => {
                    assert!(s.severe_14d < 3, "{context}");
                    assert!(s.questions_30d < 3, "{context}");
                    assert!(!fires_check_in, "{context}");
                }
                Scenario::Souring { .. } => {
                    assert!(s.severe_14d >= 3, "{context}");
                    assert!(!fires_check_in, "{context}");
                    assert!(a.renewal_in_days > 90, "{context}");
                }
                Scenario::RedRenewal => {
                    assert!(s.severe_14d >= 3, "{context}");
                    assert!(!fires_check_in, "{context}");
                    assert!((0..=90).contains(&a.renewal_in_days), "{context}");
                }
                Scenario::Onboarding => {
                    assert!(s.questions_30d >= 3, "{context}");
                    assert!(s.severe_14d < 3, "{context}");
                    assert!(!fires_check_in, "{context}");
                    assert!(all.iter().all(|t| age(t.created_time.as_ref()) < Some(30 * DAY)));
                }
                Scenario::CsatCollapse => {
                    assert!(drop.is_some_and(|d| d >= 40.0), "{context}");
                    assert!(s.severe_14d < 3, "{context}");
                    assert!(s.questions_30d < 3, "{context}");
                }
            }
        }
    }
}

#[test]
fn tickets_are_valid_snapshots_dated_before_the_anchor_on_the_accounts_domain() {
    for a in book(3, 20) {
        for t in tickets(&a, anchor()) {
            let created = age(t.created_time.as_ref()).expect("created");
            let updated = age(t.source_update_time.as_ref()).expect("updated");
            assert!(created <= 120 * DAY && updated >= 0 && updated <= created, "{t:?}");
            for later in [&t.first_response_time, &t.first_resolved_time, &t.resolved_time] {
                assert!(age(later.as_ref()).is_none_or(|l| l <= created && l >= updated));
            }
            if let (Some(first), Some(last)) = (&t.first_resolved_time, &t.resolved_time) {
                assert!(first.seconds <= last.seconds, "{t:?}");
            }
            let email = t.requester.as_ref().map(|r| r.email.as_str()).unwrap_or_default();
            assert!(email.ends_with(&format!("@{}", a.domain)), "{email}");
            assert!(t.external_id.starts_with(&a.id));
        }
    }
}

#[test]
fn the_book_has_contracts_renewing_within_a_year_and_contacts_on_its_domain() {
    let accounts: Vec<DemoAccount> = book(42, 40);
    assert!(accounts.iter().all(|a| (1..365).contains(&a.renewal_in_days)));
    assert!(accounts.iter().all(|a| a.contacts.len() >= 3));
    let soon = accounts
        .iter()
        .filter(|a| a.scenario == Scenario::Healthy && a.renewal_in_days <= 90)
        .count();
    assert!(soon > 0, "some healthy accounts renew soon too, and nothing should fire for them");
}

#[test]
fn speed_is_tickets_per_second_or_max() {
    use super::{Speed, parse_speed};
    assert_eq!(parse_speed("max"), Ok(Speed::Max));
    assert_eq!(parse_speed("250").map(|s| format!("{s:?}")), Ok("PerSecond(250)".into()));
    assert!(parse_speed("0").is_err_and(|e| e.contains("or `max`")));
    assert!(parse_speed("fast").is_err());
}
