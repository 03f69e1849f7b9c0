//! `steward runs list | show RUN | complete RUN STEP | skip RUN STEP`: playbook runs and
//! the tasks people do in them.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use steward_proto::playbook::v1 as pb;

use crate::client::{Connection, Peer, Playbooks};
use crate::commands::account_name;
use crate::commands::accounts::dash;
use crate::commands::playbooks::{playbook_name, short};
use crate::enum_arg;
use crate::json;
use crate::output::{self, Format};

/// The run message, for JSON.
pub const RUN: &str = "steward.playbook.v1.PlaybookRun";

/// Playbook runs.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List(ListArgs),
    /// Show a run: origin, evidence and every step.
    Show {
        /// The run: its id or `playbookRuns/{id}`.
        run: String,
    },
    /// Mark the run's active task DONE (the next step becomes active).
    Complete {
        /// The run: its id or `playbookRuns/{id}`.
        run: String,
        /// The step's id, e.g. `review_risk`.
        step: String,
        /// A note recorded with the step.
        #[arg(long)]
        note: Option<String>,
        /// The person on whose behalf this is done (default: the token's name).
        #[arg(long)]
        actor: Option<String>,
    },
    /// Skip the run's active step (the next step becomes active).
    Skip {
        /// The run: its id or `playbookRuns/{id}`.
        run: String,
        /// The step's id, e.g. `sponsor_call`.
        step: String,
        /// Why it is skipped.
        #[arg(long)]
        reason: Option<String>,
        /// The person on whose behalf this is done (default: the token's name).
        #[arg(long)]
        actor: Option<String>,
    },
}

/// Filters for `runs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only runs for this account (`acme` or `accounts/acme`).
    #[arg(long)]
    account: Option<String>,
    /// Only runs of this playbook (`churn-risk` or `playbooks/churn-risk`).
    #[arg(long)]
    playbook: Option<String>,
    /// Only runs in these states (active, completed, cancelled, failed); repeatable.
    #[arg(long = "state", value_parser = state_arg())]
    states: Vec<i32>,
    /// Only runs whose active task is past its due time.
    #[arg(long)]
    overdue: bool,
    /// At most this many runs; 0 lists them all.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

fn state_arg() -> impl Fn(&str) -> Result<i32, String> + Clone + Send + Sync + 'static {
    enum_arg!(pb::RunState, "RUN_STATE_", ["active", "completed", "cancelled", "failed"])
}

