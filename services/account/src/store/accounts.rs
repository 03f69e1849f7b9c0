//! Accounts: create, read, list, update, delete, and CRM batch upserts.

use sqlx::PgConnection;
use steward_kit::{Error, etag, page};
use steward_proto::account::v1 as pb;

use super::{
    ACCOUNT_COLUMNS, AccountRow, Store, account_name, account_row, change, conflict, lock_account,
};
use crate::domain::account::AccountFields;

/// What `ListAccounts` asks for, validated.
#[derive(Debug)]
pub struct AccountQuery {
    pub segments: Vec<String>,
    pub stages: Vec<String>,
    pub owner: String,
    pub domain: String,
    /// Labels that must be present with these values.
    pub label_values: serde_json::Map<String, serde_json::Value>,
    /// Labels that must be present with any value.
    pub label_keys: Vec<String>,
    pub order: Order,
}

/// The orders `ListAccounts` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    DisplayName { desc: bool },
    Arr { desc: bool },
    RenewalDate { desc: bool },
}

impl Order {
    /// Parses `order_by`.
    pub fn parse(order_by: &str) -> Result<Order, Error> {
        let mut words = order_by.split_whitespace();
        let field = words.next().unwrap_or("display_name");
        let desc = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(bad_order()),
        };
        if words.next().is_some() {
            return Err(bad_order());
        }
        match field {
            "display_name" => Ok(Order::DisplayName { desc }),
            "arr" => Ok(Order::Arr { desc }),
            "renewal_date" => Ok(Order::RenewalDate { desc }),
            _ => Err(bad_order()),
        }
    }

    /// The sort key as SQL text (missing values sort last either way), its SQL type, and the
    /// direction.
    fn key(self) -> (&'static str, &'static str, bool) {
        match self {
            Order::DisplayName { desc } => ("display_name", "text", desc),
            Order::Arr { desc: false } => {
                ("COALESCE(arr_minor, 9223372036854775807)", "bigint", false)
            }
            Order::Arr { desc: true } => ("COALESCE(arr_minor, -1)", "bigint", true),
            Order::RenewalDate { desc: false } => {
                ("COALESCE(renewal_date, 'infinity'::date)", "date", false)
            }
            Order::RenewalDate { desc: true } => {
                ("COALESCE(renewal_date, '-infinity'::date)", "date", true)
            }
        }
    }
}

fn bad_order() -> Error {
    Error::invalid(
        "order_by",
        "must be `display_name`, `arr` or `renewal_date`, optionally followed by ` desc`",
    )
}

impl Store {
    /// `CreateAccount`.
    pub async fn create_account(
        &self,
        req: &pb::CreateAccountRequest,
        id: String,
        fields: AccountFields,
    ) -> Result<pb::Account, Error> {
        self.create("CreateAccount", &req.request_id, req, async |tx| {
            self.insert(tx, &id, &fields).await
        })
        .await
    }

    /// `GetAccount`.
    pub async fn get_account(&self, id: &str) -> Result<pb::Account, Error> {
        let mut conn = self.pool.acquire().await?;
        Ok(account_row(&mut conn, id).await?.to_proto())
    }

