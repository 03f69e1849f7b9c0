//! Contracts: their row, how they are written (one currency per account), and their list
//! query.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, page};
use steward_proto::account::v1 as pb;

use super::children::{Child, child_name};
use super::{Store, conflict};
use crate::domain::contract::{ContractFields, status, to_date};

#[derive(Debug, sqlx::FromRow)]
pub struct ContractRow {
    id: String,
    account_id: String,
    arr_minor: i64,
    currency_code: String,
    start_date: NaiveDate,
    end_date: NaiveDate,
    external_system: Option<String>,
    external_id: Option<String>,
    description: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

impl Child for ContractRow {
    type Fields = ContractFields;
    type Proto = pb::Contract;
    const TABLE: &'static str = "account.contracts";
    const COLLECTION: &'static str = "contracts";
    const CREATE_METHOD: &'static str = "CreateContract";
    const KINDS: [pb::AccountChangeKind; 3] = [
        pb::AccountChangeKind::ContractCreated,
        pb::AccountChangeKind::ContractUpdated,
        pb::AccountChangeKind::ContractDeleted,
    ];

    fn version(&self) -> i64 {
        self.version
    }

    fn diff(before: &ContractFields, after: &ContractFields) -> Vec<&'static str> {
        before.diff(after)
    }

    fn snapshot(change: &mut pb::AccountChange, resource: pb::Contract) {
        change.contract_snapshot = Some(resource);
    }

    async fn write(
        tx: &mut PgConnection,
        account: &str,
        id: &str,
        fields: &ContractFields,
        insert: bool,
    ) -> Result<(), Error> {
        // All of an account's contracts share one currency, so that its ARR is one amount.
        let other: Option<String> = sqlx::query_scalar(
            "SELECT currency_code FROM account.contracts
             WHERE account_id = $1 AND id <> $2 AND currency_code <> $3 LIMIT 1",
        )
        .bind(account)
        .bind(id)
        .bind(&fields.currency_code)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(other) = other {
            return Err(Error::FailedPrecondition {
                reason: "CURRENCY_MISMATCH",
                message: format!(
                    "the account's other contracts are in {other}; all of an account's contracts \
                     share one currency"
                ),
            });
        }
        let sql = if insert {
            "INSERT INTO account.contracts (account_id, id, arr_minor, currency_code, start_date,
               end_date, external_system, external_id, description)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        } else {
            "UPDATE account.contracts SET arr_minor = $3, currency_code = $4, start_date = $5,
               end_date = $6, external_system = $7, external_id = $8, description = $9,
               update_time = now(), version = version + 1
             WHERE account_id = $1 AND id = $2"
        };
        let (system, external_id) = fields.external_ref.clone().unzip();
        sqlx::query(sql)
            .bind(account)
            .bind(id)
            .bind(fields.arr_minor)
            .bind(&fields.currency_code)
            .bind(fields.start_date)
            .bind(fields.end_date)
            .bind(system)
            .bind(external_id)
            .bind(&fields.description)
            .execute(tx)
            .await
            .map_err(conflict)?;
        Ok(())
    }

    fn fields(&self) -> ContractFields {
        ContractFields {
            arr_minor: self.arr_minor,
            currency_code: self.currency_code.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            external_ref: self.external_system.clone().zip(self.external_id.clone()),
            description: self.description.clone(),
        }
    }

    fn to_proto(&self) -> pb::Contract {
        let today = Utc::now().date_naive();
        pb::Contract {
            name: child_name::<Self>(&self.account_id, &self.id),
            arr: Some(pb::Money {
                amount_minor: self.arr_minor,
                currency_code: self.currency_code.clone(),
            }),
            start_date: Some(to_date(self.start_date)),
            end_date: Some(to_date(self.end_date)),
            status: status(self.start_date, self.end_date, today) as i32,
            external_ref: self
                .external_system
                .clone()
                .zip(self.external_id.clone())
                .map(|(system, id)| pb::ExternalRef { system, id }),
            description: self.description.clone(),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag::of(self.version),
        }
    }
}

impl Store {
    /// `ListContracts`, ordered by start date, then id.
    pub async fn list_contracts(
        &self,
        account: &str,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Contract>, String), Error> {
        let after: Option<(String, String)> = page::decode(account, page_token)?;
        let (after_date, after_id) = after.unzip();
        let mut conn = self.pool.acquire().await?;
        self.require_account(&mut conn, account).await?;
        let rows: Vec<ContractRow> = sqlx::query_as(
            "SELECT * FROM account.contracts
             WHERE account_id = $1 AND ($2::date IS NULL OR (start_date, id) > ($2::date, $3))
             ORDER BY start_date, id LIMIT $4",
        )
        .bind(account)
        .bind(after_date)
        .bind(after_id)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
        let (rows, next) =
            page::finish(rows, limit, account, |r| (r.start_date.to_string(), r.id.clone()));
        Ok((rows.iter().map(Child::to_proto).collect(), next))
    }
}
