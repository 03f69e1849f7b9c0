//! The one error type that every handler returns, and its one mapping to `tonic::Status`.
//!
//! Callers get a code, a message meant for them, an `ErrorInfo` (domain `steward.dev`, a stable
//! reason) and, for bad input, `BadRequest` field violations naming each field. Internal causes
//! are logged here, once, and never sent to the caller.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every Steward error.
pub const ERROR_DOMAIN: &str = "steward.dev";

/// A failed call, as the caller should see it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; each violation names a field.
    #[error("invalid argument: {}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// An AIP-155 request id already used for a different request.
    #[error("request_id: already used for a different request: choose a new id")]
    RequestIdReused,
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Not found, for a reason other than the named resource's absence (e.g. a resource
    /// that exists but has no value yet).
    #[error("{message}")]
    NotFoundReason { reason: &'static str, message: String },
    /// A resource with the same identity exists already.
    #[error("{message}")]
    AlreadyExists { reason: &'static str, message: String },
    /// The request is valid, but the system is not in a state that allows it.
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    /// A concurrency conflict, e.g. a stale etag: re-read and retry.
    #[error("{message}")]
    Aborted { reason: &'static str, message: String },
    /// A position (e.g. a feed cursor) outside the range the server still holds.
    #[error("{message}")]
    OutOfRange { reason: &'static str, message: String },
    /// A dependency (the database, another service) is unreachable; retrying may succeed.
    #[error("{message}")]
    Unavailable { reason: &'static str, message: String },
    /// A bug or an unexpected failure; the cause is logged, the caller sees only "internal".
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// One problem with one request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path as the caller wrote it, e.g. `account.domains[2]`.
    pub field: String,
    /// What is wrong with it and what is expected.
    pub description: String,
}

/// Collects field violations while validating a request, so that the caller learns about
/// every bad field at once rather than one per attempt.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation { field: field.into(), description: description.into() });
    }

    /// Records a violation of `field` unless `ok` holds.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, description: impl Into<String>) {
        if !ok {
            self.add(field, description);
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else `INVALID_ARGUMENT` with every violation.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::InvalidArgument(self.0)) }
    }
}

impl Error {
    /// `INVALID_ARGUMENT` for a single field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// The gRPC code this error maps to.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) | Error::RequestIdReused => Code::InvalidArgument,
            Error::NotFound(_) | Error::NotFoundReason { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::Aborted { .. } => Code::Aborted,
            Error::OutOfRange { .. } => Code::OutOfRange,
            Error::Unavailable { .. } => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }

    fn reason(&self) -> String {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT".into(),
            Error::RequestIdReused => "REQUEST_ID_REUSED".into(),
            Error::NotFound(name) => not_found_reason(name),
            Error::Internal(_) => "INTERNAL".into(),
            Error::NotFoundReason { reason, .. }
            | Error::AlreadyExists { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::Aborted { reason, .. }
            | Error::OutOfRange { reason, .. }
            | Error::Unavailable { reason, .. } => (*reason).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let message = match &err {
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "internal error".to_owned()
            }
            Error::Unavailable { message, .. } => {
                tracing::warn!(%message, "dependency unavailable");
                message.clone()
            }
            other => other.to_string(),
        };
        let mut details = ErrorDetails::new();
        details.set_error_info(err.reason(), ERROR_DOMAIN, std::collections::HashMap::new());
        match &err {
            Error::InvalidArgument(violations) => {
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
            }
            Error::RequestIdReused => {
                details.add_bad_request_violation(
                    "request_id",
                    "already used for a different request",
                );
            }
            _ => {}
        }
        Status::with_error_details(err.code(), message, details)
    }
}

/// A per-item error of a batch or stream (`google.rpc.Status`), with the same code, message
/// and details a unary call would carry.
impl From<Error> for tonic_types::pb::Status {
    fn from(err: Error) -> Self {
        let status = Status::from(err);
        // A Status's details are an encoded google.rpc.Status (see tonic-types).
        let details = <tonic_types::pb::Status as prost::Message>::decode(status.details())
            .map(|s| s.details)
            .unwrap_or_default();
        Self { code: status.code() as i32, message: status.message().to_owned(), details }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Error::Unavailable {
                    reason: "DATABASE_UNAVAILABLE",
                    message: format!("the database is unreachable: {err}"),
                }
            }
            other => Error::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// The constraint name when `err` is a unique violation, so that callers can turn it into
/// `ALREADY_EXISTS` naming what clashed.
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

/// `ACCOUNT_NOT_FOUND` for `accounts/acme`, `CONTACT_NOT_FOUND` for
/// `accounts/acme/contacts/bob`, `SLA_POLICY_NOT_FOUND` for `slaPolicies/p`: the singular of
/// the innermost collection, in UPPER_SNAKE_CASE.
fn not_found_reason(name: &str) -> String {
    let mut parts = name.rsplit('/');
    let collection = match (parts.next(), parts.next()) {
        (Some(_), Some(collection)) => collection,
        _ => return "NOT_FOUND".into(),
    };
    let singular = match collection.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => collection.strip_suffix('s').unwrap_or(collection).to_owned(),
    };
    let mut reason = String::new();
    for c in singular.chars() {
        if c.is_ascii_uppercase() {
            reason.push('_');
        }
        reason.push(c.to_ascii_uppercase());
    }
    reason + "_NOT_FOUND"
}

fn summarize(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field_in_bad_request_details() {
        let mut v = Violations::default();
        v.add("account.display_name", "must not be empty");
        v.check(false, "account.domains[1]", "not a domain name");
        v.check(true, "account.owner", "never recorded");
        let status = Status::from(v.finish().expect_err("two violations"));

        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("BadRequest present")
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["account.display_name", "account.domains[1]"]);
        assert_eq!(details.error_info().expect("ErrorInfo").domain, ERROR_DOMAIN);
    }

    #[test]
    fn internal_causes_are_not_sent_to_the_caller() {
        let err = Error::Internal(anyhow::anyhow!("password=hunter2 in connection string"));
        let status = Status::from(err);
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn not_found_reasons_name_the_resource_type() {
        assert_eq!(not_found_reason("accounts/acme"), "ACCOUNT_NOT_FOUND");
        assert_eq!(not_found_reason("accounts/a/contacts/b"), "CONTACT_NOT_FOUND");
        assert_eq!(not_found_reason("slaPolicies/p"), "SLA_POLICY_NOT_FOUND");
        assert_eq!(not_found_reason("playbookRuns/r"), "PLAYBOOK_RUN_NOT_FOUND");
    }

    #[test]
    fn reasons_travel_in_error_info() {
        let status = Status::from(Error::Aborted {
            reason: "ETAG_MISMATCH",
            message: "the account changed since it was read".into(),
        });
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(
            status.get_error_details().error_info().expect("ErrorInfo").reason,
            "ETAG_MISMATCH"
        );
    }
}
