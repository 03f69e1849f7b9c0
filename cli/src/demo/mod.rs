//! `steward demo` (and `steward dev --demo`): seeds a realistic book of accounts into a
//! running suite and replays a seeded ticket stream through it, showing scores and playbooks
//! move, then sums up for a CSM. The book and its tickets depend only on `--demo-seed` and
//! `--demo-accounts` (tickets are dated from when the book was first created), so a second
//! run sends the very same tickets: everything UNCHANGED, no run started twice.

mod book;
mod replay;
mod seed;
mod settle;
mod stream;
mod summary;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;

use clap::Args;

pub use book::{DemoAccount, MIN_ACCOUNTS, Scenario, book};
pub use stream::stream;

use crate::client::Connection;
use crate::output;

/// The playbooks the services ship, which the scenarios are shaped for.
pub const SHIPPED_PLAYBOOKS: [&str; 4] =
    ["adoption", "churn-risk", "renewal-preparation", "sentiment-check-in"];

/// `steward demo` (its flags are prefixed, as `steward dev --demo` takes them too).
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The seed of the book and its tickets: the same seed gives the same demo.
    #[arg(long = "demo-seed", default_value_t = 42)]
    pub seed: u64,

    /// Accounts in the book (the first few play the scenarios, the rest are healthy).
    #[arg(long = "demo-accounts", default_value_t = 40,
        value_parser = clap::value_parser!(u32).range(MIN_ACCOUNTS as i64..=100_000))]
    pub accounts: u32,

    /// Tickets per second to replay, or `max` for as fast as the service takes them.
    #[arg(long = "demo-speed", default_value = "400", value_parser = parse_speed)]
    pub speed: Speed,
}

/// How fast tickets are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// As fast as the service answers.
    Max,
    /// At most this many tickets a second.
    PerSecond(NonZeroU32),
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    if text.trim().eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    text.trim()
        .parse::<NonZeroU32>()
        .map(Speed::PerSecond)
        .map_err(|_| format!("`{text}`: tickets per second (a whole number above 0) or `max`"))
}

/// Seeds the demo and replays its ticket stream through the services `conn` points at.
pub async fn run(args: &DemoArgs, conn: &Connection) -> anyhow::Result<ExitCode> {
    let book = book(args.seed, args.accounts as usize);
    for line in seed::defaults(conn).await? {
        output::print(&line)?;
    }
    let seeded = seed::accounts(conn, &book, args.seed).await?;
    output::print(&format!(
        "accounts: {} created, {} already there (found by id); contracts created {}, contacts \
         created {}",
        seeded.created, seeded.found, seeded.contracts, seeded.contacts
    ))?;
    let tickets = stream(&book, seeded.anchor);
    output::print(&format!(
        "replaying {} tickets of the {} days before {} (seed {})",
        tickets.len(),
        stream::HISTORY_DAYS,
        seeded.anchor.format("%Y-%m-%d %H:%M:%SZ"),
        args.seed
    ))?;
    let replayed = replay::replay(conn, &book, tickets, args.speed).await?;
    let seconds = replayed.elapsed.as_secs_f64();
    let total = replayed.report.total();
    output::print(&format!(
        "{} in {seconds:.1} s ({:.0} tickets/s); {} health changes and {} runs seen on the feeds",
        replayed.report.text(),
        total as f64 / seconds.max(0.001),
        replayed.moves.scores.load(Relaxed),
        replayed.moves.runs.load(Relaxed)
    ))?;
    let scores = summary::scores(conn, &book).await?;
    let runs = summary::book_runs(conn, &book).await?;
    output::print("")?;
    output::print(&summary::text(&book, &scores, &runs, &replayed))?;
    Ok(ExitCode::SUCCESS)
}
