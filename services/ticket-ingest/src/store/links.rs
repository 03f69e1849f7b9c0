//! Following the account feed: account segments for KPIs, and re-linking the tickets whose
//! account may have changed (unlinked tickets whose account appeared, tickets of a deleted
//! account, tickets whose ref, email or domain moved).

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use steward_kit::feed::consumer::Handler;
use steward_proto::account::v1 as account_pb;

use super::changes::Changes;
use super::{Store, append_changes, link_state, ticket_name, writers_lock};
use crate::linker::{Link, LinkKeys};

/// The account feed consumer's handler.
#[derive(Debug, Clone)]
pub struct AccountFeedHandler {
    store: Store,
}

impl AccountFeedHandler {
    /// A handler writing through `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// What a batch of account changes may have moved, for finding the tickets to re-link.
#[derive(Debug, Default)]
struct Touched {
    accounts: Vec<String>,
    emails: Vec<String>,
    domains: Vec<String>,
    refs: Vec<String>,
}

impl Touched {
    fn add(&mut self, change: &account_pb::AccountChange) {
        use account_pb::AccountChangeKind as K;
        let linking = ["primary_domain", "domains", "external_refs", "email"];
        let relevant = match change.kind() {
            K::AccountCreated | K::AccountDeleted | K::ContactCreated | K::ContactDeleted => true,
            K::AccountUpdated | K::ContactUpdated => {
                change.changed_fields.iter().any(|f| linking.contains(&f.as_str()))
            }
            _ => false,
        };
        if !relevant {
            return;
        }
        if let Some(id) = change.account.strip_prefix("accounts/") {
            self.accounts.push(id.to_owned());
        }
        if let Some(a) = &change.account_snapshot {
            self.domains.extend(std::iter::once(&a.primary_domain).chain(&a.domains).cloned());
            self.refs.extend(a.external_refs.iter().map(|r| ref_key(&r.system, &r.id)));
        }
        if let Some(c) = &change.contact_snapshot {
            self.emails.push(c.email.to_ascii_lowercase());
        }
    }

    fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

fn ref_key(system: &str, id: &str) -> String {
    format!("{system}\u{1f}{id}")
}

impl Handler<account_pb::AccountChange> for AccountFeedHandler {
    async fn apply(
        &self,
        tx: &mut PgConnection,
        batch: &[account_pb::AccountChange],
    ) -> anyhow::Result<()> {
        let mut touched = Touched::default();
        for change in batch {
            keep_segment(tx, change).await?;
            touched.add(change);
        }
        if !touched.is_empty() {
            self.store.relink(tx, Some(&touched)).await?;
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut PgConnection) -> anyhow::Result<()> {
        // We missed account changes: every ticket's link may be stale.
        self.store.relink(tx, None).await?;
        Ok(())
    }
}

async fn keep_segment(
    tx: &mut PgConnection,
    change: &account_pb::AccountChange,
) -> Result<(), sqlx::Error> {
    let Some(id) = change.account.strip_prefix("accounts/") else { return Ok(()) };
    match &change.account_snapshot {
        Some(account) => {
            sqlx::query(
                "INSERT INTO ticket.accounts (id, segment) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET segment = EXCLUDED.segment",
            )
            .bind(id)
            .bind(account.segment().as_str_name())
            .execute(tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM ticket.accounts WHERE id = $1").bind(id).execute(tx).await?;
        }
    }
    Ok(())
}

impl Store {
    /// Re-resolves the accounts of the tickets `touched` may concern (every ticket when
    /// `None`) and moves those whose account changed, inside `tx`. Holds the writers' lock
    /// exclusively and bumps the link generation, so that no ingest keeps using an answer
    /// cached before the account change.
    async fn relink(&self, tx: &mut PgConnection, touched: Option<&Touched>) -> anyhow::Result<()> {
        writers_lock(tx, false).await?;
        let generation: i64 = sqlx::query_scalar(
            "UPDATE ticket.link_generation SET generation = generation + 1 RETURNING generation",
        )
        .fetch_one(&mut *tx)
        .await?;
        self.linker.sync(generation);
        let empty = Touched::default();
        let t = touched.unwrap_or(&empty);
        let rows = sqlx::query(
            "SELECT id, account_id, link_state, ref_system, ref_id, requester_email
             FROM ticket.tickets
             WHERE $1 OR link_state IN ('LINK_STATE_UNLINKED', 'LINK_STATE_AMBIGUOUS')
                OR account_id = ANY($2) OR requester_email = ANY($3)
                OR split_part(requester_email, '@', 2) = ANY($4)
                OR ref_system || chr(31) || ref_id = ANY($5)",
        )
        .bind(touched.is_none())
        .bind(&t.accounts)
        .bind(&t.emails)
        .bind(&t.domains)
        .bind(&t.refs)
        .fetch_all(&mut *tx)
        .await?;
        let mut answers: HashMap<LinkKeys, Link> = HashMap::new();
        let (mut ids, mut accounts, mut states) = (Vec::new(), Vec::new(), Vec::new());
        let mut changes = Changes::default();
        for row in rows {
            let system: Option<String> = row.try_get("ref_system")?;
            let ref_id: Option<String> = row.try_get("ref_id")?;
            let keys = LinkKeys {
                account_ref: system.zip(ref_id),
                email: row.try_get("requester_email")?,
            };
            let link = match answers.get(&keys) {
                Some(link) => link.clone(),
                None => {
                    let link = self.linker.link(&keys).await?;
                    answers.insert(keys, link.clone());
                    link
                }
            };
            let id: String = row.try_get("id")?;
            let old = Link {
                account_id: row.try_get("account_id")?,
                state: link_state(row.try_get("link_state")?),
            };
            if old == link {
                continue;
            }
            changes.add_move(
                old.account_id.as_deref(),
                link.account_id.as_deref(),
                &ticket_name(&id),
            );
            ids.push(id);
            accounts.push(link.account_id);
            states.push(link.state.as_str_name());
        }
        if ids.is_empty() {
            return Ok(());
        }
        tracing::info!(tickets = ids.len(), "re-linked tickets after account changes");
        sqlx::query(
            "UPDATE ticket.tickets t
             SET account_id = u.account_id, link_state = u.link_state, update_time = now(),
                 version = t.version + 1
             FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u(id, account_id, link_state)
             WHERE t.id = u.id",
        )
        .bind(&ids)
        .bind(&accounts)
        .bind(&states)
        .execute(&mut *tx)
        .await?;
        append_changes(&self.feed, tx, changes).await?;
        Ok(())
    }
}
