//! The gRPC surface: parse and validate the request, call the store, the runner or the
//! evaluator, answer. Each area's handlers live in their own file; this one routes.

mod orchestrator;
mod playbooks;
mod requests;
mod runs;

use steward_kit::Error;
use steward_kit::auth::{MethodScopes, Scope};
use steward_proto::playbook::v1::{self as pb, playbook_service_server::PlaybookService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::evaluator::Evaluator;
use crate::runner::Runner;
use crate::store::Store;

/// Who may call what.
pub const SCOPES: MethodScopes = &[
    ("CreatePlaybook", Scope::Write),
    ("GetPlaybook", Scope::Read),
    ("ListPlaybooks", Scope::Read),
    ("ListPlaybookVersions", Scope::Read),
    ("UpdatePlaybook", Scope::Write),
    ("DeletePlaybook", Scope::Write),
    ("EnablePlaybook", Scope::Write),
    ("DisablePlaybook", Scope::Write),
    ("EvaluateTriggers", Scope::Read),
    ("StartPlaybookRun", Scope::Write),
    ("GetPlaybookRun", Scope::Read),
    ("ListPlaybookRuns", Scope::Read),
    ("CancelPlaybookRun", Scope::Write),
    ("CompleteRunStep", Scope::Write),
    ("SkipRunStep", Scope::Write),
    ("ClaimRunSteps", Scope::Write),
    ("ExtendStepLease", Scope::Write),
    ("FailRunStep", Scope::Write),
    ("WatchPlaybookRuns", Scope::Read),
];

/// `PlaybookService` over the store, the runner and the evaluator.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    runner: Runner,
    evaluator: Evaluator,
}

impl Api {
    /// The API over `store`, moving runs with `runner`, evaluating with `evaluator`.
    pub fn new(store: Store, runner: Runner, evaluator: Evaluator) -> Self {
        Self { store, runner, evaluator }
    }
}

type Answer<T> = Result<Response<T>, Status>;

fn ok<T>(result: Result<T, Error>) -> Answer<T> {
    result.map(Response::new).map_err(requests::status)
}

#[tonic::async_trait]
impl PlaybookService for Api {
    async fn create_playbook(
        &self,
        req: Request<pb::CreatePlaybookRequest>,
    ) -> Answer<pb::Playbook> {
        ok(self.create_playbook(req.into_inner()).await)
    }

    async fn get_playbook(&self, req: Request<pb::GetPlaybookRequest>) -> Answer<pb::Playbook> {
        ok(self.get_playbook(req.into_inner()).await)
    }

    async fn list_playbooks(
        &self,
        req: Request<pb::ListPlaybooksRequest>,
    ) -> Answer<pb::ListPlaybooksResponse> {
        ok(self.list_playbooks(req.into_inner()).await)
    }

    async fn list_playbook_versions(
        &self,
        req: Request<pb::ListPlaybookVersionsRequest>,
    ) -> Answer<pb::ListPlaybookVersionsResponse> {
        ok(self.list_playbook_versions(req.into_inner()).await)
    }

    async fn update_playbook(
        &self,
        req: Request<pb::UpdatePlaybookRequest>,
    ) -> Answer<pb::Playbook> {
        ok(self.update_playbook(req.into_inner()).await)
    }

    async fn delete_playbook(&self, req: Request<pb::DeletePlaybookRequest>) -> Answer<()> {
        let caller = requests::caller(&req);
        ok(self.delete_playbook(req.into_inner(), caller).await)
    }

    async fn enable_playbook(
        &self,
        req: Request<pb::EnablePlaybookRequest>,
    ) -> Answer<pb::Playbook> {
        let req = req.into_inner();
        ok(self.set_enabled(&req.name, &req.etag, true).await)
    }

    async fn disable_playbook(
        &self,
        req: Request<pb::DisablePlaybookRequest>,
    ) -> Answer<pb::Playbook> {
        let req = req.into_inner();
        ok(self.set_enabled(&req.name, &req.etag, false).await)
    }

    async fn evaluate_triggers(
        &self,
        req: Request<pb::EvaluateTriggersRequest>,
    ) -> Answer<pb::EvaluateTriggersResponse> {
        ok(self.evaluate_triggers(req.into_inner()).await)
    }

    async fn start_playbook_run(
        &self,
        req: Request<pb::StartPlaybookRunRequest>,
    ) -> Answer<pb::PlaybookRun> {
        let caller = requests::caller(&req);
        ok(self.start_playbook_run(req.into_inner(), caller).await)
    }

    async fn get_playbook_run(
        &self,
        req: Request<pb::GetPlaybookRunRequest>,
    ) -> Answer<pb::PlaybookRun> {
        ok(self.get_playbook_run(req.into_inner()).await)
    }

    async fn list_playbook_runs(
        &self,
        req: Request<pb::ListPlaybookRunsRequest>,
    ) -> Answer<pb::ListPlaybookRunsResponse> {
        ok(self.list_playbook_runs(req.into_inner()).await)
    }

    async fn cancel_playbook_run(
        &self,
        req: Request<pb::CancelPlaybookRunRequest>,
    ) -> Answer<pb::PlaybookRun> {
        let caller = requests::caller(&req);
        ok(self.cancel_playbook_run(req.into_inner(), caller).await)
    }

    async fn complete_run_step(
        &self,
        req: Request<pb::CompleteRunStepRequest>,
    ) -> Answer<pb::PlaybookRun> {
        let caller = requests::caller(&req);
        ok(self.complete_run_step(req.into_inner(), caller).await)
    }

    async fn skip_run_step(&self, req: Request<pb::SkipRunStepRequest>) -> Answer<pb::PlaybookRun> {
        let caller = requests::caller(&req);
        ok(self.skip_run_step(req.into_inner(), caller).await)
    }

    async fn claim_run_steps(
        &self,
        req: Request<pb::ClaimRunStepsRequest>,
    ) -> Answer<pb::ClaimRunStepsResponse> {
        ok(self.claim_run_steps(req.into_inner()).await)
    }

    async fn extend_step_lease(
        &self,
        req: Request<pb::ExtendStepLeaseRequest>,
    ) -> Answer<pb::ExtendStepLeaseResponse> {
        ok(self.extend_step_lease(req.into_inner()).await)
    }

    async fn fail_run_step(&self, req: Request<pb::FailRunStepRequest>) -> Answer<pb::PlaybookRun> {
        ok(self.fail_run_step(req.into_inner()).await)
    }

    type WatchPlaybookRunsStream = ReceiverStream<Result<pb::RunChange, Status>>;

    async fn watch_playbook_runs(
        &self,
        req: Request<pb::WatchPlaybookRunsRequest>,
    ) -> Answer<Self::WatchPlaybookRunsStream> {
        ok(self.watch_playbook_runs(req.into_inner()).await)
    }
}