    /// `ListAccounts`: a page and the next page token.
    pub async fn list_accounts(
        &self,
        q: &AccountQuery,
        limit: i64,
        page_token: &str,
    ) -> Result<(Vec<pb::Account>, String), Error> {
        let fingerprint = format!("{q:?}");
        let after: Option<(String, String)> = page::decode(&fingerprint, page_token)?;
        let (key, ty, desc) = q.order.key();
        let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, ({key})::text AS sort_key FROM account.accounts_view
             WHERE (cardinality($1::text[]) = 0 OR segment = ANY($1))
               AND (cardinality($2::text[]) = 0 OR lifecycle_stage = ANY($2))
               AND ($3 = '' OR owner = $3)
               AND ($4 = '' OR EXISTS (SELECT 1 FROM account.account_domains d
                                       WHERE d.account_id = id AND d.domain = $4))
               AND labels @> $5 AND labels ?& $6
               AND ($7::text IS NULL
                    OR {key} {cmp} $7::{ty} OR ({key} = $7::{ty} AND id > $8))
             ORDER BY {key} {dir}, id
             LIMIT $9"
        );
        let (after_key, after_id) = after.unzip();
        let rows: Vec<(AccountRow, String)> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&q.segments)
            .bind(&q.stages)
            .bind(&q.owner)
            .bind(&q.domain)
            .bind(sqlx::types::Json(&q.label_values))
            .bind(&q.label_keys)
            .bind(after_key)
            .bind(after_id)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| {
                use sqlx::{FromRow, Row};
                Ok((AccountRow::from_row(&row)?, row.try_get("sort_key")?))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let (rows, next) =
            page::finish(rows, limit, &fingerprint, |(row, key)| (key.clone(), row.id.clone()));
        Ok((rows.iter().map(|(row, _)| row.to_proto()).collect(), next))
    }

    /// `UpdateAccount`: `update` changes the stored fields; nothing is written when they end
    /// up equal.
    pub async fn update_account(
        &self,
        id: &str,
        given_etag: &str,
        update: impl FnOnce(&mut AccountFields) -> Result<(), Error>,
    ) -> Result<pb::Account, Error> {
        let mut tx = self.pool.begin().await?;
        let version = lock_account(&mut tx, id).await?;
        etag::check(given_etag, version, &account_name(id))?;
        let before = account_row(&mut tx, id).await?;
        let mut after = before.fields();
        update(&mut after)?;
        let (_, account) = self.rewrite(&mut tx, before, &after).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// `DeleteAccount`, with its contacts and contracts.
    pub async fn delete_account(&self, id: &str, given_etag: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let version = lock_account(&mut tx, id).await?;
        etag::check(given_etag, version, &account_name(id))?;
        sqlx::query("DELETE FROM account.accounts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut c = change(pb::AccountChangeKind::AccountDeleted, account_name(id), &[]);
        c.account = account_name(id);
        self.feed.append(&mut tx, &c.account, &c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One item of `BatchUpsertAccounts`, in its own transaction. `update` builds the new
    /// fields from the stored ones (`None` when the key names no account yet).
    pub async fn upsert_account(
        &self,
        key: &(String, String),
        update: impl Fn(Option<&AccountFields>) -> Result<AccountFields, Error>,
    ) -> Result<(pb::UpsertOutcome, pb::Account), Error> {
        // A concurrent upsert may create the key's account between our look-up and insert:
        // the insert then fails on the key, and the second attempt updates instead.
        for attempt in 0..2 {
            let mut tx = self.pool.begin().await?;
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT a.id FROM account.external_refs r JOIN account.accounts a ON a.id = r.account_id
                 WHERE r.system = $1 AND r.external_id = $2 FOR UPDATE OF a",
            )
            .bind(&key.0)
            .bind(&key.1)
            .fetch_optional(&mut *tx)
            .await?;
            let (outcome, account) = match existing {
                Some(id) => {
                    let before = account_row(&mut tx, &id).await?;
                    let after = update(Some(&before.fields()))?;
                    match self.rewrite(&mut tx, before, &after).await? {
                        (true, account) => (pb::UpsertOutcome::Updated, account),
                        (false, account) => (pb::UpsertOutcome::Unchanged, account),
                    }
                }
                None => {
                    let fields = update(None)?;
                    let id = steward_kit::names::new_id();
                    match self.insert(&mut tx, &id, &fields).await {
                        Err(Error::AlreadyExists { reason: "EXTERNAL_REF_TAKEN", .. })
                            if attempt == 0 =>
                        {
                            continue;
                        }
                        created => (pb::UpsertOutcome::Created, created?),
                    }
                }
            };
            tx.commit().await?;
            return Ok((outcome, account));
        }
        Err(Error::Aborted {
            reason: "CONCURRENT_UPSERT",
            message: "the key's account changed concurrently twice: retry the item".into(),
        })
    }
}

impl Store {
    /// Creates account `id` with its feed entry; the account as created.
    async fn insert(
        &self,
        tx: &mut PgConnection,
        id: &str,
        fields: &AccountFields,
    ) -> Result<pb::Account, Error> {
        insert_account(tx, id, fields).await?;
        let changed = AccountFields::default().diff(fields);
        let c = change(pb::AccountChangeKind::AccountCreated, account_name(id), &changed);
        self.append(tx, id, c).await
    }

    /// Writes `after` over the account of `before` (locked by the caller) when they differ,
    /// with its feed entry. Whether anything changed, and the account as it now stands.
    async fn rewrite(
        &self,
        tx: &mut PgConnection,
        before: AccountRow,
        after: &AccountFields,
    ) -> Result<(bool, pb::Account), Error> {
        let changed = before.fields().diff(after);
        if changed.is_empty() {
            return Ok((false, before.to_proto()));
        }
        write_account(tx, &before.id, after).await?;
        let c = change(pb::AccountChangeKind::AccountUpdated, account_name(&before.id), &changed);
        Ok((true, self.append(tx, &before.id, c).await?))
    }
}

async fn insert_account(tx: &mut PgConnection, id: &str, f: &AccountFields) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO account.accounts
           (id, display_name, primary_domain, segment, lifecycle_stage, owner, labels)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&f.display_name)
    .bind(&f.primary_domain)
    .bind(f.segment.as_str_name())
    .bind(f.lifecycle_stage.as_str_name())
    .bind(&f.owner)
    .bind(sqlx::types::Json(&f.labels))
    .execute(&mut *tx)
    .await
    .map_err(conflict)?;
    write_children(tx, id, f).await
}

async fn write_account(tx: &mut PgConnection, id: &str, f: &AccountFields) -> Result<(), Error> {
    sqlx::query(
        "UPDATE account.accounts SET display_name = $2, primary_domain = $3, segment = $4,
           lifecycle_stage = $5, owner = $6, labels = $7, update_time = now(),
           version = version + 1
         WHERE id = $1",
    )
    .bind(id)
    .bind(&f.display_name)
    .bind(&f.primary_domain)
    .bind(f.segment.as_str_name())
    .bind(f.lifecycle_stage.as_str_name())
    .bind(&f.owner)
    .bind(sqlx::types::Json(&f.labels))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM account.account_domains WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM account.external_refs WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    write_children(tx, id, f).await
}

/// Domains and external refs, one statement each.
async fn write_children(tx: &mut PgConnection, id: &str, f: &AccountFields) -> Result<(), Error> {
    let domains: Vec<&str> = f.all_domains().collect();
    sqlx::query(
        "INSERT INTO account.account_domains (domain, account_id) SELECT d, $2 FROM unnest($1::text[]) d",
    )
    .bind(&domains)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let (systems, ids): (Vec<&str>, Vec<&str>) =
        f.external_refs.iter().map(|(s, i)| (s.as_str(), i.as_str())).unzip();
    sqlx::query(
        "INSERT INTO account.external_refs (system, external_id, account_id)
         SELECT s, i, $3 FROM unnest($1::text[], $2::text[]) AS r(s, i)",
    )
    .bind(&systems)
    .bind(&ids)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(conflict)?;
    Ok(())
}
