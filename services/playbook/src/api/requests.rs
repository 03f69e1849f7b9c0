//! Request checks shared by the handlers (names, lengths, the caller) and the one place
//! where errors become statuses, adding the `ErrorInfo` metadata some reasons document.

use std::collections::HashMap;

use steward_kit::auth::Caller;
use steward_kit::error::ERROR_DOMAIN;
use steward_kit::{Error, Violations, names};
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

/// The calling token's name (who did something, when no actor is given), or empty.
pub(super) fn caller<T>(req: &tonic::Request<T>) -> String {
    req.extensions().get::<Caller>().map(|c| c.name.clone()).unwrap_or_default()
}

/// Checks an `accounts/{account}` name and returns it.
pub(super) fn account(name: &str, field: &str) -> Result<String, Error> {
    names::parse::<1>(name, "accounts/{}", field)?;
    Ok(name.to_owned())
}

/// The id of a `playbooks/{playbook}` name.
pub(super) fn playbook_id<'a>(name: &'a str, field: &str) -> Result<&'a str, Error> {
    let [id] = names::parse(name, "playbooks/{}", field)?;
    Ok(id)
}

/// A text field of at most `max` characters.
pub(super) fn at_most(text: &str, max: usize, field: &str, v: &mut Violations) {
    v.check(text.chars().count() <= max, field, format!("must be at most {max} characters"));
}

/// Who acts: the request's `actor` (at most 200 characters) or the caller's token name.
pub(super) fn actor(actor: &str, caller: String, v: &mut Violations) -> String {
    at_most(actor, 200, "actor", v);
    if actor.is_empty() { caller } else { actor.to_owned() }
}

/// The status for `err`, with the metadata its reason documents: `run` for
/// `ACTIVE_RUN_EXISTS` (the active run's name, which the message starts with) and
/// `active_runs` for `PLAYBOOK_HAS_ACTIVE_RUNS` (their count, the message's third word).
pub(super) fn status(err: Error) -> Status {
    let metadata = match &err {
        Error::FailedPrecondition { reason: "ACTIVE_RUN_EXISTS", message } => message
            .split_whitespace()
            .next()
            .filter(|w| w.starts_with("playbookRuns/"))
            .map(|run| ("run", run.to_owned())),
        Error::FailedPrecondition { reason: "PLAYBOOK_HAS_ACTIVE_RUNS", message } => message
            .split_whitespace()
            .nth(2)
            .filter(|w| w.parse::<u64>().is_ok())
            .map(|n| ("active_runs", n.to_owned())),
        _ => None,
    };
    let status = Status::from(err);
    let Some((key, value)) = metadata else { return status };
    let details = status.get_error_details();
    let reason = details.error_info().map(|i| i.reason.clone()).unwrap_or_default();
    let mut with = ErrorDetails::new();
    with.set_error_info(reason, ERROR_DOMAIN, HashMap::from([(key.to_owned(), value)]));
    Status::with_error_details(status.code(), status.message(), with)
}
