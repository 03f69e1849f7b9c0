//! Custom measurements: recording and listing.

use chrono::{TimeDelta, Utc};
use steward_kit::client::retry;
use steward_kit::{Error, Violations, idempotency, page};
use steward_proto::account::v1::GetAccountRequest;
use steward_proto::health::v1 as pb;
use tonic::Code;

use super::Api;
use super::requests::{self, account};
use crate::domain::scorecard::is_key;
use crate::store::MeasurementQuery;

/// Most measurements per call.
const MAX_MEASUREMENTS: usize = 1000;
/// How far ahead of the server's clock an observation may be (clock skew).
const MAX_FUTURE: TimeDelta = TimeDelta::minutes(5);
/// How old an observation may be (the retention).
const MAX_AGE: TimeDelta = TimeDelta::days(400);

impl Api {
    pub(super) async fn record_measurements(
        &self,
        req: pb::RecordMeasurementsRequest,
    ) -> Result<pb::RecordMeasurementsResponse, Error> {
        let request_id = idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        let now = Utc::now();
        check(&req.measurements, now)?;
        self.check_accounts_exist(&req.measurements).await?;
        let recorded = self.store.record_measurements(request_id, &req, now).await?;
        self.scorer.wake();
        Ok(recorded)
    }

    /// Every measured account must exist. The account feed may not have brought a new
    /// account yet, so the ones health scoring has not heard of are asked of the account
    /// service itself.
    async fn check_accounts_exist(&self, measurements: &[pb::Measurement]) -> Result<(), Error> {
        let mut names: Vec<String> = measurements.iter().map(|m| m.account.clone()).collect();
        names.sort();
        names.dedup();
        let mut v = Violations::default();
        for name in self.store.unknown_accounts(&names).await? {
            let request = GetAccountRequest { name: name.clone() };
            let known = retry(|| {
                let mut accounts = self.accounts.clone();
                let request = request.clone();
                async move { accounts.get_account(request).await }
            })
            .await;
            match known {
                Ok(_) => {}
                Err(s) if s.code() == Code::NotFound => {
                    for (i, _) in measurements.iter().enumerate().filter(|(_, m)| m.account == name)
                    {
                        v.add(
                            format!("measurements[{i}].account"),
                            format!("{name} does not exist"),
                        );
                    }
                }
                Err(s) => {
                    return Err(Error::Unavailable {
                        reason: "ACCOUNT_SERVICE_UNAVAILABLE",
                        message: format!(
                            "could not check {name} with the account service: {}",
                            s.message()
                        ),
                    });
                }
            }
        }
        v.finish()
    }

    pub(super) async fn list_measurements(
        &self,
        req: pb::ListMeasurementsRequest,
    ) -> Result<pb::ListMeasurementsResponse, Error> {
        let account = account(&req.account, "account")?;
        let limit = page::size(req.page_size)?;
        if !req.key.is_empty() && !is_key(&req.key) {
            return Err(Error::invalid("key", "must be lowercase snake_case, 1-63 characters"));
        }
        let (start, end) = requests::interval(req.interval.as_ref(), "interval")?;
        if self.store.account(&account).await?.is_none() {
            return Err(Error::NotFound(account));
        }
        let query =
            MeasurementQuery { account, key: (!req.key.is_empty()).then_some(req.key), start, end };
        let (measurements, next_page_token) =
            self.store.list_measurements(&query, limit, &req.page_token).await?;
        Ok(pb::ListMeasurementsResponse { measurements, next_page_token })
    }
}

/// Checks every measurement, naming each bad field.
fn check(measurements: &[pb::Measurement], now: chrono::DateTime<Utc>) -> Result<(), Error> {
    let mut v = Violations::default();
    if measurements.is_empty() || measurements.len() > MAX_MEASUREMENTS {
        v.add("measurements", format!("must hold 1 to {MAX_MEASUREMENTS} measurements"));
    }
    for (i, m) in measurements.iter().enumerate() {
        let at = |field: &str| format!("measurements[{i}].{field}");
        if account(&m.account, &at("account")).is_err() {
            v.add(at("account"), "must be a resource name like `accounts/{}`");
        }
        v.check(is_key(&m.key), at("key"), "must be lowercase snake_case, 1-63 characters");
        v.check(m.value.is_finite(), at("value"), "must be a finite number");
        match m.observe_time.as_ref().map(|t| requests::time(t, &at("observe_time"))) {
            None => v.add(at("observe_time"), "is required"),
            Some(Err(_)) => v.add(at("observe_time"), "must be a valid timestamp"),
            Some(Ok(t)) => {
                v.check(
                    t <= now + MAX_FUTURE,
                    at("observe_time"),
                    "must not be more than 5 minutes in the future",
                );
                v.check(
                    t >= now - MAX_AGE,
                    at("observe_time"),
                    "must not be more than 400 days in the past",
                );
            }
        }
        v.check(m.unit.chars().count() <= 32, at("unit"), "must be at most 32 characters");
        v.check(m.source.chars().count() <= 100, at("source"), "must be at most 100 characters");
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use steward_kit::time::timestamp;

    use super::*;

    fn measurement(account: &str, key: &str, value: f64, age: TimeDelta) -> pb::Measurement {
        pb::Measurement {
            account: account.into(),
            key: key.into(),
            value,
            observe_time: Some(timestamp(Utc::now() - age)),
            ..Default::default()
        }
    }

    fn fields(result: Result<(), Error>) -> Vec<String> {
        match result {
            Err(Error::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_field_is_named_by_its_index() {
        let now = Utc::now();
        let good = measurement("accounts/acme", "active_user_ratio", 0.5, TimeDelta::days(1));
        let batch = vec![
            good.clone(),
            measurement("acme", "Active Users", f64::NAN, TimeDelta::days(1)),
            measurement("accounts/acme", "nps", 10.0, TimeDelta::days(401)),
            pb::Measurement { observe_time: None, unit: "u".repeat(33), ..good.clone() },
            measurement("accounts/acme", "late_payments", 1.0, -TimeDelta::minutes(6)),
        ];
        assert_eq!(
            fields(check(&batch, now)),
            [
                "measurements[1].account",
                "measurements[1].key",
                "measurements[1].value",
                "measurements[2].observe_time",
                "measurements[3].observe_time",
                "measurements[3].unit",
                "measurements[4].observe_time",
            ]
        );
        assert!(check(&[good], now).is_ok());
    }

    #[test]
    fn a_call_holds_one_to_a_thousand_measurements() {
        let now = Utc::now();
        assert_eq!(fields(check(&[], now)), ["measurements"]);
        let m = measurement("accounts/acme", "nps", 9.0, TimeDelta::hours(1));
        assert!(check(&vec![m.clone(); 1000], now).is_ok());
        assert_eq!(fields(check(&vec![m; 1001], now)), ["measurements"]);
    }
}
