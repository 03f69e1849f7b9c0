//! `steward watch`: a live view of what changes in the suite, one line per change, from now
//! on (Ctrl-C stops it). Each feed the view follows is a *source*: a stream of [`Event`]s that
//! starts at the feed's newest cursor, and is resumed from its last cursor should the stream
//! reach the client's own deadline. Two sources are merged: health-scoring's
//! (WatchHealthChanges) and the playbook service's run changes (WatchPlaybookRuns). `steward
//! demo` follows the same sources to count what its replay moves.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use steward_proto::health::v1 as pb;
use steward_proto::playbook::v1 as playbook_pb;
use tonic::Code;

use crate::client::{Connection, Peer};
use crate::commands::playbooks::short;
use crate::commands::scores::text;
use crate::json;
use crate::output::{self, Format};

const HEALTH_CHANGE: &str = "steward.health.v1.HealthChange";
const RUN_CHANGE: &str = "steward.playbook.v1.RunChange";
/// How long one watch call may last before it is resumed from its last cursor (as the
/// client's streaming calls are bounded).
const STREAM_BOUND: Duration = Duration::from_secs(24 * 3600);

/// One change seen by the live view.
#[derive(Debug)]
pub enum Event {
    /// An account's score, band or scorecard changed.
    Health(Box<pb::HealthChange>),
    /// A playbook run started or ended (step changes are left to `steward runs show`).
    Run(Box<playbook_pb::RunChange>),
}

/// The events of the sources, merged; an error ends the view.
pub type Events = BoxStream<'static, anyhow::Result<Event>>;

