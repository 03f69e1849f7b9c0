//! ListAccounts: filters, orders, pagination.

use steward_proto::account::v1 as pb;

use crate::support::*;

async fn list(client: &mut Client, req: pb::ListAccountsRequest) -> Vec<String> {
    display_names(&client.list_accounts(req).await.expect("list").into_inner().accounts)
}

#[tokio::test]
async fn list_filters_combine_with_and_their_values_with_or() {
    let (_db, _server, mut client) = start().await;
    let seed = [
        (
            "alpha",
            "Alpha",
            "alpha.com",
            vec!["alpha.io"],
            pb::Segment::Smb,
            pb::LifecycleStage::Onboarding,
            "jane",
            vec![("region", "emea"), ("tier", "gold")],
        ),
        (
            "beta",
            "Beta",
            "beta.com",
            vec![],
            pb::Segment::Enterprise,
            pb::LifecycleStage::Established,
            "jane",
            vec![("region", "amer")],
        ),
        (
            "gamma",
            "Gamma",
            "gamma.com",
            vec!["shared.net"],
            pb::Segment::MidMarket,
            pb::LifecycleStage::Renewal,
            "bob",
            vec![("tier", "silver")],
        ),
        (
            "delta",
            "Delta",
            "",
            vec!["shared.net"],
            pb::Segment::Enterprise,
            pb::LifecycleStage::Churned,
            "janet",
            vec![],
        ),
    ];
    for (id, name, domain, extra, segment, stage, owner, pairs) in seed {
        let input = pb::Account {
            domains: extra.into_iter().map(String::from).collect(),
            segment: segment as i32,
            lifecycle_stage: stage as i32,
            owner: owner.into(),
            labels: labels(&pairs),
            ..account(name, domain)
        };
        create_account(&mut client, id, input).await;
    }
    let all = pb::ListAccountsRequest::default();
    assert_eq!(list(&mut client, all.clone()).await, ["Alpha", "Beta", "Delta", "Gamma"]);

    let cases: Vec<(pb::ListAccountsRequest, Vec<&str>)> = vec![
        (
            pb::ListAccountsRequest {
                segments: vec![pb::Segment::Enterprise as i32],
                ..all.clone()
            },
            vec!["Beta", "Delta"],
        ),
        (
            pb::ListAccountsRequest {
                segments: vec![pb::Segment::Smb as i32, pb::Segment::MidMarket as i32],
                ..all.clone()
            },
            vec!["Alpha", "Gamma"],
        ),
        (
            pb::ListAccountsRequest {
                segments: vec![pb::Segment::Strategic as i32],
                ..all.clone()
            },
            vec![],
        ),
        (
            pb::ListAccountsRequest {
                lifecycle_stages: vec![
                    pb::LifecycleStage::Renewal as i32,
                    pb::LifecycleStage::Churned as i32,
                ],
                ..all.clone()
            },
            vec!["Delta", "Gamma"],
        ),
        (pb::ListAccountsRequest { owner: "jane".into(), ..all.clone() }, vec!["Alpha", "Beta"]),
        (pb::ListAccountsRequest { domain: "beta.com".into(), ..all.clone() }, vec!["Beta"]),
        (pb::ListAccountsRequest { domain: "ALPHA.io".into(), ..all.clone() }, vec!["Alpha"]),
        (
            pb::ListAccountsRequest { domain: "shared.net".into(), ..all.clone() },
            vec!["Delta", "Gamma"],
        ),
        (pb::ListAccountsRequest { domain: "eu.alpha.com".into(), ..all.clone() }, vec![]),
        (
            pb::ListAccountsRequest { labels: vec!["region".into()], ..all.clone() },
            vec!["Alpha", "Beta"],
        ),
        (
            pb::ListAccountsRequest { labels: vec!["region=emea".into()], ..all.clone() },
            vec!["Alpha"],
        ),
        (
            pb::ListAccountsRequest { labels: vec!["region".into(), "tier".into()], ..all.clone() },
            vec!["Alpha"],
        ),
        (
            pb::ListAccountsRequest {
                labels: vec!["region=emea".into(), "tier=silver".into()],
                ..all.clone()
            },
            vec![],
        ),
        (
            pb::ListAccountsRequest {
                segments: vec![pb::Segment::Enterprise as i32],
                owner: "jane".into(),
                ..all.clone()
            },
            vec!["Beta"],
        ),
        (
            pb::ListAccountsRequest {
                domain: "shared.net".into(),
                lifecycle_stages: vec![pb::LifecycleStage::Renewal as i32],
                ..all.clone()
            },
            vec!["Gamma"],
        ),
    ];
    for (req, want) in cases {
        assert_eq!(list(&mut client, req.clone()).await, want, "{req:?}");
    }
}

