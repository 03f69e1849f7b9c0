//! `steward accounts create | list | show | import`: what is printed is what the account
//! service stored; imports upsert by external ref, report each bad row by line and column,
//! and change nothing when replayed.

use serde_json::json;

use crate::support::{start, strings};

#[tokio::test]
async fn create_then_list_and_show_print_what_was_stored() {
    let suite = start().await;

    let created = suite
        .steward(&[
            "accounts",
            "create",
            "--display-name",
            "Acme Corp",
            "--id",
            "acme",
            "--domain",
            "acme.com",
            "--segment",
            "enterprise",
            "--ref",
            "zendesk:3601",
            "--label",
            "region=emea",
            "-o",
            "json",
        ])
        .await;
    let listed = suite.steward(&["accounts", "list"]).await;
    let shown = suite.steward(&["accounts", "show", "acme", "--output", "json"]).await;

    assert_eq!(created.code, Some(0), "{created:#?}");
    let account = created.json();
    assert_eq!(account["name"], "accounts/acme");
    assert_eq!(account["segment"], "SEGMENT_ENTERPRISE");
    assert_eq!(account["externalRefs"], json!([{"system": "zendesk", "id": "3601"}]));
    assert_eq!(account["labels"], json!({"region": "emea"}));
    assert_eq!(listed.code, Some(0), "{listed:#?}");
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one account: {listed:#?}");
    let cells: Vec<&str> = lines[1].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(cells, ["acme", "Acme Corp", "acme.com", "enterprise", "-", "-", "-", "-"]);
    assert_eq!(shown.code, Some(0), "{shown:#?}");
    assert_eq!(shown.json(), account, "show prints the stored account");
}

#[tokio::test]
async fn a_csv_import_upserts_by_external_ref_reports_bad_rows_and_replays_as_unchanged() {
    let suite = start().await;
    let acme = suite
        .steward(&[
            "accounts",
            "create",
            "--display-name",
            "Acme",
            "--id",
            "acme",
            "--ref",
            "salesforce:001A",
        ])
        .await;
    assert_eq!(acme.code, Some(0), "{acme:#?}");
    let csv = suite.file(
        "accounts.csv",
        "system,external_id,display_name,primary_domain,segment,lifecycle_stage,owner\n\
         salesforce,001A,Acme Corp,acme.com,enterprise,adoption,jane@cs.example\n\
         salesforce,001B,Globex,globex.com,mid-market,onboarding,sam@cs.example\n\
         salesforce,001C,Initech,initech.com,huge,,\n\
         salesforce,001D,,initrode.com,smb,,\n",
    );

    let first = suite.steward(&["accounts", "import", &csv, "-o", "json"]).await;
    let again = suite.steward(&["accounts", "import", &csv, "-o", "json"]).await;
    let listed = suite.steward(&["accounts", "list", "-o", "json"]).await;

    assert_eq!(first.code, Some(3), "some rows were refused: {first:#?}");
    let report = first.json();
    assert_eq!(
        (&report["created"], &report["updated"], &report["unchanged"], &report["invalid"]),
        (&json!(1), &json!(1), &json!(0), &json!(2)),
        "{report}"
    );
    // Line 4 is refused here (not a segment), line 5 by the service (no display name on
    // create), each naming its CSV column.
    let problems = report["problems"].as_array().expect("problems");
    let at: Vec<(u64, &str)> = problems
        .iter()
        .map(|p| (p["line"].as_u64().unwrap_or(0), p["field"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(at, [(4, "segment"), (5, "display_name")], "{report}");
    assert!(problems[0]["message"].as_str().unwrap_or("").contains("`huge`"), "{report}");

    assert_eq!(again.code, Some(3), "{again:#?}");
    let replay = again.json();
    assert_eq!(
        (&replay["created"], &replay["updated"], &replay["unchanged"], &replay["invalid"]),
        (&json!(0), &json!(0), &json!(2), &json!(2)),
        "a replay writes nothing: {replay}"
    );

    assert_eq!(listed.code, Some(0), "{listed:#?}");
    let accounts = listed.json();
    assert_eq!(strings(&accounts, "accounts", "displayName"), ["Acme Corp", "Globex"]);
    let globex = &accounts["accounts"][1];
    assert_eq!(
        (&globex["primaryDomain"], &globex["segment"], &globex["lifecycleStage"], &globex["owner"]),
        (
            &json!("globex.com"),
            &json!("SEGMENT_MID_MARKET"),
            &json!("LIFECYCLE_STAGE_ONBOARDING"),
            &json!("sam@cs.example")
        )
    );
    assert_eq!(
        accounts["accounts"][0]["name"], "accounts/acme",
        "001A updated the existing account"
    );
}

#[tokio::test]
async fn a_json_lines_import_takes_upsert_items_and_names_the_fields_of_bad_ones() {
    let suite = start().await;
    let file = suite.file(
        "accounts.jsonl",
        concat!(
            r#"{"key":{"system":"hubspot","id":"9"},"account":{"displayName":"Hooli","segment":"SEGMENT_STRATEGIC"}}"#,
            "\n\n",
            r#"{"key":{"system":"hubspot","id":"10"},"account":{"displayName":"Pied Piper","primaryDomain":"not a domain"}}"#,
            "\n",
            r#"{"key":{"system":"hubspot","id":"11"},"acount":{}}"#,
            "\n",
        ),
    );

    let run = suite.steward(&["accounts", "import", &file, "--output", "json"]).await;
    let listed = suite.steward(&["accounts", "list", "-o", "json"]).await;

    assert_eq!(run.code, Some(3), "{run:#?}");
    let report = run.json();
    assert_eq!((&report["created"], &report["invalid"]), (&json!(1), &json!(2)), "{report}");
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems[0]["line"], 3, "blank lines count as lines: {report}");
    assert_eq!(problems[0]["field"], "account.primary_domain", "{report}");
    assert_eq!(problems[1]["line"], 4, "{report}");
    assert_eq!(problems[1]["field"], "acount", "an unknown field is named: {report}");
    assert_eq!(strings(&listed.json(), "accounts", "displayName"), ["Hooli"]);
}