/// Follows every source from now and prints each event as it arrives, until Ctrl-C, an
/// error, or the reader going away.
pub async fn run(conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
    let mut events = follow(conn).await?;
    eprintln!("steward watch: following health changes and playbook runs from now; Ctrl-C stops");
    while let Some(event) = events.next().await {
        let event = event?;
        let line = match format {
            Format::Json => serde_json::to_string(&event.json()?)?,
            Format::Table => event.line(),
        };
        if !output::emit(&line)? {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Health changes and run changes from now on, merged. Every source is open (its watch call
/// accepted) when this returns: what happens from then on is in the stream.
pub async fn follow(conn: &Connection) -> anyhow::Result<Events> {
    let sources = vec![health_changes(conn).await?, run_changes(conn).await?];
    Ok(stream::select_all(sources).boxed())
}

impl Event {
    /// One JSON object, keyed by the kind of event: `{"healthChange": {…}}` or
    /// `{"runChange": {…}}`.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        match self {
            Event::Health(change) => {
                Ok(serde_json::json!({ "healthChange": json::to_value(HEALTH_CHANGE, change)? }))
            }
            Event::Run(change) => {
                Ok(serde_json::json!({ "runChange": json::to_value(RUN_CHANGE, change)? }))
            }
        }
    }

    /// One line for people.
    pub fn line(&self) -> String {
        match self {
            Event::Health(change) => health_line(change),
            Event::Run(change) => run_line(change),
        }
    }
}

/// `2026-03-02 09:05:01Z  acme  100.00 GREEN → 53.13 YELLOW  support_activity  Support
/// severity -46.87: 3 URGENT tickets in 30 days`.
fn health_line(c: &pb::HealthChange) -> String {
    let reason = pb::HealthChangeReason::try_from(c.reason).map_or("?", |r| r.as_str_name());
    let mover = c.top_movers.first().map_or_else(String::new, |m| {
        format!("  {} {}: {}", m.display_name, text::delta(m.points_delta), m.fact)
    });
    format!(
        "{}  {}  {} → {}  {}{mover}",
        output::time(c.commit_time.as_ref()),
        c.account.trim_start_matches("accounts/"),
        text::score_and_band(c.old_score, c.old_band),
        text::score_and_band(c.new_score, c.new_band),
        output::enum_name(reason, "HEALTH_CHANGE_REASON_"),
    )
}

/// `2026-03-02 09:05:02Z  acme  run churn-risk started  active  3 HIGH or higher tickets in
/// 14 days (threshold 3)`.
fn run_line(c: &playbook_pb::RunChange) -> String {
    let kind = playbook_pb::RunChangeKind::try_from(c.kind).map_or("?", |k| k.as_str_name());
    let run = c.snapshot.as_ref();
    let state = run
        .map_or("?", |r| playbook_pb::RunState::try_from(r.state).map_or("?", |s| s.as_str_name()));
    let why = run.map(|r| r.trigger_summary.as_str()).filter(|s| !s.is_empty());
    format!(
        "{}  {}  run {} {}  {}{}",
        output::time(c.commit_time.as_ref()),
        c.account.trim_start_matches("accounts/"),
        short(&c.playbook),
        output::enum_name(kind, "RUN_CHANGE_KIND_RUN_"),
        output::enum_name(state, "RUN_STATE_"),
        why.map_or_else(String::new, |w| format!("  {w}")),
    )
}

/// Whether a run change is one the view shows: a run starting or ending.
fn run_level(c: &playbook_pb::RunChange) -> bool {
    use playbook_pb::RunChangeKind as K;
    matches!(
        K::try_from(c.kind),
        Ok(K::RunStarted | K::RunCompleted | K::RunCancelled | K::RunFailed)
    )
}

/// Health changes from now: the feed's newest cursor (ListHealthChanges to its end), then
/// WatchHealthChanges after it.
async fn health_changes(conn: &Connection) -> anyhow::Result<Events> {
    let (peer, mut lister) = conn.health(false)?;
    let mut cursor = String::new();
    loop {
        let request =
            pb::ListHealthChangesRequest { after_cursor: cursor.clone(), page_size: 1000 };
        let page =
            lister.list_health_changes(request).await.map_err(|s| peer.error(s))?.into_inner();
        if page.changes.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    let (_, client) = conn.health(true)?;
    let open: Open<pb::HealthChange> = Box::new(move |after_cursor| {
        let mut client = client.clone();
        Box::pin(async move {
            let request = pb::WatchHealthChangesRequest { after_cursor };
            Ok(client.watch_health_changes(request).await?.into_inner())
        })
    });
    let keep: Keep<pb::HealthChange> = Box::new(|change| Some(Event::Health(Box::new(change))));
    Follow::start(peer, open, keep, cursor).await
}

/// Run changes from now. The run feed has no list call to find its newest cursor, so the
/// watch starts at the oldest retained change and the backlog (at most the 30 days the feed
/// keeps) is passed over: changes committed before the source opened, by this machine's
/// clock. Only run-level changes are kept.
async fn run_changes(conn: &Connection) -> anyhow::Result<Events> {
    // The client's deadline bounds one call; a watch runs for as long as it is followed.
    let streaming = Connection { timeout: STREAM_BOUND, ..conn.clone() };
    let (peer, client) = streaming.playbooks()?;
    let opened = steward_kit::time::timestamp(chrono::Utc::now());
    let open: Open<playbook_pb::RunChange> = Box::new(move |after_cursor| {
        let mut client = client.clone();
        Box::pin(async move {
            let request =
                playbook_pb::WatchPlaybookRunsRequest { after_cursor, ..Default::default() };
            Ok(client.watch_playbook_runs(request).await?.into_inner())
        })
    });
    let keep: Keep<playbook_pb::RunChange> = Box::new(move |change| {
        let at = change.commit_time.as_ref().map(|t| (t.seconds, t.nanos));
        let new = at.is_some_and(|at| at >= (opened.seconds, opened.nanos));
        (new && run_level(&change)).then(|| Event::Run(Box::new(change)))
    });
    Follow::start(peer, open, keep, String::new()).await
}

/// Opens the watch after a cursor.
type Open<M> =
    Box<dyn FnMut(String) -> BoxFuture<'static, Result<tonic::Streaming<M>, tonic::Status>> + Send>;
/// Turns a change into the event shown, or passes it over.
type Keep<M> = Box<dyn Fn(M) -> Option<Event> + Send>;

/// A change message of a feed: where it is, to resume after it.
trait Positioned {
    fn cursor(&self) -> &str;
}

impl Positioned for pb::HealthChange {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl Positioned for playbook_pb::RunChange {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

/// One watch and where it is. A watch that reaches the client's own bound on a call is
/// resumed from the last cursor received; any other end of the stream is an error naming
/// the service.
struct Follow<M> {
    peer: Peer,
    open: Open<M>,
    keep: Keep<M>,
    /// The last change received (kept or not): where a resumed watch starts.
    cursor: String,
    stream: Option<tonic::Streaming<M>>,
    /// An error was reported: the source is done.
    ended: bool,
}

impl<M: Positioned + Send + 'static> Follow<M> {
    /// Opens the watch after `cursor` (so that the source is open when this returns).
    async fn start(
        peer: Peer,
        mut open: Open<M>,
        keep: Keep<M>,
        cursor: String,
    ) -> anyhow::Result<Events> {
        let stream = open(cursor.clone()).await.map_err(|s| peer.error(s))?;
        let follow = Follow { peer, open, keep, cursor, stream: Some(stream), ended: false };
        Ok(stream::unfold(follow, Follow::next).boxed())
    }

    async fn next(mut self) -> Option<(anyhow::Result<Event>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            let stream = match self.stream.as_mut() {
                Some(stream) => stream,
                None => match (self.open)(self.cursor.clone()).await {
                    Ok(stream) => self.stream.insert(stream),
                    Err(status) => {
                        let e = self.peer.error(status);
                        return self.fail(e);
                    }
                },
            };
            match stream.message().await {
                Ok(Some(change)) => {
                    self.cursor = change.cursor().to_owned();
                    if let Some(event) = (self.keep)(change) {
                        return Some((Ok(event), self));
                    }
                }
                Ok(None) => {
                    let e = anyhow::anyhow!(
                        "the {} service at {} ended the watch",
                        self.peer.service,
                        self.peer.addr
                    );
                    return self.fail(e);
                }
                // The bound on one call: carry on from the last cursor.
                Err(status)
                    if matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled) =>
                {
                    self.stream = None;
                }
                Err(status) => {
                    let e = self.peer.error(status);
                    return self.fail(e);
                }
            }
        }
    }

    fn fail(mut self, e: anyhow::Error) -> Option<(anyhow::Result<Event>, Self)> {
        self.ended = true;
        Some((Err(e), self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_change_reads_as_one_line_with_its_top_mover() {
        let change = pb::HealthChange {
            commit_time: Some(prost_types::Timestamp { seconds: 1_772_442_301, nanos: 0 }),
            account: "accounts/acme".into(),
            old_score: Some(100.0),
            new_score: Some(53.13),
            old_band: pb::HealthBand::Green as i32,
            new_band: pb::HealthBand::Yellow as i32,
            reason: pb::HealthChangeReason::SupportActivity as i32,
            top_movers: vec![pb::ComponentMove {
                component_id: "support_severity".into(),
                display_name: "Support severity".into(),
                points_delta: -46.87,
                fact: "3 URGENT tickets in 30 days".into(),
            }],
            ..Default::default()
        };

        assert_eq!(
            Event::Health(Box::new(change)).line(),
            "2026-03-02 09:05:01Z  acme  100.00 GREEN → 53.13 YELLOW  support_activity  \
             Support severity -46.87: 3 URGENT tickets in 30 days"
        );
    }

    #[test]
    fn a_first_score_has_no_old_side() {
        let change = pb::HealthChange {
            account: "accounts/acme".into(),
            new_score: Some(100.0),
            new_band: pb::HealthBand::Green as i32,
            reason: pb::HealthChangeReason::AccountChanged as i32,
            ..Default::default()
        };
        assert_eq!(
            Event::Health(Box::new(change)).line(),
            "-  acme  no score → 100.00 GREEN  account_changed"
        );
    }

    #[test]
    fn a_run_start_reads_as_one_line_with_its_reason_and_steps_are_passed_over() {
        let change = |kind: playbook_pb::RunChangeKind| playbook_pb::RunChange {
            commit_time: Some(prost_types::Timestamp { seconds: 1_772_442_302, nanos: 0 }),
            account: "accounts/acme".into(),
            playbook: "playbooks/churn-risk".into(),
            kind: kind as i32,
            snapshot: Some(playbook_pb::PlaybookRun {
                state: playbook_pb::RunState::Active as i32,
                trigger_summary: "3 HIGH or higher tickets in 14 days (threshold 3)".into(),
                ..Default::default()
            }),
            ..Default::default()
        };

        let started = change(playbook_pb::RunChangeKind::RunStarted);
        assert!(run_level(&started));
        assert_eq!(
            Event::Run(Box::new(started)).line(),
            "2026-03-02 09:05:02Z  acme  run churn-risk started  active  \
             3 HIGH or higher tickets in 14 days (threshold 3)"
        );
        assert!(!run_level(&change(playbook_pb::RunChangeKind::StepActivated)));
        assert!(run_level(&change(playbook_pb::RunChangeKind::RunCompleted)));
    }
}
