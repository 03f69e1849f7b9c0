//! `steward playbooks list | show NAME [--version N]`: the playbook service's playbooks,
//! read-only (they are edited through the API, where etags and validation belong).

use std::process::ExitCode;

use clap::Subcommand;
use steward_proto::playbook::v1 as pb;

use crate::client::Connection;
use crate::commands::accounts::dash;
use crate::json;
use crate::output::{self, Format};

/// The playbook message, for JSON.
pub const PLAYBOOK: &str = "steward.playbook.v1.Playbook";

/// Playbooks.
#[derive(Debug, Subcommand)]
pub enum PlaybooksCommand {
    /// List every playbook's latest version, by name.
    List,
    /// Show a playbook: triggers, audience, cooldown and steps.
    Show {
        /// The playbook: `churn-risk` or `playbooks/churn-risk`.
        name: String,
        /// This version instead of the latest.
        #[arg(long)]
        version: Option<i32>,
    },
}

impl PlaybooksCommand {
    /// Runs the command against the playbook service.
    pub async fn run(self, conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
        match self {
            PlaybooksCommand::List => list(conn, format).await,
            PlaybooksCommand::Show { name, version } => show(conn, format, &name, version).await,
        }
    }
}

/// `churn-risk` or `playbooks/churn-risk` → `playbooks/churn-risk`.
pub fn playbook_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.starts_with("playbooks/") { arg.to_owned() } else { format!("playbooks/{arg}") }
}

