//! `steward bench ingest` against real account and ticket-ingest services: a sane report
//! (tickets accepted, no errors), every accepted ticket stored, and the baseline measured
//! beside the service in a scratch table that is gone afterwards.

use serde_json::Value;

use crate::support::{Suite, start};

/// The figure named `name` in a `-o json` report.
#[track_caller]
fn figure<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["figures"]
        .as_array()
        .and_then(|figures| figures.iter().find(|f| f["figure"] == name))
        .unwrap_or_else(|| panic!("no figure `{name}` in {report:#}"))
}

/// Tickets ticket-ingest stored for `steward bench ingest` runs.
async fn stored(suite: &Suite) -> i64 {
    let pool = suite._db.pool().await;
    sqlx::query_scalar(
        "SELECT count(*) FROM ticket.tickets WHERE source_instance LIKE 'bench-ingest-%'",
    )
    .fetch_one(&pool)
    .await
    .expect("count the stored tickets")
}

#[tokio::test]
async fn a_stream_run_reports_what_the_service_stored_beside_the_postgres_baseline() {
    let suite = start().await;
    let run = suite
        .steward(&[
            "bench",
            "ingest",
            "--mode",
            "stream",
            "--duration",
            "2s",
            "--accounts",
            "5",
            "--repeat",
            "1",
            "--database-url",
            suite._db.url(),
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();

    let accepted = figure(&report, "tickets accepted")["service"].as_f64().unwrap_or_default();
    assert!(accepted > 0.0, "{report:#}");
    assert_eq!(figure(&report, "errors")["service"], 0.0, "{report:#}");
    assert_eq!(stored(&suite).await as f64, accepted);
    assert!(figure(&report, "latency p99")["service"].as_f64().is_some_and(|ms| ms > 0.0));

    // The same rows straight into Postgres, and the ratio of the two.
    let rate = figure(&report, "tickets/s");
    assert!(rate["baseline"].as_f64().is_some_and(|b| b > 0.0), "{report:#}");
    assert!(rate["ratio"].as_f64().is_some_and(|r| r > 0.0), "{report:#}");
    let pool = suite._db.pool().await;
    let scratch: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'steward_bench'")
            .fetch_one(&pool)
            .await
            .expect("look for the scratch schema");
    assert_eq!(scratch, 0, "the baseline's scratch schema is dropped");
}

#[tokio::test]
async fn an_open_loop_unary_run_prints_one_table_and_stores_what_it_accepted() {
    let suite = start().await;
    let run = suite
        .steward(&[
            "bench",
            "ingest",
            "--mode",
            "unary",
            "--rate",
            "200",
            "--concurrency",
            "16",
            "--duration",
            "2s",
            "--accounts",
            "5",
            "--repeat",
            "1",
        ])
        .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    let cells = |first: &str| crate::support::row(&run.stdout, first);
    assert_eq!(cells("offered tickets/s")[1], "200 /s", "{}", run.stdout);
    assert_eq!(cells("errors")[1], "0", "{}", run.stdout);
    let accepted: f64 = cells("tickets accepted")[1].replace(',', "").parse().unwrap_or_default();
    assert!(accepted > 0.0, "{}", run.stdout);
    assert_eq!(stored(&suite).await as f64, accepted);
    // No database given: said, rather than a baseline column of guesses.
    assert!(run.stdout.contains("No baseline: no database"), "{}", run.stdout);
}
