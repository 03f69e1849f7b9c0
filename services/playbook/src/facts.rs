//! Gathering one account's [`Facts`] from the services to our left: the account (account
//! service), the support summaries the playbooks' windows need (ticket-ingest), the health
//! score, its history and its explanation's headline (health scoring), plus the band and
//! stage entry times the feeds told us (our `signals` table). Used by the dry run
//! (`EvaluateTriggers`), by the automatic evaluation, and when a step is rendered.

use chrono::{DateTime, TimeDelta, Utc};
use steward_kit::Error;
use steward_kit::client::{Intercepted, retry};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::google::r#type::Interval;
use steward_proto::health::v1 as health_pb;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use tonic::{Code, Status};

use crate::domain::facts::Facts;
use crate::domain::trigger;
use crate::store::Store;

/// How strictly a gathering treats an unreachable peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Evaluation: every input is needed; an unreachable peer is `UNAVAILABLE`.
    Everything,
    /// Rendering a step: what cannot be obtained renders empty (and is listed missing).
    BestEffort,
}

/// The peers facts come from, and the store's signals.
#[derive(Debug, Clone)]
pub struct Sources {
    store: Store,
    accounts: AccountServiceClient<Intercepted>,
    tickets: TicketIngestServiceClient<Intercepted>,
    health: HealthScoringServiceClient<Intercepted>,
}

impl Sources {
    /// Facts read through these clients and `store`.
    pub fn new(
        store: Store,
        accounts: AccountServiceClient<Intercepted>,
        tickets: TicketIngestServiceClient<Intercepted>,
        health: HealthScoringServiceClient<Intercepted>,
    ) -> Self {
        Self { store, accounts, tickets, health }
    }

    /// `account`'s facts at `now`, with what evaluating and rendering `playbooks` needs.
    /// `NOT_FOUND` (reason `ACCOUNT_NOT_FOUND`) when the account does not exist.
    pub async fn gather(
        &self,
        account: &str,
        playbooks: &[pb::Playbook],
        now: DateTime<Utc>,
        need: Need,
    ) -> Result<Facts, Error> {
        let mut facts = Facts { now, ..Default::default() };
        facts.account = self.account(account, need).await?;
        if facts.account.is_none() {
            return Ok(facts);
        }
        facts.score = self.score(account, need).await?;
        if facts.score.is_some() {
            facts.health_summary = self.headline(account).await;
        }
        let lookback = trigger::history_needed(playbooks.iter());
        if lookback > TimeDelta::zero() {
            facts.score_history = self.history(account, lookback, now, need).await?;
        }
        for window in trigger::windows_needed(playbooks.iter()) {
            if let Some(summary) = self.summary(account, window, now, need).await? {
                facts.summaries.insert(window, summary);
            }
        }
        let signals = self.store.signals(account).await?;
        if let Some(s) = signals {
            if s.band == facts.band() as i32 {
                facts.band_entered = s.band_entered;
            }
            if s.stage == facts.stage() as i32 {
                facts.stage_entered = s.stage_entered;
            }
        }
        Ok(facts)
    }

    async fn account(&self, name: &str, need: Need) -> Result<Option<account_pb::Account>, Error> {
        let request = account_pb::GetAccountRequest { name: name.to_owned() };
        let answer = retry(|| {
            let mut accounts = self.accounts.clone();
            let request = request.clone();
            async move { accounts.get_account(request).await }
        })
        .await;
        match answer {
            Ok(a) => Ok(Some(a.into_inner())),
            Err(s) if s.code() == Code::NotFound => Err(Error::NotFound(name.to_owned())),
            Err(s) => unreachable_peer("ACCOUNT_UNAVAILABLE", "account", &s, need).map(|()| None),
        }
    }

    async fn score(
        &self,
        account: &str,
        need: Need,
    ) -> Result<Option<health_pb::HealthScore>, Error> {
        let request = health_pb::GetHealthScoreRequest { name: format!("{account}/healthScore") };
        let answer = retry(|| {
            let mut health = self.health.clone();
            let request = request.clone();
            async move { health.get_health_score(request).await }
        })
        .await;
        match answer {
            Ok(s) => Ok(Some(s.into_inner())),
            // Not scored yet: no score is a fact, not a failure.
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => unreachable_peer("HEALTH_SCORING_UNAVAILABLE", "health scoring", &s, need)
                .map(|()| None),
        }
    }

    /// The first line of the score's explanation (`health.summary`); best effort.
    async fn headline(&self, account: &str) -> Option<String> {
        let request = health_pb::ExplainHealthScoreRequest {
            account: account.to_owned(),
            compare_time: None,
        };
        let mut health = self.health.clone();
        let answer = health.explain_health_score(request).await.ok()?;
        answer.into_inner().summary.into_iter().next()
    }

    /// Raw score history reaching back `lookback` from `now`, and the point in effect then.
    async fn history(
        &self,
        account: &str,
        lookback: TimeDelta,
        now: DateTime<Utc>,
        need: Need,
    ) -> Result<Vec<health_pb::ScorePoint>, Error> {
        // A margin before the window's start catches the point in effect when it began;
        // a score older than that which never changed is the current score anyway.
        let start = now - lookback - TimeDelta::days(30);
        let mut points = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = health_pb::GetScoreHistoryRequest {
                account: account.to_owned(),
                interval: Some(Interval { start_time: Some(timestamp(start)), end_time: None }),
                page_size: 10_000,
                page_token: page_token.clone(),
                ..Default::default()
            };
            let answer = retry(|| {
                let mut health = self.health.clone();
                let request = request.clone();
                async move { health.get_score_history(request).await }
            })
            .await;
            match answer {
                Ok(page) => {
                    let page = page.into_inner();
                    points.extend(page.points);
                    if page.next_page_token.is_empty() {
                        return Ok(points);
                    }
                    page_token = page.next_page_token;
                }
                Err(s) if s.code() == Code::NotFound => return Ok(points),
                Err(s) => {
                    unreachable_peer("HEALTH_SCORING_UNAVAILABLE", "health scoring", &s, need)?;
                    return Ok(points);
                }
            }
        }
    }

    async fn summary(
        &self,
        account: &str,
        window: i64,
        now: DateTime<Utc>,
        need: Need,
    ) -> Result<Option<ticket_pb::SupportSummary>, Error> {
        let request = ticket_pb::GetSupportSummaryRequest {
            account: account.to_owned(),
            window: Some(prost_types::Duration { seconds: window, nanos: 0 }),
            as_of: Some(timestamp(now)),
            history_windows: 0,
        };
        let answer = retry(|| {
            let mut tickets = self.tickets.clone();
            let request = request.clone();
            async move { tickets.get_support_summary(request).await }
        })
        .await;
        match answer {
            Ok(s) => Ok(Some(s.into_inner())),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => unreachable_peer("TICKET_INGEST_UNAVAILABLE", "ticket-ingest", &s, need)
                .map(|()| None),
        }
    }
}

/// What a failed call to a peer means: `UNAVAILABLE` when everything is needed, nothing
/// (the value stays missing) for best-effort rendering.
fn unreachable_peer(
    reason: &'static str,
    peer: &str,
    status: &Status,
    need: Need,
) -> Result<(), Error> {
    match need {
        Need::BestEffort => {
            tracing::warn!(%peer, code = ?status.code(), message = status.message(), "peer call failed; rendering without its values");
            Ok(())
        }
        Need::Everything => Err(Error::Unavailable {
            reason,
            message: format!("{peer} answered {:?}: {}", status.code(), status.message()),
        }),
    }
}
