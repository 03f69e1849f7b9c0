//! `steward 360 ACCOUNT`: one screen about one customer, from every service that knows it:
//! the account and its renewal (account), its contracts (account), its support over 30 days
//! against the 30 before (ticket-ingest), and its health with the breakdown and the top
//! explanation lines (health-scoring), and its active playbook runs (playbook).

use std::process::ExitCode;

use chrono::{NaiveDate, Utc};
use steward_proto::account::v1 as account_pb;
use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;
use steward_proto::ticket::v1 as ticket_pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::client::Connection;
use crate::commands::account_name;
use crate::commands::accounts::{self, ACCOUNT, dash};
use crate::commands::runs;
use crate::commands::scores::text;
use crate::commands::support::{self, SUMMARY};
use crate::json;
use crate::output::{self, Format};

const CONTRACT: &str = "steward.account.v1.Contract";
const EXPLANATION: &str = "steward.health.v1.ExplainHealthScoreResponse";
/// The support window shown.
const SUPPORT_WINDOW_DAYS: i64 = 30;
/// The support figures a one-screen view has room for.
const SUPPORT_FIGURES: [&str; 6] = [
    "tickets created",
    "high or urgent",
    "open backlog (at end)",
    "first response, median",
    "SLA breaches",
    "CSAT good",
];
/// The explanation lines shown (the most important come first).
const EXPLANATION_LINES: usize = 4;

/// `360`.
#[derive(Debug, clap::Args)]
pub struct Args360 {
    /// The account: its id (`acme`) or name (`accounts/acme`).
    account: String,
}

/// Everything the view shows, as read.
struct View {
    account: account_pb::Account,
    contracts: Vec<account_pb::Contract>,
    support: ticket_pb::SupportSummary,
    /// None while health scoring has not scored the account yet.
    health: Option<health_pb::ExplainHealthScoreResponse>,
    /// The account's ACTIVE playbook runs, newest first.
    runs: Vec<playbook_pb::PlaybookRun>,
}

impl Args360 {
    /// Reads the account first (an unknown account is an error from the service that owns
    /// it), then the other parts at once.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let name = account_name(&self.account);
        let (account_peer, mut accounts) = conn.accounts()?;
        let request = account_pb::GetAccountRequest { name: name.clone() };
        let account =
            accounts.get_account(request).await.map_err(|s| account_peer.error(s))?.into_inner();

        let contracts = async {
            let mut request = account_pb::ListContractsRequest {
                parent: name.clone(),
                page_size: 1000,
                page_token: String::new(),
            };
            let mut contracts = Vec::new();
            loop {
                let page = accounts
                    .list_contracts(request.clone())
                    .await
                    .map_err(|s| account_peer.error(s))?
                    .into_inner();
                contracts.extend(page.contracts);
                if page.next_page_token.is_empty() {
                    return anyhow::Ok(contracts);
                }
                request.page_token = page.next_page_token;
            }
        };
        let support = async {
            let (peer, mut client) = conn.tickets(false)?;
            let request = ticket_pb::GetSupportSummaryRequest {
                account: name.clone(),
                window: Some(prost_types::Duration {
                    seconds: SUPPORT_WINDOW_DAYS * 86_400,
                    nanos: 0,
                }),
                as_of: None,
                history_windows: 0,
            };
            anyhow::Ok(
                client.get_support_summary(request).await.map_err(|s| peer.error(s))?.into_inner(),
            )
        };
        let health = async {
            let (peer, mut client) = conn.health(false)?;
            let request =
                health_pb::ExplainHealthScoreRequest { account: name.clone(), compare_time: None };
            match client.explain_health_score(request).await {
                Ok(explained) => anyhow::Ok(Some(explained.into_inner())),
                Err(status) if not_scored_yet(&status) => Ok(None),
                Err(status) => Err(peer.error(status)),
            }
        };
        let runs = async {
            let (peer, mut client) = conn.playbooks()?;
            let request = playbook_pb::ListPlaybookRunsRequest {
                account: name.clone(),
                states: vec![playbook_pb::RunState::Active as i32],
                ..Default::default()
            };
            runs::fetch(&peer, &mut client, request, 0).await
        };
        let (contracts, support, health, runs) =
            tokio::try_join!(contracts, support, health, runs)?;
        let view = View { account, contracts, support, health, runs };
        match format {
            Format::Json => output::print_json(&view.json()?)?,
            Format::Table => output::print(&view.text(Utc::now().date_naive()))?,
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// A new account that health scoring has not scored yet (it normally is within seconds).
fn not_scored_yet(status: &tonic::Status) -> bool {
    status.code() == Code::NotFound
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == "HEALTH_SCORE_NOT_COMPUTED")
}

/// Whole days from `today` to the account's renewal date; None without a contract.
fn days_to_renewal(account: &account_pb::Account, today: NaiveDate) -> Option<i64> {
    let d = account.renewal_date.as_ref()?;
    let date =
        NaiveDate::from_ymd_opt(d.year, u32::try_from(d.month).ok()?, u32::try_from(d.day).ok()?)?;
    Some((date - today).num_days())
}

impl View {
    /// One object with a key per part; `health` is null while the account is not scored.
    fn json(&self) -> anyhow::Result<serde_json::Value> {
        let contracts = self
            .contracts
            .iter()
            .map(|c| json::to_value(CONTRACT, c))
            .collect::<Result<Vec<_>, _>>()?;
        let health = match &self.health {
            Some(h) => json::to_value(EXPLANATION, h)?,
            None => serde_json::Value::Null,
        };
        Ok(serde_json::json!({
            "account": json::to_value(ACCOUNT, &self.account)?,
            "daysToRenewal": days_to_renewal(&self.account, Utc::now().date_naive()),
            "contracts": contracts,
            "support": json::to_value(SUMMARY, &self.support)?,
            "health": health,
            "playbookRuns": runs::runs_values(&self.runs)?,
        }))
    }

