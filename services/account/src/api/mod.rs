//! The gRPC surface: parse and validate the request, call the store, answer.

mod requests;

use steward_kit::auth::{MethodScopes, Scope};
use steward_kit::{Error, Violations, enums, mask, names, page};
use steward_proto::account::v1::{self as pb, account_service_server::AccountService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::domain::account::{self, AccountFields};
use crate::domain::contact::{self, ContactFields};
use crate::domain::contract::{self, ContractFields};
use crate::domain::names::{normalize_domain, normalize_email};
use crate::domain::revenue;
use crate::store::{ContactRow, ContractRow, Store};
use requests::{account_query, revenue_query};

/// Who may call what.
pub const SCOPES: MethodScopes = &[
    ("CreateAccount", Scope::Write),
    ("GetAccount", Scope::Read),
    ("ListAccounts", Scope::Read),
    ("UpdateAccount", Scope::Write),
    ("DeleteAccount", Scope::Write),
    ("BatchUpsertAccounts", Scope::Write),
    ("ResolveAccount", Scope::Read),
    ("CreateContact", Scope::Write),
    ("GetContact", Scope::Read),
    ("ListContacts", Scope::Read),
    ("UpdateContact", Scope::Write),
    ("DeleteContact", Scope::Write),
    ("CreateContract", Scope::Write),
    ("GetContract", Scope::Read),
    ("ListContracts", Scope::Read),
    ("UpdateContract", Scope::Write),
    ("DeleteContract", Scope::Write),
    ("GetRevenueMetrics", Scope::Read),
    ("ListAccountChanges", Scope::Read),
    ("WatchAccountChanges", Scope::Read),
];

/// The most items `BatchUpsertAccounts` takes.
const MAX_BATCH: usize = 1000;

/// `AccountService` over the store.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
}

