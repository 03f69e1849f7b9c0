//! The outcome of an import: how many items ended which way, and each refused item with its
//! line and the field at fault, printed for people or as JSON.

use std::process::ExitCode;

use serde::Serialize;
use tonic::Code;
use tonic_types::RpcStatusExt;

use crate::output::{self, Format};

/// One item that was not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The line of the input file (from 1).
    pub line: u64,
    /// The field at fault, as the item's own path (`external_id`, `requester.email`); empty
    /// when the line as a whole is wrong.
    pub field: String,
    /// Why.
    pub message: String,
}

/// Counts by outcome, in the order they were declared, and the problems.
#[derive(Debug)]
pub struct Report {
    /// What was imported, e.g. `tickets`.
    what: &'static str,
    counts: Vec<(&'static str, u64)>,
    problems: Vec<Problem>,
}

/// Items refused for bad input: fix the line and import again.
pub const INVALID: &str = "invalid";
/// Items refused for another reason (e.g. a conflict, the service unable to store them).
pub const FAILED: &str = "failed";

impl Report {
    /// A report of `what` whose items end as one of `outcomes` (lower case, e.g. `created`);
    /// `invalid` is always counted, `failed` shown only when it happened.
    pub fn new(what: &'static str, outcomes: &[&'static str]) -> Self {
        let mut counts: Vec<_> = outcomes.iter().map(|o| (*o, 0)).collect();
        counts.push((INVALID, 0));
        Self { what, counts, problems: Vec::new() }
    }

    /// One more item ended as `outcome`.
    pub fn count(&mut self, outcome: &'static str) {
        match self.counts.iter_mut().find(|(name, _)| *name == outcome) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((outcome, 1)),
        }
    }

    /// An item was refused as `kind` ([`INVALID`] or [`FAILED`]).
    pub fn refuse(&mut self, kind: &'static str, problem: Problem) {
        self.count(kind);
        self.problems.push(problem);
    }

    /// How many items ended as `outcome`.
    pub fn get(&self, outcome: &str) -> u64 {
        self.counts.iter().find(|(name, _)| *name == outcome).map_or(0, |(_, n)| *n)
    }

    /// Items handled so far.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Prints the report (problems in line order) on stdout; the exit status says whether
    /// every item was taken.
    pub fn print(mut self, format: Format) -> anyhow::Result<ExitCode> {
        self.problems.sort_by_key(|p| p.line);
        match format {
            Format::Json => {
                let mut doc = serde_json::Map::new();
                for (name, n) in &self.counts {
                    doc.insert((*name).to_owned(), (*n).into());
                }
                doc.insert("problems".into(), serde_json::to_value(&self.problems)?);
                output::print_json(&doc.into())?;
            }
            Format::Table => output::print(&self.text())?,
        }
        Ok(if self.problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(crate::EXIT_PARTIAL)
        })
    }

    /// `tickets: 10 read; created 8, updated 0, …` and a line per problem.
    pub fn text(&self) -> String {
        let counts: Vec<String> = self
            .counts
            .iter()
            .filter(|(name, n)| *n > 0 || *name != FAILED)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let mut text = format!("{}: {} read; {}", self.what, self.total(), counts.join(", "));
        for p in &self.problems {
            let field = if p.field.is_empty() { String::new() } else { format!("{}: ", p.field) };
            text.push_str(&format!("\n  line {}: {field}{}", p.line, p.message));
        }
        text
    }
}

/// An item the service refused, as a problem: INVALID_ARGUMENT is [`INVALID`], naming the
/// fields of its `BadRequest` (as `field` says them in the file's terms) with their
/// descriptions; any other code is [`FAILED`] with the code and message.
pub fn refusal(
    line: u64,
    error: &tonic_types::pb::Status,
    field: impl Fn(&str) -> String,
) -> (&'static str, Problem) {
    let violations =
        error.get_details_bad_request().map(|b| b.field_violations).unwrap_or_default();
    if error.code == Code::InvalidArgument as i32 && !violations.is_empty() {
        let fields: Vec<String> = violations.iter().map(|v| field(&v.field)).collect();
        let why: Vec<&str> = violations.iter().map(|v| v.description.as_str()).collect();
        return (INVALID, Problem { line, field: fields.join(", "), message: why.join("; ") });
    }
    let kind = if error.code == Code::InvalidArgument as i32 { INVALID } else { FAILED };
    let message = format!("{:?}: {}", Code::from(error.code), error.message);
    (kind, Problem { line, field: String::new(), message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_lists_counts_in_order_and_problems_by_line() {
        let mut report = Report::new("tickets", &["created", "updated"]);
        report.count("created");
        report.refuse(
            INVALID,
            Problem { line: 7, field: "external_id".into(), message: "required".into() },
        );
        report
            .refuse(INVALID, Problem { line: 2, field: String::new(), message: "not JSON".into() });
        report.problems.sort_by_key(|p| p.line);

        assert_eq!(
            report.text(),
            "tickets: 3 read; created 1, updated 0, invalid 2\n  line 2: not JSON\n  line 7: external_id: required"
        );
    }
}
