//! Requests turned into what the store takes: ids, enum filters, list and revenue queries.

use steward_kit::{Error, Violations, enums};
use steward_proto::account::v1 as pb;

use crate::domain::contract;
use crate::domain::names::normalize_domain;
use crate::store::{AccountQuery, Order, RevenueQuery};

pub(super) fn account_query(req: &pb::ListAccountsRequest) -> Result<AccountQuery, Error> {
    let segments = enums::names(&req.segments, "segments", |s| {
        pb::Segment::try_from(s).ok().map(|s| s.as_str_name())
    })?;
    let stages = enums::names(&req.lifecycle_stages, "lifecycle_stages", |s| {
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
    let segments = enums::names(&req.segments, "segments", |s| {
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