impl Api {
    /// The API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

type Answer<T> = Result<Response<T>, Status>;

fn ok<T>(result: Result<T, Error>) -> Answer<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl AccountService for Api {
    async fn create_account(&self, req: Request<pb::CreateAccountRequest>) -> Answer<pb::Account> {
        let req = req.into_inner();
        ok(async {
            let id = names::new_or_given(&req.account_id, "account_id")?;
            let input = req.account.clone().unwrap_or_default();
            let mut fields = AccountFields::default();
            let mut v = Violations::default();
            fields.apply(&input, account::UPDATABLE, "account", &mut v);
            v.finish()?;
            self.store.create_account(&req, id, fields).await
        }
        .await)
    }

    async fn get_account(&self, req: Request<pb::GetAccountRequest>) -> Answer<pb::Account> {
        ok(async {
            let [id] = names::parse(&req.get_ref().name, "accounts/{}", "name")?;
            self.store.get_account(id).await
        }
        .await)
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> Answer<pb::ListAccountsResponse> {
        let req = req.into_inner();
        ok(async {
            let limit = page::size(req.page_size)?;
            let query = account_query(&req)?;
            let (accounts, next_page_token) =
                self.store.list_accounts(&query, limit, &req.page_token).await?;
            Ok(pb::ListAccountsResponse { accounts, next_page_token })
        }
        .await)
    }

    async fn update_account(&self, req: Request<pb::UpdateAccountRequest>) -> Answer<pb::Account> {
        let req = req.into_inner();
        ok(async {
            let input = req.account.unwrap_or_default();
            let [id] = names::parse(&input.name, "accounts/{}", "account.name")?;
            let paths = mask::paths(req.update_mask.as_ref(), account::UPDATABLE, |p| {
                account::is_set(&input, p)
            })?;
            self.store
                .update_account(id, &input.etag, |fields| {
                    let mut v = Violations::default();
                    fields.apply(&input, &paths, "account", &mut v);
                    v.finish()
                })
                .await
        }
        .await)
    }

    async fn delete_account(&self, req: Request<pb::DeleteAccountRequest>) -> Answer<()> {
        ok(async {
            let [id] = names::parse(&req.get_ref().name, "accounts/{}", "name")?;
            self.store.delete_account(id, &req.get_ref().etag).await
        }
        .await)
    }

    async fn batch_upsert_accounts(
        &self,
        req: Request<pb::BatchUpsertAccountsRequest>,
    ) -> Answer<pb::BatchUpsertAccountsResponse> {
        let items = req.into_inner().items;
        if items.is_empty() || items.len() > MAX_BATCH {
            let why = format!("must hold 1-{MAX_BATCH} items, not {}", items.len());
            return Err(Error::invalid("items", why).into());
        }
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let index = i32::try_from(i).unwrap_or(i32::MAX);
            let result = match self.upsert(i, item).await {
                Ok((outcome, account)) => pb::UpsertAccountResult {
                    index,
                    outcome: outcome as i32,
                    account: Some(account),
                    error: None,
                },
                Err(err) => pb::UpsertAccountResult {
                    index,
                    outcome: pb::UpsertOutcome::Unspecified as i32,
                    account: None,
                    error: Some(err.into()),
                },
            };
            results.push(result);
        }
        Ok(Response::new(pb::BatchUpsertAccountsResponse { results }))
    }

    async fn resolve_account(
        &self,
        req: Request<pb::ResolveAccountRequest>,
    ) -> Answer<pb::ResolveAccountResponse> {
        use pb::resolve_account_request::Key;
        ok(async {
            match req.into_inner().key {
                Some(Key::ExternalRef(r)) => {
                    let mut v = Violations::default();
                    let parsed = account::external_ref(&r, "external_ref", &mut v);
                    v.finish()?;
                    let (system, id) = parsed.unwrap_or_default();
                    self.store.resolve_ref(&system, &id).await
                }
                Some(Key::Email(email)) => {
                    let email =
                        normalize_email(&email).map_err(|why| Error::invalid("email", why))?;
                    self.store.resolve_email(&email).await
                }
                Some(Key::Domain(domain)) => {
                    let domain =
                        normalize_domain(&domain).map_err(|why| Error::invalid("domain", why))?;
                    self.store.resolve_domain(&domain, pb::MatchKind::Domain).await
                }
                None => Err(Error::invalid("key", "set one of external_ref, email or domain")),
            }
        }
        .await)
    }

    async fn create_contact(&self, req: Request<pb::CreateContactRequest>) -> Answer<pb::Contact> {
        let req = req.into_inner();
        ok(async {
            let [account] = names::parse(&req.parent, "accounts/{}", "parent")?;
            let id = names::new_or_given(&req.contact_id, "contact_id")?;
            let mut fields = ContactFields::default();
            let mut v = Violations::default();
            fields.apply(
                &req.contact.clone().unwrap_or_default(),
                contact::UPDATABLE,
                "contact",
                &mut v,
            );
            v.finish()?;
            self.store.create_child::<ContactRow>(&req, &req.request_id, account, id, fields).await
        }
        .await)
    }

    async fn get_contact(&self, req: Request<pb::GetContactRequest>) -> Answer<pb::Contact> {
        ok(async {
            let [account, id] =
                names::parse(&req.get_ref().name, "accounts/{}/contacts/{}", "name")?;
            self.store.get_child::<ContactRow>(account, id).await
        }
        .await)
    }

    async fn list_contacts(
        &self,
        req: Request<pb::ListContactsRequest>,
    ) -> Answer<pb::ListContactsResponse> {
        let req = req.into_inner();
        ok(async {
            let [account] = names::parse(&req.parent, "accounts/{}", "parent")?;
            let limit = page::size(req.page_size)?;
            let roles = enums::names(&req.roles, "roles", |r| {
                pb::ContactRole::try_from(r).ok().map(|r| r.as_str_name())
            })?;
            let (contacts, next_page_token) =
                self.store.list_contacts(account, &roles, limit, &req.page_token).await?;
            Ok(pb::ListContactsResponse { contacts, next_page_token })
        }
        .await)
    }

    async fn update_contact(&self, req: Request<pb::UpdateContactRequest>) -> Answer<pb::Contact> {
        let req = req.into_inner();
        ok(async {
            let input = req.contact.unwrap_or_default();
            let [account, id] =
                names::parse(&input.name, "accounts/{}/contacts/{}", "contact.name")?;
            let paths = mask::paths(req.update_mask.as_ref(), contact::UPDATABLE, |p| {
                contact::is_set(&input, p)
            })?;
            self.store
                .update_child::<ContactRow>(account, id, &input.etag, |fields| {
                    let mut v = Violations::default();
                    fields.apply(&input, &paths, "contact", &mut v);
                    v.finish()
                })
                .await
        }
        .await)
    }

    async fn delete_contact(&self, req: Request<pb::DeleteContactRequest>) -> Answer<()> {
        ok(async {
            let [account, id] =
                names::parse(&req.get_ref().name, "accounts/{}/contacts/{}", "name")?;
            self.store.delete_child::<ContactRow>(account, id, &req.get_ref().etag).await
        }
        .await)
    }

    async fn create_contract(
        &self,
        req: Request<pb::CreateContractRequest>,
    ) -> Answer<pb::Contract> {
        let req = req.into_inner();
        ok(async {
            let [account] = names::parse(&req.parent, "accounts/{}", "parent")?;
            let id = names::new_or_given(&req.contract_id, "contract_id")?;
            let mut fields = ContractFields::default();
            let mut v = Violations::default();
            let input = req.contract.clone().unwrap_or_default();
            fields.apply(&input, contract::UPDATABLE, "contract", &mut v);
            v.finish()?;
            self.store.create_child::<ContractRow>(&req, &req.request_id, account, id, fields).await
        }
        .await)
    }

    async fn get_contract(&self, req: Request<pb::GetContractRequest>) -> Answer<pb::Contract> {
        ok(async {
            let [account, id] =
                names::parse(&req.get_ref().name, "accounts/{}/contracts/{}", "name")?;
            self.store.get_child::<ContractRow>(account, id).await
        }
        .await)
    }

    async fn list_contracts(
        &self,
        req: Request<pb::ListContractsRequest>,
    ) -> Answer<pb::ListContractsResponse> {
        let req = req.into_inner();
        ok(async {
            let [account] = names::parse(&req.parent, "accounts/{}", "parent")?;
            let limit = page::size(req.page_size)?;
            let (contracts, next_page_token) =
                self.store.list_contracts(account, limit, &req.page_token).await?;
            Ok(pb::ListContractsResponse { contracts, next_page_token })
        }
        .await)
    }

    async fn update_contract(
        &self,
        req: Request<pb::UpdateContractRequest>,
    ) -> Answer<pb::Contract> {
        let req = req.into_inner();
        ok(async {
            let input = req.contract.unwrap_or_default();
            let [account, id] =
                names::parse(&input.name, "accounts/{}/contracts/{}", "contract.name")?;
            let paths = mask::paths(req.update_mask.as_ref(), contract::UPDATABLE, |p| {
                contract::is_set(&input, p)
            })?;
            self.store
                .update_child::<ContractRow>(account, id, &input.etag, |fields| {
                    let mut v = Violations::default();
                    fields.apply(&input, &paths, "contract", &mut v);
                    v.finish()
                })
                .await
        }
        .await)
    }

    async fn delete_contract(&self, req: Request<pb::DeleteContractRequest>) -> Answer<()> {
        ok(async {
            let [account, id] =
                names::parse(&req.get_ref().name, "accounts/{}/contracts/{}", "name")?;
            self.store.delete_child::<ContractRow>(account, id, &req.get_ref().etag).await
        }
        .await)
    }

    async fn get_revenue_metrics(
        &self,
        req: Request<pb::GetRevenueMetricsRequest>,
    ) -> Answer<pb::GetRevenueMetricsResponse> {
        let req = req.into_inner();
        ok(async {
            let query = revenue_query(&req)?;
            let found = self.store.revenue_contracts(&query).await?;
            let periods = revenue::Periods {
                start: query.start,
                end: query.end,
                by_segment: req.by_segment,
                by_month: req.by_month,
            };
            Ok(revenue::report(&found.currency_code, &found.contracts, found.excluded, &periods))
        }
        .await)
    }

    async fn list_account_changes(
        &self,
        req: Request<pb::ListAccountChangesRequest>,
    ) -> Answer<pb::ListAccountChangesResponse> {
        let req = req.into_inner();
        ok(async {
            let (changes, next_cursor) =
                self.store.feed().list(&req.after_cursor, req.page_size).await?;
            Ok(pb::ListAccountChangesResponse { changes, next_cursor })
        }
        .await)
    }

    type WatchAccountChangesStream = ReceiverStream<Result<pb::AccountChange, Status>>;

    async fn watch_account_changes(
        &self,
        req: Request<pb::WatchAccountChangesRequest>,
    ) -> Answer<Self::WatchAccountChangesStream> {
        ok(self.store.feed().watch(&req.get_ref().after_cursor).await)
    }
}

impl Api {
    /// One batch item: validate, then create or update by its key.
    async fn upsert(
        &self,
        i: usize,
        item: &pb::UpsertAccountItem,
    ) -> Result<(pb::UpsertOutcome, pb::Account), Error> {
        let prefix = format!("items[{i}]");
        let mut v = Violations::default();
        let key = item
            .key
            .as_ref()
            .and_then(|k| account::external_ref(k, &format!("{prefix}.key"), &mut v));
        if item.key.is_none() {
            v.add(format!("{prefix}.key"), "is required");
        }
        v.finish()?;
        let key = key.unwrap_or_default();
        let input = item.account.clone().unwrap_or_default();
        let account_prefix = format!("{prefix}.account");
        let update_paths = mask::paths(item.update_mask.as_ref(), account::UPDATABLE, |p| {
            account::is_set(&input, p)
        })?;
        self.store
            .upsert_account(&key, |stored| {
                let (mut fields, paths) = match stored {
                    Some(f) => (f.clone(), update_paths.as_slice()),
                    None => (AccountFields::default(), account::UPDATABLE),
                };
                let mut v = Violations::default();
                fields.apply(&input, paths, &account_prefix, &mut v);
                // The key is one of the account's refs, whatever else the item says.
                match fields.external_refs.iter().find(|(s, _)| *s == key.0) {
                    Some(r) if *r != key => v.add(
                        format!("{account_prefix}.external_refs"),
                        format!("holds another `{}` ref than the item's key", key.0),
                    ),
                    Some(_) => {}
                    None => {
                        fields.external_refs.push(key.clone());
                        fields.external_refs.sort();
                    }
                }
                v.finish()?;
                Ok(fields)
            })
            .await
    }
}
