//! ResolveAccount: external refs, contact emails, email domains, domains; free-mail,
//! ambiguity, no match, malformed keys.

use prost_types::FieldMask;
use steward_proto::account::v1 as pb;
use steward_proto::account::v1::resolve_account_request::Key;
use tonic::Code;

use crate::support::*;

fn by_ref(system: &str, id: &str) -> Key {
    Key::ExternalRef(pb::ExternalRef { system: system.into(), id: id.into() })
}

fn by_email(email: &str) -> Key {
    Key::Email(email.into())
}

fn by_domain(domain: &str) -> Key {
    Key::Domain(domain.into())
}

async fn resolve(client: &mut Client, key: Key) -> pb::ResolveAccountResponse {
    let req = pb::ResolveAccountRequest { key: Some(key.clone()) };
    client
        .resolve_account(req)
        .await
        .unwrap_or_else(|e| panic!("resolve {key:?}: {e:?}"))
        .into_inner()
}

fn resolved(account: &str, match_kind: pb::MatchKind) -> pb::ResolveAccountResponse {
    pb::ResolveAccountResponse {
        resolution: pb::Resolution::Resolved as i32,
        account: account.into(),
        r#match: match_kind as i32,
        contact: String::new(),
        candidates: vec![],
    }
}

fn answered(resolution: pb::Resolution) -> pb::ResolveAccountResponse {
    pb::ResolveAccountResponse { resolution: resolution as i32, ..Default::default() }
}

/// Acme: acme.com (+ acme.co.uk), zendesk 1001; its contacts bob@beta.io (a consultant
/// mailing from Beta's domain) and carol@gmail.com. Beta: beta.io. Eta and Zeta both claim
/// shared.com. Gm lists gmail.com as a domain (which must never resolve by domain).
async fn seed(client: &mut Client) -> (pb::Contact, pb::Contact) {
    let acme = pb::Account {
        domains: vec!["acme.co.uk".into()],
        external_refs: vec![pb::ExternalRef { system: "zendesk".into(), id: "1001".into() }],
        ..account("Acme", "acme.com")
    };
    create_account(client, "acme", acme).await;
    create_account(client, "beta", account("Beta", "beta.io")).await;
    create_account(client, "zeta", account("Zeta", "shared.com")).await;
    let eta = pb::Account { domains: vec!["shared.com".into()], ..account("Eta", "eta.org") };
    create_account(client, "eta", eta).await;
    create_account(client, "gm", account("Gm", "gmail.com")).await;
    let bob = create_contact(client, "accounts/acme", "bob@beta.io").await;
    let carol = create_contact(client, "accounts/acme", "carol@gmail.com").await;
    (bob, carol)
}

#[tokio::test]
async fn an_external_ref_matches_exactly() {
    let (_db, _server, mut client) = start().await;
    seed(&mut client).await;
    let want = resolved("accounts/acme", pb::MatchKind::ExternalRef);
    assert_eq!(resolve(&mut client, by_ref("zendesk", "1001")).await, want);
    for (system, id) in
        [("salesforce", "1001"), ("zendesk", "100"), ("zendesk", "10011"), ("zendesk", "1001 ")]
    {
        let got = resolve(&mut client, by_ref(system, id)).await;
        assert_eq!(got, answered(pb::Resolution::NotFound), "{system}/{id:?}");
    }
}

#[tokio::test]
async fn a_contact_email_wins_over_the_domain() {
    let (_db, _server, mut client) = start().await;
    let (bob, carol) = seed(&mut client).await;
    // bob@beta.io is Acme's contact although beta.io is Beta's domain.
    for email in ["bob@beta.io", "Bob@BETA.io"] {
        let got = resolve(&mut client, by_email(email)).await;
        let want = pb::ResolveAccountResponse {
            contact: bob.name.clone(),
            ..resolved("accounts/acme", pb::MatchKind::ContactEmail)
        };
        assert_eq!(got, want, "{email}");
    }
    // A free-mail address of a known contact resolves by the contact.
    let got = resolve(&mut client, by_email("Carol@Gmail.com")).await;
    let want = pb::ResolveAccountResponse {
        contact: carol.name.clone(),
        ..resolved("accounts/acme", pb::MatchKind::ContactEmail)
    };
    assert_eq!(got, want);
}

#[tokio::test]
async fn an_email_without_a_contact_resolves_by_its_domain() {
    let (_db, _server, mut client) = start().await;
    seed(&mut client).await;
    let cases = [
        ("alice@beta.io", "accounts/beta"),
        ("Alice@ACME.com", "accounts/acme"),
        ("dave@acme.co.uk", "accounts/acme"), // an extra domain
    ];
    for (email, account) in cases {
        let got = resolve(&mut client, by_email(email)).await;
        assert_eq!(got, resolved(account, pb::MatchKind::EmailDomain), "{email}");
    }
    // Subdomains do not match their parent.
    let got = resolve(&mut client, by_email("eve@eu.acme.com")).await;
    assert_eq!(got, answered(pb::Resolution::NotFound));
}

