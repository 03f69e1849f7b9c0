//! Templates: text with `{{variable}}` placeholders (spaces inside the braces allowed; no
//! logic, no escapes). Checking a template when a playbook is validated (every `{{` must
//! open a known variable), the variables' values from an account's facts, and rendering
//! (a variable without a value renders empty and is reported missing).

use std::collections::BTreeMap;

use prost_types::value::Kind as ValueKind;
use prost_types::{Struct, Value};
use steward_kit::Violations;

use super::duration::DAY;
use super::facts::{self, Facts, VARIABLES_WINDOW};
use steward_proto::playbook::v1 as pb;

/// Every variable a template may use, in the order the API documents them.
pub const VARIABLES: [&str; 23] = [
    "account.name",
    "account.display_name",
    "account.owner",
    "account.segment",
    "account.lifecycle_stage",
    "account.arr",
    "health.score",
    "health.band",
    "health.previous_score",
    "health.previous_band",
    "health.summary",
    "support.open_tickets",
    "support.tickets_30d",
    "support.urgent_tickets",
    "support.high_urgent_tickets",
    "support.oldest_open_days",
    "support.csat_share",
    "support.top_category",
    "renewal.date",
    "renewal.days",
    "playbook.display_name",
    "run.name",
    "run.trigger_summary",
];

/// Variable values by name (without braces); a variable without a value is absent.
pub type Variables = BTreeMap<String, String>;

/// One piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text copied as it is.
    Text(&'a str),
    /// A placeholder, by variable name (trimmed of the spaces inside its braces).
    Variable(&'a str),
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `{{` without a closing `}}`, at this byte offset.
    Unclosed(usize),
    /// A placeholder naming no known variable.
    UnknownVariable(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Unclosed(at) => {
                write!(f, "UNKNOWN_TEMPLATE_VARIABLE: `{{{{` at byte {at} is not closed by `}}}}`")
            }
            TemplateError::UnknownVariable(name) => write!(
                f,
                "UNKNOWN_TEMPLATE_VARIABLE: `{{{{{name}}}}}` is not a template variable \
                 (known: account.*, health.*, support.*, renewal.*, playbook.display_name, \
                 run.name, run.trigger_summary)"
            ),
        }
    }
}

/// Splits `text` into text and placeholders; every `{{` must open a known variable.
pub fn parse(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let inner = &rest[open + 2..];
        let close = inner.find("}}").ok_or(TemplateError::Unclosed(offset + open))?;
        let name = inner[..close].trim_matches(' ');
        if !VARIABLES.contains(&name) {
            return Err(TemplateError::UnknownVariable(name.to_owned()));
        }
        pieces.push(Piece::Variable(name));
        let consumed = open + 2 + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Records a violation of `field` unless `text` is a valid template.
pub fn check(text: &str, field: &str, v: &mut Violations) {
    if let Err(e) = parse(text) {
        v.add(field, e.to_string());
    }
}

/// Checks every string value of `parameters`, at any depth, as a template, naming each bad
/// one by its path (e.g. `…parameters.blocks[1].text`).
pub fn check_struct(parameters: &Struct, field: &str, v: &mut Violations) {
    for (key, value) in &parameters.fields {
        check_value(value, &format!("{field}.{key}"), v);
    }
}

fn check_value(value: &Value, field: &str, v: &mut Violations) {
    match &value.kind {
        Some(ValueKind::StringValue(s)) => check(s, field, v),
        Some(ValueKind::StructValue(s)) => check_struct(s, field, v),
        Some(ValueKind::ListValue(l)) => {
            for (i, item) in l.values.iter().enumerate() {
                check_value(item, &format!("{field}[{i}]"), v);
            }
        }
        _ => {}
    }
}

/// A rendered text and the variables that had no value (rendered empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The text with every placeholder replaced.
    pub text: String,
    /// Variables without a value, each once, in order of first use.
    pub missing: Vec<String>,
}

/// Renders `text` with `vars`. A text that does not parse (never the case for a validated
/// playbook) is returned as it is.
pub fn render(text: &str, vars: &Variables) -> Rendered {
    let mut out = Rendered::default();
    render_into(text, vars, &mut out.text, &mut out.missing);
    out
}

fn render_into(text: &str, vars: &Variables, out: &mut String, missing: &mut Vec<String>) {
    let Ok(pieces) = parse(text) else {
        out.push_str(text);
        return;
    };
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Variable(name) => match vars.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_owned());
                    }
                }
            },
        }
    }
}

