//! Revenue KPIs over a period, from contracts alone.
//!
//! An account's ARR on day `d` is the sum of the ARR of its contracts with
//! `start_date <= d <= end_date` (end dates are the last day of service). For a period
//! `[start, end)`, each account's ARR on `start` (s) and on `end` (e) classify its movement:
//! new (s = 0 < e), expansion (0 < s < e), contraction (0 < e < s), churn (s > 0 = e).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use steward_proto::account::v1 as pb;

use super::contract::to_date;

/// One contract, as revenue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The account it belongs to.
    pub account: String,
    /// Annual recurring revenue in minor units.
    pub arr_minor: i64,
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service.
    pub end: NaiveDate,
}

/// The movements of ARR over one period, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movements {
    /// ARR on the first day of the period.
    pub starting: i64,
    /// ARR of accounts that had none at the start.
    pub new: i64,
    /// Growth of accounts that had ARR at the start and more at the end.
    pub expansion: i64,
    /// Shrinkage of accounts that still have ARR at the end.
    pub contraction: i64,
    /// ARR of accounts that had some at the start and none at the end.
    pub churned: i64,
    /// ARR on the day after the period.
    pub ending: i64,
    /// Accounts with ARR at the start.
    pub accounts_at_start: u64,
    /// Of those, accounts with none at the end.
    pub accounts_churned: u64,
    /// Accounts with ARR at the end but none at the start.
    pub accounts_new: u64,
    /// Accounts with ARR at the end.
    pub accounts_at_end: u64,
}

impl Movements {
    /// Net revenue retention: (starting + expansion − contraction − churned) / starting.
    pub fn nrr(&self) -> Option<f64> {
        self.ratio(self.starting + self.expansion - self.contraction - self.churned)
    }

    /// Gross revenue retention: (starting − contraction − churned) / starting.
    pub fn grr(&self) -> Option<f64> {
        self.ratio(self.starting - self.contraction - self.churned)
    }

    /// Revenue churn: (contraction + churned) / starting.
    pub fn revenue_churn(&self) -> Option<f64> {
        self.ratio(self.contraction + self.churned)
    }

    /// Logo churn: accounts churned / accounts at the start.
    pub fn logo_churn(&self) -> Option<f64> {
        (self.accounts_at_start > 0)
            .then(|| self.accounts_churned as f64 / self.accounts_at_start as f64)
    }

    fn ratio(&self, numerator: i64) -> Option<f64> {
        (self.starting > 0).then(|| numerator as f64 / self.starting as f64)
    }
}

/// Each account's ARR on `day`.
fn arr_on(contracts: &[Contract], day: NaiveDate) -> BTreeMap<&str, i64> {
    let mut arr = BTreeMap::new();
    for c in contracts.iter().filter(|c| c.start <= day && day <= c.end) {
        *arr.entry(c.account.as_str()).or_insert(0) += c.arr_minor;
    }
    arr
}

/// The movements over `[start, end)`.
pub fn movements(contracts: &[Contract], start: NaiveDate, end: NaiveDate) -> Movements {
    let before = arr_on(contracts, start);
    let after = arr_on(contracts, end);
    let mut m = Movements::default();
    let accounts: std::collections::BTreeSet<&str> =
        before.keys().chain(after.keys()).copied().collect();
    for account in accounts {
        let s = before.get(account).copied().unwrap_or(0);
        let e = after.get(account).copied().unwrap_or(0);
        m.starting += s;
        m.ending += e;
        match (s, e) {
            (0, e) => {
                m.new += e;
                m.accounts_new += 1;
            }
            (s, 0) => {
                m.churned += s;
                m.accounts_churned += 1;
            }
            (s, e) if e > s => m.expansion += e - s,
            (s, e) => m.contraction += s - e,
        }
        m.accounts_at_start += u64::from(s > 0);
        m.accounts_at_end += u64::from(e > 0);
    }
    m
}

/// What a revenue report covers.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    /// The first day of the period.
    pub start: NaiveDate,
    /// The first day after it.
    pub end: NaiveDate,
    /// Also report each segment.
    pub by_segment: bool,
    /// Also report each calendar month.
    pub by_month: bool,
}

/// The `GetRevenueMetrics` answer for `contracts` (each with its account's segment).
pub fn report(
    currency_code: &str,
    contracts: &[(pb::Segment, Contract)],
    excluded: i32,
    p: &Periods,
) -> pb::GetRevenueMetricsResponse {
    let all: Vec<Contract> = contracts.iter().map(|(_, c)| c.clone()).collect();
    let mut by_segment = Vec::new();
    if p.by_segment {
        let mut segments: Vec<pb::Segment> = contracts.iter().map(|(s, _)| *s).collect();
        segments.sort();
        segments.dedup();
        for segment in segments {
            let of_segment: Vec<Contract> =
                contracts.iter().filter(|(s, _)| *s == segment).map(|(_, c)| c.clone()).collect();
            let m = movements(&of_segment, p.start, p.end);
            if m != Movements::default() {
                by_segment.push(pb::SegmentRevenueMetrics {
                    segment: segment as i32,
                    metrics: Some(m.to_proto()),
                });
            }
        }
    }
    let by_month = if p.by_month {
        months(p.start, p.end)
            .into_iter()
            .map(|(start, end)| pb::MonthRevenueMetrics {
                start_date: Some(to_date(start)),
                end_date: Some(to_date(end)),
                metrics: Some(movements(&all, start, end).to_proto()),
            })
            .collect()
    } else {
        Vec::new()
    };
    pb::GetRevenueMetricsResponse {
        currency_code: currency_code.to_owned(),
        total: Some(movements(&all, p.start, p.end).to_proto()),
        by_segment,
        by_month,
        excluded_contract_count: excluded,
    }
}