/// Alpha: USD 900 renewing in 31 days; Beta: USD 500 in 101 days; Delta: USD 300 in 61
/// days; Gamma: no contract. Ids sort like the display names, so "ties broken by name" is
/// the same either way.
async fn seed_ordered(client: &mut Client) {
    for (id, name, arr, ends_in) in [
        ("a-alpha", "Alpha", Some(90_000), 30),
        ("b-beta", "Beta", Some(50_000), 100),
        ("d-delta", "Delta", Some(30_000), 60),
        ("g-gamma", "Gamma", None, 0),
    ] {
        create_account(client, id, account(name, "")).await;
        if let Some(arr) = arr {
            let parent = format!("accounts/{id}");
            create_usd_contract(
                client,
                &parent,
                arr,
                days_from_today(-10),
                days_from_today(ends_in),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn list_orders_by_name_arr_and_renewal_date_with_the_unset_last() {
    let (_db, _server, mut client) = start().await;
    seed_ordered(&mut client).await;
    let cases = [
        ("", ["Alpha", "Beta", "Delta", "Gamma"]),
        ("display_name", ["Alpha", "Beta", "Delta", "Gamma"]),
        ("display_name desc", ["Gamma", "Delta", "Beta", "Alpha"]),
        ("arr desc", ["Alpha", "Beta", "Delta", "Gamma"]),
        ("arr", ["Delta", "Beta", "Alpha", "Gamma"]),
        ("renewal_date", ["Alpha", "Delta", "Beta", "Gamma"]),
        ("renewal_date desc", ["Beta", "Delta", "Alpha", "Gamma"]),
    ];
    for (order_by, want) in cases {
        let req = pb::ListAccountsRequest { order_by: order_by.into(), ..Default::default() };
        assert_eq!(list(&mut client, req).await, want, "order_by {order_by:?}");

        // The same order holds across pages of one.
        let mut seen = Vec::new();
        let mut page_token = String::new();
        for _ in 0..10 {
            let req = pb::ListAccountsRequest {
                order_by: order_by.into(),
                page_size: 1,
                page_token: page_token.clone(),
                ..Default::default()
            };
            let page = client.list_accounts(req).await.expect("page").into_inner();
            seen.extend(display_names(&page.accounts));
            page_token = page.next_page_token;
            if page_token.is_empty() {
                break;
            }
        }
        assert_eq!(seen, want, "paged order_by {order_by:?}");
    }

    let alpha = get_account(&mut client, "accounts/a-alpha").await;
    assert_eq!(alpha.arr, usd(90_000));
    assert_eq!(alpha.renewal_date, day_of(days_from_today(31)));
}

#[tokio::test]
async fn an_unknown_order_is_invalid() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "")).await;
    for order_by in ["color", "arr sideways", "display_name desc arr", "owner"] {
        let req = pb::ListAccountsRequest { order_by: order_by.into(), ..Default::default() };
        let err = client.list_accounts(req).await.expect_err(order_by);
        assert_invalid(&err, "order_by");
    }
}

/// 25 accounts named "Acct 00", "Acct 02", … "Acct 48" (even numbers leave room between).
async fn seed_25(client: &mut Client) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..25 {
        let name = format!("Acct {:02}", i * 2);
        create_account(client, &format!("acct-{:02}", i * 2), account(&name, "")).await;
        names.push(name);
    }
    names
}