async fn list(conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.playbooks()?;
    let mut request = pb::ListPlaybooksRequest { page_size: 1000, ..Default::default() };
    let mut playbooks = Vec::new();
    loop {
        let page =
            client.list_playbooks(request.clone()).await.map_err(|s| peer.error(s))?.into_inner();
        playbooks.extend(page.playbooks);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    match format {
        Format::Json => {
            let items =
                playbooks.iter().map(|p| json::to_value(PLAYBOOK, p)).collect::<Result<_, _>>()?;
            output::print_json(
                &serde_json::json!({ "playbooks": serde_json::Value::Array(items) }),
            )?;
        }
        Format::Table => {
            let headers = [
                "playbook",
                "version",
                "display name",
                "enabled",
                "triggers",
                "cooldown",
                "steps",
                "updated",
            ];
            let rows = playbooks.iter().map(|p| {
                vec![
                    short(&p.name),
                    p.version.to_string(),
                    p.display_name.clone(),
                    yes_no(p.enabled),
                    trigger_kinds(&p.triggers),
                    output::duration(p.cooldown.as_ref()),
                    p.steps.len().to_string(),
                    output::time(p.update_time.as_ref()),
                ]
            });
            output::print(&output::table(&headers, rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(
    conn: &Connection,
    format: Format,
    name: &str,
    version: Option<i32>,
) -> anyhow::Result<ExitCode> {
    let (peer, mut client) = conn.playbooks()?;
    let request =
        pb::GetPlaybookRequest { name: playbook_name(name), version: version.unwrap_or(0) };
    let playbook = client.get_playbook(request).await.map_err(|s| peer.error(s))?.into_inner();
    match format {
        Format::Json => output::print_json(&json::to_value(PLAYBOOK, &playbook)?)?,
        Format::Table => output::print(&show_text(&playbook))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn show_text(p: &pb::Playbook) -> String {
    let triggers: Vec<String> = p.triggers.iter().map(trigger).collect();
    let rows = [
        ("name", p.name.clone()),
        ("version", p.version.to_string()),
        ("display name", p.display_name.clone()),
        ("enabled", yes_no(p.enabled)),
        ("triggers", if triggers.is_empty() { "manual only".into() } else { triggers.join("; ") }),
        ("audience", audience(p.audience.as_ref())),
        ("cooldown", output::duration(p.cooldown.as_ref())),
        ("created", output::time(p.create_time.as_ref())),
        ("updated", output::time(p.update_time.as_ref())),
    ];
    let headers = ["step", "kind", "display name", "assignee", "timing"];
    let steps = p.steps.iter().map(|s| {
        let (kind, assignee, timing) = match &s.kind {
            Some(pb::step::Kind::Task(t)) => (
                "task",
                assignee(t.assignee.as_ref()),
                t.due_offset
                    .as_ref()
                    .map_or("-".into(), |d| format!("due {}", output::duration(Some(d)))),
            ),
            Some(pb::step::Kind::Email(e)) => ("email", e.to.join(", "), "-".into()),
            Some(pb::step::Kind::Wait(w)) => {
                ("wait", "-".into(), format!("wait {}", output::duration(w.duration.as_ref())))
            }
            Some(pb::step::Kind::Action(a)) => ("action", a.action_type.clone(), "-".into()),
            None => ("-", "-".into(), "-".into()),
        };
        vec![s.id.clone(), kind.into(), s.display_name.clone(), dash(&assignee), timing]
    });
    let mut out = output::fields(rows);
    if !p.description.is_empty() {
        out.push_str(&format!("\n\n{}", p.description));
    }
    out.push_str(&format!("\n\n{}", output::table(&headers, steps)));
    out
}

/// `playbooks/churn-risk` → `churn-risk`.
pub(crate) fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_owned()
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// `ticket_count, band_entered`, or `manual only`.
fn trigger_kinds(triggers: &[pb::Trigger]) -> String {
    if triggers.is_empty() {
        return "manual only".into();
    }
    triggers.iter().map(|t| trigger_kind(t).to_owned()).collect::<Vec<_>>().join(", ")
}

fn trigger_kind(t: &pb::Trigger) -> &'static str {
    use pb::trigger::Kind;
    match &t.kind {
        Some(Kind::BandEntered(_)) => "band_entered",
        Some(Kind::ScoreDropped(_)) => "score_dropped",
        Some(Kind::TicketCount(_)) => "ticket_count",
        Some(Kind::RepeatedCategory(_)) => "repeated_category",
        Some(Kind::CsatDecline(_)) => "csat_decline",
        Some(Kind::RenewalWithin(_)) => "renewal_within",
        Some(Kind::LifecycleStageEntered(_)) => "lifecycle_stage_entered",
        None => "-",
    }
}

fn within(d: Option<&prost_types::Duration>) -> String {
    d.map_or_else(String::new, |d| format!(" within {}", output::duration(Some(d))))
}

/// One trigger with its thresholds, e.g. `ticket_count >= 3 high+ within 14d`.
fn trigger(t: &pb::Trigger) -> String {
    use pb::trigger::Kind;
    let kind = trigger_kind(t);
    let detail = match &t.kind {
        Some(Kind::BandEntered(b)) => format!("{}{}", band(b.band), within(b.within.as_ref())),
        Some(Kind::ScoreDropped(s)) => {
            format!(">= {} points{}", s.min_points, within(s.within.as_ref()))
        }
        Some(Kind::TicketCount(c)) => {
            let priority =
                pb::TicketPriority::try_from(c.min_priority).map_or("?", |p| p.as_str_name());
            let priority = match output::enum_name(priority, "TICKET_PRIORITY_").as_str() {
                "-" => String::new(),
                p => format!(" {p}+"),
            };
            let category =
                if c.category.is_empty() { String::new() } else { format!(" in {}", c.category) };
            format!(">= {}{priority}{category}{}", c.min_count, within(c.within.as_ref()))
        }
        Some(Kind::RepeatedCategory(r)) => {
            let categories = if r.categories.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.categories.join(", "))
            };
            format!(">= {}{}{categories}", r.min_count, within(r.within.as_ref()))
        }
        Some(Kind::CsatDecline(c)) => {
            let mut parts = Vec::new();
            if let Some(p) = c.drop_points {
                parts.push(format!("drop >= {p} points"));
            }
            if let Some(s) = c.below_share {
                parts.push(format!("below {}", output::share(Some(s))));
            }
            if c.window.is_some() {
                parts.push(format!("window {}", output::duration(c.window.as_ref())));
            }
            if c.min_responses > 0 {
                parts.push(format!("min {} responses", c.min_responses));
            }
            parts.join(", ")
        }
        Some(Kind::RenewalWithin(r)) => output::duration(r.within.as_ref()),
        Some(Kind::LifecycleStageEntered(l)) => format!(
            "{}{}",
            output::enum_name(
                pb::LifecycleStage::try_from(l.stage).map_or("?", |s| s.as_str_name()),
                "LIFECYCLE_STAGE_"
            ),
            within(l.within.as_ref())
        ),
        None => String::new(),
    };
    if detail.is_empty() { kind.into() } else { format!("{kind} {detail}") }
}

fn band(value: i32) -> String {
    output::enum_name(
        pb::HealthBand::try_from(value).map_or("?", |b| b.as_str_name()),
        "HEALTH_BAND_",
    )
}

/// `stages onboarding, adoption; bands yellow, red`, or `every account`.
fn audience(a: Option<&pb::Audience>) -> String {
    let a = a.cloned().unwrap_or_default();
    let names = |values: &[i32], f: &dyn Fn(i32) -> String| {
        values.iter().map(|v| f(*v)).collect::<Vec<_>>().join(", ")
    };
    let segment = |v: i32| {
        output::enum_name(pb::Segment::try_from(v).map_or("?", |s| s.as_str_name()), "SEGMENT_")
    };
    let stage = |v: i32| {
        let name = pb::LifecycleStage::try_from(v).map_or("?", |s| s.as_str_name());
        output::enum_name(name, "LIFECYCLE_STAGE_")
    };
    let mut parts = Vec::new();
    if !a.segments.is_empty() {
        parts.push(format!("segments {}", names(&a.segments, &segment)));
    }
    if !a.lifecycle_stages.is_empty() {
        parts.push(format!("stages {}", names(&a.lifecycle_stages, &stage)));
    }
    if !a.bands.is_empty() {
        parts.push(format!("bands {}", names(&a.bands, &band)));
    }
    if let Some(m) = &a.min_arr {
        parts.push(format!("arr from {}", output::money(m.amount_minor, &m.currency_code)));
    }
    if !a.owners.is_empty() {
        parts.push(format!("owners {}", a.owners.join(", ")));
    }
    if parts.is_empty() { "every account".into() } else { parts.join("; ") }
}

/// `account owner`, a user or `team X`.
fn assignee(a: Option<&pb::Assignee>) -> String {
    match a.and_then(|a| a.target.as_ref()) {
        Some(pb::assignee::Target::Role(_)) => "account owner".into(),
        Some(pb::assignee::Target::User(u)) => u.clone(),
        Some(pb::assignee::Target::Team(t)) => format!("team {t}"),
        None => "account owner".into(),
    }
}
