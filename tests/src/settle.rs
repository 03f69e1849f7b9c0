//! Waiting until the suite has settled: every feed consumer has read its producer's feed to
//! the end, and no account waits to be re-scored or evaluated. Then nothing more happens
//! until new input arrives (or the hourly sweep), so scores and runs are final.
//!
//! The checks run upstream first (account, then ticket-ingest, health-scoring, playbook):
//! once a stage is idle with its input read, it produces nothing new, so what is checked
//! after it cannot be undone by it. Feed entries become visible to readers only once older
//! transactions have ended, so one idle reading could miss an entry about to appear; the
//! suite counts as settled when two readings in a row, 200 ms apart, find it idle.

use std::time::Duration;

use anyhow::Result;
use sqlx::AssertSqlSafe;
use steward_proto::account::v1::ListAccountChangesRequest;
use steward_proto::health::v1::ListHealthChangesRequest;
use steward_proto::ticket::v1::ListSupportChangesRequest;

use crate::Suite;

/// The longest a suite may take to settle (a 10,000-ticket stream with restarts included).
const LIMIT: Duration = Duration::from_secs(180);

/// A feed the services produce.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Account,
    Support,
    Health,
}

/// What to check, upstream first: a consumer (schema, name) and the feed it reads, or a
/// queue of accounts (schema) to re-score or evaluate.
enum Stage {
    Consumer(&'static str, &'static str, Feed),
    Queue(&'static str),
}

const STAGES: [Stage; 8] = [
    Stage::Consumer("ticket", "ticket.account-feed", Feed::Account),
    Stage::Consumer("health", "health.account-feed", Feed::Account),
    Stage::Consumer("health", "health.support-feed", Feed::Support),
    Stage::Queue("health"),
    Stage::Consumer("playbook", "playbook.account-feed", Feed::Account),
    Stage::Consumer("playbook", "playbook.support-feed", Feed::Support),
    Stage::Consumer("playbook", "playbook.health-feed", Feed::Health),
    Stage::Queue("playbook"),
];

/// Waits until `suite` has settled (see the module header). Panics after [`LIMIT`], naming
/// the stage that is still busy.
pub async fn settle(suite: &Suite) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut idle_readings = 0;
    loop {
        match busy_stage(suite).await {
            Ok(None) => {
                idle_readings += 1;
                if idle_readings == 2 {
                    return;
                }
            }
            Ok(Some(busy)) => {
                idle_readings = 0;
                if tokio::time::Instant::now() >= deadline {
                    panic!("the suite did not settle within {LIMIT:?}: {busy}");
                }
            }
            // A service restarting answers UNAVAILABLE for a moment.
            Err(e) => {
                idle_readings = 0;
                if tokio::time::Instant::now() >= deadline {
                    panic!("the suite did not settle within {LIMIT:?}: {e:#}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The first stage with work left, described; None when all are idle.
async fn busy_stage(suite: &Suite) -> Result<Option<String>> {
    for stage in STAGES {
        match stage {
            Stage::Consumer(schema, name, feed) => {
                let sql = format!("SELECT cursor FROM {schema}.feed_cursors WHERE consumer = $1");
                let cursor: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
                    .bind(name)
                    .fetch_optional(&suite.pool)
                    .await?;
                let cursor = cursor.unwrap_or_default();
                if has_after(suite, feed, &cursor).await? {
                    return Ok(Some(format!(
                        "consumer {name} has not read the {feed:?} feed to its end"
                    )));
                }
            }
            Stage::Queue(schema) => {
                let sql = format!("SELECT count(*) FROM {schema}.dirty_accounts");
                let queued: i64 =
                    sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&suite.pool).await?;
                if queued > 0 {
                    return Ok(Some(format!("{queued} accounts queued in {schema}")));
                }
            }
        }
    }
    Ok(None)
}

/// Whether `feed` holds an entry after `cursor`.
async fn has_after(suite: &Suite, feed: Feed, cursor: &str) -> Result<bool> {
    let after_cursor = cursor.to_owned();
    Ok(match feed {
        Feed::Account => {
            let req = ListAccountChangesRequest { after_cursor, page_size: 1 };
            !suite.accounts.clone().list_account_changes(req).await?.into_inner().changes.is_empty()
        }
        Feed::Support => {
            let req = ListSupportChangesRequest { after_cursor, page_size: 1 };
            !suite.tickets.clone().list_support_changes(req).await?.into_inner().changes.is_empty()
        }
        Feed::Health => {
            let req = ListHealthChangesRequest { after_cursor, page_size: 1 };
            !suite.health.clone().list_health_changes(req).await?.into_inner().changes.is_empty()
        }
    })
}
