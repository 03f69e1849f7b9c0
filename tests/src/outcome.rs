//! Reading what the suite made of its input, whole (every page), keyed by what stays the
//! same across databases (an account's domain, a playbook's name) so that two runs of one
//! stream compare.

use std::collections::{BTreeMap, HashMap};

use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as pb;
use steward_proto::ticket::v1 as ticket_pb;

use crate::Suite;
use crate::suite::{Health, Playbooks, Tickets};

/// Every account's score and every playbook's runs per account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Per account domain: the score (as the API rounds it, 2 decimals) and band.
    pub scores: BTreeMap<String, (Option<String>, health_pb::HealthBand)>,
    /// Per (account domain, playbook): how many runs it has.
    pub runs: BTreeMap<(String, String), usize>,
}

impl Outcome {
    /// Reads `suite`'s scores and runs; `domains` maps account names to domains.
    pub async fn read(suite: &Suite, domains: &HashMap<String, String>) -> Outcome {
        let domain = |account: &str| {
            domains.get(account).cloned().unwrap_or_else(|| panic!("unknown account {account}"))
        };
        let scores = all_scores(&mut suite.health.clone())
            .await
            .into_iter()
            .map(|s| (domain(&s.account), (s.score.map(|v| format!("{v:.2}")), s.band())))
            .collect();
        let mut runs = BTreeMap::new();
        for run in all_runs(&mut suite.playbooks.clone()).await {
            *runs.entry((domain(&run.account), run.playbook)).or_default() += 1;
        }
        Outcome { scores, runs }
    }

    /// How many accounts ended in `band`.
    pub fn in_band(&self, band: health_pb::HealthBand) -> usize {
        self.scores.values().filter(|(_, b)| *b == band).count()
    }

    /// How many accounts have a run of `playbook`.
    pub fn with_runs_of(&self, playbook: &str) -> usize {
        self.runs.keys().filter(|(_, p)| p == playbook).count()
    }
}

/// Every health score.
pub async fn all_scores(health: &mut Health) -> Vec<health_pb::HealthScore> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = health_pb::ListHealthScoresRequest {
            order_by: "account".into(),
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = health.list_health_scores(req).await.expect("list scores").into_inner();
        all.extend(page.health_scores);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Every playbook run, newest first.
pub async fn all_runs(playbooks: &mut Playbooks) -> Vec<pb::PlaybookRun> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::ListPlaybookRunsRequest { page_size: 1000, page_token, ..Default::default() };
        let page = playbooks.list_playbook_runs(req).await.expect("list runs").into_inner();
        all.extend(page.playbook_runs);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// The runs of `account`, newest first.
pub async fn runs_of(playbooks: &mut Playbooks, account: &str) -> Vec<pb::PlaybookRun> {
    let req = pb::ListPlaybookRunsRequest {
        account: account.into(),
        page_size: 1000,
        ..Default::default()
    };
    playbooks.list_playbook_runs(req).await.expect("list runs").into_inner().playbook_runs
}

/// The support feed's entries after `cursor` (all of them, as far as they are visible now)
/// and the cursor after the last.
pub async fn support_changes(
    tickets: &mut Tickets,
    cursor: &str,
) -> (Vec<ticket_pb::SupportChange>, String) {
    let (mut all, mut cursor) = (Vec::new(), cursor.to_owned());
    loop {
        let req =
            ticket_pb::ListSupportChangesRequest { after_cursor: cursor.clone(), page_size: 1000 };
        let page = tickets.list_support_changes(req).await.expect("list support changes");
        let page = page.into_inner();
        if page.changes.is_empty() {
            return (all, cursor);
        }
        all.extend(page.changes);
        cursor = page.next_cursor;
    }
}

/// The health feed's entries after `cursor` (all of them, as far as they are visible now)
/// and the cursor after the last.
pub async fn health_changes(
    health: &mut Health,
    cursor: &str,
) -> (Vec<health_pb::HealthChange>, String) {
    let (mut all, mut cursor) = (Vec::new(), cursor.to_owned());
    loop {
        let req =
            health_pb::ListHealthChangesRequest { after_cursor: cursor.clone(), page_size: 1000 };
        let page = health.list_health_changes(req).await.expect("list health changes");
        let page = page.into_inner();
        if page.changes.is_empty() {
            return (all, cursor);
        }
        all.extend(page.changes);
        cursor = page.next_cursor;
    }
}

/// `account`'s raw score history (one point per stored change) over the last 90 days.
pub async fn score_history(health: &mut Health, account: &str) -> Vec<health_pb::ScorePoint> {
    let req = health_pb::GetScoreHistoryRequest {
        account: account.into(),
        page_size: 10_000,
        ..Default::default()
    };
    health.get_score_history(req).await.expect("score history").into_inner().points
}
