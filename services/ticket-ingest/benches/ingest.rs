//! Ingest benchmark: unary and streaming ingest through the real service (with the real
//! account service resolving accounts), an idempotent replay, and the plain-Postgres
//! baseline for the same rows measured in the same run. Prints figures; asserts nothing.
//!
//! `cargo bench -p steward-ticket-ingest --bench ingest` (uses DATABASE_URL, a local server,
//! or a private cluster, like the tests). `BENCH_TICKETS` sets the streamed count,
//! `BENCH_UNARY_CALLERS` the concurrent unary callers (8).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use hdrhistogram::Histogram;
use steward_account::AccountService;
use steward_kit::time::timestamp;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::ticket::v1 as pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::server::ADMIN_TOKEN;
use steward_testkit::{TestDb, spawn};
use steward_ticket_ingest::{TicketIngestArgs, TicketIngestService};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const ACCOUNTS: usize = 100;
const UNARY_SECS: u64 = 8;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).single().expect("a valid instant")
}

/// Ticket `n` of `instance`: a realistic mix of statuses, priorities and categories.
fn ticket(instance: &str, n: usize) -> pb::Ticket {
    let created = base() + chrono::Duration::seconds(n as i64 * 7);
    let statuses = [pb::TicketStatus::New, pb::TicketStatus::Open, pb::TicketStatus::Solved];
    let status = statuses[n % 3];
    let resolved = (status == pb::TicketStatus::Solved)
        .then(|| timestamp(created + chrono::Duration::hours(5)));
    pb::Ticket {
        source: pb::Source::Zendesk as i32,
        source_instance: instance.into(),
        external_id: n.to_string(),
        subject: format!("Cannot export report #{n}"),
        status: status as i32,
        priority: (n % 4 + 1) as i32,
        category: ["billing", "how-to", "bug", "onboarding"][n % 4].into(),
        account_ref: Some(pb::PartyRef {
            id: format!("org-{}", n % ACCOUNTS),
            ..Default::default()
        }),
        requester: Some(pb::PartyRef {
            email: format!("user{}@customer{}.com", n % 50, n % ACCOUNTS),
            ..Default::default()
        }),
        tags: vec!["api".into(), "export".into()],
        created_time: Some(timestamp(created)),
        first_response_time: Some(timestamp(created + chrono::Duration::minutes(40))),
        first_resolved_time: resolved,
        resolved_time: resolved,
        source_update_time: Some(timestamp(created + chrono::Duration::hours(6))),
        ..Default::default()
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

fn line(what: &str, count: usize, elapsed: Duration, h: Option<&Histogram<u64>>) {
    let rate = count as f64 / elapsed.as_secs_f64();
    match h {
        Some(h) => println!(
            "{what:<34} {count:>7} in {:>6.2}s = {rate:>8.0}/s   p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            elapsed.as_secs_f64(),
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.9) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0,
        ),
        None => {
            println!("{what:<34} {count:>7} in {:>6.2}s = {rate:>8.0}/s", elapsed.as_secs_f64())
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let setting = |name: &str, default: usize| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let total = setting("BENCH_TICKETS", 50_000);
    let unary_clients = setting("BENCH_UNARY_CALLERS", 8);
    let db = TestDb::new().await;
    let account = spawn::<AccountService>(&db, Default::default()).await?;
    let args = TicketIngestArgs {
        account_addr: account.url(),
        service_token: ADMIN_TOKEN.to_owned().into(),
        link_cache_size: std::num::NonZeroUsize::new(100_000)
            .unwrap_or(std::num::NonZeroUsize::MIN),
    };
    let server = spawn::<TicketIngestService>(&db, args).await?;
    let mut accounts = AccountServiceClient::new(account.channel());
    for i in 0..ACCOUNTS {
        let account = account_pb::Account {
            display_name: format!("Customer {i}"),
            primary_domain: format!("customer{i}.com"),
            external_refs: vec![account_pb::ExternalRef {
                system: "zendesk".into(),
                id: format!("org-{i}"),
            }],
            ..Default::default()
        };
        let req = account_pb::CreateAccountRequest {
            account: Some(account),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        accounts.create_account(req).await?;
    }
    println!(
        "ticket-ingest benchmark: {total} streamed tickets, {ACCOUNTS} accounts, {unary_clients} unary clients"
    );

    // Streaming: one stream, the client sending as fast as flow control lets it.
    let client = TicketIngestServiceClient::new(server.channel());
    let stream = |instance: &'static str| {
        let mut client = client.clone();
        async move {
            let (tx, rx) = mpsc::channel(1024);
            let sent = tokio::spawn(async move {
                let mut at = Vec::with_capacity(total);
                for n in 0..total {
                    at.push(Instant::now());
                    let req = pb::StreamIngestTicketsRequest {
                        item_id: n.to_string(),
                        ticket: Some(ticket(instance, n)),
                    };
                    if tx.send(req).await.is_err() {
                        break;
                    }
                }
                at
            });
            let started = Instant::now();
            let mut request = tonic::Request::new(ReceiverStream::new(rx));
            request.set_timeout(Duration::from_secs(3600));
            let mut answers = client.stream_ingest_tickets(request).await?.into_inner();
            let mut done = Vec::with_capacity(total);
            let mut outcomes = [0usize; 5];
            while let Some(answer) = answers.message().await? {
                done.push(Instant::now());
                if let Some(pb::stream_ingest_tickets_response::Result::Ingested(r)) = answer.result
                {
                    outcomes[r.outcome as usize % 5] += 1;
                }
            }
            let elapsed = started.elapsed();
            let sent = sent.await?;
            let mut h = histogram();
            for (s, d) in sent.iter().zip(&done) {
                h.saturating_record(d.duration_since(*s).as_micros() as u64);
            }
            anyhow::Ok((elapsed, h, outcomes))
        }
    };
    let (elapsed, h, outcomes) = stream("stream").await?;
    line("stream ingest (new tickets)", total, elapsed, Some(&h));
    println!(
        "{:<34} created {} updated {} unchanged {} stale {}",
        "", outcomes[1], outcomes[2], outcomes[3], outcomes[4]
    );
    let (elapsed, h, outcomes) = stream("stream").await?;
    line("stream replay (all unchanged)", total, elapsed, Some(&h));
    println!(
        "{:<34} created {} updated {} unchanged {} stale {}",
        "", outcomes[1], outcomes[2], outcomes[3], outcomes[4]
    );

    // Unary: concurrent callers, closed loop, each call one new ticket.
    let deadline = Instant::now() + Duration::from_secs(UNARY_SECS);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..unary_clients {
        let mut client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut h = histogram();
            let mut n = w;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let req = pb::IngestTicketRequest {
                    ticket: Some(ticket("unary", n)),
                    request_id: String::new(),
                };
                client.ingest_ticket(req).await?;
                h.saturating_record(t0.elapsed().as_micros() as u64);
                n += unary_clients;
            }
            anyhow::Ok(h)
        }));
    }
    let mut h = histogram();
    for w in workers {
        h.add(w.await??)?;
    }
    line(
        &format!("unary ingest ({unary_clients} callers)"),
        h.len() as usize,
        started.elapsed(),
        Some(&h),
    );

    baseline(&db, total).await?;
    Ok(())
}

