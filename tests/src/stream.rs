//! A realistic ticket stream over many accounts, the same for every run of one seed and one
//! `now`, and its ingestion through `StreamIngestTickets`.
//!
//! Each account has a history (solved NORMAL tickets 32 to 88 days old, some rated GOOD)
//! and a current month shaped by its profile: calm, escalating (HIGH and URGENT tickets in
//! the last 12 days), surging (three times its usual volume), asking the same questions
//! (one category, in ONBOARDING or ADOPTION) or souring (BAD ratings after GOOD ones). Some
//! renew within 90 days.
//!
//! The stream is built so that where it ends does not depend on how it was taken in. All
//! histories are sent first, and answered (so committed: a call's batches may commit out of
//! order, but it ends only once all its items have), before any current month. After the
//! history, where every component scores 100, each ticket can only lower a score — more
//! HIGH tickets, more volume, BAD ratings, young open tickets (a backlog under 3 days scores
//! 100 like none). Bands only worsen and every trigger's count only grows, so an account
//! that ends RED entered RED on the way and one that ends GREEN never left it: the runs
//! started depend on the final state alone, however re-scores and evaluations were batched,
//! interrupted or repeated. Times are at least an hour from every window's edge, so the
//! minutes between two runs of a test change no figure.

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use steward_proto::ticket::v1 as ticket_pb;
use ticket_pb::IngestOutcome;
use tokio::sync::watch;

use crate::data::{self, Priority, Sentiment, Stage};
use crate::suite::{Accounts, Tickets};

/// Accounts created at once: as many as the account service's pool has connections.
const CREATING_AT_ONCE: usize = 4;
/// Items per `StreamIngestTickets` call: each call well within the client's 30 s deadline.
const CALL_ITEMS: usize = 2_500;

/// One account of a plan.
#[derive(Debug, Clone)]
pub struct PlannedAccount {
    pub domain: String,
    pub stage: Stage,
    /// Days from `now` to its renewal; None without a contract.
    pub renews_in_days: Option<i64>,
}

/// Accounts and the ticket stream to send for them: every account's history, then every
/// account's current month, each part shuffled across accounts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub now: DateTime<Utc>,
    pub accounts: Vec<PlannedAccount>,
    pub history: Vec<ticket_pb::Ticket>,
    pub current: Vec<ticket_pb::Ticket>,
}

/// What an account's current month looks like.
#[derive(Debug, Clone, Copy)]
enum Profile {
    Calm,
    Escalating,
    Surging,
    Questions,
    Souring,
}

impl Plan {
    /// `accounts` accounts of `per_account` tickets each (at least 25), drawn from `seed`,
    /// timed relative to `now`.
    pub fn new(seed: u64, accounts: usize, per_account: usize, now: DateTime<Utc>) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut history, mut current) = (Vec::new(), Vec::new());
        let mut planned = Vec::new();
        for i in 0..accounts {
            let domain = format!("acct{i:04}.example");
            let profile = match rng.random_range(0..20) {
                0..8 => Profile::Calm,
                8..12 => Profile::Escalating,
                12..14 => Profile::Surging,
                14..17 => Profile::Questions,
                _ => Profile::Souring,
            };
            let stage = match profile {
                Profile::Questions if rng.random_bool(0.5) => Stage::Adoption,
                Profile::Questions => Stage::Onboarding,
                _ => Stage::Established,
            };
            let renews_in_days = match rng.random_range(0..10) {
                0..3 => Some(rng.random_range(20..80)),
                3..6 => Some(rng.random_range(150..300)),
                _ => None,
            };
            let mut account = Account { domain: &domain, now, next_id: 0, rng: &mut rng };
            let (past, month) = account.tickets(profile, per_account);
            history.extend(past);
            current.extend(month);
            planned.push(PlannedAccount { domain, stage, renews_in_days });
        }
        history.shuffle(&mut rng);
        current.shuffle(&mut rng);
        Plan { now, accounts: planned, history, current }
    }

    /// How many tickets the stream has.
    pub fn ticket_count(&self) -> usize {
        self.history.len() + self.current.len()
    }

    /// Sends the stream: the histories, then the current months (see the module header).
    pub async fn ingest(&self, tickets: &mut Tickets, progress: &watch::Sender<usize>) -> Tally {
        ingest(tickets, &[&self.history, &self.current], progress).await
    }

    /// Creates the plan's accounts and contracts, a few at once; account name → domain.
    pub async fn create_accounts(&self, accounts: &Accounts) -> HashMap<String, String> {
        let created = futures_util::stream::iter(&self.accounts)
            .map(|planned| {
                let mut accounts = accounts.clone();
                async move {
                    let name =
                        data::create_account(&mut accounts, &planned.domain, planned.stage).await;
                    if let Some(days) = planned.renews_in_days {
                        data::create_contract(&mut accounts, &name, self.now.date_naive(), days)
                            .await;
                    }
                    (name, planned.domain.clone())
                }
            })
            .buffer_unordered(CREATING_AT_ONCE);
        created.collect().await
    }
}

/// Draws one account's tickets.
struct Account<'a> {
    domain: &'a str,
    now: DateTime<Utc>,
    next_id: usize,
    rng: &'a mut StdRng,
}

