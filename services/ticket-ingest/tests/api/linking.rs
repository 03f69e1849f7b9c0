//! Account linking: by `account_ref` first, then by the requester's email (a contact, then
//! the domain); free-mail and ambiguous domains stay unlinked; unlinked tickets are linked
//! automatically when a matching account, ref, contact or domain appears, and move back when
//! their account is deleted; the account service being down refuses only what needs it.

use prost_types::FieldMask;
use steward_account::AccountService;
use steward_proto::account::v1 as account_pb;
use steward_proto::account::v1::account_service_client::AccountServiceClient;
use steward_proto::ticket::v1 as pb;
use steward_proto::ticket::v1::ticket_ingest_service_client::TicketIngestServiceClient;
use steward_testkit::spawn;
use tonic::Code;

use crate::support::*;

/// An organization ref in the ticket's own platform (Zendesk).
fn org(id: &str) -> Option<pb::PartyRef> {
    Some(pb::PartyRef { id: id.into(), ..Default::default() })
}

/// Creates `account`; its name.
async fn create(accounts: &mut Accounts, account: account_pb::Account) -> String {
    let req = account_pb::CreateAccountRequest {
        account: Some(account),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_account(req).await.expect("create account").into_inner().name
}

/// Adds a contact with `email` to `account`.
async fn add_contact(accounts: &mut Accounts, account: &str, email: &str) {
    let req = account_pb::CreateContactRequest {
        parent: account.into(),
        contact: Some(account_pb::Contact { email: email.into(), ..Default::default() }),
        request_id: request_id(),
        ..Default::default()
    };
    accounts.create_contact(req).await.expect("create contact");
}

/// Replaces the fields of `account` named in `paths` with those of `values`.
async fn update(
    accounts: &mut Accounts,
    account: &str,
    values: account_pb::Account,
    paths: &[&str],
) {
    let req = account_pb::UpdateAccountRequest {
        account: Some(account_pb::Account { name: account.into(), ..values }),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    accounts.update_account(req).await.expect("update account");
}

async fn delete(accounts: &mut Accounts, account: &str) {
    let req = account_pb::DeleteAccountRequest { name: account.into(), etag: String::new() };
    accounts.delete_account(req).await.expect("delete account");
}

/// The names of the tickets listed as unlinked.
async fn unlinked(client: &mut Client) -> Vec<String> {
    let req = pb::ListTicketsRequest { unlinked: true, ..Default::default() };
    list_all(client, req).await.into_iter().map(|t| t.name).collect()
}

/// The names of the tickets listed for `account`.
async fn of_account(client: &mut Client, account: &str) -> Vec<String> {
    let req = pb::ListTicketsRequest { account: account.into(), ..Default::default() };
    list_all(client, req).await.into_iter().map(|t| t.name).collect()
}

/// Waits until ticket `name` is linked as `(account, state)`; the ticket.
async fn wait_link(client: &Client, name: &str, account: &str, state: pb::LinkState) -> pb::Ticket {
    eventually(&format!("{name} to be linked to {account:?} ({state:?})"), || {
        let mut client = client.clone();
        async move {
            let t = get(&mut client, name).await;
            (t.account == account && t.link_state() == state).then_some(t)
        }
    })
    .await
}

/// `requester` on ticket `id`.
fn from(id: &str, email: &str) -> pb::Ticket {
    pb::Ticket { requester: requester(email), ..ticket(id) }
}

#[tokio::test]
async fn linked_by_the_account_ref() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", Some("org-1")).await;
    let t = pb::Ticket { account_ref: org("org-1"), ..from("1", "someone@elsewhere.org") };
    let answer = ingest(&mut s.client, t).await;
    assert_eq!(answer.account, acme);
    assert_eq!(answer.link_state(), pb::LinkState::ByAccountRef);
    let stored = get(&mut s.client, &answer.ticket).await;
    assert_eq!(
        (stored.account.as_str(), stored.link_state()),
        (acme.as_str(), pb::LinkState::ByAccountRef)
    );
    assert_eq!(of_account(&mut s.client, &acme).await, std::slice::from_ref(&answer.ticket));
    assert!(unlinked(&mut s.client).await.is_empty());

    // A ref in another system (a CRM id kept on the Zendesk organization).
    let globex = create(
        &mut s.accounts,
        account_pb::Account {
            display_name: "Globex".into(),
            external_refs: vec![account_pb::ExternalRef {
                system: "salesforce".into(),
                id: "001".into(),
            }],
            ..Default::default()
        },
    )
    .await;
    let crm = pb::PartyRef { id: "001".into(), system: "salesforce".into(), ..Default::default() };
    let answer = ingest(&mut s.client, pb::Ticket { account_ref: Some(crm), ..ticket("2") }).await;
    assert_eq!(
        (answer.account.as_str(), answer.link_state()),
        (globex.as_str(), pb::LinkState::ByAccountRef)
    );
    // The same id without a system is a Zendesk organization id, which nobody has.
    let answer = ingest(&mut s.client, pb::Ticket { account_ref: org("001"), ..ticket("3") }).await;
    assert_eq!(answer.account, "");
    assert_eq!(answer.link_state(), pb::LinkState::Unlinked);
}

#[tokio::test]
async fn linked_by_the_requester_domain_and_by_a_contact() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let initech = create_account(&mut s.accounts, "Initech", "initech.com", None).await;
    add_contact(&mut s.accounts, &initech, "peter@gmail.com").await;

    // The domain, compared case-insensitively.
    let by_domain = ingest(&mut s.client, from("1", "Jane.Doe@ACME.com")).await;
    assert_eq!(by_domain.account, acme);
    assert_eq!(by_domain.link_state(), pb::LinkState::ByRequesterEmail);

    // A contact's exact address wins over its (free-mail) domain.
    let by_contact = ingest(&mut s.client, from("2", "peter@gmail.com")).await;
    assert_eq!(by_contact.account, initech);
    assert_eq!(by_contact.link_state(), pb::LinkState::ByRequesterEmail);

    // A contact of one account writing from another account's domain: the contact decides.
    add_contact(&mut s.accounts, &initech, "milton@acme.com").await;
    let moved_contact = ingest(&mut s.client, from("3", "milton@acme.com")).await;
    assert_eq!(moved_contact.account, initech);

    // A private address says nothing about the employer.
    let free_mail = ingest(&mut s.client, from("4", "someone@gmail.com")).await;
    assert_eq!(free_mail.account, "");
    assert_eq!(free_mail.link_state(), pb::LinkState::Unlinked);
    // No key at all.
    let anonymous = ingest(&mut s.client, ticket("5")).await;
    assert_eq!(anonymous.link_state(), pb::LinkState::Unlinked);

    let stored = get(&mut s.client, &by_contact.ticket).await;
    assert_eq!(
        (stored.account.as_str(), stored.link_state()),
        (initech.as_str(), pb::LinkState::ByRequesterEmail)
    );
    let mut listed = unlinked(&mut s.client).await;
    listed.sort();
    let mut want = vec![free_mail.ticket, anonymous.ticket];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(of_account(&mut s.client, &acme).await, [by_domain.ticket]);
}