#[tokio::test]
async fn a_domain_resolves_case_insensitively_but_not_its_subdomains() {
    let (_db, _server, mut client) = start().await;
    seed(&mut client).await;
    for domain in ["acme.com", "ACME.Com", "acme.co.uk"] {
        let got = resolve(&mut client, by_domain(domain)).await;
        assert_eq!(got, resolved("accounts/acme", pb::MatchKind::Domain), "{domain}");
    }
    for domain in ["eu.acme.com", "acme.org", "unknown.example"] {
        let got = resolve(&mut client, by_domain(domain)).await;
        assert_eq!(got, answered(pb::Resolution::NotFound), "{domain}");
    }
}

#[tokio::test]
async fn free_mail_never_resolves_by_domain() {
    let (_db, _server, mut client) = start().await;
    seed(&mut client).await;
    // Gm lists gmail.com, but a private address says nothing about an employer.
    for email in ["someone@gmail.com", "Someone@GMAIL.com", "x@outlook.com", "y@yahoo.com"] {
        let got = resolve(&mut client, by_email(email)).await;
        assert_eq!(got, answered(pb::Resolution::FreeMail), "{email}");
    }
    let got = resolve(&mut client, by_domain("gmail.com")).await;
    assert_eq!(got, answered(pb::Resolution::FreeMail), "a free-mail domain given directly");
}

#[tokio::test]
async fn a_shared_domain_is_ambiguous_and_names_the_candidates() {
    let (_db, _server, mut client) = start().await;
    seed(&mut client).await;
    let want = pb::ResolveAccountResponse {
        resolution: pb::Resolution::Ambiguous as i32,
        candidates: vec!["accounts/eta".into(), "accounts/zeta".into()],
        ..Default::default()
    };
    assert_eq!(resolve(&mut client, by_domain("shared.com")).await, want);
    assert_eq!(resolve(&mut client, by_email("someone@Shared.com")).await, want);

    // Once Zeta drops the domain, Eta alone holds it.
    let req = pb::UpdateAccountRequest {
        account: Some(pb::Account { name: "accounts/zeta".into(), ..account("Zeta", "zeta.org") }),
        update_mask: Some(FieldMask { paths: vec!["primary_domain".into()] }),
    };
    client.update_account(req).await.expect("update");
    let got = resolve(&mut client, by_domain("shared.com")).await;
    assert_eq!(got, resolved("accounts/eta", pb::MatchKind::Domain));
}

#[tokio::test]
async fn no_match_is_an_answer_not_an_error() {
    let (_db, _server, mut client) = start().await;
    let empty = [by_email("nobody@unknown.org"), by_domain("unknown.org"), by_ref("zendesk", "1")];
    for key in empty {
        assert_eq!(resolve(&mut client, key).await, answered(pb::Resolution::NotFound));
    }
    seed(&mut client).await;
    assert_eq!(
        resolve(&mut client, by_email("nobody@unknown.org")).await,
        answered(pb::Resolution::NotFound)
    );

    // Resolution follows deletes: Beta's domain and Acme's contact go with their accounts.
    for name in ["accounts/beta", "accounts/acme"] {
        let req = pb::DeleteAccountRequest { name: name.into(), etag: String::new() };
        client.delete_account(req).await.expect("delete");
    }
    for key in [by_email("alice@beta.io"), by_email("bob@beta.io"), by_ref("zendesk", "1001")] {
        assert_eq!(resolve(&mut client, key).await, answered(pb::Resolution::NotFound));
    }
}

#[tokio::test]
async fn a_malformed_key_is_invalid() {
    let (_db, server, mut client) = start().await;
    let keys = [
        Some(by_email("not an email")),
        Some(by_email("bob@")),
        Some(by_email("")),
        Some(by_domain("not a domain")),
        Some(by_domain("acme")),
        Some(by_ref("Zendesk!", "1")),
        Some(by_ref("zendesk", "")),
        None,
    ];
    for key in keys {
        let req = pb::ResolveAccountRequest { key: key.clone() };
        let err = client.resolve_account(req).await.expect_err("malformed");
        assert_eq!(err.code(), Code::InvalidArgument, "{key:?}: {err:?}");
        assert!(!violations(&err).is_empty(), "a BadRequest names the field: {err:?}");
        assert_error_info(&err);
    }

    // Resolution is a read: a reader may resolve.
    let mut reader = client_with(&server, steward_testkit::server::READ_TOKEN);
    assert_eq!(
        resolve(&mut reader, by_domain("acme.com")).await,
        answered(pb::Resolution::NotFound)
    );
}
