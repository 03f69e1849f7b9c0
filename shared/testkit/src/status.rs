//! Assertions on gRPC errors as Steward's API conventions define them: a code, an
//! `ErrorInfo` (domain `steward.dev`, an UPPER_SNAKE_CASE reason) and, for bad input, a
//! `BadRequest` naming each field.

use tonic::Code;
use tonic_types::StatusExt;

/// The fields named by the status's `BadRequest` violations.
pub fn violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// `INVALID_ARGUMENT` with an `ErrorInfo` and a `BadRequest` whose only violation names
/// exactly `field`.
#[track_caller]
pub fn assert_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "want INVALID_ARGUMENT naming {field}: {status:?}"
    );
    assert_eq!(violations(status), [field], "the violations should name {field}: {status:?}");
    assert_error_info(status);
}

/// `INVALID_ARGUMENT` with an `ErrorInfo` and a `BadRequest` violation whose field starts
/// with `prefix` (for paths the proto leaves open, such as map keys or mask indexes).
#[track_caller]
pub fn assert_invalid_under(status: &tonic::Status, prefix: &str) {
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "want INVALID_ARGUMENT under {prefix}: {status:?}"
    );
    let fields = violations(status);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f.starts_with(prefix)),
        "the violations {fields:?} should all be under {prefix}: {status:?}"
    );
    assert_error_info(status);
}

/// The `ErrorInfo` reason of `status`, if it carries one.
pub fn reason(status: &tonic::Status) -> Option<String> {
    status.get_error_details().error_info().map(|info| info.reason.clone())
}

/// `code` with an `ErrorInfo` of domain `steward.dev` and `reason`.
#[track_caller]
pub fn assert_code(status: &tonic::Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "want {code:?} {reason}: {status:?}");
    let info = status.get_error_details().error_info().cloned();
    let info = info.unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "steward.dev", "{status:?}");
}

/// `NOT_FOUND` with an `ErrorInfo` (the reason is checked where the proto names it).
#[track_caller]
pub fn assert_not_found(status: &tonic::Status) {
    assert_eq!(status.code(), Code::NotFound, "want NOT_FOUND: {status:?}");
    assert_error_info(status);
}

/// Every error carries an `ErrorInfo` of domain `steward.dev` with an UPPER_SNAKE_CASE reason.
#[track_caller]
pub fn assert_error_info(status: &tonic::Status) {
    let info = status.get_error_details().error_info().cloned();
    let info = info.unwrap_or_else(|| panic!("no ErrorInfo on {status:?}"));
    assert_eq!(info.domain, "steward.dev", "{status:?}");
    assert!(
        !info.reason.is_empty()
            && info
                .reason
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
        "reason {:?} should be UPPER_SNAKE_CASE",
        info.reason
    );
}
