//! `steward demo` (and `steward dev --demo`): seeds a realistic book of accounts and replays a
//! seeded ticket stream through the running suite. Being built (issue 8).

use std::process::ExitCode;

use clap::Args;

use crate::client::Connection;

/// `steward demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {}

/// Seeds the demo and replays its ticket stream through the services `conn` points at.
pub async fn run(_args: &DemoArgs, _conn: &Connection) -> anyhow::Result<ExitCode> {
    anyhow::bail!("steward demo is not built yet")
}
