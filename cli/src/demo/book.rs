//! The demo's book of accounts, generated from the seed: names, domains, segments, owners,
//! lifecycle stages, a contract with its renewal date, contacts on the account's domain and
//! the support platform's organization id. The first accounts play the scenarios the demo
//! shows (going sour, stuck in onboarding, CSAT collapsing, red before a renewal); the rest
//! are healthy. Pure: the same seed and size give the same book.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_proto::account::v1::{ContactRole, LifecycleStage, Segment};

/// The part an account plays in the demo, and so the playbooks it should start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Steady tickets, happy customers: stays GREEN, starts nothing.
    Healthy,
    /// Escalations pile up, resolution slows, SLAs breach: churn risk. `severe` ends RED.
    Souring { severe: bool },
    /// A new customer asking the same onboarding questions again and again: adoption help.
    Onboarding,
    /// Satisfaction falls from ~90% to ~25% good: a sentiment check-in.
    CsatCollapse,
    /// RED with its renewal weeks away: renewal preparation (and churn risk).
    RedRenewal,
}

impl Scenario {
    /// The shipped playbooks this scenario is built to start, by id, in name order.
    pub fn playbooks(self) -> &'static [&'static str] {
        match self {
            Scenario::Healthy => &[],
            Scenario::Souring { .. } => &["churn-risk"],
            Scenario::Onboarding => &["adoption"],
            Scenario::CsatCollapse => &["sentiment-check-in"],
            Scenario::RedRenewal => &["churn-risk", "renewal-preparation"],
        }
    }

    /// What a CSM would call it.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::Souring { .. } => "going sour",
            Scenario::Onboarding => "repeated onboarding questions",
            Scenario::CsatCollapse => "CSAT collapsing",
            Scenario::RedRenewal => "red, renewal near",
        }
    }
}

/// The scenario accounts come first, in this order; the rest of the book is healthy.
const SCENARIOS: [Scenario; 6] = [
    Scenario::RedRenewal,
    Scenario::Souring { severe: true },
    Scenario::Souring { severe: false },
    Scenario::Souring { severe: false },
    Scenario::Onboarding,
    Scenario::CsatCollapse,
];

/// The smallest book: every scenario and one healthy account.
pub const MIN_ACCOUNTS: usize = SCENARIOS.len() + 1;

/// The support platform the demo's tickets come from, and its system name for external refs.
pub(super) const PLATFORM: &str = "zendesk";

/// One person at a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Stable id, unique within the account (`contact_id`).
    pub id: String,
    pub name: String,
    pub email: String,
    pub title: &'static str,
    pub role: ContactRole,
}

/// One account of the book.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAccount {
    /// The account id (`accounts/{id}`), e.g. `globex-logistics`.
    pub id: String,
    pub display_name: String,
    /// e.g. `globex-logistics.example`; every contact and requester mails from it.
    pub domain: String,
    /// The organization id in the support platform (`zendesk`), as tickets carry it.
    pub org_id: String,
    pub segment: Segment,
    pub stage: LifecycleStage,
    pub owner: &'static str,
    pub scenario: Scenario,
    /// ARR in whole dollars.
    pub arr_usd: i64,
    /// Days from the demo's anchor day to the contract's renewal (the day after it ends).
    pub renewal_in_days: i64,
    /// Days from the contract's start to the anchor day.
    pub contract_age_days: i64,
    /// Contacts (champion, sponsor, admin, users); ticket requesters are drawn from them.
    pub contacts: Vec<Person>,
    /// Tickets per 30 days in normal times.
    pub monthly_tickets: f64,
    /// This account's own random stream (tickets), independent of the book's size.
    pub seed: u64,
}

const FIRST: [&str; 30] = [
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Wonka",
    "Aperture",
    "Monarch",
    "Nakatomi",
    "Cyberdyne",
    "Oscorp",
    "Stark",
    "Wayne",
    "Gringotts",
    "Duff",
    "Pied Piper",
    "Massive Dynamic",
    "Dunder",
    "Prestige",
    "Sterling",
    "Bluth",
    "Krusty",
    "Virtucon",
    "Zorg",
    "Ollivander",
    "Buy n Large",
    "Octan",
    "Northwind",
];
const SECOND: [&str; 12] = [
    "Logistics",
    "Health",
    "Foods",
    "Systems",
    "Analytics",
    "Retail",
    "Energy",
    "Bank",
    "Media",
    "Robotics",
    "Travel",
    "Insurance",
];
const OWNERS: [&str; 5] = [
    "maria.lopez@yourco.example",
    "sam.okafor@yourco.example",
    "lena.fischer@yourco.example",
    "arjun.mehta@yourco.example",
    "chloe.martin@yourco.example",
];
const PEOPLE: [&str; 20] = [
    "Ada Byrne",
    "Ben Cole",
    "Carla Diaz",
    "Dev Patel",
    "Emma Stone",
    "Felix Wu",
    "Grace Kim",
    "Hugo Laurent",
    "Ines Costa",
    "Jonas Berg",
    "Kira Novak",
    "Liam Walsh",
    "Mina Sato",
    "Noah Ferrer",
    "Olga Ivanova",
    "Pablo Ruiz",
    "Quinn Adler",
    "Rosa Lind",
    "Sofia Greco",
    "Tom Hayes",
];
const ROLES: [(ContactRole, &str); 5] = [
    (ContactRole::Champion, "Head of Operations"),
    (ContactRole::ExecutiveSponsor, "VP Engineering"),
    (ContactRole::Admin, "IT Administrator"),
    (ContactRole::User, "Support Lead"),
    (ContactRole::User, "Analyst"),
];