#[tokio::test]
async fn pages_cover_every_account_once_in_order() {
    let (_db, _server, mut client) = start().await;
    let names = seed_25(&mut client).await;
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut page_token = String::new();
    loop {
        let req = pb::ListAccountsRequest { page_size: 7, page_token, ..Default::default() };
        let page = client.list_accounts(req).await.expect("page").into_inner();
        sizes.push(page.accounts.len());
        seen.extend(display_names(&page.accounts));
        assert!(sizes.len() <= 10, "the pages should end");
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(sizes, [7, 7, 7, 4]);
    assert_eq!(seen, names, "every account once, sorted, no gaps");
}

#[tokio::test]
async fn pages_stay_stable_while_accounts_are_added() {
    let (_db, _server, mut client) = start().await;
    let originals = seed_25(&mut client).await;
    let req = pb::ListAccountsRequest { page_size: 7, ..Default::default() };
    let first = client.list_accounts(req).await.expect("page 1").into_inner();
    assert_eq!(display_names(&first.accounts), originals[..7], "page 1");

    // Page 1 ends at "Acct 12": add names before it, right after it, and at the end.
    for (id, name) in [("early", "Acct 01"), ("boundary", "Acct 13"), ("late", "Acct 99")] {
        create_account(&mut client, id, account(name, "")).await;
    }
    let mut seen = display_names(&first.accounts);
    let mut page_token = first.next_page_token;
    let mut pages = 1;
    while !page_token.is_empty() {
        let req = pb::ListAccountsRequest { page_size: 7, page_token, ..Default::default() };
        let page = client.list_accounts(req).await.expect("next page").into_inner();
        seen.extend(display_names(&page.accounts));
        page_token = page.next_page_token;
        pages += 1;
        assert!(pages <= 10, "the pages should end");
    }
    for name in &originals {
        let count = seen.iter().filter(|s| *s == name).count();
        assert_eq!(count, 1, "{name} should be served exactly once: {seen:?}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "still in order");
    assert!(!seen.contains(&"Acct 01".to_owned()), "a row before the boundary is not served late");
    assert!(seen.contains(&"Acct 13".to_owned()) && seen.contains(&"Acct 99".to_owned()));
}

#[tokio::test]
async fn a_page_token_only_fits_its_own_query() {
    let (_db, _server, mut client) = start().await;
    let _ = seed_25(&mut client).await;
    let req = pb::ListAccountsRequest { page_size: 7, ..Default::default() };
    let token = client.list_accounts(req).await.expect("page 1").into_inner().next_page_token;
    assert!(!token.is_empty());

    let changed: Vec<pb::ListAccountsRequest> = vec![
        pb::ListAccountsRequest { owner: "someone".into(), ..Default::default() },
        pb::ListAccountsRequest { segments: vec![pb::Segment::Smb as i32], ..Default::default() },
        pb::ListAccountsRequest { order_by: "display_name desc".into(), ..Default::default() },
    ];
    for other in changed {
        let req = pb::ListAccountsRequest { page_size: 7, page_token: token.clone(), ..other };
        let err = client.list_accounts(req).await.expect_err("another query");
        assert_invalid(&err, "page_token");
    }
    let garbage =
        pb::ListAccountsRequest { page_token: "not-a-token".into(), ..Default::default() };
    let err = client.list_accounts(garbage).await.expect_err("garbage token");
    assert_invalid(&err, "page_token");
}

#[tokio::test]
async fn page_size_defaults_to_50_and_large_values_are_coerced() {
    let (_db, _server, mut client) = start().await;
    for i in 0..55 {
        create_account(&mut client, &format!("acct-{i:02}"), account(&format!("Acct {i:02}"), ""))
            .await;
    }
    let req = pb::ListAccountsRequest::default();
    let page = client.list_accounts(req).await.expect("default").into_inner();
    assert_eq!(page.accounts.len(), 50, "default page size");
    assert!(!page.next_page_token.is_empty());

    let req = pb::ListAccountsRequest { page_size: 5000, ..Default::default() };
    let page = client.list_accounts(req).await.expect("coerced, not refused").into_inner();
    assert_eq!(page.accounts.len(), 55);
    assert!(page.next_page_token.is_empty(), "the last page has no token");
}
