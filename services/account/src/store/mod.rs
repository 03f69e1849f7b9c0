//! The account schema: every query the service runs, and the change feed entries written in
//! the same transactions.

mod accounts;
mod children;
mod contacts;
mod contracts;
mod reads;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use steward_kit::feed::Feed;
use steward_kit::idempotency::{self, Claim};
use steward_kit::time::timestamp;
use steward_kit::{Error, etag};
use steward_proto::account::v1 as pb;

use crate::domain::account::AccountFields;
use crate::domain::contract::to_date;

pub use accounts::{AccountQuery, Order};
pub use children::Child;
pub use contacts::ContactRow;
pub use contracts::ContractRow;
pub use reads::{RevenueContracts, RevenueQuery};

/// The service's schema.
pub const SCHEMA: &str = "account";

/// The account service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    feed: Arc<Feed>,
}

impl Store {
    /// Storage on `pool`, appending changes to `feed`.
    pub fn new(pool: PgPool, feed: Arc<Feed>) -> Self {
        Self { pool, feed }
    }

    /// The account change feed.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// Runs `work` in a transaction under the AIP-155 request id of `request`: a retry gets
    /// the stored response and nothing runs twice.
    async fn create<R, W>(
        &self,
        method: &str,
        request_id: &str,
        request: &impl prost::Message,
        work: W,
    ) -> Result<R, Error>
    where
        R: prost::Message + Default,
        W: AsyncFnOnce(&mut PgConnection) -> Result<R, Error>,
    {
        let request_id = idempotency::parse(request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        let mut tx = self.pool.begin().await?;
        if let Claim::Replay(response) =
            idempotency::begin::<R>(&mut tx, SCHEMA, method, request_id, request).await?
        {
            return Ok(response);
        }
        let response = work(&mut tx).await?;
        idempotency::finish(&mut tx, SCHEMA, request_id, &response).await?;
        tx.commit().await?;
        Ok(response)
    }

    /// Appends a change about account `account_id` inside `tx`, with the account's state
    /// after it, and returns that state (the caller's response, read once).
    async fn append(
        &self,
        tx: &mut PgConnection,
        account_id: &str,
        mut change: pb::AccountChange,
    ) -> Result<pb::Account, Error> {
        let account = account_row(tx, account_id).await?.to_proto();
        change.account = account.name.clone();
        change.account_snapshot = Some(account.clone());
        self.feed.append(tx, &change.account, &change).await?;
        Ok(account)
    }
}

/// `accounts/{id}`.
pub fn account_name(id: &str) -> String {
    format!("accounts/{id}")
}

/// A unique violation turned into `ALREADY_EXISTS` naming what clashed; other errors as is.
fn conflict(err: sqlx::Error) -> Error {
    let (reason, message) = match steward_kit::error::unique_violation(&err) {
        Some("accounts_pkey") => ("ACCOUNT_EXISTS", "an account with this id exists already"),
        Some("external_refs_pkey") => {
            ("EXTERNAL_REF_TAKEN", "an external ref names another account already")
        }
        Some("contacts_pkey") => ("CONTACT_EXISTS", "a contact with this id exists already"),
        Some("contacts_email_key") => {
            ("CONTACT_EMAIL_TAKEN", "a contact with this email address exists already")
        }
        Some("contracts_pkey") => ("CONTRACT_EXISTS", "a contract with this id exists already"),
        _ => return err.into(),
    };
    Error::AlreadyExists { reason, message: message.into() }
}

fn not_found(name: String) -> Error {
    Error::NotFound(name)
}

/// A row of `accounts_view`.
#[derive(Debug, sqlx::FromRow)]
struct AccountRow {
    id: String,
    display_name: String,
    primary_domain: Option<String>,
    segment: String,
    lifecycle_stage: String,
    owner: String,
    labels: sqlx::types::Json<BTreeMap<String, String>>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
    domains: Vec<String>,
    ref_systems: Vec<String>,
    ref_ids: Vec<String>,
    arr_minor: Option<i64>,
    currency_code: Option<String>,
    renewal_date: Option<NaiveDate>,
}

const ACCOUNT_COLUMNS: &str = "id, display_name, primary_domain, segment, lifecycle_stage, \
    owner, labels, create_time, update_time, version, domains, ref_systems, ref_ids, \
    arr_minor, currency_code, renewal_date";

impl AccountRow {
    fn fields(&self) -> AccountFields {
        AccountFields {
            display_name: self.display_name.clone(),
            primary_domain: self.primary_domain.clone(),
            domains: self.domains.clone(),
            external_refs: self
                .ref_systems
                .iter()
                .cloned()
                .zip(self.ref_ids.iter().cloned())
                .collect(),
            segment: pb::Segment::from_str_name(&self.segment).unwrap_or_default(),
            lifecycle_stage: pb::LifecycleStage::from_str_name(&self.lifecycle_stage)
                .unwrap_or_default(),
            owner: self.owner.clone(),
            labels: self.labels.0.clone(),
        }
    }

    fn to_proto(&self) -> pb::Account {
        let f = self.fields();
        pb::Account {
            name: account_name(&self.id),
            display_name: f.display_name,
            primary_domain: f.primary_domain.unwrap_or_default(),
            domains: f.domains,
            external_refs: f
                .external_refs
                .into_iter()
                .map(|(system, id)| pb::ExternalRef { system, id })
                .collect(),
            segment: f.segment as i32,
            lifecycle_stage: f.lifecycle_stage as i32,
            owner: f.owner,
            labels: f.labels.into_iter().collect(),
            arr: self
                .arr_minor
                .zip(self.currency_code.clone())
                .map(|(amount_minor, currency_code)| pb::Money { amount_minor, currency_code }),
            renewal_date: self.renewal_date.map(to_date),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag::of(self.version),
        }
    }
}

/// The account `id` as the API shows it; `NOT_FOUND` when it does not exist.
async fn account_row(conn: &mut PgConnection, id: &str) -> Result<AccountRow, Error> {
    sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account.accounts_view WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| not_found(account_name(id)))
}

/// Locks account `id` for the rest of the transaction (writes to an account and its
/// contacts and contracts are serialised by this lock) and returns its version.
async fn lock_account(conn: &mut PgConnection, id: &str) -> Result<i64, Error> {
    sqlx::query_scalar("SELECT version FROM account.accounts WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(account_name(id)))
}

/// A feed entry of `kind` about `resource`.
fn change(kind: pb::AccountChangeKind, resource: String, changed: &[&str]) -> pb::AccountChange {
    pb::AccountChange {
        kind: kind as i32,
        resource,
        changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        ..Default::default()
    }
}