impl RunsCommand {
    /// Runs the command against the playbook service.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        let (peer, mut client) = conn.playbooks()?;
        let run = match self {
            RunsCommand::List(args) => return list(&peer, &mut client, format, args).await,
            RunsCommand::Show { run } => {
                let request = pb::GetPlaybookRunRequest { name: run_name(&run) };
                client.get_playbook_run(request).await
            }
            RunsCommand::Complete { run, step, note, actor } => {
                let request = pb::CompleteRunStepRequest {
                    run: run_name(&run),
                    step_id: step,
                    note: note.unwrap_or_default(),
                    actor: actor.unwrap_or_default(),
                    ..Default::default()
                };
                client.complete_run_step(request).await
            }
            RunsCommand::Skip { run, step, reason, actor } => {
                let request = pb::SkipRunStepRequest {
                    run: run_name(&run),
                    step_id: step,
                    reason: reason.unwrap_or_default(),
                    actor: actor.unwrap_or_default(),
                };
                client.skip_run_step(request).await
            }
        };
        let run = run.map_err(|s| peer.error(s))?.into_inner();
        match format {
            Format::Json => output::print_json(&json::to_value(RUN, &run)?)?,
            Format::Table => output::print(&show_text(&run))?,
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `abc` or `playbookRuns/abc` → `playbookRuns/abc`.
pub fn run_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("playbookRuns/") { arg.to_owned() } else { format!("playbookRuns/{arg}") }
}

/// Every run matching `request`, up to `limit` (0: all), newest first.
pub(crate) async fn fetch(
    peer: &Peer,
    client: &mut Playbooks,
    mut request: pb::ListPlaybookRunsRequest,
    limit: usize,
) -> anyhow::Result<Vec<pb::PlaybookRun>> {
    request.page_size = 1000;
    let mut runs = Vec::new();
    loop {
        let page = client
            .list_playbook_runs(request.clone())
            .await
            .map_err(|s| peer.error(s))?
            .into_inner();
        runs.extend(page.playbook_runs);
        if page.next_page_token.is_empty() || (limit > 0 && runs.len() >= limit) {
            break;
        }
        request.page_token = page.next_page_token;
    }
    if limit > 0 {
        runs.truncate(limit);
    }
    Ok(runs)
}

async fn list(
    peer: &Peer,
    client: &mut Playbooks,
    format: Format,
    args: ListArgs,
) -> anyhow::Result<ExitCode> {
    let request = pb::ListPlaybookRunsRequest {
        account: args.account.as_deref().map(account_name).unwrap_or_default(),
        playbook: args.playbook.as_deref().map(playbook_name).unwrap_or_default(),
        states: args.states,
        overdue: args.overdue,
        ..Default::default()
    };
    let runs = fetch(peer, client, request, args.limit).await?;
    match format {
        Format::Json => output::print_json(&runs_json(&runs)?)?,
        Format::Table => output::print(&runs_table(&runs, true))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `{"playbookRuns": [...]}`.
fn runs_json(runs: &[pb::PlaybookRun]) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({ "playbookRuns": runs_values(runs)? }))
}

/// The runs in the proto3 JSON mapping.
pub(crate) fn runs_values(runs: &[pb::PlaybookRun]) -> anyhow::Result<Vec<serde_json::Value>> {
    runs.iter().map(|r| json::to_value(RUN, r)).collect()
}

/// One row per run: where it stands and what is next; `with_account` for lists that span
/// accounts.
pub(crate) fn runs_table(runs: &[pb::PlaybookRun], with_account: bool) -> String {
    let mut headers = vec!["run", "playbook"];
    if with_account {
        headers.push("account");
    }
    headers.extend(["state", "current step", "assignee", "due", "started"]);
    let rows = runs.iter().map(|r| {
        let current = r.steps.iter().find(|s| s.step_id == r.current_step_id);
        let mut row = vec![short(&r.name), short(&r.playbook)];
        if with_account {
            row.push(short(&r.account));
        }
        row.extend([
            run_state(r.state),
            current.map_or("-".into(), |s| s.step_id.clone()),
            current.map_or("-".into(), step_assignee),
            output::time(current.and_then(|s| s.due_time.as_ref())),
            output::time(r.create_time.as_ref()),
        ]);
        row
    });
    output::table(&headers, rows)
}

fn run_state(value: i32) -> String {
    output::enum_name(pb::RunState::try_from(value).map_or("?", |s| s.as_str_name()), "RUN_STATE_")
}

fn step_state(value: i32) -> String {
    output::enum_name(
        pb::StepState::try_from(value).map_or("?", |s| s.as_str_name()),
        "STEP_STATE_",
    )
}

fn step_kind(value: i32) -> String {
    output::enum_name(pb::StepKind::try_from(value).map_or("?", |s| s.as_str_name()), "STEP_KIND_")
}

/// The person, `team X`, or `-`.
fn step_assignee(s: &pb::RunStep) -> String {
    if !s.assignee.is_empty() {
        s.assignee.clone()
    } else if !s.assignee_team.is_empty() {
        format!("team {}", s.assignee_team)
    } else {
        "-".into()
    }
}

/// What the step is about: a task's title, an email's subject, a wait's wake time.
fn step_detail(s: &pb::RunStep) -> String {
    use pb::run_step::Content;
    match &s.content {
        Some(Content::Task(t)) => t.title.clone(),
        Some(Content::Email(e)) => e.subject.clone(),
        Some(Content::Wait(w)) => format!("until {}", output::time(w.wake_time.as_ref())),
        Some(Content::Action(a)) => a.action_type.clone(),
        None => "-".into(),
    }
}

fn show_text(r: &pb::PlaybookRun) -> String {
    let origin = match r.origin.as_ref().and_then(|o| o.kind.as_ref()) {
        Some(pb::run_origin::Kind::Manual(m)) => format!("manual, by {}", dash(&m.started_by)),
        Some(pb::run_origin::Kind::Automatic(a)) => {
            let kind = pb::TriggerKind::try_from(a.trigger_kind).map_or("?", |k| k.as_str_name());
            format!("trigger {}", output::enum_name(kind, "TRIGGER_KIND_"))
        }
        None => "-".into(),
    };
    let mut rows = vec![
        ("name", r.name.clone()),
        (
            "playbook",
            format!("{}@{} ({})", short(&r.playbook), r.playbook_version, r.playbook_display_name),
        ),
        ("account", r.account.clone()),
        ("state", run_state(r.state)),
        ("origin", origin),
        ("why", dash(&r.trigger_summary)),
        ("started", output::time(r.create_time.as_ref())),
        ("updated", output::time(r.update_time.as_ref())),
        ("ended", output::time(r.end_time.as_ref())),
    ];
    if !r.cancel_reason.is_empty() {
        rows.push(("cancelled", format!("{} ({})", r.cancel_reason, dash(&r.cancelled_by))));
    }
    let mut out = output::fields(rows);
    if !r.evidence.is_empty() {
        let headers = ["evidence", "value", "comparison", "threshold", "met"];
        let evidence = r.evidence.iter().map(|e| {
            vec![
                e.name.clone(),
                dash(&e.value),
                dash(&e.comparison),
                dash(&e.threshold),
                if e.satisfied { "yes".into() } else { "no".into() },
            ]
        });
        out.push_str(&format!("\n\n{}", output::table(&headers, evidence)));
    }
    let headers = ["step", "kind", "state", "assignee", "due", "ended", "detail"];
    let steps = r.steps.iter().map(|s| {
        vec![
            s.step_id.clone(),
            step_kind(s.kind),
            step_state(s.state),
            step_assignee(s),
            output::time(s.due_time.as_ref()),
            output::time(s.end_time.as_ref()),
            step_detail(s),
        ]
    });
    out.push_str(&format!("\n\n{}", output::table(&headers, steps)));
    out
}
