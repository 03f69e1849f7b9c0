//! Playbooks: create, read, list, versions, update, delete, enable/disable; and the dry-run
//! trigger evaluation.

use chrono::Utc;
use steward_kit::{Error, idempotency, mask, names, page};
use steward_proto::playbook::v1 as pb;

use super::Api;
use super::requests::{account, playbook_id};
use crate::domain::definition::{check, with_defaults};

/// What `UpdatePlaybook` may replace (`enabled` is not here: enable/disable change it).
const UPDATABLE: &[&str] = &[
    "display_name",
    "description",
    "triggers",
    "audience",
    "cooldown",
    "steps",
    "audience.segments",
    "audience.lifecycle_stages",
    "audience.bands",
    "audience.min_arr",
    "audience.owners",
];

impl Api {
    pub(super) async fn create_playbook(
        &self,
        req: pb::CreatePlaybookRequest,
    ) -> Result<pb::Playbook, Error> {
        let request_id = idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
            Error::invalid("request_id", "is required: a UUID chosen by the caller")
        })?;
        let id = names::new_or_given(&req.playbook_id, "playbook_id")?;
        let Some(mut playbook) = req.playbook.clone() else {
            return Err(Error::invalid("playbook", "is required"));
        };
        check(&playbook, "playbook")?;
        with_defaults(&mut playbook);
        self.store.create_playbook(request_id, &req, &id, &playbook, Utc::now()).await
    }

    pub(super) async fn get_playbook(
        &self,
        req: pb::GetPlaybookRequest,
    ) -> Result<pb::Playbook, Error> {
        let id = playbook_id(&req.name, "name")?;
        if req.version < 0 {
            return Err(Error::invalid("version", "must not be negative (0 = the latest)"));
        }
        self.store.get_playbook(id, req.version).await
    }

    pub(super) async fn list_playbooks(
        &self,
        req: pb::ListPlaybooksRequest,
    ) -> Result<pb::ListPlaybooksResponse, Error> {
        let limit = page::size(req.page_size)?;
        let kind = pb::TriggerKind::try_from(req.trigger_kind)
            .map_err(|_| Error::invalid("trigger_kind", "unknown trigger kind"))?;
        let (playbooks, next_page_token) =
            self.store.list_playbooks(req.enabled, kind, limit, &req.page_token).await?;
        Ok(pb::ListPlaybooksResponse { playbooks, next_page_token })
    }

    pub(super) async fn list_playbook_versions(
        &self,
        req: pb::ListPlaybookVersionsRequest,
    ) -> Result<pb::ListPlaybookVersionsResponse, Error> {
        let id = playbook_id(&req.name, "name")?;
        let limit = page::size(req.page_size)?;
        let (playbooks, next_page_token) =
            self.store.list_playbook_versions(id, limit, &req.page_token).await?;
        Ok(pb::ListPlaybookVersionsResponse { playbooks, next_page_token })
    }

    pub(super) async fn update_playbook(
        &self,
        req: pb::UpdatePlaybookRequest,
    ) -> Result<pb::Playbook, Error> {
        let Some(input) = req.playbook else {
            return Err(Error::invalid("playbook", "is required"));
        };
        let id = playbook_id(&input.name, "playbook.name")?;
        let paths = mask::paths(req.update_mask.as_ref(), UPDATABLE, |p| match p {
            "display_name" => !input.display_name.is_empty(),
            "description" => !input.description.is_empty(),
            "triggers" => !input.triggers.is_empty(),
            "audience" => input.audience.is_some(),
            "cooldown" => input.cooldown.is_some(),
            "steps" => !input.steps.is_empty(),
            _ => false,
        })?;
        self.store
            .update_playbook(
                id,
                &input.etag,
                |stored| {
                    let mut merged = apply(stored, &input, &paths);
                    check(&merged, "playbook")?;
                    with_defaults(&mut merged);
                    Ok(merged)
                },
                Utc::now(),
            )
            .await
    }

    pub(super) async fn delete_playbook(
        &self,
        req: pb::DeletePlaybookRequest,
        caller: String,
    ) -> Result<(), Error> {
        let id = playbook_id(&req.name, "name")?;
        self.store.delete_playbook(id, &req.etag, req.force, &caller, Utc::now()).await
    }

    pub(super) async fn set_enabled(
        &self,
        name: &str,
        etag: &str,
        enabled: bool,
    ) -> Result<pb::Playbook, Error> {
        let id = playbook_id(name, "name")?;
        self.store.set_enabled(id, etag, enabled, Utc::now()).await
    }

    pub(super) async fn evaluate_triggers(
        &self,
        req: pb::EvaluateTriggersRequest,
    ) -> Result<pb::EvaluateTriggersResponse, Error> {
        let account = account(&req.account, "account")?;
        let only = if req.playbook.is_empty() {
            None
        } else {
            Some(playbook_id(&req.playbook, "playbook")?)
        };
        self.evaluator.dry_run(&account, only).await
    }
}

/// `stored` with the masked `paths` taken from `input`.
fn apply(stored: &pb::Playbook, input: &pb::Playbook, paths: &[&str]) -> pb::Playbook {
    let mut out = stored.clone();
    for path in paths {
        match *path {
            "display_name" => out.display_name.clone_from(&input.display_name),
            "description" => out.description.clone_from(&input.description),
            "triggers" => out.triggers.clone_from(&input.triggers),
            "audience" => out.audience.clone_from(&input.audience),
            "cooldown" => out.cooldown = input.cooldown,
            "steps" => out.steps.clone_from(&input.steps),
            sub => {
                let from = input.audience.clone().unwrap_or_default();
                let to = out.audience.get_or_insert_with(Default::default);
                match sub {
                    "audience.segments" => to.segments = from.segments,
                    "audience.lifecycle_stages" => to.lifecycle_stages = from.lifecycle_stages,
                    "audience.bands" => to.bands = from.bands,
                    "audience.min_arr" => to.min_arr = from.min_arr,
                    "audience.owners" => to.owners = from.owners,
                    _ => {}
                }
            }
        }
    }
    out
}
