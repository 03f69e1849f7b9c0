//! Health-scoring benchmark, through the real account, ticket-ingest and health-scoring
//! services on loopback: scoring N new accounts as the account feed delivers them,
//! re-scoring all of them with `RescoreAccounts`, and the latency from a ticket's ingest
//! to the health change it causes. Prints figures; asserts nothing.
//!
//! `cargo bench -p steward-health-scoring --bench scoring` (uses DATABASE_URL, a local
//! server, or a private cluster, like the tests). `BENCH_ACCOUNTS` sets N (default
//! 100,000), `BENCH_SAMPLES` the latency samples (default 300).

use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use steward_account::AccountService;
use steward_health_scoring::{HealthScoringArgs, HealthScoringService};
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::health::v1 as pb;
use steward_proto::health::v1::health_scoring_service_client::HealthScoringServiceClient;
use steward_proto::ticket::v1 as ticket_pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};

/// The coalescing delay the services run with (the production default).
const RESCORE_DELAY: Duration = Duration::from_millis(100);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn domain(i: usize) -> String {
    format!("customer{i}.example")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let accounts_n = env("BENCH_ACCOUNTS", 100_000);
    let samples = env("BENCH_SAMPLES", 300).min(accounts_n);
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await?;
    let ticket = spawn::<TicketIngestService>(
        &db,
        TicketIngestArgs {
            account_addr: account.url(),
            service_token: ADMIN_TOKEN.to_owned().into(),
            link_cache_size: std::num::NonZeroUsize::new(200_000).expect("non-zero"),
        },
    )
    .await?;
    let health = spawn::<HealthScoringService>(
        &db,
        HealthScoringArgs {
            account_addr: account.url(),
            ticket_addr: ticket.url(),
            service_token: ADMIN_TOKEN.to_owned().into(),
            rescore_delay: RESCORE_DELAY,
            sweep_interval: Duration::from_secs(24 * 3600),
        },
    )
    .await?;
    let accounts = AccountServiceClient::new(account.channel());
    let mut tickets = TicketIngestServiceClient::new(ticket.channel());
    let mut client = HealthScoringServiceClient::new(health.channel());
    println!("health-scoring benchmark: {accounts_n} accounts, rescore delay {RESCORE_DELAY:?}");

    // 1. Accounts created in batches of 100 (each item is its own transaction in the account
    //    service, so a call of 1,000 can outlast a deadline under load); health scoring scores
    //    each as the account feed delivers it.
    let started = Instant::now();
    let batches: Vec<Vec<usize>> =
        (0..accounts_n).collect::<Vec<_>>().chunks(100).map(<[usize]>::to_vec).collect();
    futures_util::stream::iter(batches)
        .for_each_concurrent(8, |batch| {
            let accounts = accounts.clone();
            async move {
                let items = batch
                    .iter()
                    .map(|i| account_pb::UpsertAccountItem {
                        key: Some(account_pb::ExternalRef {
                            system: "bench".into(),
                            id: i.to_string(),
                        }),
                        account: Some(account_pb::Account {
                            display_name: format!("Customer {i}"),
                            primary_domain: domain(*i),
                            segment: (i % 4 + 1) as i32,
                            ..Default::default()
                        }),
                        update_mask: None,
                    })
                    .collect();
                let req = account_pb::BatchUpsertAccountsRequest { items };
                // Idempotent by key: safe to retry when a connection rotates under the call.
                steward_kit::client::retry(|| {
                    let mut accounts = accounts.clone();
                    let req = req.clone();
                    async move { accounts.batch_upsert_accounts(req).await }
                })
                .await
                .expect("batch upsert");
            }
        })
        .await;
    let created = started.elapsed();
    report_rate("accounts created (BatchUpsertAccounts)", accounts_n, created);
    wait_scored(&mut client, accounts_n).await;
    report_rate("accounts scored from the feed (total)", accounts_n, started.elapsed());

    // 2. Re-score every account.
    let started = Instant::now();
    let op = client
        .rescore_accounts(pb::RescoreAccountsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut watch = client
        .watch_rescore_operation(pb::WatchRescoreOperationRequest { name: op.name.clone() })
        .await?
        .into_inner();
    let mut last = op;
    while let Some(snapshot) = watch.message().await? {
        last = snapshot;
    }
    report_rate("RescoreAccounts (all)", last.done_count as usize, started.elapsed());
    println!(
        "  operation {:?}: total {} done {} failed {} changed {}",
        last.state(),
        last.total_count,
        last.done_count,
        last.failed_count,
        last.changed_count
    );

    // 3. Ticket → health change: one HIGH ticket for a different account at a time; the
    //    clock runs from the ingest call to the change arriving on a watch.
    let after_cursor = newest_cursor(&mut client).await;
    let mut changes = client
        .watch_health_changes(pb::WatchHealthChangesRequest { after_cursor })
        .await?
        .into_inner();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for i in 0..samples {
        let now = Utc::now();
        let t = ticket_pb::Ticket {
            source: ticket_pb::Source::Zendesk as i32,
            external_id: format!("latency-{i}"),
            status: ticket_pb::TicketStatus::Open as i32,
            priority: ticket_pb::TicketPriority::High as i32,
            requester: Some(ticket_pb::PartyRef {
                email: format!("jane@{}", domain(i)),
                ..Default::default()
            }),
            created_time: Some(timestamp(now)),
            source_update_time: Some(timestamp(now)),
            ..Default::default()
        };
        let wanted = account_name(&accounts, i).await;
        let sent = Instant::now();
        tickets
            .ingest_ticket(ticket_pb::IngestTicketRequest {
                ticket: Some(t),
                request_id: String::new(),
            })
            .await?;
        loop {
            let change = changes.message().await?.expect("the watch stays open");
            if change.account == wanted {
                break;
            }
        }
        latency.record(sent.elapsed().as_micros() as u64)?;
    }
    println!(
        "{:<42} {samples:>7} samples   p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  (includes the {RESCORE_DELAY:?} coalescing delay)",
        "ticket ingested -> health change",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.9) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        latency.max() as f64 / 1000.0,
    );
    Ok(())
}

