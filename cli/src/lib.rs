//! The `steward` command line: `steward dev` runs the suite on this machine; the other
//! commands talk to running services over their gRPC API, as people and scripts would.
//!
//! Exit status: 0 when everything was done; 1 on an error (a service unreachable, a call
//! refused, a file unreadable), with the reason on stderr; 2 for a bad command line; 3 when an
//! import finished but refused some items (listed).

pub mod bench;
pub mod client;
pub mod commands;
pub mod demo;
pub mod dev;
pub mod json;
pub mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Connection;
use crate::output::Format;

/// Exit status of an import that finished with some items refused.
pub const EXIT_PARTIAL: u8 = 3;

/// Steward: Customer Success signals from support tickets.
#[derive(Debug, Parser)]
#[command(name = "steward", version, about, long_about = None)]
pub struct Cli {
    /// Where the services are and how to authenticate.
    #[command(flatten)]
    pub connection: Connection,

    /// `table` for people, `json` (one document on stdout, proto3 JSON mapping) for scripts.
    #[arg(long, short, global = true, env = "STEWARD_OUTPUT", default_value = "table")]
    pub output: Format,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite locally: every service on consecutive loopback ports, against
    /// DATABASE_URL or a private Postgres cluster kept in the data directory. Ctrl-C stops it.
    Dev(dev::DevArgs),
    /// Seed a demo book of accounts into a running suite and replay a realistic ticket
    /// stream through it, showing scores and playbooks move.
    Demo(demo::DemoArgs),
    /// Load-test a running suite, side by side with the same work done straight in Postgres.
    Bench(bench::BenchArgs),
    /// Customer accounts (the account service).
    #[command(subcommand)]
    Accounts(commands::accounts::AccountsCommand),
    /// Support tickets (the ticket-ingest service).
    #[command(subcommand)]
    Tickets(commands::tickets::TicketsCommand),
    /// One account's support summary over a window, against the window before it.
    Support(commands::support::SupportArgs),
    /// Health scores (the health-scoring service).
    #[command(subcommand)]
    Scores(commands::scores::ScoresCommand),
    /// Scorecards: the models health scores are computed with.
    #[command(subcommand)]
    Scorecards(commands::scorecards::ScorecardsCommand),
    /// Custom measurements (usage, NPS, ...) that scorecards read.
    #[command(subcommand)]
    Measurements(commands::measurements::MeasurementsCommand),
    /// Playbooks (the playbook service): triggers, audience, cooldown and steps.
    #[command(subcommand)]
    Playbooks(commands::playbooks::PlaybooksCommand),
    /// Playbook runs: list, show, and complete or skip their steps.
    #[command(subcommand)]
    Runs(commands::runs::RunsCommand),
    /// A live view of health changes from now on, one line each (Ctrl-C stops).
    Watch,
    /// One account on one screen: the account and its renewal, contracts, support, health.
    #[command(name = "360")]
    Account360(commands::account360::Args360),
}

/// Parses the command line, runs the command, and turns its outcome into the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; `Ok` carries the exit status of a command that ran to its end.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli { connection, output, command } = cli;
    match command {
        Command::Dev(args) => dev::run(args, &connection).await,
        Command::Demo(args) => demo::run(&args, &connection).await,
        Command::Bench(args) => bench::run(&args, &connection, output).await,
        Command::Accounts(command) => command.run(&connection, output).await,
        Command::Tickets(command) => command.run(&connection, output).await,
        Command::Support(args) => args.run(&connection, output).await,
        Command::Scores(command) => command.run(&connection, output).await,
        Command::Scorecards(command) => command.run(&connection, output).await,
        Command::Measurements(command) => command.run(&connection, output).await,
        Command::Playbooks(command) => command.run(&connection, output).await,
        Command::Runs(command) => command.run(&connection, output).await,
        Command::Watch => commands::watch::run(&connection, output).await,
        Command::Account360(args) => args.run(&connection, output).await,
    }
}