/// The book of `size` accounts (at least [`MIN_ACCOUNTS`]) for `seed`.
pub fn book(seed: u64, size: usize) -> Vec<DemoAccount> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names = names(&mut rng, size);
    names
        .into_iter()
        .enumerate()
        .map(|(i, display_name)| {
            let scenario = SCENARIOS.get(i).copied().unwrap_or(Scenario::Healthy);
            let account_seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            account(display_name, scenario, account_seed)
        })
        .collect()
}

/// `size` distinct company names: every first word with every second before any repeats.
fn names(rng: &mut StdRng, size: usize) -> Vec<String> {
    let mut pairs: Vec<(usize, usize)> =
        (0..SECOND.len()).flat_map(|s| (0..FIRST.len()).map(move |f| (f, s))).collect();
    // A seeded shuffle; beyond 360 accounts, names get a number.
    for i in (1..pairs.len()).rev() {
        pairs.swap(i, rng.random_range(0..=i));
    }
    (0..size)
        .map(|i| {
            let (f, s) = pairs[i % pairs.len()];
            let round = i / pairs.len();
            let name = format!("{} {}", FIRST[f], SECOND[s]);
            if round == 0 { name } else { format!("{name} {}", round + 1) }
        })
        .collect()
}

fn account(display_name: String, scenario: Scenario, seed: u64) -> DemoAccount {
    let mut rng = StdRng::seed_from_u64(seed);
    let id: String = display_name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let domain = format!("{id}.example");
    let segment = match scenario {
        // Enough tickets and ratings for their stories to show in 30-day windows.
        Scenario::CsatCollapse => Segment::Enterprise,
        Scenario::RedRenewal | Scenario::Souring { .. } => Segment::MidMarket,
        Scenario::Onboarding => Segment::Smb,
        Scenario::Healthy => match rng.random_range(0..20) {
            0..8 => Segment::Smb,
            8..15 => Segment::MidMarket,
            15..19 => Segment::Enterprise,
            _ => Segment::Strategic,
        },
    };
    let (monthly, arr_range) = match segment {
        Segment::Smb => (6.0, 8_000..25_000),
        Segment::MidMarket => (12.0, 30_000..120_000),
        Segment::Enterprise => (24.0, 150_000..500_000),
        _ => (36.0, 600_000..2_000_000),
    };
    let stage = match scenario {
        Scenario::Onboarding => LifecycleStage::Onboarding,
        Scenario::RedRenewal => LifecycleStage::Renewal,
        Scenario::Healthy => match rng.random_range(0..20) {
            0..5 => LifecycleStage::Adoption,
            5..17 => LifecycleStage::Established,
            _ => LifecycleStage::Renewal,
        },
        _ => LifecycleStage::Established,
    };
    // Healthy accounts renew any time (those within 90 days show that GREEN ones are left to
    // the normal process); the troubled ones renew after the 90-day window, except the one
    // whose renewal is the story.
    let renewal_in_days = match scenario {
        Scenario::RedRenewal => 45,
        Scenario::Healthy => rng.random_range(20..340),
        Scenario::Onboarding => 325,
        _ => rng.random_range(120..300),
    };
    let contract_age_days = 365 - renewal_in_days;
    let contacts = contacts(&mut rng, &domain);
    DemoAccount {
        org_id: format!("{}", 360_000_000 + fnv(&id) % 100_000_000),
        id,
        display_name,
        domain,
        segment,
        stage,
        owner: OWNERS[rng.random_range(0..OWNERS.len())],
        scenario,
        arr_usd: rng.random_range(arr_range) / 500 * 500,
        renewal_in_days,
        contract_age_days,
        contacts,
        monthly_tickets: monthly * rng.random_range(0.7..1.3),
        seed: rng.random(),
    }
}

/// 3 to 5 people with distinct names and roles on `domain`.
fn contacts(rng: &mut StdRng, domain: &str) -> Vec<Person> {
    let n = rng.random_range(3..=ROLES.len());
    let start = rng.random_range(0..PEOPLE.len());
    (0..n)
        .map(|i| {
            let name = PEOPLE[(start + i * 7) % PEOPLE.len()];
            let local = name.to_lowercase().replace(' ', ".");
            let (role, title) = ROLES[i];
            Person {
                id: local.replace('.', "-"),
                name: name.to_owned(),
                email: format!("{local}@{domain}"),
                title,
                role,
            }
        })
        .collect()
}

/// A stable hash (FNV-1a), so that an account's organization id depends only on its id.
fn fnv(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
