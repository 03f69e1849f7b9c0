//! Contacts: create, get, list (by email, by role, in pages), update, delete, unique emails.

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;
use tonic::Code;

use crate::support::*;

fn emails(contacts: &[pb::Contact]) -> Vec<&str> {
    contacts.iter().map(|c| c.email.as_str()).collect()
}

async fn list(client: &mut Client, req: pb::ListContactsRequest) -> Vec<pb::Contact> {
    client.list_contacts(req).await.expect("list contacts").into_inner().contacts
}

fn in_acme(roles: &[pb::ContactRole]) -> pb::ListContactsRequest {
    pb::ListContactsRequest {
        parent: "accounts/acme".into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_get_update_delete_round_trip() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let input = pb::Contact {
        email: "Bob.Smith@ACME.com".into(),
        display_name: "Bob Smith".into(),
        role: pb::ContactRole::Champion as i32,
        title: "VP Engineering".into(),
        ..Default::default()
    };
    let req = pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact_id: "bob".into(),
        contact: Some(input),
        request_id: request_id(),
    };
    let bob = client.create_contact(req).await.expect("create").into_inner();
    assert_eq!(bob.name, "accounts/acme/contacts/bob");
    assert_eq!(bob.email, "bob.smith@acme.com", "emails are stored lowercase");
    assert_eq!(bob.display_name, "Bob Smith");
    assert_eq!(bob.role, pb::ContactRole::Champion as i32);
    assert_eq!(bob.title, "VP Engineering");
    assert!(bob.create_time.is_some() && bob.update_time.is_some() && !bob.etag.is_empty());

    let get = pb::GetContactRequest { name: bob.name.clone() };
    assert_eq!(client.get_contact(get.clone()).await.expect("get").into_inner(), bob);

    // A server-assigned id is a UUID.
    let carol = create_contact(&mut client, "accounts/acme", "carol@acme.com").await;
    let id = carol.name.strip_prefix("accounts/acme/contacts/").expect("a contact name");
    uuid::Uuid::parse_str(id).expect("a UUID");

    // Only the masked field changes.
    let change = pb::Contact {
        name: bob.name.clone(),
        email: "not-in-mask@acme.com".into(),
        title: "CTO".into(),
        etag: bob.etag.clone(),
        ..Default::default()
    };
    let req = pb::UpdateContactRequest {
        contact: Some(change),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let updated = client.update_contact(req).await.expect("update").into_inner();
    let want = pb::Contact {
        title: "CTO".into(),
        etag: updated.etag.clone(),
        update_time: updated.update_time,
        ..bob.clone()
    };
    assert_eq!(updated, want);
    assert_ne!(updated.etag, bob.etag);
    assert_eq!(client.get_contact(get.clone()).await.expect("get").into_inner(), updated);

    // An email changed by update is normalised too.
    let req = pb::UpdateContactRequest {
        contact: Some(pb::Contact { name: bob.name.clone(), ..contact("BOB@Acme.COM") }),
        update_mask: None,
    };
    let renamed = client.update_contact(req).await.expect("update email").into_inner();
    assert_eq!(renamed.email, "bob@acme.com");
    assert_eq!(renamed.title, "CTO", "unset fields are left alone without a mask");

    let req = pb::DeleteContactRequest { name: bob.name.clone(), etag: renamed.etag.clone() };
    client.delete_contact(req.clone()).await.expect("delete");
    let err = client.get_contact(get).await.expect_err("deleted");
    assert_not_found(&err);
    let err = client.delete_contact(req).await.expect_err("deleted twice");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(emails(&list(&mut client, in_acme(&[])).await), ["carol@acme.com"]);
}

#[tokio::test]
async fn list_is_ordered_by_email_filters_by_role_and_pages() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    create_account(&mut client, "globex", account("Globex", "globex.com")).await;
    let people = [
        ("dave@acme.com", pb::ContactRole::User),
        ("Alice@acme.com", pb::ContactRole::Champion),
        ("erin@acme.com", pb::ContactRole::Admin),
        ("carol@acme.com", pb::ContactRole::Champion),
        ("bob@acme.com", pb::ContactRole::Billing),
    ];
    for (email, role) in people {
        let c = pb::Contact { role: role as i32, ..contact(email) };
        try_create_contact(&mut client, "accounts/acme", c).await.expect("create");
    }
    create_contact(&mut client, "accounts/globex", "aaron@globex.com").await;

    let all = list(&mut client, in_acme(&[])).await;
    assert_eq!(
        emails(&all),
        ["alice@acme.com", "bob@acme.com", "carol@acme.com", "dave@acme.com", "erin@acme.com"],
        "ordered by email, this account's only"
    );
    let champions = list(&mut client, in_acme(&[pb::ContactRole::Champion])).await;
    assert_eq!(emails(&champions), ["alice@acme.com", "carol@acme.com"]);
    let either =
        list(&mut client, in_acme(&[pb::ContactRole::Admin, pb::ContactRole::Billing])).await;
    assert_eq!(emails(&either), ["bob@acme.com", "erin@acme.com"]);
    let none = list(&mut client, in_acme(&[pb::ContactRole::ExecutiveSponsor])).await;
    assert!(none.is_empty());

    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListContactsRequest { page_size: 2, page_token, ..in_acme(&[]) };
        let page = client.list_contacts(req).await.expect("page").into_inner();
        assert!(page.contacts.len() <= 2);
        seen.extend(page.contacts);
        pages += 1;
        assert!(pages <= 5, "the pages should end");
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all, "pages add up to the whole list");
}

