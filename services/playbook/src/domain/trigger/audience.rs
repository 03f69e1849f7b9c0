//! Whether an account is in a playbook's audience, with one evidence item per constrained
//! field. Fields combine by AND, values within a field by OR, an empty field places no
//! constraint; an account the service has not received matches no constrained field.

use steward_proto::playbook::v1 as pb;

use super::evidence::compared;
use crate::domain::facts::{self, Facts};

/// Whether the account in `facts` matches `audience` (unset = everyone), and the evidence.
pub fn matches(audience: Option<&pb::Audience>, facts: &Facts) -> (bool, Vec<pb::Evidence>) {
    let Some(a) = audience else { return (true, Vec::new()) };
    let mut evidence = Vec::new();
    let known = facts.account.is_some();

    if !a.segments.is_empty() {
        let value = facts::segment_name(facts.segment());
        let list = names(&a.segments, |v| pb::Segment::try_from(v).map(facts::segment_name).ok());
        let ok = known && list.contains(&value);
        evidence.push(compared(
            "segment",
            &value,
            "in",
            list.join(","),
            ok,
            line("Segment", &value),
        ));
    }
    if !a.lifecycle_stages.is_empty() {
        let value = facts::stage_name(facts.stage());
        let list = names(&a.lifecycle_stages, |v| {
            pb::LifecycleStage::try_from(v).map(facts::stage_name).ok()
        });
        let ok = known && list.contains(&value);
        evidence.push(compared(
            "lifecycle_stage",
            &value,
            "in",
            list.join(","),
            ok,
            line("Lifecycle stage", &value),
        ));
    }
    if !a.bands.is_empty() {
        let value = facts::band_name(facts.band());
        let list = names(&a.bands, |v| pb::HealthBand::try_from(v).map(facts::band_name).ok());
        let ok = !value.is_empty() && list.contains(&value);
        let fact = if value.is_empty() {
            "No health score".into()
        } else {
            format!("Health band {value}")
        };
        evidence.push(compared("health_band", &value, "in", list.join(","), ok, fact));
    }
    if let Some(min) = &a.min_arr {
        let arr = facts.account.as_ref().and_then(|acc| acc.arr.as_ref());
        let value = arr.map(|m| facts::money(m.amount_minor, &m.currency_code)).unwrap_or_default();
        let ok = arr.is_some_and(|m| {
            m.currency_code == min.currency_code && m.amount_minor >= min.amount_minor
        });
        let fact = match arr {
            None => "No ARR".to_owned(),
            Some(m) if m.currency_code != min.currency_code => {
                format!("ARR {value}, in another currency than {}", min.currency_code)
            }
            Some(_) => format!("ARR {value}"),
        };
        let threshold = facts::money(min.amount_minor, &min.currency_code);
        evidence.push(compared("arr", value, ">=", threshold, ok, fact));
    }
    if !a.owners.is_empty() {
        let value = facts.account.as_ref().map(|acc| acc.owner.clone()).unwrap_or_default();
        let ok = !value.is_empty() && a.owners.contains(&value);
        let fact = if value.is_empty() { "No owner".into() } else { format!("Owned by {value}") };
        evidence.push(compared("owner", &value, "in", a.owners.join(","), ok, fact));
    }
    (evidence.iter().all(|e| e.satisfied), evidence)
}

fn names(values: &[i32], name: impl Fn(i32) -> Option<String>) -> Vec<String> {
    values.iter().filter_map(|v| name(*v)).collect()
}

fn line(what: &str, value: &str) -> String {
    if value.is_empty() { format!("{what} unknown") } else { format!("{what} {value}") }
}
