//! Contacts and contracts. Every write locks the parent account first, so that writes to one
//! account are serialised (and the currency rule holds under concurrency).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, page};
use steward_proto::account::v1 as pb;

use super::{Store, account_name, change, conflict, lock_account, not_found};
use crate::domain::contact::ContactFields;
use crate::domain::contract::{ContractFields, status, to_date};

#[derive(Debug, sqlx::FromRow)]
struct ContactRow {
    id: String,
    account_id: String,
    email: String,
    display_name: String,
    role: String,
    title: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

impl ContactRow {
    fn fields(&self) -> ContactFields {
        ContactFields {
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: pb::ContactRole::from_str_name(&self.role).unwrap_or_default(),
            title: self.title.clone(),
        }
    }

    fn to_proto(&self) -> pb::Contact {
        pb::Contact {
            name: contact_name(&self.account_id, &self.id),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.fields().role as i32,
            title: self.title.clone(),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag::of(self.version),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ContractRow {
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

impl ContractRow {
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
            name: contract_name(&self.account_id, &self.id),
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

fn contact_name(account: &str, id: &str) -> String {
    format!("accounts/{account}/contacts/{id}")
}

fn contract_name(account: &str, id: &str) -> String {
    format!("accounts/{account}/contracts/{id}")
}

async fn contact_row(
    conn: &mut PgConnection,
    account: &str,
    id: &str,
    lock: bool,
) -> Result<ContactRow, Error> {
    let sql = if lock {
        "SELECT * FROM account.contacts WHERE account_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT * FROM account.contacts WHERE account_id = $1 AND id = $2"
    };
    sqlx::query_as(sql)
        .bind(account)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(contact_name(account, id)))
}

async fn contract_row(
    conn: &mut PgConnection,
    account: &str,
    id: &str,
    lock: bool,
) -> Result<ContractRow, Error> {
    let sql = if lock {
        "SELECT * FROM account.contracts WHERE account_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT * FROM account.contracts WHERE account_id = $1 AND id = $2"
    };
    sqlx::query_as(sql)
        .bind(account)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| not_found(contract_name(account, id)))
}

async fn write_contact(
    tx: &mut PgConnection,
    account: &str,
    id: &str,
    f: &ContactFields,
    insert: bool,
) -> Result<(), Error> {
    let sql = if insert {
        "INSERT INTO account.contacts (account_id, id, email, display_name, role, title)
         VALUES ($1, $2, $3, $4, $5, $6)"
    } else {
        "UPDATE account.contacts SET email = $3, display_name = $4, role = $5, title = $6,
           update_time = now(), version = version + 1
         WHERE account_id = $1 AND id = $2"
    };
    sqlx::query(sql)
        .bind(account)
        .bind(id)
        .bind(&f.email)
        .bind(&f.display_name)
        .bind(f.role.as_str_name())
        .bind(&f.title)
        .execute(tx)
        .await
        .map_err(conflict)?;
    Ok(())
}

async fn write_contract(
    tx: &mut PgConnection,
    account: &str,
    id: &str,
    f: &ContractFields,
    insert: bool,
) -> Result<(), Error> {
    // All of an account's contracts share one currency, so that its ARR is one amount.
    let other: Option<String> = sqlx::query_scalar(
        "SELECT currency_code FROM account.contracts
         WHERE account_id = $1 AND id <> $2 AND currency_code <> $3 LIMIT 1",
    )
    .bind(account)
    .bind(id)
    .bind(&f.currency_code)
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
    let (system, external_id) = f.external_ref.clone().unzip();
    sqlx::query(sql)
        .bind(account)
        .bind(id)
        .bind(f.arr_minor)
        .bind(&f.currency_code)
        .bind(f.start_date)
        .bind(f.end_date)
        .bind(system)
        .bind(external_id)
        .bind(&f.description)
        .execute(tx)
        .await
        .map_err(conflict)?;
    Ok(())
}

impl Store {
    /// `CreateContact`.
    pub async fn create_contact(
        &self,
        req: &pb::CreateContactRequest,
        account: &str,
        id: String,
        fields: ContactFields,
    ) -> Result<pb::Contact, Error> {
        self.create("CreateContact", &req.request_id, req, async |tx| {
            lock_account(tx, account).await?;
            write_contact(tx, account, &id, &fields, true).await?;
            let contact = contact_row(tx, account, &id, false).await?.to_proto();
            let changed = ContactFields::default().diff(&fields);
            let mut c =
                change(pb::AccountChangeKind::ContactCreated, contact.name.clone(), &changed);
            c.contact_snapshot = Some(contact.clone());
            self.append(tx, account, c).await?;
            Ok(contact)
        })
        .await
    }

    /// `GetContact`.
    pub async fn get_contact(&self, account: &str, id: &str) -> Result<pb::Contact, Error> {
        let mut conn = self.pool.acquire().await?;
        Ok(contact_row(&mut conn, account, id, false).await?.to_proto())
    }

    /// `ListContacts`, ordered by email.
    pub async fn list_contacts(
        &self,
        account: &str,
        roles: &[String],
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Contact>, String), Error> {
        let query = format!("{account} {roles:?}");
        let after: Option<String> = page::decode(&query, page_token)?;
        let mut conn = self.pool.acquire().await?;
        self.require_account(&mut conn, account).await?;
        let rows: Vec<ContactRow> = sqlx::query_as(
            "SELECT * FROM account.contacts
             WHERE account_id = $1 AND (cardinality($2::text[]) = 0 OR role = ANY($2))
               AND ($3::text IS NULL OR email > $3)
             ORDER BY email LIMIT $4",
        )
        .bind(account)
        .bind(roles)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
        let (rows, next) = page::finish(rows, limit, &query, |r| r.email.clone());
        Ok((rows.iter().map(ContactRow::to_proto).collect(), next))
    }

    /// `UpdateContact`.
    pub async fn update_contact(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
        update: impl FnOnce(&mut ContactFields) -> Result<(), Error>,
    ) -> Result<pb::Contact, Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let row = contact_row(&mut tx, account, id, true).await?;
        etag::check(given_etag, row.version, &contact_name(account, id))?;
        let before = row.fields();
        let mut after = before.clone();
        update(&mut after)?;
        let changed = before.diff(&after);
        if changed.is_empty() {
            return Ok(row.to_proto());
        }
        write_contact(&mut tx, account, id, &after, false).await?;
        let contact = contact_row(&mut tx, account, id, false).await?.to_proto();
        let mut c = change(pb::AccountChangeKind::ContactUpdated, contact.name.clone(), &changed);
        c.contact_snapshot = Some(contact.clone());
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// `DeleteContact`.
    pub async fn delete_contact(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let row = contact_row(&mut tx, account, id, true).await?;
        etag::check(given_etag, row.version, &contact_name(account, id))?;
        sqlx::query("DELETE FROM account.contacts WHERE account_id = $1 AND id = $2")
            .bind(account)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let contact = row.to_proto();
        let mut c = change(pb::AccountChangeKind::ContactDeleted, contact.name.clone(), &[]);
        c.contact_snapshot = Some(contact);
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `CreateContract`.
    pub async fn create_contract(
        &self,
        req: &pb::CreateContractRequest,
        account: &str,
        id: String,
        fields: ContractFields,
    ) -> Result<pb::Contract, Error> {
        self.create("CreateContract", &req.request_id, req, async |tx| {
            lock_account(tx, account).await?;
            write_contract(tx, account, &id, &fields, true).await?;
            let contract = contract_row(tx, account, &id, false).await?.to_proto();
            let changed = ContractFields::default().diff(&fields);
            let mut c =
                change(pb::AccountChangeKind::ContractCreated, contract.name.clone(), &changed);
            c.contract_snapshot = Some(contract.clone());
            self.append(tx, account, c).await?;
            Ok(contract)
        })
        .await
    }

    /// `GetContract`.
    pub async fn get_contract(&self, account: &str, id: &str) -> Result<pb::Contract, Error> {
        let mut conn = self.pool.acquire().await?;
        Ok(contract_row(&mut conn, account, id, false).await?.to_proto())
    }

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
        Ok((rows.iter().map(ContractRow::to_proto).collect(), next))
    }

    /// `UpdateContract`.
    pub async fn update_contract(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
        update: impl FnOnce(&mut ContractFields) -> Result<(), Error>,
    ) -> Result<pb::Contract, Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let row = contract_row(&mut tx, account, id, true).await?;
        etag::check(given_etag, row.version, &contract_name(account, id))?;
        let before = row.fields();
        let mut after = before.clone();
        update(&mut after)?;
        let changed = before.diff(&after);
        if changed.is_empty() {
            return Ok(row.to_proto());
        }
        write_contract(&mut tx, account, id, &after, false).await?;
        let contract = contract_row(&mut tx, account, id, false).await?.to_proto();
        let mut c = change(pb::AccountChangeKind::ContractUpdated, contract.name.clone(), &changed);
        c.contract_snapshot = Some(contract.clone());
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(contract)
    }

    /// `DeleteContract`.
    pub async fn delete_contract(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let row = contract_row(&mut tx, account, id, true).await?;
        etag::check(given_etag, row.version, &contract_name(account, id))?;
        sqlx::query("DELETE FROM account.contracts WHERE account_id = $1 AND id = $2")
            .bind(account)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let contract = row.to_proto();
        let mut c = change(pb::AccountChangeKind::ContractDeleted, contract.name.clone(), &[]);
        c.contract_snapshot = Some(contract);
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `NOT_FOUND` unless account `id` exists.
    async fn require_account(&self, conn: &mut PgConnection, id: &str) -> Result<(), Error> {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM account.accounts WHERE id = $1)")
                .bind(id)
                .fetch_one(conn)
                .await?;
        if exists { Ok(()) } else { Err(not_found(account_name(id))) }
    }
}
