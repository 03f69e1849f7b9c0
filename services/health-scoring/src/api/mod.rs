//! The gRPC surface: parse and validate the request, call the store or the scorer, answer.
//! Each area's handlers live in their own file; this one routes and serves the feed.

mod measurements;
mod operations;
mod requests;
mod scorecards;
mod scores;

use steward_kit::Error;
use steward_kit::auth::{MethodScopes, Scope};
use steward_proto::health::v1::{self as pb, health_scoring_service_server::HealthScoringService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use steward_kit::client::Intercepted;
use steward_proto::account::v1::account_service_client::AccountServiceClient;

use crate::scorer::Scorer;
use crate::store::Store;

/// Who may call what.
pub const SCOPES: MethodScopes = &[
    ("CreateScorecard", Scope::Write),
    ("GetScorecard", Scope::Read),
    ("ListScorecards", Scope::Read),
    ("ListScorecardVersions", Scope::Read),
    ("UpdateScorecard", Scope::Write),
    ("PreviewScorecard", Scope::Read),
    ("RecordMeasurements", Scope::Ingest),
    ("ListMeasurements", Scope::Read),
    ("GetHealthScore", Scope::Read),
    ("ListHealthScores", Scope::Read),
    ("GetScoreHistory", Scope::Read),
    ("ExplainHealthScore", Scope::Read),
    ("RescoreAccounts", Scope::Admin),
    ("GetRescoreOperation", Scope::Read),
    ("ListRescoreOperations", Scope::Read),
    ("WatchRescoreOperation", Scope::Read),
    ("ListHealthChanges", Scope::Read),
    ("WatchHealthChanges", Scope::Read),
];

/// `HealthScoringService` over the store and the scorer.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    scorer: Scorer,
    accounts: AccountServiceClient<Intercepted>,
}

impl Api {
    /// The API over `store`, re-scoring through `scorer`, checking accounts the feed has not
    /// delivered yet with `accounts`.
    pub fn new(store: Store, scorer: Scorer, accounts: AccountServiceClient<Intercepted>) -> Self {
        Self { store, scorer, accounts }
    }
}

type Answer<T> = Result<Response<T>, Status>;

fn ok<T>(result: Result<T, Error>) -> Answer<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl HealthScoringService for Api {
    async fn create_scorecard(
        &self,
        req: Request<pb::CreateScorecardRequest>,
    ) -> Answer<pb::Scorecard> {
        let caller = requests::caller(&req);
        ok(self.create_scorecard(req.into_inner(), caller).await)
    }

    async fn get_scorecard(&self, req: Request<pb::GetScorecardRequest>) -> Answer<pb::Scorecard> {
        ok(self.get_scorecard(req.into_inner()).await)
    }

    async fn list_scorecards(
        &self,
        req: Request<pb::ListScorecardsRequest>,
    ) -> Answer<pb::ListScorecardsResponse> {
        ok(self.list_scorecards(req.into_inner()).await)
    }

    async fn list_scorecard_versions(
        &self,
        req: Request<pb::ListScorecardVersionsRequest>,
    ) -> Answer<pb::ListScorecardVersionsResponse> {
        ok(self.list_scorecard_versions(req.into_inner()).await)
    }

    async fn update_scorecard(
        &self,
        req: Request<pb::UpdateScorecardRequest>,
    ) -> Answer<pb::Scorecard> {
        let caller = requests::caller(&req);
        ok(self.update_scorecard(req.into_inner(), caller).await)
    }

    async fn preview_scorecard(
        &self,
        req: Request<pb::PreviewScorecardRequest>,
    ) -> Answer<pb::PreviewScorecardResponse> {
        ok(self.preview_scorecard(req.into_inner()).await)
    }

    async fn record_measurements(
        &self,
        req: Request<pb::RecordMeasurementsRequest>,
    ) -> Answer<pb::RecordMeasurementsResponse> {
        ok(self.record_measurements(req.into_inner()).await)
    }

    async fn list_measurements(
        &self,
        req: Request<pb::ListMeasurementsRequest>,
    ) -> Answer<pb::ListMeasurementsResponse> {
        ok(self.list_measurements(req.into_inner()).await)
    }

    async fn get_health_score(
        &self,
        req: Request<pb::GetHealthScoreRequest>,
    ) -> Answer<pb::HealthScore> {
        ok(self.get_health_score(req.into_inner()).await)
    }

    async fn list_health_scores(
        &self,
        req: Request<pb::ListHealthScoresRequest>,
    ) -> Answer<pb::ListHealthScoresResponse> {
        ok(self.list_health_scores(req.into_inner()).await)
    }

    async fn get_score_history(
        &self,
        req: Request<pb::GetScoreHistoryRequest>,
    ) -> Answer<pb::GetScoreHistoryResponse> {
        ok(self.get_score_history(req.into_inner()).await)
    }

    async fn explain_health_score(
        &self,
        req: Request<pb::ExplainHealthScoreRequest>,
    ) -> Answer<pb::ExplainHealthScoreResponse> {
        ok(self.explain_health_score(req.into_inner()).await)
    }

    async fn rescore_accounts(
        &self,
        req: Request<pb::RescoreAccountsRequest>,
    ) -> Answer<pb::RescoreOperation> {
        let caller = requests::caller(&req);
        ok(self.rescore_accounts(req.into_inner(), caller).await)
    }

    async fn get_rescore_operation(
        &self,
        req: Request<pb::GetRescoreOperationRequest>,
    ) -> Answer<pb::RescoreOperation> {
        ok(self.get_rescore_operation(req.into_inner()).await)
    }

    async fn list_rescore_operations(
        &self,
        req: Request<pb::ListRescoreOperationsRequest>,
    ) -> Answer<pb::ListRescoreOperationsResponse> {
        ok(self.list_rescore_operations(req.into_inner()).await)
    }

    type WatchRescoreOperationStream = ReceiverStream<Result<pb::RescoreOperation, Status>>;

    async fn watch_rescore_operation(
        &self,
        req: Request<pb::WatchRescoreOperationRequest>,
    ) -> Answer<Self::WatchRescoreOperationStream> {
        ok(self.watch_rescore_operation(req.into_inner()).await)
    }

    async fn list_health_changes(
        &self,
        req: Request<pb::ListHealthChangesRequest>,
    ) -> Answer<pb::ListHealthChangesResponse> {
        let req = req.into_inner();
        ok(self
            .store
            .feed()
            .list(&req.after_cursor, req.page_size)
            .await
            .map(|(changes, next_cursor)| pb::ListHealthChangesResponse { changes, next_cursor }))
    }

    type WatchHealthChangesStream = ReceiverStream<Result<pb::HealthChange, Status>>;

    async fn watch_health_changes(
        &self,
        req: Request<pb::WatchHealthChangesRequest>,
    ) -> Answer<Self::WatchHealthChangesStream> {
        ok(self.store.feed().watch(&req.get_ref().after_cursor).await)
    }
}