impl Account<'_> {
    /// (history, current month) for `profile`, `total` tickets in all.
    fn tickets(
        &mut self,
        profile: Profile,
        total: usize,
    ) -> (Vec<ticket_pb::Ticket>, Vec<ticket_pb::Ticket>) {
        // The usual month is a third of the history (it spans two of the three months the
        // volume baseline averages): a fifth of the tickets in the current month keeps under
        // it, half of them is three times it.
        let surge = matches!(profile, Profile::Surging);
        let current_count = if surge { total / 2 } else { total / 5 };
        let mut current = Vec::new();
        match profile {
            Profile::Calm => {}
            Profile::Escalating | Profile::Surging => {
                for _ in 0..self.rng.random_range(2..=6) {
                    let p =
                        if self.rng.random_bool(0.3) { Priority::Urgent } else { Priority::High };
                    current.push(self.recent(p, 1, 12 * 24));
                }
            }
            Profile::Questions => {
                let category = if self.rng.random_bool(0.5) { "how-to" } else { "onboarding" };
                for _ in 0..self.rng.random_range(2..=5) {
                    let t = self.recent(Priority::Normal, 1, 27 * 24);
                    current.push(data::in_category(t, category));
                }
            }
            Profile::Souring => {
                for _ in 0..self.rng.random_range(3..=7) {
                    let t = self.solved_between(3 * 24..25 * 24);
                    current.push(data::rated(t, Sentiment::Bad));
                }
            }
        }
        while current.len() < current_count {
            let p = if self.rng.random_bool(0.3) { Priority::Low } else { Priority::Normal };
            current.push(self.recent(p, 1, 28 * 24));
        }
        // History: a souring account's ratings (GOOD, in the 30 days before the last 30)
        // first, so that the CSAT components are already there when its BAD ones arrive;
        // some calm accounts are rated too.
        let rated = match profile {
            Profile::Souring => 8,
            Profile::Calm if self.rng.random_bool(0.5) => 6,
            _ => 0,
        };
        let mut history = Vec::new();
        for _ in 0..rated {
            let t = self.solved_between(35 * 24..55 * 24);
            history.push(data::rated(t, Sentiment::Good));
        }
        while history.len() + current.len() < total {
            // 32 to 88 days old, away from the 60-day edge between baseline months.
            let days = if self.rng.random_bool(0.5) { 32 * 24..58 * 24 } else { 62 * 24..88 * 24 };
            history.push(self.solved_between(days));
        }
        (history, current)
    }

    /// A ticket of `priority` created between `min_hours` and `max_hours` ago: open while
    /// under 40 hours old (a backlog that young scores 100), solved otherwise.
    fn recent(&mut self, priority: Priority, min_hours: i64, max_hours: i64) -> ticket_pb::Ticket {
        let age = Duration::hours(self.rng.random_range(min_hours..max_hours));
        let t = data::ticket(self.domain, &self.id(), priority, self.now - age);
        if age < Duration::hours(40) { t } else { data::solved(t, self.solve_time()) }
    }

    /// A NORMAL ticket created within `hours` ago, solved since.
    fn solved_between(&mut self, hours: Range<i64>) -> ticket_pb::Ticket {
        let age = Duration::hours(self.rng.random_range(hours));
        let t = data::ticket(self.domain, &self.id(), Priority::Normal, self.now - age);
        data::solved(t, self.solve_time())
    }

    /// 2 to 30 hours.
    fn solve_time(&mut self) -> Duration {
        Duration::hours(self.rng.random_range(2..30))
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.domain, self.next_id)
    }
}

/// What a stream's ingests did, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub stale: usize,
    /// Refused items, with their errors.
    pub refused: Vec<String>,
}

/// Sends each of `parts` through `StreamIngestTickets` in calls of at most [`CALL_ITEMS`],
/// one part after the other (a call never mixes two), reading the answers as they come;
/// `progress` counts the answered items.
async fn ingest(
    tickets: &mut Tickets,
    parts: &[&[ticket_pb::Ticket]],
    progress: &watch::Sender<usize>,
) -> Tally {
    let mut tally = Tally::default();
    let mut answered = 0;
    for chunk in parts.iter().flat_map(|part| part.chunks(CALL_ITEMS)) {
        let requests: Vec<ticket_pb::StreamIngestTicketsRequest> = chunk
            .iter()
            .map(|t| ticket_pb::StreamIngestTicketsRequest {
                item_id: t.external_id.clone(),
                ticket: Some(t.clone()),
            })
            .collect();
        let call = tickets.stream_ingest_tickets(tokio_stream::iter(requests)).await;
        let mut answers = call.expect("StreamIngestTickets").into_inner();
        while let Some(answer) = answers.message().await.expect("the stream's answers") {
            use ticket_pb::stream_ingest_tickets_response::Result as R;
            match answer.result {
                Some(R::Ingested(r)) => match r.outcome() {
                    IngestOutcome::Created => tally.created += 1,
                    IngestOutcome::Updated => tally.updated += 1,
                    IngestOutcome::Unchanged => tally.unchanged += 1,
                    IngestOutcome::Stale => tally.stale += 1,
                    IngestOutcome::Unspecified => tally.refused.push(answer.item_id),
                },
                Some(R::Error(e)) => tally.refused.push(format!("{}: {e:?}", answer.item_id)),
                None => tally.refused.push(format!("{}: no result", answer.item_id)),
            }
            answered += 1;
            progress.send_replace(answered);
        }
    }
    tally
}
