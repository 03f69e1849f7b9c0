//! `steward playbooks | runs` and the runs in `steward 360`: the shipped playbooks as the
//! playbook service seeded them, and a run started by hand through the API, listed, shown
//! and moved on by completing its first task through the binary.

use steward_proto::playbook::v1 as pb;

use crate::support::{Suite, cells, row, start_playbook, strings};

/// Creates `acme` (owner jane@example.com) and `x`, and starts `churn-risk` for acme
/// through the API.
async fn acme_with_a_churn_risk_run(suite: &Suite) -> pb::PlaybookRun {
    for (id, display_name) in [("acme", "Acme Corp"), ("x", "X")] {
        let created = suite
            .steward(&[
                "accounts",
                "create",
                "--display-name",
                display_name,
                "--id",
                id,
                "--owner",
                "jane@example.com",
            ])
            .await;
        assert_eq!(created.code, Some(0), "{created:#?}");
    }
    let request = pb::StartPlaybookRunRequest {
        playbook: "playbooks/churn-risk".into(),
        account: "accounts/acme".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        note: "renewal call went badly".into(),
        actor: "jane@example.com".into(),
    };
    let mut client = suite.playbook_client();
    client.start_playbook_run(request).await.expect("start the run").into_inner()
}

#[tokio::test]
async fn playbooks_list_and_show_the_shipped_playbooks_with_triggers_audience_and_steps() {
    let suite = start_playbook().await;

    let table = suite.steward(&["playbooks", "list"]).await;
    let doc = suite.steward(&["playbooks", "list", "-o", "json"]).await;
    let show = suite.steward(&["playbooks", "show", "churn-risk"]).await;
    let shown = suite.steward(&["playbooks", "show", "playbooks/adoption", "-o", "json"]).await;

    assert_eq!(table.code, Some(0), "{table:#?}");
    let out = &table.stdout;
    assert_eq!(
        cells(out.lines().next().unwrap_or_default()),
        [
            "PLAYBOOK",
            "VERSION",
            "DISPLAY NAME",
            "ENABLED",
            "TRIGGERS",
            "COOLDOWN",
            "STEPS",
            "UPDATED"
        ]
    );
    assert_eq!(
        row(out, "churn-risk")[..7],
        ["churn-risk", "1", "Churn risk", "yes", "ticket_count, band_entered", "30d", "4"]
    );
    assert_eq!(
        row(out, "adoption")[..7],
        ["adoption", "1", "Adoption help", "yes", "repeated_category", "60d", "2"]
    );
    assert_eq!(row(out, "renewal-preparation")[4..7], ["renewal_within", "180d", "3"]);
    assert_eq!(row(out, "sentiment-check-in")[4..7], ["csat_decline", "45d", "2"]);

    assert_eq!(doc.code, Some(0), "{doc:#?}");
    assert_eq!(
        strings(&doc.json(), "playbooks", "name"),
        [
            "playbooks/adoption",
            "playbooks/churn-risk",
            "playbooks/renewal-preparation",
            "playbooks/sentiment-check-in"
        ]
    );

    assert_eq!(show.code, Some(0), "{show:#?}");
    let out = &show.stdout;
    assert_eq!(row(out, "name:"), ["name:", "playbooks/churn-risk"]);
    assert_eq!(
        row(out, "triggers:"),
        ["triggers:", "ticket_count >= 3 high+ within 14d; band_entered red within 1d"]
    );
    assert_eq!(
        row(out, "audience:"),
        ["audience:", "stages onboarding, adoption, established, renewal"]
    );
    assert_eq!(row(out, "cooldown:"), ["cooldown:", "30d"]);
    assert_eq!(
        row(out, "review_risk"),
        ["review_risk", "task", "Review churn risk", "account owner", "due 1d"]
    );
    assert_eq!(
        row(out, "sponsor_call"),
        ["sponsor_call", "task", "Call the executive sponsor", "account owner", "due 3d"]
    );
    assert_eq!(
        row(out, "recovery_wait"),
        ["recovery_wait", "wait", "Wait for the recovery", "-", "wait 14d"]
    );
    assert_eq!(row(out, "check_recovery")[4], "due 2d");

    assert_eq!(shown.code, Some(0), "{shown:#?}");
    let adoption = shown.json();
    assert_eq!(adoption["displayName"], "Adoption help");
    assert_eq!(
        adoption["triggers"][0]["repeatedCategory"]["categories"],
        serde_json::json!(["onboarding", "how-to"])
    );
}