#[tokio::test]
async fn the_account_ref_beats_the_email() {
    let mut s = start().await;
    let by_domain = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let by_ref =
        create_account(&mut s.accounts, "Acme Holding", "acme-holding.com", Some("org-9")).await;
    let t = pb::Ticket { account_ref: org("org-9"), ..from("1", "jane@acme.com") };
    let answer = ingest(&mut s.client, t).await;
    assert_eq!(answer.account, by_ref);
    assert_eq!(answer.link_state(), pb::LinkState::ByAccountRef);

    // An account ref nobody has falls back to the email.
    let t = pb::Ticket { account_ref: org("org-unknown"), ..from("2", "jane@acme.com") };
    let answer = ingest(&mut s.client, t).await;
    assert_eq!(answer.account, by_domain);
    assert_eq!(answer.link_state(), pb::LinkState::ByRequesterEmail);
}

#[tokio::test]
async fn a_domain_two_accounts_claim_is_ambiguous_until_one_lets_go() {
    let mut s = start().await;
    let first = create_account(&mut s.accounts, "Umbrella EU", "umbrella.com", None).await;
    let second = create(
        &mut s.accounts,
        account_pb::Account {
            display_name: "Umbrella US".into(),
            primary_domain: "umbrella-us.com".into(),
            domains: vec!["umbrella.com".into()],
            ..Default::default()
        },
    )
    .await;
    let answer = ingest(&mut s.client, from("1", "alice@umbrella.com")).await;
    assert_eq!(answer.account, "", "the service never guesses");
    assert_eq!(answer.link_state(), pb::LinkState::Ambiguous);
    let stored = get(&mut s.client, &answer.ticket).await;
    assert_eq!(stored.link_state(), pb::LinkState::Ambiguous);
    assert_eq!(
        unlinked(&mut s.client).await,
        std::slice::from_ref(&answer.ticket),
        "AMBIGUOUS is unlinked"
    );
    assert!(of_account(&mut s.client, &first).await.is_empty());

    // The second account gives the domain up: the first is now the only claimant.
    update(&mut s.accounts, &second, account_pb::Account::default(), &["domains"]).await;
    wait_link(&s.client, &answer.ticket, &first, pb::LinkState::ByRequesterEmail).await;
    assert!(unlinked(&mut s.client).await.is_empty());
    assert_eq!(of_account(&mut s.client, &first).await, [answer.ticket]);
}