/// The physical limit for the same rows: 1,000-row UNNEST upserts straight into Postgres from
/// two connections, and single-row upserts from four, no gRPC and no service in between, into
/// a table shaped like `ticket.tickets` (same columns and indexes).
async fn baseline(db: &TestDb, total: usize) -> anyhow::Result<()> {
    let pool = db.pool().await;
    sqlx::query("CREATE TABLE public.bench_tickets (LIKE ticket.tickets INCLUDING ALL)")
        .execute(&pool)
        .await?;
    let rows: Vec<Row> = (0..total).map(Row::of).collect();
    let columns = "id, source, source_instance, external_id, account_id, link_state, ref_system,
         ref_id, requester_email, status, priority, category, created_time, source_update_time,
         deleted, content_hash, snapshot, latest_time";
    let upsert = format!(
        "INSERT INTO public.bench_tickets ({columns})
         SELECT i, 'SOURCE_ZENDESK', 'baseline', e, a, 'LINK_STATE_BY_ACCOUNT_REF', 'zendesk', r,
                m, 'TICKET_STATUS_OPEN', 'TICKET_PRIORITY_HIGH', 'billing', c, c, false, h, s, c
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[], $7::bytea[], $8::bytea[]) AS u(i, e, a, r, m, c, h, s)
         ON CONFLICT (source, source_instance, external_id) DO UPDATE
         SET snapshot = EXCLUDED.snapshot, content_hash = EXCLUDED.content_hash"
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for half in rows.chunks(total.div_ceil(2)).map(<[_]>::to_vec) {
        let (pool, upsert) = (pool.clone(), upsert.clone());
        tasks.push(tokio::spawn(async move {
            for chunk in half.chunks(1000) {
                let column = |f: fn(&Row) -> String| chunk.iter().map(f).collect::<Vec<_>>();
                sqlx::query(sqlx::AssertSqlSafe(upsert.as_str()))
                    .bind(column(|r| r.id.clone()))
                    .bind(column(|r| r.external_id.clone()))
                    .bind(column(|r| r.account.clone()))
                    .bind(column(|r| r.account_ref.clone()))
                    .bind(column(|r| r.email.clone()))
                    .bind(chunk.iter().map(|r| r.created).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.hash.clone()).collect::<Vec<_>>())
                    .bind(chunk.iter().map(|r| r.snapshot.clone()).collect::<Vec<_>>())
                    .execute(&pool)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    line("baseline: UNNEST 1,000-row, 2 conns", total, started.elapsed(), None);

    sqlx::query("TRUNCATE public.bench_tickets").execute(&pool).await?;
    let single = format!(
        "INSERT INTO public.bench_tickets ({columns})
         VALUES ($1, 'SOURCE_ZENDESK', 'baseline', $2, $3, 'LINK_STATE_BY_ACCOUNT_REF', 'zendesk',
                 $4, $5, 'TICKET_STATUS_OPEN', 'TICKET_PRIORITY_HIGH', 'billing', $6, $6, false,
                 $7, $8, $6)
         ON CONFLICT (source, source_instance, external_id) DO UPDATE
         SET snapshot = EXCLUDED.snapshot, content_hash = EXCLUDED.content_hash"
    );
    let n = total.min(20_000);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for quarter in rows[..n].chunks(n.div_ceil(4)).map(<[_]>::to_vec) {
        let (pool, single) = (pool.clone(), single.clone());
        tasks.push(tokio::spawn(async move {
            for r in quarter {
                sqlx::query(sqlx::AssertSqlSafe(single.as_str()))
                    .bind(r.id)
                    .bind(r.external_id)
                    .bind(r.account)
                    .bind(r.account_ref)
                    .bind(r.email)
                    .bind(r.created)
                    .bind(r.hash)
                    .bind(r.snapshot)
                    .execute(&pool)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    line("baseline: single-row, 4 conns", n, started.elapsed(), None);
    Ok(())
}

/// A baseline row: what the service stores for ticket `n`, without its work.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    external_id: String,
    account: String,
    account_ref: String,
    email: String,
    created: DateTime<Utc>,
    hash: Vec<u8>,
    snapshot: Vec<u8>,
}

impl Row {
    fn of(n: usize) -> Self {
        let t = ticket("baseline", n);
        let snapshot = prost::Message::encode_to_vec(&t);
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            external_id: n.to_string(),
            account: format!("account-{}", n % ACCOUNTS),
            account_ref: format!("org-{}", n % ACCOUNTS),
            email: format!("user{}@customer{}.com", n % 50, n % ACCOUNTS),
            created: base(),
            // As long as the service's SHA-256.
            hash: snapshot.iter().copied().cycle().take(32).collect(),
            snapshot,
        }
    }
}
