//! Conversions between the API's `google.protobuf.Timestamp` and chrono's UTC times.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

/// The API form of `t`.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// `t` as a UTC time, or `None` when it is outside chrono's range or not normalised.
pub fn from_timestamp(t: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    DateTime::from_timestamp(t.seconds, nanos)
}
