//! `steward watch`: a live view from now on, of health changes and playbook runs. Run as
//! people run it, a child process whose lines are read as they come, then killed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use crate::scores::ticket;
use crate::support::{command, start_playbook};

const HIGH: &str = "TICKET_PRIORITY_HIGH";

/// The next line on stdout, as JSON, within 20 s.
async fn next_event(stdout: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line()).await;
    let line = line.expect("a line within 20 s").expect("stdout").expect("a line, not the end");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[tokio::test]
async fn watch_json_prints_a_tickets_change_then_the_run_it_starts_and_nothing_from_before() {
    let suite = start_playbook().await;
    let created = suite
        .steward(&[
            "accounts",
            "create",
            "--display-name",
            "Acme",
            "--id",
            "acme",
            "--domain",
            "acme.com",
            "--stage",
            "established",
        ])
        .await;
    assert_eq!(created.code, Some(0), "{created:#?}");
    suite.score_is("acme", 100.0).await;
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
    assert!(
        ready.starts_with("steward watch: following health changes and playbook runs from now"),
        "{ready}"
    );

    // One HIGH ticket: a health change, no run (churn risk needs 3 in 14 days).
    let file = suite.file("high.jsonl", &(ticket("acme.com", "h1", 1, HIGH) + "\n"));
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");
    let event = next_event(&mut stdout).await;

    // The first line is the ticket's change: acme's first score came before the watch.
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

    // Two more: 3 HIGH tickets in 14 days start churn risk, and its run is shown.
    let lines: String =
        ["h2", "h3"].iter().map(|id| ticket("acme.com", id, 1, HIGH) + "\n").collect();
    let file = suite.file("more.jsonl", &lines);
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");
    let mut seen = Vec::new();
    let run = loop {
        let event = next_event(&mut stdout).await;
        if event.get("runChange").is_some() {
            break event;
        }
        assert!(event.get("healthChange").is_some(), "{event}");
        seen.push(event);
        assert!(seen.len() < 10, "no run among {seen:?}");
    };
    child.kill().await.expect("stop steward watch");

    let change = &run["runChange"];
    assert_eq!(change["kind"], "RUN_CHANGE_KIND_RUN_STARTED", "{run}");
    assert_eq!(change["account"], "accounts/acme", "{run}");
    assert_eq!(change["playbook"], "playbooks/churn-risk", "{run}");
    assert_eq!(change["snapshot"]["state"], "RUN_STATE_ACTIVE", "{run}");
    assert_eq!(
        change["snapshot"]["triggerSummary"], "3 HIGH or higher tickets in 14 days (threshold 3)",
        "{run}"
    );
}
