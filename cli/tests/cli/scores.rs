//! `steward scores | scorecards | measurements`: what health-scoring computed from tickets
//! imported through the binary, printed with the exact figures of the default scorecard.
//!
//! Worked numbers (default scorecard, no CSAT, volume or reopen data yet, so only support
//! severity, weight 25, and backlog age, weight 15, count; tickets a day or two old keep the
//! backlog at 100 points): no HIGH/URGENT ticket → 100 GREEN; 1 HIGH → (80 × 25 + 100 × 15)
//! / 40 = 87.5 GREEN; 3 URGENT → (25 × 25 + 100 × 15) / 40 = 53.125 → 53.13 YELLOW, severity
//! contributing 15.63 and backlog 37.50.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::support::{Suite, cells, row, start_scoring, strings};

/// An open ticket from jane@`domain`, created `days_ago` days ago.
pub(crate) fn ticket(domain: &str, id: &str, days_ago: i64, priority: &str) -> String {
    let created = Utc::now() - Duration::days(days_ago);
    json!({
        "source": "SOURCE_ZENDESK",
        "externalId": format!("{domain}-{id}"),
        "subject": format!("ticket {id}"),
        "statusRaw": "open",
        "priority": priority,
        "requester": {"email": format!("jane@{domain}")},
        "createdTime": created.to_rfc3339(),
        "sourceUpdateTime": (created + Duration::minutes(5)).to_rfc3339(),
    })
    .to_string()
}

/// Creates account `id` on `id`.com in `segment`, waits for its first score (100: no
/// tickets), then imports `priorities` as tickets from its domain.
pub(crate) async fn account_with_tickets(
    suite: &Suite,
    id: &str,
    segment: &str,
    priorities: &[&str],
) {
    let domain = format!("{id}.com");
    let created = suite
        .steward(&[
            "accounts",
            "create",
            "--display-name",
            id,
            "--id",
            id,
            "--domain",
            &domain,
            "--segment",
            segment,
        ])
        .await;
    assert_eq!(created.code, Some(0), "{created:#?}");
    suite.score_is(id, 100.0).await;
    if priorities.is_empty() {
        return;
    }
    let lines: String = priorities
        .iter()
        .enumerate()
        .map(|(i, p)| ticket(&domain, &i.to_string(), 1 + i as i64 % 2, p) + "\n")
        .collect();
    let file = suite.file(&format!("{id}.jsonl"), &lines);
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");
}

const URGENT: &str = "TICKET_PRIORITY_URGENT";
const HIGH: &str = "TICKET_PRIORITY_HIGH";

fn accounts(run: &crate::support::Run) -> Vec<String> {
    assert_eq!(run.code, Some(0), "{run:#?}");
    strings(&run.json(), "healthScores", "account")
}

#[tokio::test]
async fn scores_list_worst_first_pages_through_and_filters_by_band_and_segment() {
    let suite = start_scoring().await;
    account_with_tickets(&suite, "acme", "enterprise", &[URGENT, URGENT, URGENT]).await;
    account_with_tickets(&suite, "globex", "smb", &[]).await;
    account_with_tickets(&suite, "initech", "smb", &[HIGH]).await;
    suite.score_is("acme", 53.13).await;
    suite.score_is("initech", 87.5).await;

    let all =
        suite.steward(&["scores", "list", "-o", "json", "--page-size", "1", "--limit", "0"]).await;
    let yellow = suite.steward(&["scores", "list", "--band", "yellow", "-o", "json"]).await;
    let green = suite.steward(&["scores", "list", "--band", "GREEN", "-o", "json"]).await;
    let best = suite.steward(&["scores", "list", "--order", "score-desc", "-o", "json"]).await;
    let by_name = suite.steward(&["scores", "list", "--order", "account", "-o", "json"]).await;
    let smb = suite.steward(&["scores", "list", "--segment", "smb", "-o", "json"]).await;
    let two = suite.steward(&["scores", "list", "--limit", "2", "-o", "json"]).await;
    let table = suite.steward(&["scores", "list", "--scorecard", "default"]).await;

    let names = |ids: &[&str]| ids.iter().map(|id| format!("accounts/{id}")).collect::<Vec<_>>();
    assert_eq!(accounts(&all), names(&["acme", "initech", "globex"]), "three pages of one");
    let listed = all.json();
    let scores: Vec<&Value> =
        listed["healthScores"].as_array().expect("scores").iter().map(|s| &s["score"]).collect();
    assert_eq!(scores, [&json!(53.13), &json!(87.5), &json!(100.0)]);
    assert_eq!(accounts(&yellow), names(&["acme"]));
    assert_eq!(accounts(&green), names(&["initech", "globex"]));
    assert_eq!(accounts(&best), names(&["globex", "initech", "acme"]));
    assert_eq!(accounts(&by_name), names(&["acme", "globex", "initech"]));
    assert_eq!(accounts(&smb), names(&["initech", "globex"]));
    assert_eq!(accounts(&two), names(&["acme", "initech"]));
    assert_eq!(table.code, Some(0), "{table:#?}");
    let header = cells(table.stdout.lines().next().unwrap_or_default());
    assert_eq!(
        header,
        ["ACCOUNT", "SCORE", "BAND", "PREVIOUS", "SCORECARD", "COVERAGE", "COMPUTED"]
    );
    let acme = row(&table.stdout, "acme");
    assert_eq!(
        (&acme[1], &acme[2], &acme[4], &acme[5]),
        (&"53.13".into(), &"YELLOW".into(), &"default@1".into(), &"40%".into())
    );
    let globex = row(&table.stdout, "globex");
    assert_eq!(&globex[1..5], ["100.00", "GREEN", "no score", "default@1"]);
}

