//! Change feeds end to end: a producer's outbox served over real gRPC, a consumer following
//! it with its cursor in Postgres, and the coalescing queue behind it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::Rng;
use sqlx::migrate::Migrator;
use sqlx::{PgConnection, PgPool};
use steward_kit::Application;
use steward_kit::config::ServerConfig;
use steward_kit::feed::consumer::{self, ConsumerConfig, Handler, Progress};
use steward_kit::feed::{DirtyQueue, Feed, FeedConfig};
use steward_proto::testing::v1::probe_service_client::ProbeServiceClient;
use steward_proto::testing::v1::probe_service_server::ProbeServiceServer;
use steward_proto::testing::v1::{
    ListProbeChangesRequest, ListProbeChangesResponse, ProbeChange, WatchProbeChangesRequest,
};
use steward_testkit::TestServer;
use steward_testkit::pg::TestDb;
use steward_testkit::probe::{Probe, SCOPES};
use steward_testkit::server::auth_config;
use tokio::sync::{Mutex, oneshot};
use tonic::Code;

const PRODUCER: &str = "probe";
const CONSUMER: &str = "probe_consumer";

/// A producer schema with a feed, served by a probe server.
struct Producer {
    pool: PgPool,
    feed: Arc<Feed>,
    server: TestServer,
}

async fn producer(db: &TestDb, config: FeedConfig) -> Producer {
    let pool = db.pool().await;
    steward_kit::db::migrate(&pool, Migrator::with_migrations(vec![]), PRODUCER)
        .await
        .expect("migrate");
    let feed = Feed::start(pool.clone(), PRODUCER, config);
    let server = serve(feed.clone()).await;
    Producer { pool, feed, server }
}

async fn serve(feed: Arc<Feed>) -> TestServer {
    let app = Application::bind(ServerConfig::local(), &auth_config())
        .await
        .expect("bind")
        .with_service(ProbeServiceServer::new(Probe::with_feed(feed)), SCOPES);
    TestServer::start(app)
}

/// Appends one change in its own transaction.
async fn append(p: &Producer, account: &str, writer: i64, sequence: i64) {
    let mut tx = p.pool.begin().await.expect("begin");
    let change = ProbeChange { account: account.into(), writer, sequence, ..Default::default() };
    p.feed.append(&mut tx, account, &change).await.expect("append");
    tx.commit().await.expect("commit");
}

/// Records every applied entry in the consumer's schema (no key: duplicates would show).
#[derive(Clone)]
struct Recorder;

impl Handler<ProbeChange> for Recorder {
    async fn apply(&self, tx: &mut PgConnection, batch: &[ProbeChange]) -> anyhow::Result<()> {
        let writers: Vec<i64> = batch.iter().map(|c| c.writer).collect();
        let sequences: Vec<i64> = batch.iter().map(|c| c.sequence).collect();
        let cursors: Vec<String> = batch.iter().map(|c| c.cursor.clone()).collect();
        sqlx::query(
            "INSERT INTO probe_consumer.seen (writer, sequence, cursor)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[])",
        )
        .bind(writers)
        .bind(sequences)
        .bind(cursors)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO probe_consumer.resets DEFAULT VALUES").execute(tx).await?;
        Ok(())
    }
}

async fn consumer_schema(pool: &PgPool) {
    steward_kit::db::migrate(pool, Migrator::with_migrations(vec![]), CONSUMER)
        .await
        .expect("migrate");
    sqlx::query("CREATE TABLE probe_consumer.seen (id bigserial, writer bigint, sequence bigint, cursor text)")
        .execute(pool)
        .await
        .expect("seen table");
    sqlx::query("CREATE TABLE probe_consumer.resets (id bigserial, at timestamptz DEFAULT now())")
        .execute(pool)
        .await
        .expect("resets table");
}

/// A running consumer; `stop` ends it as a shutdown would.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    progress: Arc<Progress>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("consumer task");
    }
}

