//! `steward watch`: a live view from now on. Run as people run it, a child process whose
//! lines are read as they come, then killed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::scores::{account_with_tickets, ticket};
use crate::support::{command, start_scoring};

#[tokio::test]
async fn watch_json_prints_the_change_a_ticket_causes_and_nothing_from_before() {
    let suite = start_scoring().await;
    account_with_tickets(&suite, "acme", "smb", &[]).await;
    suite.feed_has(1).await;
    let mut child = command(suite.dir.path(), &suite.env())
        .args(["watch", "--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start steward watch");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), stderr.next_line()).await;
    let ready = ready.expect("watch says it is following").expect("stderr").unwrap_or_default();
    assert!(ready.starts_with("steward watch: following health changes from now"), "{ready}");

    let file =
        suite.file("high.jsonl", &(ticket("acme.com", "h1", 1, "TICKET_PRIORITY_HIGH") + "\n"));
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");
    let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line()).await;
    let line = line.expect("a line within 20 s").expect("stdout").expect("a line, not the end");
    child.kill().await.expect("stop steward watch");

    // The first line is the ticket's change: acme's first score came before the watch.
    let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let change = &event["healthChange"];
    assert_eq!(change["account"], "accounts/acme", "{event}");
    assert_eq!((&change["oldScore"], &change["newScore"]), (&json!(100.0), &json!(87.5)));
    assert_eq!(
        (&change["oldBand"], &change["newBand"]),
        (&json!("HEALTH_BAND_GREEN"), &json!("HEALTH_BAND_GREEN"))
    );
    assert_eq!(change["reason"], "HEALTH_CHANGE_REASON_SUPPORT_ACTIVITY");
    let mover = &change["topMovers"][0];
    assert_eq!(mover["componentId"], "support_severity", "{event}");
    assert_eq!(mover["pointsDelta"], json!(-12.5), "(80 − 100) × 0.625: {event}");
    assert_eq!(mover["fact"], "1 HIGH ticket in 30 days", "{event}");
}
