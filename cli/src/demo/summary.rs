//! What the demo ends with, for a CSM: the book's accounts by health, worst first, with the
//! component costing each the most points; the playbook runs of the book, with why each
//! started; whether the replay changed anything; and an account to look at next.

use std::collections::{HashMap, HashSet};

use steward_proto::health::v1 as health_pb;
use steward_proto::playbook::v1 as playbook_pb;

use super::book::{DemoAccount, Scenario};
use super::replay::Replayed;
use crate::client::Connection;
use crate::commands::playbooks::short;
use crate::commands::runs;
use crate::commands::scores::text;
use crate::output;

/// The book's current scores, worst first (accounts not scored yet last).
pub(super) async fn scores(
    conn: &Connection,
    book: &[DemoAccount],
) -> anyhow::Result<Vec<health_pb::HealthScore>> {
    let (peer, mut client) = conn.health(false)?;
    let ids = names(book);
    let mut request = health_pb::ListHealthScoresRequest {
        order_by: "score".into(),
        page_size: 1000,
        ..Default::default()
    };
    let mut scores = Vec::new();
    loop {
        let page = client
            .list_health_scores(request.clone())
            .await
            .map_err(|s| peer.error(s))?
            .into_inner();
        scores.extend(page.health_scores.into_iter().filter(|s| ids.contains(&s.account)));
        if page.next_page_token.is_empty() {
            return Ok(scores);
        }
        request.page_token = page.next_page_token;
    }
}

/// Every run of the book's accounts, newest first.
pub(super) async fn book_runs(
    conn: &Connection,
    book: &[DemoAccount],
) -> anyhow::Result<Vec<playbook_pb::PlaybookRun>> {
    let (peer, mut client) = conn.playbooks()?;
    let all = runs::fetch(&peer, &mut client, Default::default(), 0).await?;
    let ids = names(book);
    Ok(all.into_iter().filter(|r| ids.contains(&r.account)).collect())
}

/// The summary text.
pub(super) fn text(
    book: &[DemoAccount],
    scores: &[health_pb::HealthScore],
    runs: &[playbook_pb::PlaybookRun],
    replayed: &Replayed,
) -> String {
    let story: HashMap<String, Scenario> =
        book.iter().map(|a| (format!("accounts/{}", a.id), a.scenario)).collect();
    let green = health_pb::HealthBand::Green as i32;
    let (healthy, attention): (Vec<_>, Vec<_>) = scores.iter().partition(|s| s.band == green);
    let count =
        |band: health_pb::HealthBand| scores.iter().filter(|s| s.band == band as i32).count();
    let mut out = vec![format!(
        "By band: RED {}, YELLOW {}, GREEN {}.",
        count(health_pb::HealthBand::Red),
        count(health_pb::HealthBand::Yellow),
        count(health_pb::HealthBand::Green)
    )];
    out.push(format!(
        "Accounts needing attention, worst first ({} of {}; {} GREEN):",
        attention.len(),
        book.len(),
        healthy.len()
    ));
    let rows = attention.iter().map(|s| {
        vec![
            short(&s.account),
            text::band(s.band),
            text::score(s.score),
            story.get(&s.account).map_or("-", |sc| sc.label()).to_owned(),
            main_reason(s),
        ]
    });
    out.push(output::table(&["account", "band", "score", "story", "main reason"], rows));
    if let Some(lowest) = healthy.first() {
        out.push(format!(
            "The GREEN accounts score {} to {}.",
            text::score(lowest.score),
            text::score(healthy.last().and_then(|s| s.score))
        ));
    }
    out.push(String::new());
    out.push(format!("Playbook runs for these accounts ({}):", runs.len()));
    let rows = runs.iter().map(|r| {
        vec![
            short(&r.playbook),
            short(&r.account),
            output::enum_name(
                playbook_pb::RunState::try_from(r.state).map_or("?", |s| s.as_str_name()),
                "RUN_STATE_",
            ),
            r.trigger_summary.clone(),
        ]
    });
    out.push(output::table(&["playbook", "account", "state", "why"], rows));
    out.push(String::new());
    out.push(replay_line(replayed));
    if let Some(a) = book.iter().find(|a| a.scenario == Scenario::RedRenewal) {
        out.push(format!("try: steward 360 {}", a.id));
    }
    out.join("\n")
}

/// The component that costs the score the most points, with its fact.
fn main_reason(s: &health_pb::HealthScore) -> String {
    let lost = |c: &&health_pb::ComponentScore| (100.0 - c.points) * c.effective_weight;
    s.components
        .iter()
        .filter(|c| c.effective_weight > 0.0)
        .max_by(|a, b| lost(a).total_cmp(&lost(b)))
        .map_or_else(|| "-".into(), |c| format!("{}: {}", c.display_name, c.fact))
}

fn replay_line(r: &Replayed) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let report = &r.report;
    let changed = report.get("created") + report.get("updated");
    let moved = format!(
        "{} score changes, {} band changes, {} runs started",
        r.moves.scores.load(Relaxed),
        r.moves.bands.load(Relaxed),
        r.moves.runs.load(Relaxed)
    );
    if changed == 0 && report.total() > 0 {
        format!(
            "Nothing changed: this demo was loaded before (every ticket UNCHANGED; accounts, \
             contracts and contacts found, not duplicated; {moved}). Safe to run again."
        )
    } else {
        format!("The replay moved {moved}.")
    }
}

fn names(book: &[DemoAccount]) -> HashSet<String> {
    book.iter().map(|a| format!("accounts/{}", a.id)).collect()
}