fn report_rate(what: &str, n: usize, elapsed: Duration) {
    println!(
        "{what:<42} {n:>7} in {:>7.2}s = {:>8.0}/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}

/// Waits until `n` accounts have a score (counting through the list, 1,000 a page).
async fn wait_scored(
    client: &mut HealthScoringServiceClient<steward_kit::client::Intercepted>,
    n: usize,
) {
    loop {
        let mut count = 0;
        let mut req = pb::ListHealthScoresRequest {
            page_size: 1000,
            order_by: "account".into(),
            ..Default::default()
        };
        loop {
            let page = client.list_health_scores(req.clone()).await.expect("list").into_inner();
            count += page.health_scores.len();
            if page.next_page_token.is_empty() {
                break;
            }
            req.page_token = page.next_page_token;
        }
        if count >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The cursor of the newest health change, so the watch starts at the present.
async fn newest_cursor(
    client: &mut HealthScoringServiceClient<steward_kit::client::Intercepted>,
) -> String {
    let mut cursor = String::new();
    loop {
        let page = client
            .list_health_changes(pb::ListHealthChangesRequest {
                after_cursor: cursor.clone(),
                page_size: 1000,
            })
            .await
            .expect("list changes")
            .into_inner();
        if page.changes.is_empty() {
            return cursor;
        }
        cursor = page.next_cursor;
    }
}

/// The name of bench account `i`, resolved by its domain.
async fn account_name(
    accounts: &AccountServiceClient<steward_kit::client::Intercepted>,
    i: usize,
) -> String {
    let mut accounts = accounts.clone();
    let key = account_pb::resolve_account_request::Key::Domain(domain(i));
    let req = account_pb::ResolveAccountRequest { key: Some(key) };
    accounts.resolve_account(req).await.expect("resolve").into_inner().account
}
