//! Request checks shared by the handlers: names, enum filters, intervals, the caller.

use chrono::{DateTime, Utc};
use steward_kit::auth::Caller;
use steward_kit::time::from_timestamp;
use steward_kit::{Error, Violations, names};
use steward_proto::google::r#type::Interval;
use steward_proto::health::v1 as pb;

/// The calling token's name (recorded on operations), or empty.
pub(super) fn caller<T>(req: &tonic::Request<T>) -> String {
    req.extensions().get::<Caller>().map(|c| c.name.clone()).unwrap_or_default()
}

/// Checks an `accounts/{account}` name and returns it.
pub(super) fn account(name: &str, field: &str) -> Result<String, Error> {
    names::parse::<1>(name, "accounts/{}", field)?;
    Ok(name.to_owned())
}

/// The account of an `accounts/{account}/healthScore` name.
pub(super) fn score_account(name: &str, field: &str) -> Result<String, Error> {
    let [id] = names::parse(name, "accounts/{}/healthScore", field)?;
    Ok(format!("accounts/{id}"))
}

/// The id of a `scorecards/{scorecard}` name.
pub(super) fn scorecard_id<'a>(name: &'a str, field: &str) -> Result<&'a str, Error> {
    let [id] = names::parse(name, "scorecards/{}", field)?;
    Ok(id)
}

/// Checks that every value of an enum filter is a known, specified value.
pub(super) fn known<E: TryFrom<i32>>(values: &[i32], field: &str, v: &mut Violations) {
    for (i, value) in values.iter().enumerate() {
        v.check(
            *value != 0 && E::try_from(*value).is_ok(),
            format!("{field}[{i}]"),
            format!("unknown or unspecified value {value}"),
        );
    }
}

/// Segment and lifecycle-stage filters, checked.
pub(super) fn cells(segments: &[i32], stages: &[i32]) -> Result<(), Error> {
    let mut v = Violations::default();
    known::<pb::Segment>(segments, "segments", &mut v);
    known::<pb::LifecycleStage>(stages, "lifecycle_stages", &mut v);
    v.finish()
}

/// A timestamp field, checked.
pub(super) fn time(t: &prost_types::Timestamp, field: &str) -> Result<DateTime<Utc>, Error> {
    from_timestamp(t).ok_or_else(|| Error::invalid(field, "must be a valid timestamp"))
}

/// The bounds of an interval, either side possibly open.
pub(super) type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `[start, end)` of an optional interval whose bounds may be open; the end must be after
/// the start when both are set.
pub(super) fn interval(i: Option<&Interval>, field: &str) -> Result<Bounds, Error> {
    let Some(i) = i else { return Ok((None, None)) };
    let start =
        i.start_time.as_ref().map(|t| time(t, &format!("{field}.start_time"))).transpose()?;
    let end = i.end_time.as_ref().map(|t| time(t, &format!("{field}.end_time"))).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err(Error::invalid(format!("{field}.end_time"), "must be after start_time"));
    }
    Ok((start, end))
}
