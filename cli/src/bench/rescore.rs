//! `steward bench rescore`: RescoreAccounts over every account, polled to its end.

use std::time::{Duration, Instant};

use clap::Args;
use steward_proto::health::v1 as pb;

use super::report::{Figure, Report};
use super::{Common, progress, rss, workload};
use crate::client::Connection;

const POLL: Duration = Duration::from_millis(100);

/// `steward bench rescore`.
#[derive(Debug, Args)]
pub(crate) struct RescoreArgs {
    /// Bench accounts to have (created if missing) before re-scoring every account.
    #[arg(long, default_value_t = 10_000)]
    accounts: u64,

    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run(args: &RescoreArgs, conn: &Connection) -> anyhow::Result<Report> {
    progress(&format!("making sure {} bench accounts exist", args.accounts));
    let refs = (0..args.accounts).map(workload::account_ref).collect();
    workload::ensure_accounts(conn, refs).await?;
    let (peer, mut health) = conn.health(false)?;
    let sampler = rss::Sampler::start(conn);
    let mut repeats = Vec::new();
    for r in 1..=args.common.repeat {
        progress(&format!("repeat {r}/{}: RescoreAccounts", args.common.repeat));
        let started = Instant::now();
        let request = pb::RescoreAccountsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        let mut op =
            health.rescore_accounts(request).await.map_err(|s| peer.error(s))?.into_inner();
        while !matches!(op.state(), pb::RescoreState::Succeeded | pb::RescoreState::Failed) {
            tokio::time::sleep(POLL).await;
            let request = pb::GetRescoreOperationRequest { name: op.name.clone() };
            op = health
                .get_rescore_operation(request)
                .await
                .map_err(|s| peer.error(s))?
                .into_inner();
        }
        let elapsed = started.elapsed();
        let done = u64::try_from(op.done_count).unwrap_or(0);
        repeats.push(vec![
            Figure::service("accounts/s", "/s", super::tally::per_second(done, elapsed)),
            Figure::service("accounts re-scored", "", done as f64),
            Figure::service("time", "s", elapsed.as_secs_f64()),
            Figure::count("accounts failed", u64::try_from(op.failed_count).unwrap_or(0)),
            Figure::service("scores changed", "", f64::from(op.changed_count)),
        ]);
    }
    let memory = sampler.finish().await;
    let mut report = Report::new(format!("rescore --accounts {}", args.accounts), &repeats, memory);
    report.notes.push(
        "Every account is re-scored (the bench accounts and any others); time from the request \
         to the operation's end, polled every 100 ms. No Postgres baseline for this mode."
            .into(),
    );
    Ok(report)
}
