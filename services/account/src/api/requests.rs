//! Requests turned into what the store takes: ids, enum filters, list and revenue queries.

use steward_kit::{Error, Violations, names};
use steward_proto::account::v1 as pb;

use crate::domain::contract;
use crate::domain::names::normalize_domain;
use crate::store::{AccountQuery, Order, RevenueQuery};

/// A caller-chosen id checked, or a new one.
pub(super) fn new_or_given_id(id: &str, field: &str) -> Result<String, Error> {
    if id.is_empty() {
        Ok(names::new_id())
    } else {
        names::check_id(id, field)?;
        Ok(id.to_owned())
    }
}

/// Enum filter values as their stored names; unknown values are `INVALID_ARGUMENT`.
pub(super) fn enum_names(
    values: &[i32],
    field: &str,
    name: impl Fn(i32) -> Option<&'static str>,
) -> Result<Vec<String>, Error> {
    let mut v = Violations::default();
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        match name(*value) {
            Some(n) => out.push(n.to_owned()),
            None => v.add(format!("{field}[{i}]"), format!("unknown value {value}")),
        }
    }
    v.finish()?;
    Ok(out)
}

pub(super) fn account_query(req: &pb::ListAccountsRequest) -> Result<AccountQuery, Error> {
    let segments = enum_names(&req.segments, "segments", |s| {
        pb::Segment::try_from(s).ok().map(|s| s.as_str_name())
    })?;
    let stages = enum_names(&req.lifecycle_stages, "lifecycle_stages", |s| {
        pb::LifecycleStage::try_from(s).ok().map(|s| s.as_str_name())
    })?;
    let domain = match req.domain.trim() {
        "" => String::new(),
        d => normalize_domain(d).map_err(|why| Error::invalid("domain", why))?,
    };
    let mut label_values = serde_json::Map::new();
    let mut label_keys = Vec::new();
    for label in &req.labels {
        match label.split_once('=') {
            Some((k, v)) => {
                label_values.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
            }
            None => label_keys.push(label.clone()),
        }
    }
    Ok(AccountQuery {
        segments,
        stages,
        owner: req.owner.clone(),
        domain,
        label_values,
        label_keys,
        order: Order::parse(&req.order_by)?,
    })
}

pub(super) fn revenue_query(req: &pb::GetRevenueMetricsRequest) -> Result<RevenueQuery, Error> {
    let mut v = Violations::default();
    let start =
        contract::date(req.start_date.as_ref()).map_err(|why| v.add("start_date", why)).ok();
    let end = contract::date(req.end_date.as_ref()).map_err(|why| v.add("end_date", why)).ok();
    let currency_code = match req.currency_code.trim() {
        "" => String::new(),
        c => crate::domain::names::normalize_currency(c)
            .map_err(|why| v.add("currency_code", why))
            .unwrap_or_default(),
    };
    let segments = enum_names(&req.segments, "segments", |s| {
        pb::Segment::try_from(s).ok().map(|s| s.as_str_name())
    });
    if let (Some(s), Some(e)) = (start, end) {
        v.check(e > s, "end_date", "must be after start_date");
        v.check(
            e <= s + chrono::Months::new(120),
            "end_date",
            "must be at most 10 years after start_date",
        );
    }
    v.finish()?;
    Ok(RevenueQuery {
        start: start.unwrap_or_default(),
        end: end.unwrap_or_default(),
        currency_code,
        segments: segments?,
    })
}
