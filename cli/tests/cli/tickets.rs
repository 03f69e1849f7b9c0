//! `steward tickets import | list` and `steward support`: a JSON Lines file streamed into
//! ticket-ingest, bad lines reported with their line and field while the rest are stored,
//! replays UNCHANGED, and the stored tickets read back.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Suite, start, strings};

/// A Zendesk ticket from jane@acme.com, created `days_ago` before `now` and updated 5
/// minutes later (`+ late` minutes more).
fn ticket(
    now: DateTime<Utc>,
    external_id: &str,
    days_ago: i64,
    late: i64,
    priority: &str,
) -> Value {
    let created = now - Duration::days(days_ago);
    let updated = created + Duration::minutes(5 + late);
    json!({
        "source": "SOURCE_ZENDESK",
        "sourceInstance": "acme",
        "externalId": external_id,
        "subject": format!("ticket {external_id}"),
        "statusRaw": "open",
        "priority": priority,
        "requester": {"email": "jane@acme.com"},
        "createdTime": created.to_rfc3339(),
        "sourceUpdateTime": updated.to_rfc3339(),
    })
}

fn lines(items: &[String]) -> String {
    items.iter().map(|l| format!("{l}\n")).collect()
}

/// An account for acme.com, so that the tickets link to it by the requester's domain.
async fn acme(suite: &Suite) {
    let run = suite
        .steward(&[
            "accounts",
            "create",
            "--display-name",
            "Acme",
            "--id",
            "acme",
            "--domain",
            "acme.com",
        ])
        .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
}

fn counts(report: &Value) -> [u64; 5] {
    ["created", "updated", "unchanged", "stale", "invalid"]
        .map(|k| report[k].as_u64().unwrap_or(u64::MAX))
}

#[tokio::test]
async fn bad_lines_in_the_middle_are_reported_the_rest_stored_and_a_replay_is_unchanged() {
    let suite = start().await;
    acme(&suite).await;
    let now = Utc::now();
    let mut no_id = ticket(now, "3", 2, 0, "TICKET_PRIORITY_HIGH");
    no_id["externalId"] = json!("");
    let file = suite.file(
        "tickets.jsonl",
        &lines(&[
            ticket(now, "1", 3, 0, "TICKET_PRIORITY_NORMAL").to_string(),
            ticket(now, "2", 2, 0, "TICKET_PRIORITY_URGENT").to_string(),
            // Refused by the service, which names the field.
            no_id.to_string(),
            // Refused here: not a priority. Never sent.
            ticket(now, "4", 1, 0, "TICKET_PRIORITY_HUGE").to_string(),
            ticket(now, "5", 1, 0, "TICKET_PRIORITY_HIGH").to_string(),
        ]),
    );

    let first = suite.steward(&["tickets", "import", &file, "-o", "json"]).await;
    let again = suite.steward(&["tickets", "import", &file, "-o", "json"]).await;
    let listed = suite.steward(&["tickets", "list", "-o", "json"]).await;

    assert_eq!(first.code, Some(3), "{first:#?}");
    let report = first.json();
    assert_eq!(counts(&report), [3, 0, 0, 0, 2], "{report}");
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{report}");
    assert_eq!((&problems[0]["line"], &problems[0]["field"]), (&json!(3), &json!("external_id")));
    assert_eq!((&problems[1]["line"], &problems[1]["field"]), (&json!(4), &json!("priority")));
    assert!(
        problems[1]["message"].as_str().unwrap_or("").contains("TICKET_PRIORITY_HUGE"),
        "{report}"
    );

    assert_eq!(again.code, Some(3), "{again:#?}");
    assert_eq!(counts(&again.json()), [0, 0, 3, 0, 2], "a replay stores nothing new: {again:#?}");

    assert_eq!(listed.code, Some(0), "{listed:#?}");
    let tickets = listed.json();
    // Newest first.
    assert_eq!(strings(&tickets, "tickets", "externalId"), ["5", "2", "1"]);
    assert_eq!(strings(&tickets, "tickets", "account"), ["accounts/acme"; 3]);
}

#[tokio::test]
async fn a_clean_file_exits_zero_counts_updates_and_stale_snapshots_and_prints_a_summary() {
    let suite = start().await;
    acme(&suite).await;
    let now = Utc::now();
    let first = suite
        .file("first.jsonl", &lines(&[ticket(now, "7", 2, 0, "TICKET_PRIORITY_LOW").to_string()]));
    let mut newer = ticket(now, "7", 2, 30, "TICKET_PRIORITY_URGENT");
    newer["subject"] = json!("it got worse");
    let older = ticket(now, "7", 2, -1, "TICKET_PRIORITY_LOW");
    let second = suite.file("second.jsonl", &lines(&[newer.to_string(), older.to_string()]));

    let created = suite.steward(&["tickets", "import", &first]).await;
    let changed = suite.steward(&["tickets", "import", &second, "-o", "json"]).await;
    let table = suite.steward(&["tickets", "list"]).await;

    assert_eq!(created.code, Some(0), "{created:#?}");
    assert_eq!(
        created.stdout.trim(),
        "tickets: 1 read; created 1, updated 0, unchanged 0, stale 0, invalid 0"
    );
    assert_eq!(changed.code, Some(0), "{changed:#?}");
    assert_eq!(counts(&changed.json()), [0, 1, 0, 1, 0], "{changed:#?}");
    let rows: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{table:#?}");
    for cell in ["zendesk/acme:7", "open", "urgent", "acme", "it got worse"] {
        assert!(rows[1].contains(cell), "{cell} in {:?}", rows[1]);
    }
}

#[tokio::test]
async fn support_prints_the_account_summary_of_what_was_imported() {
    let suite = start().await;
    acme(&suite).await;
    let now = Utc::now();
    let file = suite.file(
        "tickets.jsonl",
        &lines(&[
            ticket(now, "1", 3, 0, "TICKET_PRIORITY_NORMAL").to_string(),
            ticket(now, "2", 2, 0, "TICKET_PRIORITY_URGENT").to_string(),
            ticket(now, "3", 40, 0, "TICKET_PRIORITY_HIGH").to_string(),
        ]),
    );
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");

    let summary = suite.steward(&["support", "acme", "--window", "30d", "-o", "json"]).await;
    let text = suite.steward(&["support", "accounts/acme"]).await;

    assert_eq!(summary.code, Some(0), "{summary:#?}");
    let summary = summary.json();
    assert_eq!(summary["account"], "accounts/acme");
    assert_eq!(summary["current"]["ticketsCreated"], 2, "{summary}");
    assert_eq!(summary["current"]["highUrgentTickets"], 1, "{summary}");
    assert_eq!(summary["previous"]["ticketsCreated"], 1, "{summary}");
    assert_eq!(text.code, Some(0), "{text:#?}");
    let created = text.stdout.lines().find(|l| l.starts_with("tickets created")).unwrap_or("");
    let cells: Vec<&str> = created.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells, ["tickets created", "2", "1", "+1"], "{text:#?}");
}
