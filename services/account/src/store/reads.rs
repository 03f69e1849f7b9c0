//! Queries across accounts: resolution and revenue.

use chrono::NaiveDate;
use steward_kit::Error;
use steward_proto::account::v1 as pb;

use super::{Store, account_name};
use crate::domain::names::{email_domain, is_free_mail};
use crate::domain::revenue::Contract;

/// What `GetRevenueMetrics` asks for, validated.
#[derive(Debug)]
pub struct RevenueQuery {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Empty: the one currency in use.
    pub currency_code: String,
    pub segments: Vec<String>,
}

/// Contracts in service during a period, in the currency asked for.
#[derive(Debug)]
pub struct RevenueContracts {
    pub currency_code: String,
    /// Each with its account's segment.
    pub contracts: Vec<(pb::Segment, Contract)>,
    pub excluded: i32,
}

impl Store {
    /// `ResolveAccount` by external ref.
    pub async fn resolve_ref(
        &self,
        system: &str,
        id: &str,
    ) -> Result<pb::ResolveAccountResponse, Error> {
        let account: Option<String> = sqlx::query_scalar(
            "SELECT account_id FROM account.external_refs WHERE system = $1 AND external_id = $2",
        )
        .bind(system)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match account {
            Some(a) => resolved(&a, pb::MatchKind::ExternalRef),
            None => unresolved(pb::Resolution::NotFound),
        })
    }

    /// `ResolveAccount` by a normalised email address: its contact, else its domain.
    pub async fn resolve_email(&self, email: &str) -> Result<pb::ResolveAccountResponse, Error> {
        let contact: Option<(String, String)> =
            sqlx::query_as("SELECT account_id, id FROM account.contacts WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        if let Some((account, id)) = contact {
            return Ok(pb::ResolveAccountResponse {
                contact: format!("accounts/{account}/contacts/{id}"),
                ..resolved(&account, pb::MatchKind::ContactEmail)
            });
        }
        self.resolve_domain(email_domain(email), pb::MatchKind::EmailDomain).await
    }

    /// `ResolveAccount` by a normalised domain; free-mail domains never resolve.
    pub async fn resolve_domain(
        &self,
        domain: &str,
        kind: pb::MatchKind,
    ) -> Result<pb::ResolveAccountResponse, Error> {
        if is_free_mail(domain) {
            return Ok(unresolved(pb::Resolution::FreeMail));
        }
        let accounts: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM account.account_domains WHERE domain = $1 ORDER BY account_id",
        )
        .bind(domain)
        .fetch_all(&self.pool)
        .await?;
        Ok(match accounts.as_slice() {
            [] => unresolved(pb::Resolution::NotFound),
            [one] => resolved(one, kind),
            many => pb::ResolveAccountResponse {
                candidates: many.iter().map(|a| account_name(a)).collect(),
                ..unresolved(pb::Resolution::Ambiguous)
            },
        })
    }

    /// The contracts `GetRevenueMetrics` counts: in service on some day of
    /// `[start, end]` (ARR on `end` is the ending ARR).
    pub async fn revenue_contracts(&self, q: &RevenueQuery) -> Result<RevenueContracts, Error> {
        let rows: Vec<(String, String, i64, String, NaiveDate, NaiveDate)> = sqlx::query_as(
            "SELECT c.account_id, a.segment, c.arr_minor, c.currency_code, c.start_date, c.end_date
             FROM account.contracts c JOIN account.accounts a ON a.id = c.account_id
             WHERE c.start_date <= $2 AND c.end_date >= $1
               AND (cardinality($3::text[]) = 0 OR a.segment = ANY($3))",
        )
        .bind(q.start)
        .bind(q.end)
        .bind(&q.segments)
        .fetch_all(&self.pool)
        .await?;
        let currency_code = if q.currency_code.is_empty() {
            let mut currencies: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
            currencies.sort_unstable();
            currencies.dedup();
            if currencies.len() > 1 {
                return Err(Error::FailedPrecondition {
                    reason: "MIXED_CURRENCIES",
                    message: format!(
                        "contracts in {} are in service during the period: set currency_code",
                        currencies.join(", ")
                    ),
                });
            }
            currencies.first().map(|c| (*c).to_owned()).unwrap_or_default()
        } else {
            q.currency_code.clone()
        };
        let mut excluded = 0;
        let mut contracts = Vec::with_capacity(rows.len());
        for (account, segment, arr_minor, currency, start, end) in rows {
            if currency == currency_code {
                let segment = pb::Segment::from_str_name(&segment).unwrap_or_default();
                contracts.push((segment, Contract { account, arr_minor, start, end }));
            } else {
                excluded += 1;
            }
        }
        Ok(RevenueContracts { currency_code, contracts, excluded })
    }
}

fn resolved(account: &str, kind: pb::MatchKind) -> pb::ResolveAccountResponse {
    pb::ResolveAccountResponse {
        resolution: pb::Resolution::Resolved as i32,
        account: account_name(account),
        r#match: kind as i32,
        ..Default::default()
    }
}

fn unresolved(resolution: pb::Resolution) -> pb::ResolveAccountResponse {
    pb::ResolveAccountResponse { resolution: resolution as i32, ..Default::default() }
}
