//! Contacts: their row, how they are written, and their list query.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use steward_kit::time::timestamp;
use steward_kit::{Error, etag, page};
use steward_proto::account::v1 as pb;

use super::children::{Child, child_name};
use super::{Store, conflict};
use crate::domain::contact::ContactFields;

#[derive(Debug, sqlx::FromRow)]
pub struct ContactRow {
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

impl Child for ContactRow {
    type Fields = ContactFields;
    type Proto = pb::Contact;
    const TABLE: &'static str = "account.contacts";
    const COLLECTION: &'static str = "contacts";
    const CREATE_METHOD: &'static str = "CreateContact";
    const KINDS: [pb::AccountChangeKind; 3] = [
        pb::AccountChangeKind::ContactCreated,
        pb::AccountChangeKind::ContactUpdated,
        pb::AccountChangeKind::ContactDeleted,
    ];

    fn version(&self) -> i64 {
        self.version
    }

    fn diff(before: &ContactFields, after: &ContactFields) -> Vec<&'static str> {
        before.diff(after)
    }

    fn snapshot(change: &mut pb::AccountChange, resource: pb::Contact) {
        change.contact_snapshot = Some(resource);
    }

    async fn write(
        tx: &mut PgConnection,
        account: &str,
        id: &str,
        fields: &ContactFields,
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
            .bind(&fields.email)
            .bind(&fields.display_name)
            .bind(fields.role.as_str_name())
            .bind(&fields.title)
            .execute(tx)
            .await
            .map_err(conflict)?;
        Ok(())
    }

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
            name: child_name::<Self>(&self.account_id, &self.id),
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

impl Store {
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
        Ok((rows.iter().map(Child::to_proto).collect(), next))
    }
}