/// `t` as `--since` takes it.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn show_explain_and_history_print_the_breakdown_and_the_move_with_exact_figures() {
    let suite = start_scoring().await;
    account_with_tickets(&suite, "acme", "smb", &[]).await;
    // A second after the first score: the score in effect then is 100.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let file = suite.file(
        "urgent.jsonl",
        &["1", "2", "3"].map(|id| ticket("acme.com", id, 1, URGENT) + "\n").concat(),
    );
    let import = suite.steward(&["tickets", "import", &file]).await;
    assert_eq!(import.code, Some(0), "{import:#?}");
    suite.score_is("acme", 53.13).await;

    let show = suite.steward(&["scores", "show", "acme"]).await;
    let explain =
        suite.steward(&["scores", "explain", "accounts/acme", "--since", &rfc3339(before)]).await;
    let explain_json = suite
        .steward(&["scores", "explain", "acme", "--since", &rfc3339(before), "-o", "json"])
        .await;
    let no_earlier = suite.steward(&["scores", "explain", "acme", "--since", "2h"]).await;
    let raw = suite.steward(&["scores", "history", "acme", "--raw"]).await;
    let daily_min = suite.steward(&["scores", "history", "acme", "--agg", "min"]).await;
    let daily_max = suite
        .steward(&["scores", "history", "acme", "--since", "30d", "--agg", "max", "-o", "json"])
        .await;

    assert_eq!(show.code, Some(0), "{show:#?}");
    assert_eq!(row(&show.stdout, "score:"), ["score:", "53.13"]);
    assert_eq!(row(&show.stdout, "band:"), ["band:", "YELLOW"]);
    assert_eq!(row(&show.stdout, "scorecard:"), ["scorecard:", "default@1"]);
    assert_eq!(row(&show.stdout, "coverage:"), ["coverage:", "40%"]);
    assert_eq!(
        row(&show.stdout, "support_severity"),
        [
            "support_severity",
            "included",
            "3 tickets",
            "25.00",
            "25",
            "0.6250",
            "15.63",
            "3 URGENT tickets in 30 days"
        ]
    );
    let backlog = row(&show.stdout, "backlog_age");
    assert_eq!(
        (&backlog[1], &backlog[3..7]),
        (&"included".to_owned(), &["100.00", "15", "0.3750", "37.50"].map(String::from)[..])
    );
    assert_eq!(&row(&show.stdout, "csat")[1..7], ["missing", "-", "0.00", "20", "0.0000", "0.00"]);

    assert_eq!(explain.code, Some(0), "{explain:#?}");
    let lines: Vec<&str> = explain.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "- Score 53.13 (YELLOW), down 46.87 from 100.00 (GREEN) since {}.",
            before.date_naive()
        )
    );
    assert_eq!(lines[1], "- 3 URGENT tickets in 30 days: Support severity \u{2212}46.87 points.");
    assert_eq!(
        row(&explain.stdout, "support_severity"),
        [
            "support_severity",
            "100.00 → 25.00",
            "62.50 → 15.63",
            "-46.87",
            "3 URGENT tickets in 30 days"
        ]
    );
    assert!(explain.stdout.contains(": 100.00 GREEN → 53.13 YELLOW (-46.87)"), "{explain:#?}");
    let explained = explain_json.json();
    assert_eq!(explained["comparison"]["scoreDelta"], json!(-46.87), "{explained}");
    assert_eq!(explained["comparison"]["movers"].as_array().map(Vec::len), Some(1), "{explained}");
    assert_eq!(no_earlier.code, Some(0), "{no_earlier:#?}");
    assert_eq!(
        no_earlier.stdout.lines().next(),
        Some("- Score 53.13 (YELLOW); no earlier score to compare with.")
    );

    assert_eq!(raw.code, Some(0), "{raw:#?}");
    let rows: Vec<Vec<String>> = raw.stdout.lines().map(cells).filter(|c| c.len() == 4).collect();
    let first = rows.get(1).expect("a first point");
    let last = rows.last().expect("a last point");
    assert_eq!(
        (&first[1..], &last[1..]),
        (
            &["100.00", "GREEN", "default@1"].map(String::from)[..],
            &["53.13", "YELLOW", "default@1"].map(String::from)[..]
        ),
        "{raw:#?}"
    );
    let spark = raw.stdout.lines().nth(2).unwrap_or_default();
    assert!(spark.starts_with('█') && spark.contains("▅  ("), "100 then 53.13: {spark:?}");
    assert!(spark.ends_with("min 53.13, max 100.00)"), "{spark:?}");

    assert_eq!(daily_min.code, Some(0), "{daily_min:#?}");
    assert!(daily_min.stdout.contains("(min per 1d)"), "{daily_min:#?}");
    let last = daily_min.stdout.lines().last().map(cells).unwrap_or_default();
    assert_eq!(&last[1..], ["53.13", "YELLOW", "default@1"], "today's lowest: {daily_min:#?}");
    let points = daily_max.json()["points"].as_array().cloned().unwrap_or_default();
    assert!(points.iter().any(|p| p["score"] == json!(100.0)), "the day's highest: {points:?}");
}

