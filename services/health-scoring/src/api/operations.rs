//! Re-scoring operations: start, read, list, watch.

use std::time::Duration;

use chrono::Utc;
use steward_kit::client::retry;
use steward_kit::{Error, Violations, idempotency, names, page};
use steward_proto::account::v1::GetAccountRequest;
use steward_proto::health::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use uuid::Uuid;

use super::Api;
use super::requests::{self, scorecard_id};
use crate::store::RescoreFilter;

/// Most accounts `RescoreAccounts` may name.
const MAX_ACCOUNTS: usize = 10_000;
/// A watch sends at most one snapshot this often...
const WATCH_MIN_GAP: Duration = Duration::from_secs(1);
/// ...and looks for progress this often between snapshots.
const WATCH_POLL: Duration = Duration::from_millis(200);

impl Api {
    pub(super) async fn rescore_accounts(
        &self,
        req: pb::RescoreAccountsRequest,
        caller: String,
    ) -> Result<pb::RescoreOperation, Error> {
        let request_id = idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        requests::cells(&req.segments, &req.lifecycle_stages)?;
        let mut v = Violations::default();
        v.check(req.accounts.len() <= MAX_ACCOUNTS, "accounts", "at most 10,000 accounts");
        for (i, name) in req.accounts.iter().enumerate() {
            if let Err(Error::InvalidArgument(bad)) =
                requests::account(name, &format!("accounts[{i}]"))
            {
                bad.into_iter().for_each(|b| v.add(b.field, b.description));
            }
        }
        let scorecard = if req.scorecard.is_empty() {
            None
        } else {
            match scorecard_id(&req.scorecard, "scorecard") {
                Ok(id) => Some(id.to_owned()),
                Err(Error::InvalidArgument(bad)) => {
                    bad.into_iter().for_each(|b| v.add(b.field, b.description));
                    None
                }
                Err(e) => return Err(e),
            }
        };
        v.finish()?;
        if let Some(id) = &scorecard {
            self.store.get_scorecard(id, 0).await?;
        }
        self.check_known(&req.accounts).await?;
        let filter = RescoreFilter {
            scorecard_id: scorecard,
            segments: req.segments.clone(),
            stages: req.lifecycle_stages.clone(),
            accounts: req.accounts.clone(),
        };
        self.store.rescore_accounts(request_id, &req, &filter, &caller, Utc::now()).await
    }

    /// Every named account must exist. Ones the account feed has not delivered yet are
    /// asked of the account service; unknown there too is `INVALID_ARGUMENT`.
    async fn check_known(&self, accounts: &[String]) -> Result<(), Error> {
        let mut v = Violations::default();
        for name in self.store.unknown_accounts(accounts).await? {
            let request = GetAccountRequest { name: name.clone() };
            let found = retry(|| {
                let mut accounts = self.accounts.clone();
                let request = request.clone();
                async move { accounts.get_account(request).await }
            })
            .await;
            match found {
                Ok(_) => {}
                Err(s) if s.code() == Code::NotFound => {
                    for (i, _) in accounts.iter().enumerate().filter(|(_, a)| **a == name) {
                        v.add(format!("accounts[{i}]"), format!("{name} does not exist"));
                    }
                }
                Err(s) => {
                    return Err(Error::Unavailable {
                        reason: "ACCOUNT_SERVICE_UNAVAILABLE",
                        message: format!(
                            "could not check {name} with the account service: {}",
                            s.message()
                        ),
                    });
                }
            }
        }
        v.finish()
    }

    pub(super) async fn get_rescore_operation(
        &self,
        req: pb::GetRescoreOperationRequest,
    ) -> Result<pb::RescoreOperation, Error> {
        let id = operation_id(&req.name)?;
        self.store.rescore_operation(id).await?.ok_or_else(|| Error::NotFound(req.name))
    }

    pub(super) async fn list_rescore_operations(
        &self,
        req: pb::ListRescoreOperationsRequest,
    ) -> Result<pb::ListRescoreOperationsResponse, Error> {
        let limit = page::size(req.page_size)?;
        let (rescore_operations, next_page_token) =
            self.store.list_rescore_operations(limit, &req.page_token).await?;
        Ok(pb::ListRescoreOperationsResponse { rescore_operations, next_page_token })
    }

    pub(super) async fn watch_rescore_operation(
        &self,
        req: pb::WatchRescoreOperationRequest,
    ) -> Result<ReceiverStream<Result<pb::RescoreOperation, Status>>, Error> {
        let first = self
            .get_rescore_operation(pb::GetRescoreOperationRequest { name: req.name.clone() })
            .await?;
        let id = operation_id(&req.name)?;
        let (tx, rx) = mpsc::channel(4);
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut last = first;
            if tx.send(Ok(last.clone())).await.is_err() {
                return;
            }
            while !is_final(&last) {
                tokio::time::sleep(WATCH_MIN_GAP).await;
                // Wait for progress, then send one snapshot.
                let next = loop {
                    match store.rescore_operation(id).await {
                        Ok(Some(op)) if op != last => break Ok(op),
                        Ok(Some(_)) => {}
                        Ok(None) => break Err(Status::from(Error::NotFound(req.name.clone()))),
                        Err(e) => break Err(Status::from(e)),
                    }
                    tokio::select! {
                        () = tokio::time::sleep(WATCH_POLL) => {}
                        () = tx.closed() => return,
                    }
                };
                match next {
                    Ok(op) => {
                        if tx.send(Ok(op.clone())).await.is_err() {
                            return;
                        }
                        last = op;
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// The id of a `rescoreOperations/{operation}` name; a well-formed name that is not a UUID
/// names no operation.
fn operation_id(name: &str) -> Result<Uuid, Error> {
    let [id] = names::parse(name, "rescoreOperations/{}", "name")?;
    Uuid::parse_str(id).map_err(|_| Error::NotFound(name.to_owned()))
}

/// Whether the operation has ended.
fn is_final(op: &pb::RescoreOperation) -> bool {
    matches!(op.state(), pb::RescoreState::Succeeded | pb::RescoreState::Failed)
}