#[tokio::test]
async fn an_email_belongs_to_one_contact_across_accounts() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    create_account(&mut client, "globex", account("Globex", "globex.com")).await;
    create_contact(&mut client, "accounts/acme", "bob@acme.com").await;

    for (parent, email) in [("accounts/globex", "bob@acme.com"), ("accounts/acme", "BOB@Acme.com")]
    {
        let err = try_create_contact(&mut client, parent, contact(email)).await.expect_err(email);
        assert_code(&err, Code::AlreadyExists, "CONTACT_EMAIL_TAKEN");
    }
    let globex = pb::ListContactsRequest { parent: "accounts/globex".into(), ..Default::default() };
    assert!(list(&mut client, globex).await.is_empty(), "nothing written");

    // Taking the email by update is refused too.
    let carol = create_contact(&mut client, "accounts/globex", "carol@globex.com").await;
    let req = pb::UpdateContactRequest {
        contact: Some(pb::Contact { name: carol.name.clone(), ..contact("bob@acme.com") }),
        update_mask: Some(FieldMask { paths: vec!["email".into()] }),
    };
    let err = client.update_contact(req).await.expect_err("email taken");
    assert_code(&err, Code::AlreadyExists, "CONTACT_EMAIL_TAKEN");
    let get = pb::GetContactRequest { name: carol.name.clone() };
    assert_eq!(client.get_contact(get).await.expect("get").into_inner(), carol);
}

#[tokio::test]
async fn a_taken_contact_id_is_already_exists() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let req = |email: &str| pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact_id: "bob".into(),
        contact: Some(contact(email)),
        request_id: request_id(),
    };
    client.create_contact(req("bob@acme.com")).await.expect("create");
    let err = client.create_contact(req("robert@acme.com")).await.expect_err("id taken");
    assert_code(&err, Code::AlreadyExists, "CONTACT_EXISTS");
    assert_eq!(emails(&list(&mut client, in_acme(&[])).await), ["bob@acme.com"]);
}

