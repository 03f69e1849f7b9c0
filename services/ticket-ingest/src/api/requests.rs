//! Requests turned into what the store takes: list queries, windows and periods.

use chrono::{DateTime, Duration, Utc};
use steward_kit::time::from_timestamp;
use steward_kit::{Error, Violations, enums, names};
use steward_proto::google::r#type::Interval;
use steward_proto::ticket::v1 as pb;

use crate::store::{KpiFilter, TicketOrder, TicketQuery, TimeRange};

/// How far in the future an as-of time or period end may lie (clock skew between callers).
const FUTURE_SLACK: Duration = Duration::minutes(1);

fn source_names(values: &[i32], field: &str) -> Result<Vec<String>, Error> {
    enums::names(values, field, |v| {
        pb::Source::try_from(v)
            .ok()
            .filter(|s| *s != pb::Source::Unspecified)
            .map(|s| s.as_str_name())
    })
}

fn priority_names(values: &[i32], field: &str) -> Result<Vec<String>, Error> {
    enums::names(values, field, |v| pb::TicketPriority::try_from(v).ok().map(|p| p.as_str_name()))
}

fn categories(values: &[String]) -> Vec<String> {
    values.iter().map(|c| c.to_lowercase()).collect()
}

/// An optional time field.
fn time(t: Option<&prost_types::Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, Error> {
    t.map(|t| from_timestamp(t).ok_or_else(|| Error::invalid(field, "not a valid timestamp")))
        .transpose()
}

/// `[start, end)` of an interval whose bounds may be open.
fn interval(i: Option<&Interval>, field: &str) -> Result<TimeRange, Error> {
    let Some(i) = i else { return Ok((None, None)) };
    let start = time(i.start_time.as_ref(), &format!("{field}.start_time"))?;
    let end = time(i.end_time.as_ref(), &format!("{field}.end_time"))?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(Error::invalid(format!("{field}.end_time"), "must not be before start_time"));
    }
    Ok((start, end))
}

/// The `account` field as an account id.
pub(super) fn account_id<'a>(name: &'a str, field: &str) -> Result<&'a str, Error> {
    let [id] = names::parse(name, "accounts/{}", field)?;
    Ok(id)
}

pub(super) fn ticket_query(req: &pb::ListTicketsRequest) -> Result<TicketQuery, Error> {
    let account_id = match req.account.as_str() {
        "" => None,
        name => Some(account_id(name, "account")?.to_owned()),
    };
    if account_id.is_some() && req.unlinked {
        return Err(Error::invalid("unlinked", "cannot be combined with `account`"));
    }
    let order = match req.order_by.trim() {
        "" | "created_time desc" => TicketOrder::CreatedDesc,
        "created_time" | "created_time asc" => TicketOrder::Created,
        "updated_time desc" => TicketOrder::UpdatedDesc,
        "updated_time" | "updated_time asc" => TicketOrder::Updated,
        _ => {
            return Err(Error::invalid(
                "order_by",
                "must be `created_time desc`, `created_time`, `updated_time desc` or `updated_time`",
            ));
        }
    };
    Ok(TicketQuery {
        account_id,
        unlinked: req.unlinked,
        statuses: enums::names(&req.statuses, "statuses", |v| {
            pb::TicketStatus::try_from(v)
                .ok()
                .filter(|s| *s != pb::TicketStatus::Unspecified)
                .map(|s| s.as_str_name())
        })?,
        priorities: priority_names(&req.priorities, "priorities")?,
        categories: categories(&req.categories),
        sources: source_names(&req.sources, "sources")?,
        created: interval(req.created.as_ref(), "created")?,
        updated: interval(req.updated.as_ref(), "updated")?,
        include_deleted: req.include_deleted,
        order,
    })
}

/// `GetSupportSummary`'s window, as-of time and history length.
pub(super) fn summary_window(
    req: &pb::GetSupportSummaryRequest,
    now: DateTime<Utc>,
) -> Result<(Duration, DateTime<Utc>, usize), Error> {
    let mut v = Violations::default();
    let window = match &req.window {
        None => Duration::days(30),
        Some(d) => Duration::new(d.seconds, u32::try_from(d.nanos).unwrap_or(u32::MAX))
            .filter(|w| *w >= Duration::hours(1) && *w <= Duration::days(730))
            .unwrap_or_else(|| {
                v.add("window", "must be between 1 hour and 730 days");
                Duration::zero()
            }),
    };
    let as_of = time(req.as_of.as_ref(), "as_of")?.unwrap_or(now);
    v.check(as_of <= now + FUTURE_SLACK, "as_of", "must not be more than 1 minute in the future");
    let history = match req.history_windows {
        0 => 3,
        n @ 1..=12 => n as usize,
        _ => {
            v.add("history_windows", "must be between 1 and 12 (0 = 3)");
            0
        }
    };
    v.finish()?;
    // The earliest window must start after year 1 of the calendar.
    let earliest = i32::try_from(history + 2).ok().and_then(|k| window.checked_mul(k));
    if earliest.and_then(|span| as_of.checked_sub_signed(span)).is_none() {
        return Err(Error::invalid("as_of", "too early for this window and history"));
    }
    Ok((window, as_of, history))
}

/// `GetSupportKpis`'s period and filters.
pub(super) fn kpi_request(
    req: &pb::GetSupportKpisRequest,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>, KpiFilter, pb::KpiDimension), Error> {
    let (start, end) = match interval(req.period.as_ref(), "period")? {
        (Some(s), Some(e)) => (s, e),
        _ => return Err(Error::invalid("period", "both start_time and end_time are required")),
    };
    let mut v = Violations::default();
    v.check(start < end, "period.end_time", "must be after start_time");
    v.check(end - start <= Duration::days(731), "period", "must be at most 731 days long");
    v.check(
        end <= now + FUTURE_SLACK,
        "period.end_time",
        "must not be more than 1 minute in the future",
    );
    let group_by = pb::KpiDimension::try_from(req.group_by).unwrap_or_else(|_| {
        v.add("group_by", format!("unknown value {}", req.group_by));
        pb::KpiDimension::Unspecified
    });
    for (i, segment) in req.segments.iter().enumerate() {
        v.check(
            steward_proto::account::v1::Segment::from_str_name(segment).is_some(),
            format!("segments[{i}]"),
            "must be a Segment value name, e.g. SEGMENT_ENTERPRISE",
        );
    }
    v.finish()?;
    let filter = KpiFilter {
        sources: source_names(&req.sources, "sources")?,
        priorities: priority_names(&req.priorities, "priorities")?,
        categories: categories(&req.categories),
        segments: req.segments.clone(),
    };
    Ok((start, end, filter, group_by))
}
