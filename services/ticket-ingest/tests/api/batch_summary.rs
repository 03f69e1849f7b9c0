//! BatchGetSupportSummaries: each summary equals what GetSupportSummary answers for the same
//! account, window and as-of time (accounts with tickets, one without, one named twice),
//! in request order; and the requests it refuses, naming the field.

use steward_proto::ticket::v1 as pb;

use crate::support::*;

/// `days` as a proto duration.
fn days(days: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: days * 86_400, nanos: 0 })
}

#[tokio::test]
async fn batch_summaries_equal_the_single_ones_in_request_order() {
    let mut s = start().await;
    let a = create_account(&mut s.accounts, "Alpha", "alpha.example", Some("org-a")).await;
    let b = create_account(&mut s.accounts, "Beta", "beta.example", Some("org-b")).await;
    let quiet = create_account(&mut s.accounts, "Quiet", "quiet.example", None).await;
    use pb::TicketPriority as P;
    for (id, org, created, priority) in [
        ("a1", "org-a", 10, P::Urgent),
        ("a2", "org-a", 50, P::High),
        ("a3", "org-a", -300, P::Normal),
        ("b1", "org-b", 20, P::Low),
    ] {
        let answer = ingest(&mut s.client, ticket_of(id, org, created, priority)).await;
        assert_ne!(answer.account, "", "ticket {id} is linked");
    }
    let mut solved = ticket_of("a2", "org-a", 50, P::High);
    solved.status = pb::TicketStatus::Solved as i32;
    solved.first_response_time = ts(at(51 * 60));
    solved.resolved_time = ts(at(60 * 60));
    solved.first_resolved_time = ts(at(60 * 60));
    solved.source_update_time = ts(at(60 * 60));
    ingest(&mut s.client, solved).await;

    let as_of = ts(at(7 * 24 * 60));
    let names = vec![b.clone(), quiet.clone(), a.clone(), b.clone()];
    let batch = s
        .client
        .batch_get_support_summaries(pb::BatchGetSupportSummariesRequest {
            accounts: names.clone(),
            window: days(7),
            as_of,
            history_windows: 2,
        })
        .await
        .expect("batch")
        .into_inner()
        .summaries;

    assert_eq!(batch.len(), 4, "one summary per requested name");
    for (name, got) in names.iter().zip(&batch) {
        let single = s
            .client
            .get_support_summary(pb::GetSupportSummaryRequest {
                account: name.clone(),
                window: days(7),
                as_of,
                history_windows: 2,
            })
            .await
            .expect("single")
            .into_inner();
        assert_eq!(got, &single, "the batch answers {name} as GetSupportSummary does");
    }
    // The figures are the accounts' own: a1 and a2 in A's window, a3 three windows back.
    let current = |i: usize| batch[i].current.clone().unwrap_or_default();
    assert_eq!((batch[2].account.as_str(), current(2).tickets_created), (a.as_str(), 2));
    assert_eq!(batch[2].tickets_created_history, [0, 1]);
    assert_eq!((batch[0].account.as_str(), current(0).tickets_created), (b.as_str(), 1));
    // An account without tickets answers zeros and no data times.
    assert_eq!(batch[1].account, quiet);
    assert_eq!(current(1).tickets_created, 0);
    assert_eq!(batch[1].data_time, None);
    assert_eq!(batch[1].first_ticket_create_time, None);
}

/// More accounts than the store summarises at once: each still gets its own tickets, in
/// request order, with a name repeated across the chunks.
#[tokio::test]
async fn a_large_batch_keeps_each_account_to_its_own_tickets() {
    let mut s = start().await;
    let mut names = Vec::new();
    for i in 0..45 {
        let (org, domain) = (format!("org-{i}"), format!("n{i}.example"));
        names.push(create_account(&mut s.accounts, &format!("N{i}"), &domain, Some(&org)).await);
        for k in 0..i % 4 {
            let t = ticket_of(&format!("n{i}-{k}"), &org, 10 + k as i64, pb::TicketPriority::Low);
            ingest(&mut s.client, t).await;
        }
    }
    let mut asked: Vec<String> = names.iter().rev().cloned().collect();
    asked.push(names[3].clone());
    let batch = s
        .client
        .batch_get_support_summaries(pb::BatchGetSupportSummariesRequest {
            accounts: asked.clone(),
            window: days(7),
            as_of: ts(at(7 * 24 * 60)),
            history_windows: 0,
        })
        .await
        .expect("batch")
        .into_inner()
        .summaries;
    assert_eq!(batch.len(), asked.len());
    for (name, got) in asked.iter().zip(&batch) {
        let i = names.iter().position(|n| n == name).expect("asked for a created account");
        assert_eq!(&got.account, name);
        let created = got.current.as_ref().map_or(0, |c| c.tickets_created);
        assert_eq!(created, (i % 4) as i32, "{name} has its own tickets only");
    }
}

#[tokio::test]
async fn bad_batch_requests_name_the_field() {
    let mut s = start().await;
    let ok = pb::BatchGetSupportSummariesRequest {
        accounts: vec!["accounts/a".into(), "accounts/b".into()],
        window: days(30),
        as_of: None,
        history_windows: 0,
    };
    s.client.batch_get_support_summaries(ok.clone()).await.expect("well formed");
    let thousand = (0..1000).map(|i| format!("accounts/a{i}")).collect::<Vec<_>>();
    let full = pb::BatchGetSupportSummariesRequest { accounts: thousand.clone(), ..ok.clone() };
    let answered = s.client.batch_get_support_summaries(full).await.expect("1,000 accounts");
    assert_eq!(answered.into_inner().summaries.len(), 1000);

    let too_many = [thousand, vec!["accounts/one-more".into()]].concat();
    let cases = [
        ("accounts", pb::BatchGetSupportSummariesRequest { accounts: vec![], ..ok.clone() }),
        ("accounts", pb::BatchGetSupportSummariesRequest { accounts: too_many, ..ok.clone() }),
        (
            "accounts[1]",
            pb::BatchGetSupportSummariesRequest {
                accounts: vec!["accounts/a".into(), "tickets/b".into()],
                ..ok.clone()
            },
        ),
        ("window", pb::BatchGetSupportSummariesRequest { window: days(731), ..ok.clone() }),
        (
            "as_of",
            pb::BatchGetSupportSummariesRequest {
                as_of: ts(chrono::Utc::now() + chrono::Duration::hours(1)),
                ..ok.clone()
            },
        ),
        ("history_windows", pb::BatchGetSupportSummariesRequest { history_windows: 13, ..ok }),
    ];
    for (field, req) in cases {
        let err = s.client.batch_get_support_summaries(req).await.expect_err(field);
        assert_invalid(&err, field);
    }
}
