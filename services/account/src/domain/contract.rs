//! A contract's fields: validation, field-mask application, and its status on a day.

use chrono::NaiveDate;
use steward_kit::Violations;
use steward_proto::account::v1 as pb;
use steward_proto::google::r#type::Date;

use super::account::{check_text, external_ref};
use super::names::normalize_currency;

/// The fields an update may replace.
pub const UPDATABLE: &[&str] = &["arr", "start_date", "end_date", "external_ref", "description"];

/// A contract's fields, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFields {
    pub arr_minor: i64,
    pub currency_code: String,
    pub start_date: NaiveDate,
    /// The last day of service, inclusive.
    pub end_date: NaiveDate,
    pub external_ref: Option<(String, String)>,
    pub description: String,
}

impl Default for ContractFields {
    fn default() -> Self {
        Self {
            arr_minor: 0,
            currency_code: String::new(),
            start_date: NaiveDate::MIN,
            end_date: NaiveDate::MIN,
            external_ref: None,
            description: String::new(),
        }
    }
}

/// Whether `path` of `contract` holds a non-default value.
pub fn is_set(contract: &pb::Contract, path: &str) -> bool {
    match path {
        "arr" => contract.arr.is_some(),
        "start_date" => contract.start_date.is_some(),
        "end_date" => contract.end_date.is_some(),
        "external_ref" => contract.external_ref.is_some(),
        "description" => !contract.description.is_empty(),
        _ => false,
    }
}

/// A calendar date from the API, or why it is not one.
pub fn date(d: Option<&Date>) -> Result<NaiveDate, &'static str> {
    let d = d.ok_or("is required")?;
    let (month, day) = (u32::try_from(d.month).ok(), u32::try_from(d.day).ok());
    month
        .zip(day)
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
        .filter(|_| (1..=9999).contains(&d.year))
        .ok_or("is not a valid full date (year, month and day all set)")
}

/// The API form of a date.
pub fn to_date(d: NaiveDate) -> Date {
    use chrono::Datelike;
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// Where a contract is on `today`.
pub fn status(start: NaiveDate, end: NaiveDate, today: NaiveDate) -> pb::ContractStatus {
    if today < start {
        pb::ContractStatus::Pending
    } else if today <= end {
        pb::ContractStatus::Active
    } else {
        pb::ContractStatus::Ended
    }
}

impl ContractFields {
    /// Replaces the fields in `paths` with their values in `input`, then checks that the
    /// dates are in order.
    pub fn apply(
        &mut self,
        input: &pb::Contract,
        paths: &[&str],
        prefix: &str,
        v: &mut Violations,
    ) {
        for path in paths {
            let field = format!("{prefix}.{path}");
            match *path {
                "arr" => {
                    let arr = input.arr.clone().unwrap_or_default();
                    if arr.amount_minor < 0 {
                        v.add(format!("{field}.amount_minor"), "must not be negative");
                    } else {
                        self.arr_minor = arr.amount_minor;
                    }
                    match normalize_currency(&arr.currency_code) {
                        Ok(c) => self.currency_code = c,
                        Err(why) => v.add(format!("{field}.currency_code"), why),
                    }
                }
                "start_date" => match date(input.start_date.as_ref()) {
                    Ok(d) => self.start_date = d,
                    Err(why) => v.add(field, why),
                },
                "end_date" => match date(input.end_date.as_ref()) {
                    Ok(d) => self.end_date = d,
                    Err(why) => v.add(field, why),
                },
                "external_ref" => {
                    self.external_ref =
                        input.external_ref.as_ref().and_then(|r| external_ref(r, &field, v))
                }
                "description" => match check_text(&input.description, 0, 2000) {
                    Ok(s) => self.description = s,
                    Err(why) => v.add(field, why),
                },
                _ => v.add(field, "is not updatable"),
            }
        }
        if v.is_empty() && self.end_date < self.start_date {
            v.add(format!("{prefix}.end_date"), "must not be before start_date");
        }
    }

    /// The fields that differ between `self` (before) and `after`.
    pub fn diff(&self, after: &ContractFields) -> Vec<&'static str> {
        let changed = [
            (self.arr_minor, &self.currency_code) != (after.arr_minor, &after.currency_code),
            self.start_date != after.start_date,
            self.end_date != after.end_date,
            self.external_ref != after.external_ref,
            self.description != after.description,
        ];
        UPDATABLE.iter().zip(changed).filter(|(_, c)| *c).map(|(p, _)| *p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid")
    }

    fn contract(amount: i64, currency: &str, start: NaiveDate, end: NaiveDate) -> pb::Contract {
        pb::Contract {
            arr: Some(pb::Money { amount_minor: amount, currency_code: currency.into() }),
            start_date: Some(to_date(start)),
            end_date: Some(to_date(end)),
            ..Default::default()
        }
    }

    fn errors(input: &pb::Contract) -> String {
        let mut v = Violations::default();
        ContractFields::default().apply(input, UPDATABLE, "contract", &mut v);
        v.finish().map_or_else(|e| e.to_string(), |()| String::new())
    }

    #[test]
    fn bad_contracts_name_their_fields() {
        let (a, b) = (d(2026, 1, 1), d(2026, 12, 31));
        assert!(errors(&contract(-1, "USD", a, b)).contains("contract.arr.amount_minor"));
        assert!(errors(&contract(1, "XYZ", a, b)).contains("contract.arr.currency_code"));
        assert!(errors(&contract(1, "usd", b, a)).contains("contract.end_date"));
        assert_eq!(errors(&contract(1, "usd", a, b)), "");
        let mut bad_date = contract(1, "USD", a, b);
        bad_date.start_date = Some(Date { year: 2026, month: 2, day: 30 });
        assert!(errors(&bad_date).contains("contract.start_date"));
    }

    #[test]
    fn status_follows_the_inclusive_dates() {
        let (s, e) = (d(2026, 1, 1), d(2026, 12, 31));
        assert_eq!(status(s, e, d(2025, 12, 31)), pb::ContractStatus::Pending);
        assert_eq!(status(s, e, s), pb::ContractStatus::Active);
        assert_eq!(status(s, e, e), pb::ContractStatus::Active);
        assert_eq!(status(s, e, d(2027, 1, 1)), pb::ContractStatus::Ended);
    }
}