#[tokio::test]
async fn unlinked_tickets_are_linked_when_their_account_appears() {
    let mut s = start().await;
    let by_new_account = ingest(&mut s.client, from("1", "ann@hooli.com")).await;
    let by_new_domain = ingest(&mut s.client, from("2", "bob@hooli.co.uk")).await;
    let by_new_contact = ingest(&mut s.client, from("3", "carol@yahoo.com")).await;
    let by_new_ref =
        ingest(&mut s.client, pb::Ticket { account_ref: org("org-77"), ..ticket("4") }).await;
    let stays = ingest(&mut s.client, from("5", "dave@piedpiper.com")).await;
    for answer in [&by_new_account, &by_new_domain, &by_new_contact, &by_new_ref, &stays] {
        assert_eq!(answer.link_state(), pb::LinkState::Unlinked, "{answer:?}");
    }
    assert_eq!(unlinked(&mut s.client).await.len(), 5);

    // A matching account appears.
    let hooli = create_account(&mut s.accounts, "Hooli", "hooli.com", None).await;
    wait_link(&s.client, &by_new_account.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;
    assert_eq!(
        of_account(&mut s.client, &hooli).await,
        std::slice::from_ref(&by_new_account.ticket)
    );

    // It gains a domain, a contact, an external ref.
    let domains = account_pb::Account { domains: vec!["hooli.co.uk".into()], ..Default::default() };
    update(&mut s.accounts, &hooli, domains, &["domains"]).await;
    wait_link(&s.client, &by_new_domain.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;

    add_contact(&mut s.accounts, &hooli, "carol@yahoo.com").await;
    wait_link(&s.client, &by_new_contact.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;

    let refs = account_pb::Account {
        external_refs: vec![account_pb::ExternalRef {
            system: "zendesk".into(),
            id: "org-77".into(),
        }],
        ..Default::default()
    };
    update(&mut s.accounts, &hooli, refs, &["external_refs"]).await;
    wait_link(&s.client, &by_new_ref.ticket, &hooli, pb::LinkState::ByAccountRef).await;

    let mut listed = of_account(&mut s.client, &hooli).await;
    listed.sort();
    let mut want = vec![
        by_new_account.ticket.clone(),
        by_new_domain.ticket.clone(),
        by_new_contact.ticket.clone(),
        by_new_ref.ticket.clone(),
    ];
    want.sort();
    assert_eq!(listed, want);
    assert_eq!(unlinked(&mut s.client).await, std::slice::from_ref(&stays.ticket));

    // A later snapshot of a linked ticket keeps its account.
    let mut touched = from("1", "ann@hooli.com");
    touched.subject = "still broken".into();
    touched.source_update_time = ts(at(10));
    let answer = ingest(&mut s.client, touched).await;
    assert_eq!(answer.outcome(), pb::IngestOutcome::Updated);
    assert_eq!(answer.account, hooli);
    assert_eq!(answer.link_state(), pb::LinkState::ByRequesterEmail);
}

#[tokio::test]
async fn linking_changes_the_ticket_update_time_and_etag() {
    let mut s = start().await;
    let answer = ingest(&mut s.client, from("1", "ann@hooli.com")).await;
    let before = get(&mut s.client, &answer.ticket).await;
    let hooli = create_account(&mut s.accounts, "Hooli", "hooli.com", None).await;
    let after = wait_link(&s.client, &answer.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;
    assert_ne!(after.etag, before.etag, "a link change is a change of the stored ticket");
    let instant = |t: &pb::Ticket| t.update_time.as_ref().map(|t| (t.seconds, t.nanos));
    assert!(instant(&after) > instant(&before), "{:?} {:?}", after.update_time, before.update_time);
}

#[tokio::test]
async fn deleting_the_account_moves_its_tickets_back_to_unlinked() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", Some("org-1")).await;
    let by_email = ingest(&mut s.client, from("1", "jane@acme.com")).await;
    let by_ref =
        ingest(&mut s.client, pb::Ticket { account_ref: org("org-1"), ..ticket("2") }).await;
    assert_eq!(by_email.account, acme);
    assert_eq!(by_ref.account, acme);

    delete(&mut s.accounts, &acme).await;
    wait_link(&s.client, &by_email.ticket, "", pb::LinkState::Unlinked).await;
    wait_link(&s.client, &by_ref.ticket, "", pb::LinkState::Unlinked).await;
    assert!(of_account(&mut s.client, &acme).await.is_empty());
    let mut listed = unlinked(&mut s.client).await;
    listed.sort();
    let mut want = vec![by_email.ticket.clone(), by_ref.ticket.clone()];
    want.sort();
    assert_eq!(listed, want);

    // A new account with the domain picks the email-linked ticket up again.
    let acme2 = create_account(&mut s.accounts, "Acme again", "acme.com", None).await;
    wait_link(&s.client, &by_email.ticket, &acme2, pb::LinkState::ByRequesterEmail).await;
    assert_eq!(unlinked(&mut s.client).await, [by_ref.ticket]);
}

#[tokio::test]
async fn the_account_service_down_refuses_only_tickets_that_need_it() {
    let Suite { db, account, ticket: ticket_server, mut client, mut accounts } = start().await;
    let acme = create_account(&mut accounts, "Acme", "acme.com", None).await;
    let stored = ingest(&mut client, from("1", "jane@acme.com")).await;
    assert_eq!(stored.account, acme);
    account.stop().await.expect("the account service stops");

    // A new ticket with a key never resolved: it cannot be linked, so it is not stored.
    let err = try_ingest(&mut client, from("2", "joe@newco.com")).await.expect_err("unavailable");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let key = pb::SourceKey {
        source: pb::Source::Zendesk as i32,
        source_instance: "acme".into(),
        external_id: "2".into(),
    };
    let by_key = pb::GetTicketRequest { key: Some(pb::get_ticket_request::Key::SourceKey(key)) };
    let missing = client.get_ticket(by_key.clone()).await.expect_err("not stored");
    assert_code(&missing, Code::NotFound, "TICKET_NOT_FOUND");
    assert_eq!(list_all(&mut client, pb::ListTicketsRequest::default()).await.len(), 1);

    // A stored ticket whose keys did not change needs no resolution.
    let mut solved = from("1", "jane@acme.com");
    solved.status = pb::TicketStatus::Solved as i32;
    solved.status_raw = "solved".into();
    solved.resolved_time = ts(at(5));
    solved.first_resolved_time = ts(at(5));
    solved.source_update_time = ts(at(5));
    let answer = ingest(&mut client, solved).await;
    assert_eq!(answer.outcome(), pb::IngestOutcome::Updated);
    assert_eq!(answer.account, acme, "the stored link stays");

    // The account service comes back (on another port): ticket-ingest restarted against it.
    let account = spawn::<AccountService>(&db, Default::default()).await.expect("account restarts");
    ticket_server.stop().await.expect("ticket-ingest stops");
    let ticket_server = start_ticket(&db, &account).await;
    let mut client = TicketIngestServiceClient::new(ticket_server.channel());
    let mut accounts = AccountServiceClient::new(account.channel());
    let newco = create_account(&mut accounts, "Newco", "newco.com", None).await;
    let retried = ingest(&mut client, from("2", "joe@newco.com")).await;
    assert_eq!(retried.outcome(), pb::IngestOutcome::Created, "the retry stores it");
    assert_eq!(retried.account, newco);
    assert_eq!(client.get_ticket(by_key).await.expect("stored").into_inner().name, retried.ticket);
}

#[tokio::test]
async fn tickets_move_when_their_domain_moves_to_another_account() {
    let mut s = start().await;
    let old = create_account(&mut s.accounts, "Old owner", "old-owner.com", None).await;
    let with_domain =
        account_pb::Account { domains: vec!["brand.io".into()], ..Default::default() };
    update(&mut s.accounts, &old, with_domain.clone(), &["domains"]).await;
    let answer = wait_for_ingest_link(&mut s, from("1", "ann@brand.io"), &old).await;

    // The brand is sold: the old owner drops the domain, the new one adds it.
    let new = create_account(&mut s.accounts, "New owner", "new-owner.com", None).await;
    update(&mut s.accounts, &old, account_pb::Account::default(), &["domains"]).await;
    update(&mut s.accounts, &new, with_domain, &["domains"]).await;
    wait_link(&s.client, &answer, &new, pb::LinkState::ByRequesterEmail).await;
    assert!(of_account(&mut s.client, &old).await.is_empty());
    assert_eq!(of_account(&mut s.client, &new).await, [answer]);
}

/// Ingests `t`, then waits until it is linked to `account` by email; the ticket's name.
async fn wait_for_ingest_link(s: &mut Suite, t: pb::Ticket, account: &str) -> String {
    let answer = ingest(&mut s.client, t).await;
    wait_link(&s.client, &answer.ticket, account, pb::LinkState::ByRequesterEmail).await;
    answer.ticket
}

#[tokio::test]
async fn a_second_replica_does_not_keep_a_stale_answer() {
    let mut s = start().await;
    let replica = start_ticket(&s.db, &s.account).await;
    let mut second = TicketIngestServiceClient::new(replica.channel());

    // Both replicas learn that the domain belongs to nobody.
    let first = ingest(&mut s.client, from("1", "ann@hooli.com")).await;
    let other = ingest(&mut second, from("2", "ann@hooli.com")).await;
    assert_eq!(first.link_state(), pb::LinkState::Unlinked);
    assert_eq!(other.link_state(), pb::LinkState::Unlinked);

    let hooli = create_account(&mut s.accounts, "Hooli", "hooli.com", None).await;
    wait_link(&s.client, &first.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;
    wait_link(&s.client, &other.ticket, &hooli, pb::LinkState::ByRequesterEmail).await;

    // The re-linking has run: neither replica answers from what it cached before.
    for (client, id) in [(&mut s.client, "3"), (&mut second, "4")] {
        let answer = ingest(client, from(id, "ann@hooli.com")).await;
        assert_eq!(answer.account, hooli, "ticket {id}: {answer:?}");
        assert_eq!(answer.link_state(), pb::LinkState::ByRequesterEmail);
    }
}

#[tokio::test]
async fn account_and_unlinked_filters_do_not_combine() {
    let mut s = start().await;
    let acme = create_account(&mut s.accounts, "Acme", "acme.com", None).await;
    let req = pb::ListTicketsRequest { account: acme, unlinked: true, ..Default::default() };
    let err = s.client.list_tickets(req).await.expect_err("both filters");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}

#[tokio::test]
async fn a_streamed_ticket_that_needs_the_down_account_service_is_not_stored() {
    let Suite { db: _db, account, ticket: _ticket, mut client, accounts: _accounts } =
        start().await;
    account.stop().await.expect("the account service stops");
    let items = ["1", "2", "3"].map(|id| pb::StreamIngestTicketsRequest {
        item_id: id.into(),
        ticket: Some(if id == "2" { from(id, "joe@newco.com") } else { ticket(id) }),
    });
    let mut inbound = client
        .stream_ingest_tickets(tokio_stream::iter(items))
        .await
        .expect("stream opens")
        .into_inner();
    let mut answered = Vec::new();
    let mut stream_error = None;
    loop {
        match inbound.message().await {
            Ok(Some(answer)) => answered.push(answer),
            Ok(None) => break,
            Err(status) => {
                stream_error = Some(status);
                break;
            }
        }
    }
    // Either the item's own error or the whole stream's: UNAVAILABLE, and item 2 not stored.
    let item_error = answered.iter().find(|a| a.item_id == "2").map(|a| match &a.result {
        Some(pb::stream_ingest_tickets_response::Result::Error(e)) => e.code,
        other => panic!("item 2 cannot be linked now: {other:?}"),
    });
    match (item_error, &stream_error) {
        (Some(code), _) => assert_eq!(code, Code::Unavailable as i32, "{answered:?}"),
        (None, Some(status)) => assert_eq!(status.code(), Code::Unavailable, "{status:?}"),
        (None, None) => panic!("item 2 was not answered and the stream ended OK: {answered:?}"),
    }
    let stored: Vec<String> = list_all(&mut client, pb::ListTicketsRequest::default())
        .await
        .into_iter()
        .map(|t| t.external_id)
        .collect();
    assert!(!stored.contains(&"2".to_owned()), "{stored:?}");
    for answer in &answered {
        if let Some(pb::stream_ingest_tickets_response::Result::Ingested(_)) = answer.result {
            assert!(stored.contains(&answer.item_id), "answered items are committed: {stored:?}");
        }
    }
}
