//! Scorecards: create, read, list, versions, update. Previews live in `scorecards/preview.rs`.

mod preview;

use chrono::Utc;
use steward_kit::{Error, idempotency, names, page};
use steward_proto::health::v1 as pb;

use super::Api;
use super::requests::scorecard_id;
use crate::domain::edit;
use crate::domain::scorecard::{check, with_defaults};

impl Api {
    pub(super) async fn create_scorecard(
        &self,
        req: pb::CreateScorecardRequest,
        _caller: String,
    ) -> Result<pb::Scorecard, Error> {
        let request_id = idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        let id = names::new_or_given(&req.scorecard_id, "scorecard_id")?;
        let mut scorecard = req.scorecard.clone().unwrap_or_default();
        check(&scorecard, "scorecard")?;
        with_defaults(&mut scorecard);
        let created =
            self.store.create_scorecard(request_id, &req, &id, &scorecard, Utc::now()).await?;
        Ok(created)
    }

    pub(super) async fn get_scorecard(
        &self,
        req: pb::GetScorecardRequest,
    ) -> Result<pb::Scorecard, Error> {
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
        let (scorecards, next_page_token) =
            self.store.list_scorecards(limit, &req.page_token).await?;
        Ok(pb::ListScorecardsResponse { scorecards, next_page_token })
    }

    pub(super) async fn list_scorecard_versions(
        &self,
        req: pb::ListScorecardVersionsRequest,
    ) -> Result<pb::ListScorecardVersionsResponse, Error> {
        let id = scorecard_id(&req.name, "name")?;
        let limit = page::size(req.page_size)?;
        let (scorecards, next_page_token) =
            self.store.list_scorecard_versions(id, limit, &req.page_token).await?;
        Ok(pb::ListScorecardVersionsResponse { scorecards, next_page_token })
    }

    pub(super) async fn update_scorecard(
        &self,
        req: pb::UpdateScorecardRequest,
        _caller: String,
    ) -> Result<pb::Scorecard, Error> {
        let input = req.scorecard.unwrap_or_default();
        let id = scorecard_id(&input.name, "scorecard.name")?;
        let paths = edit::paths(req.update_mask.as_ref(), &input)?;
        self.store
            .update_scorecard(
                id,
                &input.etag,
                |stored| {
                    let mut merged = edit::apply(stored, &input, &paths);
                    check(&merged, "scorecard")?;
                    with_defaults(&mut merged);
                    Ok(merged)
                },
                Utc::now(),
            )
            .await
    }
}
