//! Re-scoring operations: start, read, list, watch.

use steward_kit::Error;
use steward_proto::health::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::Api;

impl Api {
    pub(super) async fn rescore_accounts(
        &self,
        _req: pb::RescoreAccountsRequest,
        _caller: String,
    ) -> Result<pb::RescoreOperation, Error> {
        Err(pending("RescoreAccounts"))
    }

    pub(super) async fn get_rescore_operation(
        &self,
        _req: pb::GetRescoreOperationRequest,
    ) -> Result<pb::RescoreOperation, Error> {
        Err(pending("GetRescoreOperation"))
    }

    pub(super) async fn list_rescore_operations(
        &self,
        _req: pb::ListRescoreOperationsRequest,
    ) -> Result<pb::ListRescoreOperationsResponse, Error> {
        Err(pending("ListRescoreOperations"))
    }

    pub(super) async fn watch_rescore_operation(
        &self,
        _req: pb::WatchRescoreOperationRequest,
    ) -> Result<ReceiverStream<Result<pb::RescoreOperation, Status>>, Error> {
        Err(pending("WatchRescoreOperation"))
    }
}

// Being written in this change; answered FAILED_PRECONDITION until then.
fn pending(method: &str) -> Error {
    Error::FailedPrecondition { reason: "NOT_IMPLEMENTED", message: format!("{method} is not implemented yet") }
}
