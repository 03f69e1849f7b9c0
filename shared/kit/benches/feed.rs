//! Feed benchmark: commit-to-consumer latency and throughput for one producer and one
//! watching consumer over real gRPC and Postgres. Prints figures; asserts nothing.
//!
//! `cargo bench -p steward-kit --bench feed` (uses DATABASE_URL, a local server, or a private
//! cluster, like the tests).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sqlx::migrate::Migrator;
use steward_kit::Application;
use steward_kit::config::ServerConfig;
use steward_kit::feed::{Feed, FeedConfig};
use steward_proto::testing::v1::probe_service_client::ProbeServiceClient;
use steward_proto::testing::v1::probe_service_server::ProbeServiceServer;
use steward_proto::testing::v1::{ProbeChange, WatchProbeChangesRequest};
use steward_testkit::TestServer;
use steward_testkit::pg::TestDb;
use steward_testkit::probe::{Probe, SCOPES};
use steward_testkit::server::auth_config;
use tokio::sync::Mutex;

const RATE: u64 = 500; // entries/s in the latency phase, one per transaction
const LATENCY_SECS: u64 = 6;
const BULK: i64 = 100_000; // entries in the throughput phase, 500 per transaction

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    steward_kit::db::migrate(&pool, Migrator::with_migrations(vec![]), "probe").await?;
    let feed = Feed::start(pool.clone(), "probe", FeedConfig::default());
    let app = Application::bind(ServerConfig::local(), &auth_config())
        .await?
        .with_service(ProbeServiceServer::new(Probe::with_feed(feed.clone())), SCOPES);
    let server = TestServer::start(app);

    // The consumer: a watch from the start, recording when each sequence arrives.
    let committed: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let mut client = ProbeServiceClient::new(server.channel());
    let mut request = tonic::Request::new(WatchProbeChangesRequest::default());
    request.set_timeout(Duration::from_secs(3600));
    let mut stream = client.watch_probe_changes(request).await?.into_inner();
    let total = RATE * LATENCY_SECS;
    let consumer = {
        let committed = committed.clone();
        tokio::spawn(async move {
            let mut latency =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut received = 0u64;
            let mut bulk_started = None;
            while let Ok(Some(change)) = stream.message().await {
                let now = Instant::now();
                received += 1;
                if change.writer == 2 {
                    continue; // warm-up
                }
                if change.writer == 0 {
                    if let Some(at) = committed.lock().await.remove(&change.sequence) {
                        latency.saturating_record(now.duration_since(at).as_micros() as u64);
                    }
                } else {
                    let started = *bulk_started.get_or_insert(now);
                    if received == 500 + total + BULK as u64 {
                        return (latency, started, now);
                    }
                }
            }
            panic!("watch ended early after {received} entries");
        })
    };

    // Warm-up, not measured: the pools open their connections and the feed's LISTEN
    // connection comes up (until then watchers only poll).
    for sequence in 0..500 {
        let mut tx = pool.begin().await?;
        let change =
            ProbeChange { account: "accounts/w".into(), writer: 2, sequence, ..Default::default() };
        feed.append(&mut tx, "accounts/w", &change).await?;
        tx.commit().await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    // Latency phase: paced single-entry transactions.
    let start = Instant::now();
    for sequence in 0..total as i64 {
        let due = start + Duration::from_micros(sequence as u64 * 1_000_000 / RATE);
        tokio::time::sleep_until(due.into()).await;
        let mut tx = pool.begin().await?;
        let change = ProbeChange { account: "accounts/a".into(), sequence, ..Default::default() };
        feed.append(&mut tx, "accounts/a", &change).await?;
        tx.commit().await?;
        committed.lock().await.insert(sequence, Instant::now());
    }

    // Throughput phase: batched appends as fast as one writer goes.
    let bulk_start = Instant::now();
    for chunk in 0..BULK / 500 {
        let accounts = vec!["accounts/b".to_owned(); 500];
        let payloads: Vec<Vec<u8>> = (0..500)
            .map(|i| {
                prost::Message::encode_to_vec(&ProbeChange {
                    account: "accounts/b".into(),
                    writer: 1,
                    sequence: chunk * 500 + i,
                    ..Default::default()
                })
            })
            .collect();
        let mut tx = pool.begin().await?;
        feed.append_encoded(&mut tx, &accounts, &payloads).await?;
        tx.commit().await?;
    }
    let written = bulk_start.elapsed();
    let (latency, _, last) = consumer.await?;
    let delivered = last.duration_since(bulk_start);

    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!("feed benchmark (1 producer, 1 watching consumer over gRPC, Postgres local)");
    println!(
        "commit-to-consumer latency at {RATE}/s, {} entries: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        latency.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        latency.max() as f64 / 1000.0
    );
    println!(
        "throughput: {BULK} entries written in {:.2} s ({:.0}/s), delivered to the consumer in {:.2} s ({:.0}/s)",
        written.as_secs_f64(),
        BULK as f64 / written.as_secs_f64(),
        delivered.as_secs_f64(),
        BULK as f64 / delivered.as_secs_f64()
    );
    server.stop().await?;
    Ok(())
}