#[tokio::test]
async fn measurements_record_then_list_and_move_the_score_scorecards_show_the_model() {
    let suite = start_scoring().await;
    account_with_tickets(&suite, "globex", "smb", &[]).await;
    let at = rfc3339(Utc::now() - Duration::hours(1));

    let first = suite
        .steward(&[
            "measurements",
            "record",
            "globex",
            "active_user_ratio",
            "0.8",
            "--time",
            &at,
            "--unit",
            "ratio",
            "--source",
            "product-analytics",
        ])
        .await;
    // The same (account, key, time) again, a new request: the value is replaced.
    let again = suite
        .steward(&[
            "measurements",
            "record",
            "accounts/globex",
            "active_user_ratio",
            "0.5",
            "--time",
            &at,
            "--unit",
            "ratio",
            "--source",
            "product-analytics",
            "-o",
            "json",
        ])
        .await;
    let bad = suite.steward(&["measurements", "record", "globex", "Active-Users", "3"]).await;
    let listed = suite.steward(&["measurements", "list", "globex"]).await;
    let listed_json = suite.steward(&["measurements", "list", "globex", "-o", "json"]).await;
    // Usage 0.5 → 50 points, weight 15: (100 × 25 + 100 × 15 + 50 × 15) / 55 = 86.36.
    suite.score_is("globex", 86.36).await;
    let show = suite.steward(&["scores", "show", "globex"]).await;
    let cards = suite.steward(&["scorecards", "list", "-o", "json"]).await;
    let card = suite.steward(&["scorecards", "show", "scorecards/default"]).await;
    let v1 =
        suite.steward(&["scorecards", "show", "default", "--version", "1", "-o", "json"]).await;
    let v2 = suite.steward(&["scorecards", "show", "default", "--version", "2"]).await;

    assert_eq!(first.code, Some(0), "{first:#?}");
    assert_eq!(first.stdout.trim(), "measurements: recorded 1, replaced 0, unchanged 0");
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert_eq!(again.json(), json!({"replacedCount": 1}));
    assert_eq!(bad.code, Some(1), "{bad:#?}");
    assert!(bad.stderr.contains("measurements[0].key"), "names the field: {bad:#?}");
    assert_eq!(listed.code, Some(0), "{listed:#?}");
    let at_printed = at.replace('T', " ");
    assert_eq!(
        &row(&listed.stdout, "active_user_ratio")[..4],
        ["active_user_ratio", "0.5 ratio", &at_printed, "product-analytics"]
    );
    assert_eq!(listed.stdout.lines().count(), 2, "one measurement: {listed:#?}");
    let m = &listed_json.json()["measurements"][0];
    assert_eq!((&m["account"], &m["value"]), (&json!("accounts/globex"), &json!(0.5)));
    assert_eq!(
        row(&show.stdout, "usage"),
        [
            "usage",
            "included",
            "0.5 ratio",
            "50.00",
            "15",
            "0.2727",
            "13.64",
            &row(&show.stdout, "usage")[7]
        ]
    );
    assert_eq!(row(&show.stdout, "score:"), ["score:", "86.36"]);
    assert_eq!(row(&show.stdout, "latest measurement:")[1], at_printed);

    assert_eq!(strings(&cards.json(), "scorecards", "name"), ["scorecards/default"]);
    assert_eq!(card.code, Some(0), "{card:#?}");
    assert_eq!(
        row(&card.stdout, "bands:"),
        ["bands:", "RED below 40, YELLOW below 70, GREEN from 70"]
    );
    assert_eq!(row(&card.stdout, "assigned to:"), ["assigned to:", "default"]);
    assert_eq!(
        row(&card.stdout, "support_severity")[1..4],
        ["high_urgent_tickets", "<1 → 100, 1 to <2 → 80, 2 to <3 → 55, 3 to <5 → 25, ≥5 → 0", "25"]
    );
    assert_eq!(
        row(&card.stdout, "usage")[1..4],
        ["custom active_user_ratio (latest)", "0.2 → 0 … 0.8 → 100", "15"]
    );
    assert_eq!(v1.json()["version"], 1);
    assert_eq!(v2.code, Some(1), "{v2:#?}");
    assert!(v2.stderr.contains("answered NotFound"), "{v2:#?}");
}
