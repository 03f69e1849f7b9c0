//! The gRPC surface: parse and validate the request, call the store, answer.

mod group;
mod requests;
mod stream;

use chrono::Utc;
use steward_kit::auth::{MethodScopes, Scope};
use steward_kit::{Error, Violations, idempotency, mask, names, page};
use steward_proto::ticket::v1::{self as pb, ticket_ingest_service_server::TicketIngestService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::domain::{sla, validate};
use crate::store::Store;
use requests::{account_id, kpi_request, summary_window, ticket_query};

/// Who may call what.
pub const SCOPES: MethodScopes = &[
    ("IngestTicket", Scope::Ingest),
    ("StreamIngestTickets", Scope::Ingest),
    ("GetTicket", Scope::Read),
    ("ListTickets", Scope::Read),
    ("ListTicketEvents", Scope::Read),
    ("GetSupportSummary", Scope::Read),
    ("BatchGetSupportSummaries", Scope::Read),
    ("GetSupportKpis", Scope::Read),
    ("CreateSlaPolicy", Scope::Write),
    ("GetSlaPolicy", Scope::Read),
    ("ListSlaPolicies", Scope::Read),
    ("UpdateSlaPolicy", Scope::Write),
    ("DeleteSlaPolicy", Scope::Write),
    ("ListSupportChanges", Scope::Read),
    ("WatchSupportChanges", Scope::Read),
];

/// Most accounts one `BatchGetSupportSummaries` call may name.
const MAX_BATCH_SUMMARIES: usize = 1000;

/// The fields `UpdateSlaPolicy` may replace.
const POLICY_UPDATABLE: &[&str] = &["display_name", "targets", "sources"];

/// `TicketIngestService` over the store.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    group: group::GroupCommit,
}

impl Api {
    /// The API over `store`; starts the group-commit writers.
    pub fn new(store: Store) -> Self {
        Self { group: group::GroupCommit::start(store.clone()), store }
    }
}

/// `BatchGetSupportSummariesRequest.accounts` as account ids: 1 to 1,000, each well formed
/// (every bad one named).
fn account_ids(names: &[String]) -> Result<Vec<&str>, Error> {
    let mut v = Violations::default();
    v.check(!names.is_empty(), "accounts", "name at least one account");
    v.check(
        names.len() <= MAX_BATCH_SUMMARIES,
        "accounts",
        format!("at most {MAX_BATCH_SUMMARIES} accounts per call"),
    );
    let mut ids = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        match account_id(name, &format!("accounts[{i}]")) {
            Ok(id) => ids.push(id),
            Err(Error::InvalidArgument(bad)) => {
                bad.into_iter().for_each(|b| v.add(b.field, b.description));
            }
            Err(other) => return Err(other),
        }
    }
    v.finish()?;
    Ok(ids)
}

type Answer<T> = Result<Response<T>, Status>;

