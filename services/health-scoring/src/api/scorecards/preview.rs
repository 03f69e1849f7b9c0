//! `PreviewScorecard`: a draft scorecard evaluated over the inputs behind the accounts'
//! current scores, compared with the live scores. Stores nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use steward_kit::{Error, Violations};
use steward_proto::health::v1 as pb;

use super::super::Api;
use super::super::requests::{self, scorecard_id};
use crate::domain::measures;
use crate::domain::preview::{self, Evaluated};
use crate::domain::scorecard::{check, with_defaults};
use crate::domain::selection;
use crate::scorer::{Subject, evaluate};

/// How many accounts are evaluated at once.
const CONCURRENCY: usize = 8;

impl Api {
    pub(in crate::api) async fn preview_scorecard(
        &self,
        req: pb::PreviewScorecardRequest,
    ) -> Result<pb::PreviewScorecardResponse, Error> {
        let now = Utc::now();
        let mut draft = req.scorecard.clone().unwrap_or_default();
        check(&draft, "scorecard")?;
        let (sample_limit, max_changes) = check_request(&req)?;
        with_defaults(&mut draft);
        if !draft.name.is_empty() {
            let id = scorecard_id(&draft.name, "scorecard.name")?;
            self.store.get_scorecard(id, 0).await?;
        }
        let selected = self.select(&req, &draft).await?;
        let matched = selected.len();
        let evaluated: Vec<Evaluated> =
            futures_util::stream::iter(selected.into_iter().take(sample_limit))
                .map(|account| self.evaluate_draft(account, &draft, now))
                .buffered(CONCURRENCY)
                .try_collect()
                .await?;
        let mut response = preview::compare(&evaluated, max_changes);
        response.matched_account_count = i32::try_from(matched).unwrap_or(i32::MAX);
        response.evaluated_account_count = i32::try_from(evaluated.len()).unwrap_or(i32::MAX);
        Ok(response)
    }

    /// The accounts to evaluate, by name: the named ones, or those in the segments and
    /// stages (by AND), or, with no filter at all, those the draft would score if saved.
    async fn select(
        &self,
        req: &pb::PreviewScorecardRequest,
        draft: &pb::Scorecard,
    ) -> Result<Vec<String>, Error> {
        if req.accounts.is_empty() && req.segments.is_empty() && req.lifecycle_stages.is_empty() {
            let latest = self.store.latest_scorecards().await?;
            let none = pb::Assignment::default();
            let others: Vec<&pb::Assignment> = latest
                .iter()
                .filter(|s| s.name != draft.name)
                .map(|s| s.assignment.as_ref().unwrap_or(&none))
                .collect();
            let cells = self.store.account_cells().await?;
            return Ok(selection::scored_by(
                &others,
                draft.assignment.as_ref().unwrap_or(&none),
                &cells,
            ));
        }
        let unknown = self.store.unknown_accounts(&req.accounts).await?;
        let mut v = Violations::default();
        for (i, name) in req.accounts.iter().enumerate() {
            v.check(
                !unknown.contains(name),
                format!("accounts[{i}]"),
                format!("{name} is not a known account"),
            );
        }
        v.finish()?;
        self.store.select_accounts(&req.segments, &req.lifecycle_stages, &req.accounts).await
    }

    /// `account`'s live score and its score under `draft` at `now`, from the support
    /// summaries its last score used (windows they lack are read from ticket-ingest), the
    /// account as cached and its stored measurements.
    async fn evaluate_draft(
        &self,
        account: String,
        draft: &pb::Scorecard,
        now: DateTime<Utc>,
    ) -> Result<Evaluated, Error> {
        let known = match self.store.account(&account).await? {
            Some(k) => {
                let seen = k.caught_up(self.store.account_feed_time().await?);
                Some((k.account, seen))
            }
            None => None,
        };
        let live = self.store.score(&account).await?;
        let needed = measures::windows_needed(draft);
        let mut stored = self.store.support_inputs(&account).await?;
        let missing: Vec<i64> =
            needed.iter().copied().filter(|w| !stored.contains_key(w)).collect();
        let mut summaries: BTreeMap<_, _> =
            needed.iter().filter_map(|w| stored.remove_entry(w)).collect();
        let one = std::slice::from_ref(&account);
        summaries
            .extend(self.scorer.summaries(one, &missing, now).await?.pop().unwrap_or_default());
        let subject = Subject { account: account.clone(), known, summaries };
        let inputs = self.scorer.inputs(draft, vec![subject], now).await?.pop().unwrap_or_default();
        let draft = evaluate(&account, draft, &inputs);
        Ok(Evaluated { account, live, draft })
    }
}

/// The request's own fields: `sample_limit`, `max_band_changes` (as limits), the account
/// names and the segment and stage filters.
fn check_request(req: &pb::PreviewScorecardRequest) -> Result<(usize, usize), Error> {
    let mut v = Violations::default();
    let sample = preview::limit(req.sample_limit, preview::DEFAULT_SAMPLE, preview::MAX_SAMPLE);
    v.check(sample.is_some(), "sample_limit", "must not be negative (0 = the default, 10,000)");
    let changes = preview::limit(
        req.max_band_changes,
        preview::DEFAULT_BAND_CHANGES,
        preview::MAX_BAND_CHANGES,
    );
    v.check(changes.is_some(), "max_band_changes", "must not be negative (0 = the default, 100)");
    v.check(
        req.accounts.len() <= preview::MAX_ACCOUNTS,
        "accounts",
        format!("at most {} accounts", preview::MAX_ACCOUNTS),
    );
    for (i, name) in req.accounts.iter().enumerate() {
        if let Err(Error::InvalidArgument(bad)) = requests::account(name, &format!("accounts[{i}]"))
        {
            bad.into_iter().for_each(|b| v.add(b.field, b.description));
        }
    }
    requests::known::<pb::Segment>(&req.segments, "segments", &mut v);
    requests::known::<pb::LifecycleStage>(&req.lifecycle_stages, "lifecycle_stages", &mut v);
    v.finish()?;
    let to_usize = |n: Option<i32>| usize::try_from(n.unwrap_or(0)).unwrap_or(0);
    Ok((to_usize(sample), to_usize(changes)))
}
