//! `steward watch`: a live view of what changes in the suite, one line per change, from now
//! on (Ctrl-C stops it). Each feed the view follows is a *source*: a stream of [`Event`]s that
//! starts at the feed's newest cursor. Today the only source is health-scoring's
//! (WatchHealthChanges); playbook run changes (WatchPlaybookRuns) become a second source and
//! a second `Event` variant once the CLI has a playbook client, merged by the same loop.

use std::process::ExitCode;

use futures_util::stream::{self, BoxStream, StreamExt};
use steward_proto::health::v1 as pb;
use tonic::Code;

use crate::client::{Connection, Health, Peer};
use crate::commands::scores::text;
use crate::json;
use crate::output::{self, Format};

const HEALTH_CHANGE: &str = "steward.health.v1.HealthChange";

/// One change seen by the live view.
#[derive(Debug)]
pub enum Event {
    /// An account's score, band or scorecard changed.
    Health(pb::HealthChange),
    // Playbook runs join here: `Run(steward_proto::playbook::v1::RunChange)`.
}

/// The events of one source; an error ends the view.
type Source = BoxStream<'static, anyhow::Result<Event>>;

/// Follows every source from now and prints each event as it arrives, until Ctrl-C, an
/// error, or the reader going away.
pub async fn run(conn: &Connection, format: Format) -> anyhow::Result<ExitCode> {
    let sources = vec![health_changes(conn).await?];
    // Playbook runs, later: `sources.push(run_changes(conn).await?)`.
    // Every source is open (its watch call accepted) before this line: what happens from now
    // on is shown.
    eprintln!("steward watch: following health changes from now; Ctrl-C stops");
    let mut events = stream::select_all(sources);
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

impl Event {
    /// One JSON object, keyed by the kind of event: `{"healthChange": {…}}`.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        match self {
            Event::Health(change) => {
                Ok(serde_json::json!({ "healthChange": json::to_value(HEALTH_CHANGE, change)? }))
            }
        }
    }

    /// One line for people.
    pub fn line(&self) -> String {
        match self {
            Event::Health(change) => health_line(change),
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

/// Health changes from now: the feed's newest cursor (ListHealthChanges to its end), then
/// WatchHealthChanges after it. The watch call is made here, so the source is open when this
/// returns. A watch that reaches the client's own stream deadline is resumed from the last
/// cursor; any other end of the stream is an error naming the service.
async fn health_changes(conn: &Connection) -> anyhow::Result<Source> {
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
    let (_, mut client) = conn.health(true)?;
    let stream = open(&peer, &mut client, &cursor).await?;
    let follow = Follow { peer, client, cursor, stream: Some(stream), ended: false };
    Ok(stream::unfold(follow, Follow::next).boxed())
}

async fn open(
    peer: &Peer,
    client: &mut Health,
    cursor: &str,
) -> anyhow::Result<tonic::Streaming<pb::HealthChange>> {
    let request = pb::WatchHealthChangesRequest { after_cursor: cursor.to_owned() };
    Ok(client.watch_health_changes(request).await.map_err(|s| peer.error(s))?.into_inner())
}

/// A health watch and where it is.
struct Follow {
    peer: Peer,
    client: Health,
    /// The last change received: where a resumed watch starts.
    cursor: String,
    stream: Option<tonic::Streaming<pb::HealthChange>>,
    /// An error was reported: the source is done.
    ended: bool,
}

impl Follow {
    async fn next(mut self) -> Option<(anyhow::Result<Event>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            let stream = match self.stream.as_mut() {
                Some(stream) => stream,
                None => match open(&self.peer, &mut self.client, &self.cursor).await {
                    Ok(stream) => self.stream.insert(stream),
                    Err(e) => return self.fail(e),
                },
            };
            match stream.message().await {
                Ok(Some(change)) => {
                    self.cursor.clone_from(&change.cursor);
                    return Some((Ok(Event::Health(change)), self));
                }
                Ok(None) => {
                    let e = anyhow::anyhow!(
                        "the health-scoring service at {} ended the watch",
                        self.peer.addr
                    );
                    return self.fail(e);
                }
                // The client's own bound on a stream (a day): carry on from the last cursor.
                Err(status) if status.code() == Code::DeadlineExceeded => self.stream = None,
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
            Event::Health(change).line(),
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
            Event::Health(change).line(),
            "-  acme  no score → 100.00 GREEN  account_changed"
        );
    }
}
