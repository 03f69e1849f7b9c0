//! Scorecards: create, read, list, versions, update, preview.

use steward_kit::{Error, page};
use steward_proto::health::v1 as pb;

use super::Api;
use super::requests::scorecard_id;

impl Api {
    pub(super) async fn create_scorecard(
        &self,
        _req: pb::CreateScorecardRequest,
        _caller: String,
    ) -> Result<pb::Scorecard, Error> {
        Err(pending("CreateScorecard"))
    }

    pub(super) async fn get_scorecard(&self, req: pb::GetScorecardRequest) -> Result<pb::Scorecard, Error> {
        let id = scorecard_id(&req.name, "name")?;
        if req.version < 0 {
            return Err(Error::invalid("version", "must not be negative (0 = the latest)"));
        }
        self.store.get_scorecard(id, req.version).await
    }

    pub(super) async fn list_scorecards(
        &self,
        req: pb::ListScorecardsRequest,
    ) -> Result<pb::ListScorecardsResponse, Error> {
        let limit = page::size(req.page_size)?;
        let (scorecards, next_page_token) = self.store.list_scorecards(limit, &req.page_token).await?;
        Ok(pb::ListScorecardsResponse { scorecards, next_page_token })
    }

    pub(super) async fn list_scorecard_versions(
        &self,
        _req: pb::ListScorecardVersionsRequest,
    ) -> Result<pb::ListScorecardVersionsResponse, Error> {
        Err(pending("ListScorecardVersions"))
    }

    pub(super) async fn update_scorecard(
        &self,
        _req: pb::UpdateScorecardRequest,
        _caller: String,
    ) -> Result<pb::Scorecard, Error> {
        Err(pending("UpdateScorecard"))
    }

    pub(super) async fn preview_scorecard(
        &self,
        _req: pb::PreviewScorecardRequest,
    ) -> Result<pb::PreviewScorecardResponse, Error> {
        Err(pending("PreviewScorecard"))
    }
}

// Being written in this change; answered FAILED_PRECONDITION until then.
fn pending(method: &str) -> Error {
    Error::FailedPrecondition { reason: "NOT_IMPLEMENTED", message: format!("{method} is not implemented yet") }
}