    fn text(&self, today: NaiveDate) -> String {
        let parts = [
            self.account_text(today),
            self.contracts_text(),
            self.support_text(),
            self.health_text(),
            self.runs_text(),
        ];
        parts.join("\n\n")
    }

    fn account_text(&self, today: NaiveDate) -> String {
        let a = &self.account;
        let domains: Vec<&str> = std::iter::once(a.primary_domain.as_str())
            .filter(|d| !d.is_empty())
            .chain(a.domains.iter().map(String::as_str))
            .collect();
        let renewal = match days_to_renewal(a, today) {
            Some(0) => format!("{} (today)", accounts::date(a.renewal_date.as_ref())),
            Some(days) if days > 0 => {
                format!("{} (in {days} days)", accounts::date(a.renewal_date.as_ref()))
            }
            Some(days) => {
                format!("{} (overdue by {} days)", accounts::date(a.renewal_date.as_ref()), -days)
            }
            None => "-".into(),
        };
        let rows = [
            ("segment", accounts::segment(a.segment)),
            ("stage", accounts::stage(a.lifecycle_stage)),
            ("owner", dash(&a.owner)),
            ("domains", dash(&domains.join(", "))),
            ("arr", accounts::arr(a.arr.as_ref())),
            ("renewal", renewal),
        ];
        format!("{} ({})\n{}", a.display_name, a.name, output::fields(rows))
    }

    fn contracts_text(&self) -> String {
        if self.contracts.is_empty() {
            return "Contracts: none".into();
        }
        let rows = self.contracts.iter().map(|c| {
            let status =
                account_pb::ContractStatus::try_from(c.status).map_or("?", |s| s.as_str_name());
            vec![
                c.name.rsplit('/').next().unwrap_or_default().to_owned(),
                output::enum_name(status, "CONTRACT_STATUS_"),
                accounts::arr(c.arr.as_ref()),
                accounts::date(c.start_date.as_ref()),
                accounts::date(c.end_date.as_ref()),
                dash(&c.description),
            ]
        });
        let headers = ["contract", "status", "arr", "start", "end", "description"];
        format!("Contracts\n{}", output::table(&headers, rows))
    }

    fn support_text(&self) -> String {
        let figures: Vec<_> = support::figures(&self.support)
            .into_iter()
            .filter(|(name, _)| SUPPORT_FIGURES.contains(name))
            .collect();
        format!(
            "Support: last {SUPPORT_WINDOW_DAYS} days vs the {SUPPORT_WINDOW_DAYS} before (data as of {})\n{}",
            output::time(self.support.data_time.as_ref()),
            support::figures_table(&figures)
        )
    }

    fn runs_text(&self) -> String {
        if self.runs.is_empty() {
            return "Playbook runs: none active".into();
        }
        format!("Active playbook runs\n{}", runs::runs_table(&self.runs, false))
    }

    fn health_text(&self) -> String {
        let Some(explained) = &self.health else {
            return "Health: not scored yet".into();
        };
        let Some(s) = &explained.health_score else {
            return "Health: not scored yet".into();
        };
        let lines: Vec<String> =
            explained.summary.iter().take(EXPLANATION_LINES).map(|l| format!("- {l}")).collect();
        format!(
            "Health: {} (scorecard {}, coverage {}, computed {})\n{}\n\n{}",
            text::score_and_band(s.score, s.band),
            text::scorecard(&s.scorecard, s.scorecard_version),
            output::share(Some(s.coverage)),
            output::time(s.compute_time.as_ref()),
            text::breakdown(s),
            lines.join("\n")
        )
    }
}
