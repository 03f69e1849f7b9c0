//! Account linking: which account a ticket belongs to, asked of the account service
//! (`ResolveAccount`) and cached.
//!
//! The cache is bounded (LRU) and belongs to one *link generation*: every re-linking pass
//! (run when the account feed reports an account, ref, contact or domain change) bumps the
//! generation in the database, and each ingest transaction compares it with the cache's
//! before using it. So every replica's cache is emptied by the next write after an account
//! change, without each replica having to follow the account feed itself.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use hashlink::LruCache;
use steward_kit::Error;
use steward_kit::client::{self, Intercepted};
use steward_proto::account::v1::{
    self as account_pb, account_service_client::AccountServiceClient,
    resolve_account_request::Key as ResolveKey,
};
use steward_proto::ticket::v1 as pb;
use tonic::Code;

/// What links a ticket to an account: its `account_ref` and its requester's email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LinkKeys {
    /// `(system, id)` of `account_ref`, the system defaulted to the ticket's platform.
    pub account_ref: Option<(String, String)>,
    /// The requester's email, lowercase.
    pub email: Option<String>,
}

impl LinkKeys {
    /// The keys of a normalized ticket.
    pub fn of(ticket: &pb::Ticket) -> Self {
        let account_ref = ticket.account_ref.as_ref().filter(|r| !r.id.is_empty()).and_then(|r| {
            let system = if r.system.is_empty() {
                crate::domain::mapping::system_name(ticket.source)?.to_owned()
            } else {
                r.system.clone()
            };
            Some((system, r.id.clone()))
        });
        let email = ticket
            .requester
            .as_ref()
            .map(|r| r.email.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty());
        Self { account_ref, email }
    }
}

/// Where a ticket belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The account's id; `None` while unlinked.
    pub account_id: Option<String>,
    /// How it was found.
    pub state: pb::LinkState,
}

impl Link {
    /// No account.
    pub const UNLINKED: Link = Link { account_id: None, state: pb::LinkState::Unlinked };
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ref(String, String),
    Email(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Account(String),
    NotFound,
    Ambiguous,
}

#[derive(Debug)]
struct Cache {
    generation: i64,
    answers: LruCache<Key, Answer>,
}

/// Resolves link keys through the account service, with a bounded cache.
#[derive(Debug)]
pub struct Linker {
    client: AccountServiceClient<Intercepted>,
    cache: Mutex<Cache>,
}

impl Linker {
    /// A linker calling the account service through `channel`, caching up to `capacity`
    /// answers.
    pub fn new(channel: Intercepted, capacity: NonZeroUsize) -> Self {
        let answers = LruCache::new(capacity.get());
        Self {
            client: AccountServiceClient::new(channel),
            cache: Mutex::new(Cache { generation: i64::MIN, answers }),
        }
    }

    /// Makes the cache belong to `generation`: answers cached under an older one are dropped.
    pub fn sync(&self, generation: i64) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.generation != generation {
            cache.answers.clear();
            cache.generation = generation;
        }
    }

    /// The account `keys` resolve to: the external ref first, then the requester's email.
    pub async fn link(&self, keys: &LinkKeys) -> Result<Link, Error> {
        if let Some((system, id)) = &keys.account_ref
            && let Answer::Account(account) =
                self.lookup(Key::Ref(system.clone(), id.clone())).await?
        {
            return Ok(Link { account_id: Some(account), state: pb::LinkState::ByAccountRef });
        }
        let Some(email) = &keys.email else { return Ok(Link::UNLINKED) };
        Ok(match self.lookup(Key::Email(email.clone())).await? {
            Answer::Account(account) => {
                Link { account_id: Some(account), state: pb::LinkState::ByRequesterEmail }
            }
            Answer::Ambiguous => Link { account_id: None, state: pb::LinkState::Ambiguous },
            Answer::NotFound => Link::UNLINKED,
        })
    }

    async fn lookup(&self, key: Key) -> Result<Answer, Error> {
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.answers.get(&key).cloned()
        };
        if let Some(answer) = cached {
            return Ok(answer);
        }
        let answer = self.resolve(&key).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.answers.insert(key, answer.clone());
        Ok(answer)
    }

    async fn resolve(&self, key: &Key) -> Result<Answer, Error> {
        let request = account_pb::ResolveAccountRequest {
            key: Some(match key {
                Key::Ref(system, id) => ResolveKey::ExternalRef(account_pb::ExternalRef {
                    system: system.clone(),
                    id: id.clone(),
                }),
                Key::Email(email) => ResolveKey::Email(email.clone()),
            }),
        };
        let answer = client::retry(|| {
            let mut client = self.client.clone();
            let request = request.clone();
            async move { client.resolve_account(request).await }
        })
        .await;
        match answer {
            Ok(answer) => {
                let answer = answer.into_inner();
                Ok(match answer.resolution() {
                    account_pb::Resolution::Resolved => {
                        match answer.account.strip_prefix("accounts/") {
                            Some(id) => Answer::Account(id.to_owned()),
                            None => Answer::NotFound,
                        }
                    }
                    account_pb::Resolution::Ambiguous => Answer::Ambiguous,
                    _ => Answer::NotFound,
                })
            }
            // A key the account service cannot even parse (our rules are looser than its
            // own) matches no account: the ticket stays unlinked rather than refused.
            Err(status) if status.code() == Code::InvalidArgument => Ok(Answer::NotFound),
            Err(status) => Err(Error::Unavailable {
                reason: "ACCOUNT_SERVICE_UNAVAILABLE",
                message: format!(
                    "cannot resolve the ticket's account: the account service answered {:?}: {}",
                    status.code(),
                    status.message()
                ),
            }),
        }
    }
}
