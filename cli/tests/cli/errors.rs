//! Failures people meet first: a service that is not there, a wrong token, a missing file.
//! Each ends with a non-zero exit and a message that says which service, where, and what
//! to do.

use std::net::TcpListener;

use steward_testkit::server::ADMIN_TOKEN;

use crate::support::{start, steward_in};

/// An address nothing listens on: a port the OS just handed out and we let go.
fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_unreachable_account_service_is_named_with_its_address_and_the_way_to_fix_it() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let addr = dead_addr();
    let env = [("STEWARD_TOKEN", ADMIN_TOKEN.to_owned())];

    let run = steward_in(dir.path(), &env, &["accounts", "list", "--account-addr", &addr]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "", "nothing on stdout for scripts to misread");
    assert!(
        run.stderr.contains(&format!("cannot reach the account service at {addr}")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("--account-addr or STEWARD_ACCOUNT_ADDR"), "{run:#?}");
}

#[tokio::test]
async fn an_unreachable_ticket_service_fails_the_import_before_reading_on() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let file = dir.path().join("t.jsonl");
    std::fs::write(&file, "{\"externalId\":\"1\"}\n").expect("write");
    let addr = dead_addr();
    let env = [("STEWARD_TICKET_ADDR", addr.clone()), ("STEWARD_TOKEN", ADMIN_TOKEN.to_owned())];

    let run = steward_in(dir.path(), &env, &["tickets", "import", &file.to_string_lossy()]).await;

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains(&format!("cannot reach the ticket-ingest service at {addr}")),
        "{run:#?}"
    );
    assert!(run.stderr.contains("STEWARD_TICKET_ADDR"), "{run:#?}");
}

#[tokio::test]
async fn an_unreachable_health_service_is_named_with_its_address_by_every_health_command() {
    let suite = crate::support::start().await;
    let addr = dead_addr();
    let mut env = suite.env();
    env.push(("STEWARD_HEALTH_ADDR", addr.clone()));

    for args in [&["scores", "list"][..], &["watch"], &["measurements", "list", "acme"]] {
        let run = steward_in(suite.dir.path(), &env, args).await;

        assert_eq!(run.code, Some(1), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.contains(&format!("cannot reach the health-scoring service at {addr}")),
            "{args:?}: {run:#?}"
        );
        assert!(run.stderr.contains("--health-addr or STEWARD_HEALTH_ADDR"), "{run:#?}");
    }
}

#[tokio::test]
async fn a_wrong_token_or_none_says_where_the_token_comes_from() {
    let suite = start().await;
    let account = ("STEWARD_ACCOUNT_ADDR", suite.account.url());

    let wrong = steward_in(
        suite.dir.path(),
        &[account.clone(), ("STEWARD_TOKEN", "not-the-token-0123456789".into())],
        &["accounts", "list"],
    )
    .await;
    let none = steward_in(suite.dir.path(), &[account], &["accounts", "list"]).await;

    assert_eq!(wrong.code, Some(1), "{wrong:#?}");
    assert!(wrong.stderr.contains("answered Unauthenticated"), "{wrong:#?}");
    assert!(wrong.stderr.contains("STEWARD_TOKEN"), "{wrong:#?}");
    assert_eq!(none.code, Some(1), "{none:#?}");
    assert!(none.stderr.contains("no token: pass --token or set STEWARD_TOKEN"), "{none:#?}");
}

#[tokio::test]
async fn a_missing_file_or_unknown_account_is_an_error_not_a_panic() {
    let suite = start().await;

    let missing = suite.steward(&["tickets", "import", "no-such-file.jsonl"]).await;
    let unknown = suite.steward(&["accounts", "show", "nobody"]).await;
    let bad_flag = suite.steward(&["accounts", "list", "--segment", "huge"]).await;

    assert_eq!(missing.code, Some(1), "{missing:#?}");
    assert!(missing.stderr.contains("open no-such-file.jsonl"), "{missing:#?}");
    assert_eq!(unknown.code, Some(1), "{unknown:#?}");
    assert!(unknown.stderr.contains("answered NotFound"), "{unknown:#?}");
    assert_eq!(bad_flag.code, Some(2), "clap's usage error: {bad_flag:#?}");
    assert!(!missing.stderr.contains("panicked") && !unknown.stderr.contains("panicked"));
}

#[tokio::test]
async fn a_reader_that_goes_away_is_not_a_panic() {
    let suite = start().await;
    let env =
        [("STEWARD_ACCOUNT_ADDR", suite.account.url()), ("STEWARD_TOKEN", ADMIN_TOKEN.to_owned())];
    // As `steward accounts list | head -0`: the pipe's reader is gone before the output.
    let mut child = crate::support::command(suite.dir.path(), &env)
        .args(["accounts", "list", "-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start steward");
    drop(child.stdout.take());

    let out = child.wait_with_output().await.expect("wait for steward");

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_playbook_service_is_named_with_its_address_and_the_way_to_fix_it() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let addr = dead_addr();
    let env = [("STEWARD_TOKEN", ADMIN_TOKEN.to_owned())];

    for args in [&["playbooks", "list"][..], &["runs", "list"], &["runs", "show", "r1"]] {
        let args = [args, &["--playbook-addr", &addr]].concat();
        let run = steward_in(dir.path(), &env, &args).await;

        assert_eq!(run.code, Some(1), "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.contains(&format!("cannot reach the playbook service at {addr}")),
            "{args:?}: {run:#?}"
        );
        assert!(run.stderr.contains("--playbook-addr or STEWARD_PLAYBOOK_ADDR"), "{run:#?}");
    }
}
