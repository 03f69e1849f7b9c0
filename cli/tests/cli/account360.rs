//! `steward 360 ACCOUNT`: the account with its renewal, contracts, support, health and active
//! playbook runs on one screen, each part as its own service stored it.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde_json::json;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::google::r#type::Date;

use crate::scores::account_with_tickets;
use crate::support::{row, start_playbook};

fn date(d: NaiveDate) -> Option<Date> {
    Some(Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

#[tokio::test]
async fn the_360_shows_the_account_its_renewal_contracts_support_and_health() {
    let suite = start_playbook().await;
    account_with_tickets(&suite, "acme", "enterprise", &["TICKET_PRIORITY_URGENT"; 3]).await;
    // A contract in service that ends in 99 days: the renewal is the day after, in 100.
    let today = Utc::now().date_naive();
    let contract = account_pb::Contract {
        arr: Some(account_pb::Money { amount_minor: 12_000_000, currency_code: "USD".into() }),
        start_date: date(today - Duration::days(30)),
        end_date: date(today + Duration::days(99)),
        description: "Enterprise plan".into(),
        ..Default::default()
    };
    let request = account_pb::CreateContractRequest {
        parent: "accounts/acme".into(),
        contract_id: "c1".into(),
        contract: Some(contract),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let mut accounts = AccountServiceClient::new(suite.account.channel());
    accounts.create_contract(request).await.expect("create the contract");
    suite.score_is("acme", 53.13).await;

    let text = suite.steward(&["360", "acme"]).await;
    let doc = suite.steward(&["360", "accounts/acme", "-o", "json"]).await;

    assert_eq!(text.code, Some(0), "{text:#?}");
    let out = &text.stdout;
    assert_eq!(out.lines().next(), Some("acme (accounts/acme)"));
    assert_eq!(row(out, "segment:"), ["segment:", "enterprise"]);
    assert_eq!(row(out, "arr:"), ["arr:", "USD 120,000.00"]);
    let renewal = (today + Duration::days(100)).format("%Y-%m-%d");
    assert_eq!(row(out, "renewal:"), ["renewal:", &format!("{renewal} (in 100 days)")]);
    assert_eq!(
        row(out, "c1"),
        [
            "c1",
            "active",
            "USD 120,000.00",
            &(today - Duration::days(30)).format("%Y-%m-%d").to_string(),
            &(today + Duration::days(99)).format("%Y-%m-%d").to_string(),
            "Enterprise plan"
        ]
    );
    assert!(out.contains("\nSupport: last 30 days vs the 30 before"), "{out}");
    assert_eq!(row(out, "tickets created"), ["tickets created", "3", "0", "+3"]);
    assert_eq!(row(out, "high or urgent"), ["high or urgent", "3", "0", "+3"]);
    assert!(
        out.contains("\nHealth: 53.13 YELLOW (scorecard default@1, coverage 40%, computed "),
        "{out}"
    );
    assert_eq!(row(out, "support_severity")[6], "15.63");
    assert!(out.contains("\n- Score 53.13 (YELLOW), down "), "{out}");
    // No stage: outside every shipped playbook's audience, so the urgent tickets start none.
    assert!(out.ends_with("\n\nPlaybook runs: none active\n"), "{out}");

    assert_eq!(doc.code, Some(0), "{doc:#?}");
    let doc = doc.json();
    assert_eq!(doc["account"]["name"], "accounts/acme");
    assert_eq!(doc["daysToRenewal"], 100);
    assert_eq!(doc["contracts"][0]["name"], "accounts/acme/contracts/c1");
    assert_eq!(doc["support"]["current"]["ticketsCreated"], 3);
    assert_eq!(doc["health"]["healthScore"]["score"], json!(53.13));
    assert_eq!(doc["health"]["healthScore"]["band"], "HEALTH_BAND_YELLOW");
    assert_eq!(doc["playbookRuns"], json!([]));
    assert!(doc["health"]["summary"][0].as_str().is_some_and(|l| l.starts_with("Score 53.13")));
}