/// Renders every string value of `parameters` at any depth, adding variables without a
/// value to `missing`.
pub fn render_struct(parameters: &Struct, vars: &Variables, missing: &mut Vec<String>) -> Struct {
    let fields = parameters
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), render_value(v, vars, missing)))
        .collect();
    Struct { fields }
}

fn render_value(value: &Value, vars: &Variables, missing: &mut Vec<String>) -> Value {
    let kind = match &value.kind {
        Some(ValueKind::StringValue(s)) => {
            let mut out = String::new();
            render_into(s, vars, &mut out, missing);
            Some(ValueKind::StringValue(out))
        }
        Some(ValueKind::StructValue(s)) => {
            Some(ValueKind::StructValue(render_struct(s, vars, missing)))
        }
        Some(ValueKind::ListValue(l)) => Some(ValueKind::ListValue(prost_types::ListValue {
            values: l.values.iter().map(|v| render_value(v, vars, missing)).collect(),
        })),
        other => other.clone(),
    };
    Value { kind }
}

/// What a run adds to the account's facts: its playbook, its name and why it started.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// The playbook version's display name.
    pub playbook_display_name: &'a str,
    /// `playbookRuns/{run}`.
    pub run_name: &'a str,
    /// The run's `trigger_summary`.
    pub trigger_summary: &'a str,
}

/// Every variable's value from `facts` and `run`, as the API documents them; variables
/// without a value (no account, no score, no 30-day support summary, no renewal date, an
/// empty owner, ...) are absent.
pub fn variables(facts: &Facts, run: RunContext<'_>) -> Variables {
    let mut vars = Variables::new();
    let mut put = |name: &str, value: String| {
        if !value.is_empty() {
            vars.insert(name.to_owned(), value);
        }
    };
    if let Some(a) = &facts.account {
        put("account.name", a.name.clone());
        put("account.display_name", a.display_name.clone());
        put("account.owner", a.owner.clone());
        put("account.segment", facts::segment_name(facts.segment()));
        put("account.lifecycle_stage", facts::stage_name(facts.stage()));
        if let Some(arr) = &a.arr {
            put("account.arr", facts::money(arr.amount_minor, &arr.currency_code));
        }
    }
    if let (Some(score), Some(value)) = (&facts.score, facts.score_value()) {
        put("health.score", format!("{value:.2}"));
        put("health.band", facts::band_name(facts.band()));
        if let Some(prev) = score.previous_score.filter(|s| s.is_finite()) {
            put("health.previous_score", format!("{prev:.2}"));
        }
        put("health.previous_band", facts::band_name(facts::band(score.previous_band)));
    }
    if let Some(line) = &facts.health_summary {
        put("health.summary", line.clone());
    }
    if let Some(f) = facts.summary(VARIABLES_WINDOW).and_then(|s| s.current.as_ref()) {
        let count = |p: pb::TicketPriority| {
            f.by_priority
                .iter()
                .filter(|c| facts::priority(c.priority) == p)
                .map(|c| c.count)
                .sum::<i32>()
        };
        put("support.open_tickets", f.open_backlog.to_string());
        put("support.tickets_30d", f.tickets_created.to_string());
        put("support.urgent_tickets", count(pb::TicketPriority::Urgent).to_string());
        put("support.high_urgent_tickets", f.high_urgent_tickets.to_string());
        let oldest =
            f.backlog_age.as_ref().and_then(|a| a.oldest.as_ref()).map_or(0, |d| d.seconds / DAY);
        put("support.oldest_open_days", oldest.to_string());
        if let Some(share) = f.csat_good_share.filter(|s| s.is_finite()) {
            put("support.csat_share", format!("{:.0}%", share * 100.0));
        }
        if let Some(top) = f.by_category.iter().find(|c| !c.category.is_empty()) {
            put("support.top_category", top.category.clone());
        }
    }
    if let (Some(date), Some(days)) = (facts.renewal_date(), facts.days_to_renewal()) {
        put("renewal.date", date.format("%Y-%m-%d").to_string());
        put("renewal.days", days.to_string());
    }
    put("playbook.display_name", run.playbook_display_name.to_owned());
    put("run.name", run.run_name.to_owned());
    put("run.trigger_summary", run.trigger_summary.to_owned());
    vars
}

#[cfg(test)]
mod tests;
