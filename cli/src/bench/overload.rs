//! `steward bench overload`: the capacity (unary, closed loop), then an open-loop schedule
//! offering twice that, then normal load (half the capacity). Errors by code and phase,
//! connection-level failures, and how long after the overload ends throughput is back to
//! what is offered.

use std::time::Duration;

use clap::Args;

use super::drive::{Load, Mode, Pace, drive, never};
use super::report::{Figure, Report};
use super::schedule::{Phase, Schedule};
use super::tally::{SLOT, Tally, error_figures, latency_figures};
use super::{Common, progress, rss, workload};
use crate::client::Connection;

/// Back to normal: a window this long answering at least this share of what was offered.
const WINDOW_SLOTS: usize = 5;
const BACK: f64 = 0.9;

/// `steward bench overload`.
#[derive(Debug, Args)]
pub(crate) struct OverloadArgs {
    /// How long the capacity is measured (closed loop, --concurrency calls in flight).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    measure: Duration,

    /// How long twice the capacity is offered.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,

    /// How long normal load (half the capacity) follows.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    recovery: Duration,

    /// Calls in flight while measuring the capacity.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,

    /// Calls in flight at most during the open-loop phases: high, so that the client does
    /// not hold back the surplus the server should shed.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,

    #[arg(long, default_value_t = 100)]
    accounts: u64,

    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run(args: &OverloadArgs, conn: &Connection) -> anyhow::Result<Report> {
    let refs = (0..args.accounts).map(workload::account_ref).collect();
    workload::ensure_accounts(conn, refs).await?;
    let sampler = rss::Sampler::start(conn);
    let mut repeats = Vec::new();
    for r in 1..=args.common.repeat {
        progress(&format!("repeat {r}/{}: capacity", args.common.repeat));
        let load = |pace, concurrency| Load {
            mode: Mode::Unary,
            pace,
            concurrency,
            accounts: args.accounts,
            instance: workload::run_id("overload"),
            now: chrono::Utc::now(),
            limit: None,
        };
        let capacity =
            drive(conn, &load(Pace::Max(args.measure), args.concurrency), never()).await?.rate();
        anyhow::ensure!(capacity > 0.0, "nothing was accepted while measuring the capacity");
        progress(&format!(
            "repeat {r}/{}: {capacity:.0}/s, offering twice that",
            args.common.repeat
        ));
        let normal = capacity / 2.0;
        let schedule = Schedule::phases(vec![
            Phase { rate: 2.0 * capacity, duration: args.duration },
            Phase { rate: normal, duration: args.recovery },
        ]);
        let tally = drive(conn, &load(Pace::Open(schedule), args.max_in_flight), never()).await?;
        repeats.push(figures(&tally, capacity, normal, args.duration, args.recovery));
    }
    let memory = sampler.finish().await;
    let title = format!(
        "overload --measure {:?} --duration {:?} --recovery {:?}",
        args.measure, args.duration, args.recovery
    );
    let mut report = Report::new(title, &repeats, memory);
    report.notes.push(
        "Unary calls. Errors marked (connection) failed below the service (transport errors, a \
         connection closed by GOAWAY), without the ErrorInfo every Steward answer carries. \
         Back to normal: the first 500 ms window after the overload answering 90% of what \
         was offered in it. No Postgres baseline for this mode."
            .into(),
    );
    Ok(report)
}

fn figures(
    tally: &Tally,
    capacity: f64,
    normal: f64,
    overload: Duration,
    recovery: Duration,
) -> Vec<Figure> {
    let during = tally.errors_within(Duration::ZERO..overload);
    let after = tally.errors_within(overload..Duration::MAX);
    let connection: u64 = during
        .iter()
        .chain(&after)
        .filter(|(l, _)| l.ends_with("(connection)"))
        .map(|(_, n)| n)
        .sum();
    let overload_slots = slot(overload);
    let accepted_during: u64 =
        tally.timeline.iter().take(overload_slots).map(|n| u64::from(*n)).sum();
    let mut figures = vec![
        Figure::service("capacity (closed loop)", "/s", capacity),
        Figure::service("offered in overload", "/s", 2.0 * capacity),
        Figure::service(
            "accepted in overload",
            "/s",
            super::tally::per_second(accepted_during, overload),
        ),
    ];
    figures.extend(
        error_figures(&during)
            .into_iter()
            .map(|f| Figure { name: format!("overload: {}", f.name), ..f }),
    );
    figures.extend(
        error_figures(&after)
            .into_iter()
            .map(|f| Figure { name: format!("after: {}", f.name), ..f }),
    );
    figures.push(Figure::count("connection-level failures", connection));
    match back_to_normal(
        &tally.timeline,
        overload_slots,
        normal * SLOT.as_secs_f64(),
        slot(recovery),
    ) {
        Some(after) => {
            figures.push(Figure::service("back to normal after", "s", after.as_secs_f64()))
        }
        None => figures.push(Figure::count("never back to normal (runs)", 1)),
    }
    figures.extend(latency_figures("latency (open loop, all)", &tally.latency));
    figures
}

fn slot(d: Duration) -> usize {
    (d.as_millis() / SLOT.as_millis()) as usize
}

/// How long after slot `from` throughput first reached [`BACK`] of `per_slot` over a window
/// of [`WINDOW_SLOTS`], within `within` slots.
pub(crate) fn back_to_normal(
    timeline: &[u32],
    from: usize,
    per_slot: f64,
    within: usize,
) -> Option<Duration> {
    let wanted = BACK * per_slot * WINDOW_SLOTS as f64;
    (from..from + within.saturating_sub(WINDOW_SLOTS - 1)).find_map(|start| {
        let answered: u32 =
            (start..start + WINDOW_SLOTS).map(|i| timeline.get(i).copied().unwrap_or(0)).sum();
        (f64::from(answered) >= wanted).then(|| SLOT * (start - from) as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_is_the_first_window_answering_what_is_offered() {
        // Overload for 3 slots, then 10 per slot offered: a backlog drains for 2 slots (0
        // answered), then full throughput.
        let timeline = [30, 30, 30, 0, 0, 10, 10, 10, 10, 10, 10];
        assert_eq!(back_to_normal(&timeline, 3, 10.0, 8), Some(SLOT * 2));
        assert_eq!(back_to_normal(&[30, 0, 0, 0, 0, 0, 0], 1, 10.0, 6), None);
    }
}