/// Starts a consumer of the probe feed at whatever address `addr` holds when it (re)connects.
fn start_consumer<H: Handler<ProbeChange> + Clone>(
    pool: &PgPool,
    addr: Arc<Mutex<String>>,
    handler: H,
) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let progress = Arc::new(Progress::default());
    let config = ConsumerConfig { name: "probe-feed", schema: CONSUMER, max_batch: 500 };
    let open = move |cursor: String| {
        let addr = addr.clone();
        async move {
            let url = addr.lock().await.clone();
            let mut client = ProbeServiceClient::new(steward_testkit::server::channel_to(
                &url,
                steward_testkit::server::ADMIN_TOKEN,
            ));
            let mut request =
                tonic::Request::new(WatchProbeChangesRequest { after_cursor: cursor });
            request.set_timeout(Duration::from_secs(3600));
            Ok(client.watch_probe_changes(request).await?.into_inner())
        }
    };
    let task =
        tokio::spawn(consumer::run(pool.clone(), config, handler, open, progress.clone(), async {
            let _ = stopped.await;
        }));
    Running { stop, task, progress }
}

async fn seen(pool: &PgPool) -> Vec<(i64, i64, String)> {
    sqlx::query_as("SELECT writer, sequence, cursor FROM probe_consumer.seen ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("read seen")
}

async fn wait_for_count(pool: &PgPool, n: usize) {
    for _ in 0..600 {
        if seen(pool).await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("consumer did not reach {n} entries; it has {}", seen(pool).await.len());
}

/// Each entry exactly once, and per writer in the order the writer committed them.
fn assert_exactly_once_in_order(seen: &[(i64, i64, String)], committed: &BTreeMap<i64, Vec<i64>>) {
    let mut by_writer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (writer, sequence, _) in seen {
        by_writer.entry(*writer).or_default().push(*sequence);
    }
    for (writer, sequences) in committed {
        assert_eq!(
            by_writer.get(writer),
            Some(sequences),
            "writer {writer}: wrong, missing or repeated entries"
        );
    }
    assert_eq!(by_writer.len(), committed.len(), "entries from aborted transactions leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_seen_exactly_once_in_commit_order() {
    for run in 0..3 {
        let db = TestDb::new().await;
        let p = producer(&db, FeedConfig::default()).await;
        consumer_schema(&p.pool).await;
        let addr = Arc::new(Mutex::new(p.server.url()));
        let consumer = start_consumer(&p.pool, addr, Recorder);

        // 8 writers; each transaction takes its transaction id at the append, then lingers a
        // random while before committing (or rolling back), so that commits overtake each other.
        let writers = (0..8i64).map(|writer| {
            let pool = p.pool.clone();
            let feed = p.feed.clone();
            tokio::spawn(async move {
                let mut committed = Vec::new();
                for sequence in 0..40i64 {
                    let (before, after, abort) = {
                        let mut rng = rand::rng();
                        (
                            rng.random_range(0..5u64),
                            rng.random_range(0..15u64),
                            rng.random_ratio(1, 10),
                        )
                    };
                    let mut tx = pool.begin().await.expect("begin");
                    tokio::time::sleep(Duration::from_millis(before)).await;
                    let change = ProbeChange {
                        account: format!("accounts/{writer}"),
                        writer,
                        sequence,
                        ..Default::default()
                    };
                    feed.append(&mut tx, &change.account, &change).await.expect("append");
                    tokio::time::sleep(Duration::from_millis(after)).await;
                    if abort {
                        tx.rollback().await.expect("rollback");
                    } else {
                        tx.commit().await.expect("commit");
                        committed.push(sequence);
                    }
                }
                (writer, committed)
            })
        });
        let mut committed = BTreeMap::new();
        for w in writers.collect::<Vec<_>>() {
            let (writer, sequences) = w.await.expect("writer");
            committed.insert(writer, sequences);
        }
        let total: usize = committed.values().map(Vec::len).sum();
        wait_for_count(&p.pool, total).await;
        // Give a wrongly repeated delivery the chance to show.
        tokio::time::sleep(Duration::from_millis(300)).await;
        consumer.stop().await;

        let seen = seen(&p.pool).await;
        assert_eq!(seen.len(), total, "run {run}: every committed entry once");
        assert_exactly_once_in_order(&seen, &committed);
        let cursors: Vec<&String> = seen.iter().map(|(_, _, c)| c).collect();
        assert!(
            cursors.windows(2).all(|w| cursor_key(w[0]) < cursor_key(w[1])),
            "cursors only move forward"
        );
    }
}

fn cursor_key(c: &str) -> (i64, i64) {
    let mut parts = c.trim_start_matches("c1.").split('.');
    let mut next = || i64::from_str_radix(parts.next().expect("part"), 16).expect("hex");
    (next(), next())
}

#[tokio::test]
async fn a_restarted_consumer_and_a_restarted_producer_lose_and_repeat_nothing() {
    let db = TestDb::new().await;
    let mut p = producer(&db, FeedConfig::default()).await;
    consumer_schema(&p.pool).await;
    let addr = Arc::new(Mutex::new(p.server.url()));
    let mut committed = BTreeMap::from([(1, Vec::new())]);

    let consumer = start_consumer(&p.pool, addr.clone(), Recorder);
    for i in 0..50 {
        append(&p, "accounts/a", 1, i).await;
        committed.get_mut(&1).expect("writer").push(i);
    }
    wait_for_count(&p.pool, 20).await;
    consumer.stop().await; // mid-stream, perhaps

    // Written while no consumer runs.
    for i in 50..100 {
        append(&p, "accounts/a", 1, i).await;
        committed.get_mut(&1).expect("writer").push(i);
    }
    let consumer = start_consumer(&p.pool, addr.clone(), Recorder);
    wait_for_count(&p.pool, 100).await;

    // The producer dies under an open watch and comes back elsewhere.
    p.server.kill();
    for i in 100..150 {
        append(&p, "accounts/a", 1, i).await;
        committed.get_mut(&1).expect("writer").push(i);
    }
    p.server = serve(p.feed.clone()).await;
    *addr.lock().await = p.server.url();
    wait_for_count(&p.pool, 150).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    consumer.stop().await;

    assert_exactly_once_in_order(&seen(&p.pool).await, &committed);
}

#[tokio::test]
async fn a_cursor_past_retention_is_out_of_range_and_the_consumer_relists() {
    let db = TestDb::new().await;
    let p = producer(&db, FeedConfig { retention: Duration::ZERO, ..FeedConfig::default() }).await;
    consumer_schema(&p.pool).await;
    for i in 0..5 {
        append(&p, "accounts/a", 1, i).await;
    }
    let mut client = ProbeServiceClient::new(p.server.channel());
    // Entries become listable once no older transaction in the cluster runs: poll.
    let mut page = ListProbeChangesResponse::default();
    for _ in 0..600 {
        page = client
            .list_probe_changes(ListProbeChangesRequest {
                after_cursor: String::new(),
                page_size: 2,
            })
            .await
            .expect("list")
            .into_inner();
        if page.changes.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(page.changes.len(), 2);
    let old_cursor = page.next_cursor;

    assert_eq!(p.feed.prune().await.expect("prune"), 5);
    let err = client
        .list_probe_changes(ListProbeChangesRequest {
            after_cursor: old_cursor.clone(),
            page_size: 2,
        })
        .await
        .expect_err("expired");
    assert_eq!(err.code(), Code::OutOfRange);
    use tonic_types::StatusExt;
    assert_eq!(err.get_error_details().error_info().expect("ErrorInfo").reason, "CURSOR_EXPIRED");

    // A consumer whose stored cursor expired re-lists (reset) and goes on from the start.
    sqlx::query(
        "INSERT INTO probe_consumer.feed_cursors (consumer, cursor) VALUES ('probe-feed', $1)",
    )
    .bind(&old_cursor)
    .execute(&p.pool)
    .await
    .expect("stale cursor");
    let consumer = start_consumer(&p.pool, Arc::new(Mutex::new(p.server.url())), Recorder);
    append(&p, "accounts/a", 1, 5).await;
    wait_for_count(&p.pool, 1).await;
    let resets = consumer.progress.resets.load(Ordering::Relaxed);
    consumer.stop().await;
    assert_eq!(resets, 1);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM probe_consumer.resets")
        .fetch_one(&p.pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "the reset ran in the consumer's transaction");
}

/// Marks the accounts of each batch dirty: the consumer side of coalescing.
#[derive(Clone)]
struct MarkDirty(DirtyQueue);

impl Handler<ProbeChange> for MarkDirty {
    async fn apply(&self, tx: &mut PgConnection, batch: &[ProbeChange]) -> anyhow::Result<()> {
        let accounts: Vec<String> = batch.iter().map(|c| c.account.clone()).collect();
        self.0.mark(tx, &accounts).await?;
        Ok(())
    }

    async fn reset(&self, _tx: &mut PgConnection) -> anyhow::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_for_ten_accounts_coalesces_into_a_few_hundred_units_of_work() {
    let db = TestDb::new().await;
    let p = producer(&db, FeedConfig::default()).await;
    consumer_schema(&p.pool).await;
    let queue = DirtyQueue::new(CONSUMER, Duration::from_millis(100));
    let consumer =
        start_consumer(&p.pool, Arc::new(Mutex::new(p.server.url())), MarkDirty(queue.clone()));

    // The worker: claim due accounts, "re-score" them, finish.
    let (stop, mut stopped) = oneshot::channel::<()>();
    let worker = {
        let (pool, queue) = (p.pool.clone(), queue.clone());
        tokio::spawn(async move {
            let mut units = 0usize;
            let mut accounts = BTreeSet::new();
            loop {
                let claims = queue.claim(&pool, 100, Duration::from_secs(30)).await.expect("claim");
                for claim in &claims {
                    units += 1;
                    accounts.insert(claim.account.clone());
                    queue.done(&pool, claim).await.expect("done");
                }
                if claims.is_empty() {
                    let wait = queue
                        .next_due_in(&pool)
                        .await
                        .expect("due")
                        .unwrap_or(Duration::from_millis(50));
                    tokio::select! {
                        () = tokio::time::sleep(wait.min(Duration::from_millis(50))) => {}
                        _ = &mut stopped => return (units, accounts),
                    }
                }
            }
        })
    };

    // 10,000 entries over 10 accounts, written in transactions of 100 (as a batched ingest would).
    for chunk in 0..100 {
        let mut tx = p.pool.begin().await.expect("begin");
        let accounts: Vec<String> =
            (0..100).map(|i| format!("accounts/{}", (chunk * 100 + i) % 10)).collect();
        let payloads: Vec<Vec<u8>> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                prost::Message::encode_to_vec(&ProbeChange {
                    account: a.clone(),
                    sequence: (chunk * 100 + i) as i64,
                    ..Default::default()
                })
            })
            .collect();
        p.feed.append_encoded(&mut tx, &accounts, &payloads).await.expect("append");
        tx.commit().await.expect("commit");
    }
    for _ in 0..600 {
        if consumer.progress.applied.load(Ordering::Relaxed) >= 10_000
            && queue.next_due_in(&p.pool).await.expect("due").is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.stop().await;
    let _ = stop.send(());
    let (units, accounts) = worker.await.expect("worker");
    println!("10,000 entries over 10 accounts -> {units} units of work");
    assert_eq!(accounts.len(), 10, "every account was processed");
    assert!((10..=300).contains(&units), "{units} units of work for a burst on 10 accounts");
}

/// An account marked again while it was worked on waits at least as long as the work took
/// before it is handed out again, however short the queue's delay: a busy account cannot keep
/// a worker (and the database) at it all the time.
#[tokio::test]
async fn an_account_marked_during_long_work_waits_as_long_as_the_work_took() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    consumer_schema(&pool).await;
    let queue = DirtyQueue::new(CONSUMER, Duration::from_millis(10));
    let account = vec!["accounts/busy".to_owned()];
    let mark = async || {
        let mut tx = pool.begin().await.expect("begin");
        queue.mark(&mut tx, &account).await.expect("mark");
        tx.commit().await.expect("commit");
    };
    mark().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let claims = queue.claim(&pool, 10, Duration::from_secs(30)).await.expect("claim");
    assert_eq!(claims.len(), 1);

    // Half a second of work, with a change arriving meanwhile.
    tokio::time::sleep(Duration::from_millis(250)).await;
    mark().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    queue.done(&pool, &claims[0]).await.expect("done");

    let due = queue.next_due_in(&pool).await.expect("due").expect("still queued");
    assert!(due >= Duration::from_millis(400), "due again in {due:?}, not after the 10 ms delay");
    let claims = queue.claim(&pool, 10, Duration::from_secs(30)).await.expect("claim");
    assert!(claims.is_empty(), "not handed out before then");
}
