//! What contacts and contracts share: resources under an account, read, created, updated
//! and deleted the same way. Every write locks the parent account first, so that writes to
//! one account are serialised (the currency rule holds under concurrency, and feed
//! snapshots follow commit order).

use std::future::Future;

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection};
use steward_kit::{Error, etag};
use steward_proto::account::v1 as pb;

use super::{Store, account_name, change, lock_account, not_found};

/// A kind of resource under an account, as its table row.
pub trait Child: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin + 'static {
    /// Its validated fields.
    type Fields: Clone + Default + Send + Sync;
    /// Its API message.
    type Proto: prost::Message + Default + Clone;
    /// Its table, schema-qualified.
    const TABLE: &'static str;
    /// Its collection in resource names, e.g. `contacts`.
    const COLLECTION: &'static str;
    /// The create method, for request-id bookkeeping.
    const CREATE_METHOD: &'static str;
    /// Its feed kinds: created, updated, deleted.
    const KINDS: [pb::AccountChangeKind; 3];

    /// The row's version (the etag's source).
    fn version(&self) -> i64;
    /// The row's fields.
    fn fields(&self) -> Self::Fields;
    /// The row as the API shows it.
    fn to_proto(&self) -> Self::Proto;
    /// The fields that differ, in `update_mask` spelling.
    fn diff(before: &Self::Fields, after: &Self::Fields) -> Vec<&'static str>;
    /// Puts the resource into a feed entry.
    fn snapshot(change: &mut pb::AccountChange, resource: Self::Proto);
    /// Inserts (or, with `insert` false, overwrites) the row.
    fn write(
        tx: &mut PgConnection,
        account: &str,
        id: &str,
        fields: &Self::Fields,
        insert: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// `accounts/{account}/{collection}/{id}`.
pub(super) fn child_name<C: Child>(account: &str, id: &str) -> String {
    format!("accounts/{account}/{}/{id}", C::COLLECTION)
}

async fn row<C: Child>(
    conn: &mut PgConnection,
    account: &str,
    id: &str,
    lock: bool,
) -> Result<C, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT * FROM {} WHERE account_id = $1 AND id = $2{lock}",
        C::TABLE
    )))
    .bind(account)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| not_found(child_name::<C>(account, id)))
}

impl Store {
    /// `Create…`: the resource as created.
    pub async fn create_child<C: Child>(
        &self,
        req: &impl prost::Message,
        request_id: &str,
        account: &str,
        id: String,
        fields: C::Fields,
    ) -> Result<C::Proto, Error> {
        self.create(C::CREATE_METHOD, request_id, req, async |tx| {
            lock_account(tx, account).await?;
            C::write(tx, account, &id, &fields, true).await?;
            let created = row::<C>(tx, account, &id, false).await?.to_proto();
            let changed = C::diff(&C::Fields::default(), &fields);
            let mut c = change(C::KINDS[0], child_name::<C>(account, &id), &changed);
            C::snapshot(&mut c, created.clone());
            self.append(tx, account, c).await?;
            Ok(created)
        })
        .await
    }

    /// `Get…`.
    pub async fn get_child<C: Child>(&self, account: &str, id: &str) -> Result<C::Proto, Error> {
        let mut conn = self.pool.acquire().await?;
        Ok(row::<C>(&mut conn, account, id, false).await?.to_proto())
    }

    /// `Update…`: `update` changes the stored fields; nothing is written when they end up
    /// equal.
    pub async fn update_child<C: Child>(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
        update: impl FnOnce(&mut C::Fields) -> Result<(), Error>,
    ) -> Result<C::Proto, Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let before = row::<C>(&mut tx, account, id, true).await?;
        etag::check(given_etag, before.version(), &child_name::<C>(account, id))?;
        let mut after = before.fields();
        update(&mut after)?;
        let changed = C::diff(&before.fields(), &after);
        if changed.is_empty() {
            return Ok(before.to_proto());
        }
        C::write(&mut tx, account, id, &after, false).await?;
        let updated = row::<C>(&mut tx, account, id, false).await?.to_proto();
        let mut c = change(C::KINDS[1], child_name::<C>(account, id), &changed);
        C::snapshot(&mut c, updated.clone());
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// `Delete…`.
    pub async fn delete_child<C: Child>(
        &self,
        account: &str,
        id: &str,
        given_etag: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        lock_account(&mut tx, account).await?;
        let before = row::<C>(&mut tx, account, id, true).await?;
        etag::check(given_etag, before.version(), &child_name::<C>(account, id))?;
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE account_id = $1 AND id = $2",
            C::TABLE
        )))
        .bind(account)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut c = change(C::KINDS[2], child_name::<C>(account, id), &[]);
        C::snapshot(&mut c, before.to_proto());
        self.append(&mut tx, account, c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `NOT_FOUND` unless account `id` exists.
    pub(super) async fn require_account(
        &self,
        conn: &mut PgConnection,
        id: &str,
    ) -> Result<(), Error> {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM account.accounts WHERE id = $1)")
                .bind(id)
                .fetch_one(conn)
                .await?;
        if exists { Ok(()) } else { Err(not_found(account_name(id))) }
    }
}
