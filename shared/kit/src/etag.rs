//! AIP-154 etags from a row's version counter.

use crate::Error;

/// The etag of a resource at `version`.
pub fn of(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// `ABORTED` (reason `ETAG_MISMATCH`) unless `given` is empty or the etag of `current`.
pub fn check(given: &str, current: i64, what: &str) -> Result<(), Error> {
    if given.is_empty() || given == of(current) {
        Ok(())
    } else {
        Err(Error::Aborted {
            reason: "ETAG_MISMATCH",
            message: format!(
                "{what} changed since it was read (etag {given} is stale): re-read it"
            ),
        })
    }
}
