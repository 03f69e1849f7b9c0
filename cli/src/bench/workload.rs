//! The work every mode shares: the bench accounts, the tickets sent for them (a realistic
//! mix of statuses, priorities and categories), and where Postgres is.

use std::path::Path;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::ticket::v1 as pb;

use crate::client::Connection;

/// The accounts' external refs live in the tickets' platform, so that tickets link to them
/// by `account_ref`.
const SYSTEM: &str = "zendesk";
/// BatchUpsertAccounts items per call, and calls at once.
const ACCOUNT_BATCH: usize = 500;
const ACCOUNT_CALLS: usize = 4;

/// A name for this run's tickets (their `source_instance`), unique, so that every ticket
/// sent is new.
pub(crate) fn run_id(what: &str) -> String {
    format!("bench-{what}-{}", Utc::now().format("%Y%m%d%H%M%S%3f"))
}

/// The external ref of bench account `i`.
pub(crate) fn account_ref(i: u64) -> String {
    format!("bench-{i}")
}

/// Ticket `n` of `instance`, for bench account `n % accounts`, created in the last hours
/// (inside every scoring window, so tickets move scores).
pub(crate) fn ticket(instance: &str, n: u64, accounts: u64, now: DateTime<Utc>) -> pb::Ticket {
    let created =
        now - chrono::Duration::hours(2) + chrono::Duration::milliseconds((n % 3_600_000) as i64);
    let statuses = [pb::TicketStatus::New, pb::TicketStatus::Open, pb::TicketStatus::Solved];
    let status = statuses[(n % 3) as usize];
    let resolved = (status == pb::TicketStatus::Solved)
        .then(|| timestamp(created + chrono::Duration::minutes(50)));
    let account = n % accounts.max(1);
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: instance.into(),
        external_id: n.to_string(),
        subject: format!("Cannot export report #{n}"),
        status: status as i32,
        priority: (n % 4 + 1) as i32,
        category: ["billing", "how-to", "bug", "onboarding"][(n % 4) as usize].into(),
        account_ref: Some(pb::PartyRef { id: account_ref(account), ..Default::default() }),
        requester: Some(pb::PartyRef {
            email: format!("user{}@{}", n % 50, domain(&account_ref(account))),
            ..Default::default()
        }),
        tags: vec!["api".into(), "export".into()],
        created_time: Some(timestamp(created)),
        first_response_time: Some(timestamp(created + chrono::Duration::minutes(20))),
        first_resolved_time: resolved,
        resolved_time: resolved,
        source_update_time: Some(timestamp(created + chrono::Duration::hours(1))),
        ..Default::default()
    }
}

fn domain(reference: &str) -> String {
    format!("{reference}.example")
}

/// Makes sure an ESTABLISHED account exists for each of `refs` (BatchUpsertAccounts keyed by
/// the ref: idempotent, UNCHANGED when it is there); their names (`accounts/…`), in order.
pub(crate) async fn ensure_accounts(
    conn: &Connection,
    refs: Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let (peer, accounts) = conn.accounts()?;
    let batches: Vec<Vec<String>> = refs.chunks(ACCOUNT_BATCH).map(<[String]>::to_vec).collect();
    let names: Vec<Vec<String>> = futures_util::stream::iter(batches)
        .map(|batch| {
            let (peer, accounts) = (&peer, accounts.clone());
            async move {
                let items = batch
                    .iter()
                    .map(|reference| account_pb::UpsertAccountItem {
                        key: Some(account_pb::ExternalRef {
                            system: SYSTEM.into(),
                            id: reference.clone(),
                        }),
                        account: Some(account_pb::Account {
                            display_name: format!("Bench {reference}"),
                            primary_domain: domain(reference),
                            segment: account_pb::Segment::MidMarket as i32,
                            lifecycle_stage: account_pb::LifecycleStage::Established as i32,
                            ..Default::default()
                        }),
                        update_mask: None,
                    })
                    .collect();
                let request = account_pb::BatchUpsertAccountsRequest { items };
                // Idempotent by key: safe to retry when a connection rotates under the call.
                let answer = steward_kit::client::retry(|| {
                    let (mut accounts, request) = (accounts.clone(), request.clone());
                    async move { accounts.batch_upsert_accounts(request).await }
                })
                .await
                .map_err(|s| peer.error(s))?
                .into_inner();
                answer
                    .results
                    .into_iter()
                    .map(|r| match (r.account, r.error) {
                        (Some(account), _) => Ok(account.name),
                        (None, error) => Err(anyhow::anyhow!(
                            "the account service refused bench account {}: {}",
                            r.index,
                            error.map(|e| e.message).unwrap_or_default()
                        )),
                    })
                    .collect::<anyhow::Result<Vec<String>>>()
            }
        })
        .buffered(ACCOUNT_CALLS)
        .try_collect()
        .await?;
    Ok(names.into_iter().flatten().collect())
}

/// Where Postgres is: `--database-url` / DATABASE_URL, else the private cluster a
/// `steward dev` keeps in `data_dir` when it runs.
pub(crate) fn database_url(given: Option<&str>, data_dir: &Path) -> Option<String> {
    if let Some(url) = given.filter(|u| !u.trim().is_empty()) {
        return Some(url.to_owned());
    }
    let cluster = steward_pgcluster::Cluster::new(data_dir.join("pg")).ok()?;
    let port = cluster.running_port()?;
    // The database `steward dev` creates in its cluster.
    Some(steward_pgcluster::url(port, "steward"))
}