fn ok<T>(result: Result<T, Error>) -> Answer<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl TicketIngestService for Api {
    async fn ingest_ticket(
        &self,
        req: Request<pb::IngestTicketRequest>,
    ) -> Answer<pb::IngestTicketResponse> {
        let req = req.into_inner();
        ok(async {
            let request_id = idempotency::parse(&req.request_id, "request_id")?;
            let snapshot = validate::validate(req.ticket.clone())?;
            let Some(request_id) = request_id else {
                return self.group.ingest(snapshot).await;
            };
            // The stored answer must commit with this ticket alone: no shared transaction.
            let results = self.store.ingest(vec![snapshot], Some((request_id, &req))).await?;
            results
                .into_iter()
                .next()
                .unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("ingest answered no item"))))
        }
        .await)
    }

    type StreamIngestTicketsStream =
        ReceiverStream<Result<pb::StreamIngestTicketsResponse, Status>>;

    async fn stream_ingest_tickets(
        &self,
        req: Request<Streaming<pb::StreamIngestTicketsRequest>>,
    ) -> Answer<Self::StreamIngestTicketsStream> {
        Ok(Response::new(stream::spawn(self.store.clone(), req.into_inner())))
    }

    async fn get_ticket(&self, req: Request<pb::GetTicketRequest>) -> Answer<pb::Ticket> {
        use pb::get_ticket_request::Key;
        ok(async {
            match &req.get_ref().key {
                Some(Key::Name(name)) => {
                    let [id] = names::parse(name, "tickets/{}", "name")?;
                    self.store.get_ticket(id).await
                }
                Some(Key::SourceKey(key)) => {
                    let source = pb::Source::try_from(key.source)
                        .ok()
                        .filter(|s| *s != pb::Source::Unspecified)
                        .ok_or_else(|| {
                            Error::invalid("source_key.source", "must be a known platform")
                        })?;
                    if key.external_id.is_empty() {
                        return Err(Error::invalid("source_key.external_id", "must not be empty"));
                    }
                    self.store
                        .get_ticket_by_key(source, &key.source_instance, &key.external_id)
                        .await
                }
                None => Err(Error::invalid("name", "set `name` or `source_key`")),
            }
        }
        .await)
    }

    async fn list_tickets(
        &self,
        req: Request<pb::ListTicketsRequest>,
    ) -> Answer<pb::ListTicketsResponse> {
        let req = req.into_inner();
        ok(async {
            let limit = page::size(req.page_size)?;
            let query = ticket_query(&req)?;
            let (tickets, next_page_token) =
                self.store.list_tickets(&query, limit, &req.page_token).await?;
            Ok(pb::ListTicketsResponse { tickets, next_page_token })
        }
        .await)
    }

    async fn list_ticket_events(
        &self,
        req: Request<pb::ListTicketEventsRequest>,
    ) -> Answer<pb::ListTicketEventsResponse> {
        let req = req.into_inner();
        ok(async {
            let [id] = names::parse(&req.parent, "tickets/{}", "parent")?;
            let limit = page::size(req.page_size)?;
            let (events, next_page_token) =
                self.store.list_ticket_events(id, limit, &req.page_token).await?;
            Ok(pb::ListTicketEventsResponse { events, next_page_token })
        }
        .await)
    }

    async fn get_support_summary(
        &self,
        req: Request<pb::GetSupportSummaryRequest>,
    ) -> Answer<pb::SupportSummary> {
        let req = req.into_inner();
        ok(async {
            let id = account_id(&req.account, "account")?;
            let (window, as_of, history) = summary_window(&req, Utc::now())?;
            let mut summaries = self.store.support_summaries(&[id], window, as_of, history).await?;
            summaries
                .pop()
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("a summary batch of one was empty")))
        }
        .await)
    }

    async fn batch_get_support_summaries(
        &self,
        req: Request<pb::BatchGetSupportSummariesRequest>,
    ) -> Answer<pb::BatchGetSupportSummariesResponse> {
        let req = req.into_inner();
        ok(async {
            let ids = account_ids(&req.accounts)?;
            // The window fields mean what they mean in `GetSupportSummary`, same field names.
            let single = pb::GetSupportSummaryRequest {
                account: String::new(),
                window: req.window,
                as_of: req.as_of,
                history_windows: req.history_windows,
            };
            let (window, as_of, history) = summary_window(&single, Utc::now())?;
            let summaries = self.store.support_summaries(&ids, window, as_of, history).await?;
            Ok(pb::BatchGetSupportSummariesResponse { summaries })
        }
        .await)
    }

    async fn get_support_kpis(
        &self,
        req: Request<pb::GetSupportKpisRequest>,
    ) -> Answer<pb::SupportKpis> {
        ok(async {
            let (start, end, filter, group_by) = kpi_request(req.get_ref(), Utc::now())?;
            self.store.support_kpis(&filter, start, end, group_by).await
        }
        .await)
    }

    async fn create_sla_policy(
        &self,
        req: Request<pb::CreateSlaPolicyRequest>,
    ) -> Answer<pb::SlaPolicy> {
        let req = req.into_inner();
        ok(async {
            let request_id =
                idempotency::parse(&req.request_id, "request_id")?.ok_or_else(|| {
                    Error::invalid("request_id", "is required: a UUID chosen by the caller")
                })?;
            let id = names::new_or_given(&req.sla_policy_id, "sla_policy_id")?;
            let policy = req.sla_policy.clone().unwrap_or_default();
            let fields = sla::parse_fields(&policy, "sla_policy")?;
            self.store.create_sla_policy(&req, request_id, id, fields, &policy).await
        }
        .await)
    }

    async fn get_sla_policy(&self, req: Request<pb::GetSlaPolicyRequest>) -> Answer<pb::SlaPolicy> {
        ok(async {
            let [id] = names::parse(&req.get_ref().name, "slaPolicies/{}", "name")?;
            self.store.get_sla_policy(id).await
        }
        .await)
    }

    async fn list_sla_policies(
        &self,
        req: Request<pb::ListSlaPoliciesRequest>,
    ) -> Answer<pb::ListSlaPoliciesResponse> {
        ok(async {
            let limit = page::size(req.get_ref().page_size)?;
            let (sla_policies, next_page_token) =
                self.store.list_sla_policies(limit, &req.get_ref().page_token).await?;
            Ok(pb::ListSlaPoliciesResponse { sla_policies, next_page_token })
        }
        .await)
    }

    async fn update_sla_policy(
        &self,
        req: Request<pb::UpdateSlaPolicyRequest>,
    ) -> Answer<pb::SlaPolicy> {
        let req = req.into_inner();
        ok(async {
            let input = req.sla_policy.unwrap_or_default();
            let [id] = names::parse(&input.name, "slaPolicies/{}", "sla_policy.name")?;
            let paths = mask::paths(req.update_mask.as_ref(), POLICY_UPDATABLE, |p| match p {
                "display_name" => !input.display_name.is_empty(),
                "targets" => !input.targets.is_empty(),
                _ => !input.sources.is_empty(),
            })?;
            self.store
                .update_sla_policy(id, &input.etag, |mut stored| {
                    for path in &paths {
                        match *path {
                            "display_name" => stored.display_name = input.display_name.clone(),
                            "targets" => stored.targets = input.targets.clone(),
                            _ => stored.sources = input.sources.clone(),
                        }
                    }
                    Ok((sla::parse_fields(&stored, "sla_policy")?, stored))
                })
                .await
        }
        .await)
    }

    async fn delete_sla_policy(&self, req: Request<pb::DeleteSlaPolicyRequest>) -> Answer<()> {
        ok(async {
            let [id] = names::parse(&req.get_ref().name, "slaPolicies/{}", "name")?;
            self.store.delete_sla_policy(id, &req.get_ref().etag).await
        }
        .await)
    }

    async fn list_support_changes(
        &self,
        req: Request<pb::ListSupportChangesRequest>,
    ) -> Answer<pb::ListSupportChangesResponse> {
        let req = req.into_inner();
        ok(async {
            let (changes, next_cursor) =
                self.store.feed().list(&req.after_cursor, req.page_size).await?;
            Ok(pb::ListSupportChangesResponse { changes, next_cursor })
        }
        .await)
    }

    type WatchSupportChangesStream = ReceiverStream<Result<pb::SupportChange, Status>>;

    async fn watch_support_changes(
        &self,
        req: Request<pb::WatchSupportChangesRequest>,
    ) -> Answer<Self::WatchSupportChangesStream> {
        ok(self.store.feed().watch(&req.get_ref().after_cursor).await)
    }
}
