//! The test Postgres: fresh, empty, writable databases that vanish when dropped, and the
//! private cluster the tests start themselves when no server is configured.

use std::path::Path;
use std::time::{Duration, SystemTime};

use sqlx::{Connection, PgConnection, PgPool};
use steward_testkit::pg::{self, TestDb};

async fn table_exists(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>("select to_regclass($1) is not null")
        .bind(table)
        .fetch_one(pool)
        .await
        .expect("look the table up")
}

async fn user_tables(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from pg_tables where schemaname = 'public'")
        .fetch_one(pool)
        .await
        .expect("count tables")
}

async fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(admin)
        .await
        .expect("look the database up")
}

#[tokio::test]
async fn two_test_databases_are_distinct_empty_and_writable() {
    let (a, b) = (TestDb::new().await, TestDb::new().await);
    let (pool_a, pool_b) = (a.pool().await, b.pool().await);

    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());
    let current: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&pool_a)
        .await
        .expect("ask for the database");
    assert_eq!(current, a.name(), "the URL leads to the test database");
    assert_eq!(user_tables(&pool_a).await, 0, "a fresh database is empty");
    assert_eq!(user_tables(&pool_b).await, 0, "a fresh database is empty");

    sqlx::raw_sql("create table notes (id int primary key, body text not null)")
        .execute(&pool_a)
        .await
        .expect("create a table");
    sqlx::query("insert into notes values (1, 'hello')").execute(&pool_a).await.expect("insert");
    let body: String = sqlx::query_scalar("select body from notes where id = 1")
        .fetch_one(&pool_a)
        .await
        .expect("read back");

    assert_eq!(body, "hello");
    assert!(table_exists(&pool_a, "notes").await);
    assert!(!table_exists(&pool_b, "notes").await, "a table in one database leaks into the other");
}

#[tokio::test]
async fn dropping_a_test_database_removes_it() {
    let db = TestDb::new().await;
    let name = db.name().to_owned();
    // An open connection must not stop the drop.
    let pool = db.pool().await;
    sqlx::raw_sql("select 1").execute(&pool).await.expect("use the database");
    let mut admin = PgConnection::connect(&pg::server_url().await).await.expect("connect as admin");
    assert!(database_exists(&mut admin, &name).await);

    drop(db);

    assert!(!database_exists(&mut admin, &name).await, "{name} outlived its TestDb");
}

#[tokio::test]
async fn the_private_cluster_runs_under_the_target_directory() {
    let url = pg::private_cluster_url().await.expect("start the private cluster");
    let mut conn = PgConnection::connect(&url).await.expect("connect to the private cluster");

    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&mut conn).await.expect("select 1");
    assert_eq!(one, 1);
    assert_eq!(url, pg::private_cluster_url().await.expect("ask again"), "once per process");

    // The test executable lives in target/<profile>/deps; the cluster in target/.
    let exe = std::env::current_exe().expect("find the test executable");
    let target = exe
        .ancestors()
        .find(|dir| dir.join("steward-test-pg").is_dir())
        .expect("steward-test-pg/ in a directory above the test executable");
    let cluster = target.join("steward-test-pg");
    let data: String = sqlx::query_scalar("select current_setting('data_directory')")
        .fetch_one(&mut conn)
        .await
        .expect("ask for the data directory");
    let canonical = |p: &Path| p.canonicalize().expect("canonicalize");
    assert_eq!(canonical(Path::new(&data)), canonical(&cluster.join("data")));
    assert!(cluster.join("data/PG_VERSION").is_file());

    // This process holds a fresh lease, and a reaper waits for it to lapse.
    let renewed = cluster.join("lease").metadata().and_then(|m| m.modified()).expect("lease");
    let age = SystemTime::now().duration_since(renewed).unwrap_or_default();
    assert!(age < Duration::from_secs(10), "the lease is {age:?} old");
    let reaper = std::fs::read_to_string(cluster.join("reaper.pid")).expect("reaper.pid");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", reaper.trim())).expect("reaper runs");
    assert!(String::from_utf8_lossy(&cmdline).contains("steward-test-pg-reaper"));
}
