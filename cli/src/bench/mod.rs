//! `steward bench`: load tests against a running suite, side by side with the same work done
//! straight in Postgres. Being built (issue 10).

use std::process::ExitCode;

use clap::Args;

use crate::client::Connection;

/// `steward bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {}

/// Runs the benchmark against the services `conn` points at.
pub async fn run(_args: &BenchArgs, _conn: &Connection) -> anyhow::Result<ExitCode> {
    anyhow::bail!("steward bench is not built yet")
}