#[tokio::test]
async fn a_run_started_by_hand_is_listed_shown_moved_on_by_the_cli_and_in_the_360() {
    let suite = start_playbook().await;
    let run = acme_with_a_churn_risk_run(&suite).await;
    let id = run.name.trim_start_matches("playbookRuns/").to_owned();

    let listed = suite.steward(&["runs", "list"]).await;
    let active = suite
        .steward(&["runs", "list", "--account", "acme", "--state", "active", "-o", "json"])
        .await;
    let completed = suite.steward(&["runs", "list", "--state", "completed", "-o", "json"]).await;
    let adoption = suite.steward(&["runs", "list", "--playbook", "adoption", "-o", "json"]).await;
    let other = suite.steward(&["runs", "list", "--account", "x", "-o", "json"]).await;
    let overdue = suite.steward(&["runs", "list", "--overdue", "-o", "json"]).await;
    let shown = suite.steward(&["runs", "show", &id]).await;

    assert_eq!(listed.code, Some(0), "{listed:#?}");
    assert_eq!(
        cells(listed.stdout.lines().next().unwrap_or_default()),
        ["RUN", "PLAYBOOK", "ACCOUNT", "STATE", "CURRENT STEP", "ASSIGNEE", "DUE", "STARTED"]
    );
    assert_eq!(
        row(&listed.stdout, &id)[..6],
        [id.as_str(), "churn-risk", "acme", "active", "review_risk", "jane@example.com"]
    );
    let names = |run: &crate::support::Run| {
        assert_eq!(run.code, Some(0), "{run:#?}");
        strings(&run.json(), "playbookRuns", "name")
    };
    assert_eq!(names(&active), [run.name.as_str()]);
    assert_eq!(names(&completed), Vec::<String>::new());
    assert_eq!(names(&adoption), Vec::<String>::new());
    assert_eq!(names(&other), Vec::<String>::new());
    assert_eq!(names(&overdue), Vec::<String>::new(), "the first task is due in a day");

    assert_eq!(shown.code, Some(0), "{shown:#?}");
    let out = &shown.stdout;
    assert_eq!(row(out, "name:"), ["name:", &run.name]);
    assert_eq!(row(out, "playbook:"), ["playbook:", "churn-risk@1 (Churn risk)"]);
    assert_eq!(row(out, "state:"), ["state:", "active"]);
    assert_eq!(row(out, "origin:"), ["origin:", "manual, by jane@example.com"]);
    assert_eq!(
        cells(out.lines().find(|l| l.starts_with("STEP")).unwrap_or_default()),
        ["STEP", "KIND", "STATE", "ASSIGNEE", "DUE", "ENDED", "DETAIL"]
    );
    let first = row(out, "review_risk");
    assert_eq!(first[..4], ["review_risk", "task", "active", "jane@example.com"]);
    assert_eq!(first[5..], ["-", "Review churn risk: Acme Corp"]);
    assert_eq!(row(out, "sponsor_call")[..3], ["sponsor_call", "task", "pending"]);

    let done =
        suite.steward(&["runs", "complete", &run.name, "review_risk", "--note", "reviewed"]).await;
    let after = suite.steward(&["runs", "show", &id, "-o", "json"]).await;
    let wrong = suite.steward(&["runs", "skip", &id, "review_risk"]).await;
    let view = suite.steward(&["360", "acme"]).await;
    let view_json = suite.steward(&["360", "acme", "-o", "json"]).await;
    let none = suite.steward(&["360", "x"]).await;

    assert_eq!(done.code, Some(0), "{done:#?}");
    assert_eq!(row(&done.stdout, "review_risk")[..3], ["review_risk", "task", "done"]);
    assert_eq!(row(&done.stdout, "sponsor_call")[..3], ["sponsor_call", "task", "active"]);
    assert_eq!(after.code, Some(0), "{after:#?}");
    let after = after.json();
    assert_eq!(after["currentStepId"], "sponsor_call");
    assert_eq!(after["steps"][0]["state"], "STEP_STATE_DONE");
    assert_eq!(after["steps"][0]["note"], "reviewed");
    assert_eq!(wrong.code, Some(1), "{wrong:#?}");
    assert!(
        wrong.stderr.contains("the playbook service at ")
            && wrong.stderr.contains("FailedPrecondition"),
        "{wrong:#?}"
    );

    assert_eq!(view.code, Some(0), "{view:#?}");
    let out = &view.stdout;
    assert!(out.contains("\nActive playbook runs\nRUN"), "{out}");
    assert_eq!(row(out, &id)[..4], [id.as_str(), "churn-risk", "active", "sponsor_call"]);
    assert_eq!(view_json.code, Some(0), "{view_json:#?}");
    assert_eq!(strings(&view_json.json(), "playbookRuns", "name"), [run.name.as_str()]);
    assert_eq!(none.code, Some(0), "{none:#?}");
    assert!(none.stdout.ends_with("\nPlaybook runs: none active\n"), "{}", none.stdout);
}