impl Movements {
    fn to_proto(self) -> pb::RevenueMetrics {
        let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        pb::RevenueMetrics {
            starting_arr_minor: self.starting,
            new_arr_minor: self.new,
            expansion_arr_minor: self.expansion,
            contraction_arr_minor: self.contraction,
            churned_arr_minor: self.churned,
            ending_arr_minor: self.ending,
            nrr: self.nrr(),
            grr: self.grr(),
            revenue_churn: self.revenue_churn(),
            logo_churn: self.logo_churn(),
            starting_accounts: count(self.accounts_at_start),
            new_accounts: count(self.accounts_new),
            churned_accounts: count(self.accounts_churned),
            ending_accounts: count(self.accounts_at_end),
        }
    }
}

/// The calendar months overlapping `[start, end)`, clipped to it.
pub fn months(start: NaiveDate, end: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let next_month = if from.month() == 12 {
            NaiveDate::from_ymd_opt(from.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(from.year(), from.month() + 1, 1)
        };
        let to = next_month.map_or(end, |n| n.min(end));
        out.push((from, to));
        from = to;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn c(account: &str, arr: i64, start: NaiveDate, end: NaiveDate) -> Contract {
        Contract { account: account.into(), arr_minor: arr, start, end }
    }

    /// Q1 2026, worked by hand:
    /// - a: 100 all year → flat;          b: 200 → renewed at 300 on Feb 1 → expansion 100
    /// - c: 400 → renewed at 250 on Mar 1 → contraction 150;   d: 50, ends Jan 31 → churned 50
    /// - e: new on Feb 15 at 80 → new 80
    ///
    /// starting = 100+200+400+50 = 750; ending = 100+300+250+80 = 730;
    /// NRR = (750 + 100 − 150 − 50) / 750 = 650/750; GRR = (750 − 150 − 50) / 750 = 550/750
    #[test]
    fn a_quarter_worked_by_hand() {
        let contracts = [
            c("a", 100, d(2026, 1, 1), d(2026, 12, 31)),
            c("b", 200, d(2025, 2, 1), d(2026, 1, 31)),
            c("b", 300, d(2026, 2, 1), d(2027, 1, 31)),
            c("c", 400, d(2025, 3, 1), d(2026, 2, 28)),
            c("c", 250, d(2026, 3, 1), d(2027, 2, 28)),
            c("d", 50, d(2025, 2, 1), d(2026, 1, 31)),
            c("e", 80, d(2026, 2, 15), d(2027, 2, 14)),
        ];
        let m = movements(&contracts, d(2026, 1, 1), d(2026, 4, 1));
        assert_eq!(
            m,
            Movements {
                starting: 750,
                new: 80,
                expansion: 100,
                contraction: 150,
                churned: 50,
                ending: 730,
                accounts_at_start: 4,
                accounts_churned: 1,
                accounts_new: 1,
                accounts_at_end: 4,
            }
        );
        assert_eq!(m.starting + m.new + m.expansion - m.contraction - m.churned, m.ending);
        assert!((m.nrr().expect("nrr") - 0.866_666).abs() < 1e-5);
        assert!((m.grr().expect("grr") - 0.733_333).abs() < 1e-5);
        assert!((m.logo_churn().expect("logo") - 0.25).abs() < 1e-12);
        assert!((m.revenue_churn().expect("rev") - 200.0 / 750.0).abs() < 1e-12);
    }

    #[test]
    fn ratios_are_undefined_without_starting_arr() {
        let m =
            movements(&[c("a", 10, d(2026, 2, 1), d(2026, 12, 31))], d(2026, 1, 1), d(2026, 3, 1));
        assert_eq!((m.new, m.starting), (10, 0));
        assert_eq!((m.nrr(), m.grr(), m.logo_churn()), (None, None, None));
    }

    #[test]
    fn months_clip_to_the_period() {
        let ms = months(d(2026, 1, 15), d(2026, 3, 10));
        assert_eq!(
            ms,
            [
                (d(2026, 1, 15), d(2026, 2, 1)),
                (d(2026, 2, 1), d(2026, 3, 1)),
                (d(2026, 3, 1), d(2026, 3, 10))
            ]
        );
        assert_eq!(months(d(2026, 12, 1), d(2027, 1, 1)), [(d(2026, 12, 1), d(2027, 1, 1))]);
    }
}