#[tokio::test]
async fn invalid_contacts_name_the_field_and_write_nothing() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let long = "t".repeat(201);
    let cases: Vec<(pb::Contact, &str)> = vec![
        (contact("not-an-email"), "contact.email"),
        (contact("bob@"), "contact.email"),
        (contact("@acme.com"), "contact.email"),
        (contact("bob smith@acme.com"), "contact.email"),
        (contact(""), "contact.email"),
        (contact(&format!("{}@acme.com", "b".repeat(250))), "contact.email"),
        (pb::Contact { role: 42, ..contact("bob@acme.com") }, "contact.role"),
        (pb::Contact { title: long.clone(), ..contact("bob@acme.com") }, "contact.title"),
        (pb::Contact { display_name: long, ..contact("bob@acme.com") }, "contact.display_name"),
    ];
    for (input, field) in cases {
        let err =
            try_create_contact(&mut client, "accounts/acme", input.clone()).await.expect_err(field);
        assert_invalid(&err, field);
    }
    let req = pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact_id: "Bad_Id".into(),
        contact: Some(contact("bob@acme.com")),
        request_id: request_id(),
    };
    assert_invalid(&client.create_contact(req).await.expect_err("bad id"), "contact_id");
    assert!(list(&mut client, in_acme(&[])).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn an_unknown_account_is_not_found() {
    let (_db, _server, mut client) = start().await;
    let err = try_create_contact(&mut client, "accounts/nobody", contact("bob@nobody.com"))
        .await
        .expect_err("no such account");
    assert_not_found(&err);
    let req = pb::ListContactsRequest { parent: "accounts/nobody".into(), ..Default::default() };
    let err = client.list_contacts(req).await.expect_err("no such account");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let get = pb::GetContactRequest { name: "accounts/acme/contacts/nobody".into() };
    let err = client.get_contact(get).await.expect_err("no such contact");
    assert_not_found(&err);
    let req = pb::UpdateContactRequest {
        contact: Some(pb::Contact {
            name: "accounts/acme/contacts/nobody".into(),
            ..contact("x@acme.com")
        }),
        update_mask: None,
    };
    let err = client.update_contact(req).await.expect_err("no such contact");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(list(&mut client, in_acme(&[])).await.is_empty(), "an update does not create");
}

#[tokio::test]
async fn a_missing_contact_is_reason_contact_not_found() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let get = pb::GetContactRequest { name: "accounts/acme/contacts/nobody".into() };
    let err = client.get_contact(get).await.expect_err("no such contact");
    assert_code(&err, Code::NotFound, "CONTACT_NOT_FOUND");
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_changes_nothing() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let bob = create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    let update = |title: &str| pb::UpdateContactRequest {
        contact: Some(pb::Contact {
            name: bob.name.clone(),
            title: title.into(),
            etag: bob.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let first = client.update_contact(update("CTO")).await.expect("update").into_inner();
    let err = client.update_contact(update("CEO")).await.expect_err("stale");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");

    let req = pb::DeleteContactRequest { name: bob.name.clone(), etag: bob.etag.clone() };
    let err = client.delete_contact(req).await.expect_err("stale delete");
    assert_code(&err, Code::Aborted, "ETAG_MISMATCH");

    let get = pb::GetContactRequest { name: bob.name.clone() };
    assert_eq!(client.get_contact(get).await.expect("still there").into_inner(), first);
}

#[tokio::test]
async fn a_retried_create_writes_one_contact() {
    let (_db, _server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let req = pb::CreateContactRequest {
        parent: "accounts/acme".into(),
        contact_id: String::new(),
        contact: Some(contact("bob@acme.com")),
        request_id: request_id(),
    };
    let first = client.create_contact(req.clone()).await.expect("create").into_inner();
    let retry = client.create_contact(req.clone()).await.expect("a retry is not a duplicate");
    assert_eq!(retry.into_inner(), first);
    assert_eq!(list(&mut client, in_acme(&[])).await, [first]);

    let other = pb::CreateContactRequest { contact: Some(contact("carol@acme.com")), ..req };
    let err = client.create_contact(other).await.expect_err("request id reused");
    assert_invalid(&err, "request_id");
    assert_eq!(emails(&list(&mut client, in_acme(&[])).await), ["bob@acme.com"]);
}

#[tokio::test]
async fn a_read_only_token_lists_but_cannot_add_contacts() {
    let (_db, server, mut client) = start().await;
    create_account(&mut client, "acme", account("Acme", "acme.com")).await;
    let bob = create_contact(&mut client, "accounts/acme", "bob@acme.com").await;
    let mut reader = client_with(&server, steward_testkit::server::READ_TOKEN);
    let err = try_create_contact(&mut reader, "accounts/acme", contact("carol@acme.com"))
        .await
        .expect_err("needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let req = pb::DeleteContactRequest { name: bob.name.clone(), etag: String::new() };
    let err = reader.delete_contact(req).await.expect_err("needs write");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(list(&mut reader, in_acme(&[])).await, [bob]);
}
