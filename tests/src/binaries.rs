//! Where the service binaries are, and making sure they are fresh.
//!
//! A test cannot name another package's binaries (`CARGO_BIN_EXE_*` is only set for its own
//! package), so they are found beside the test executable: it runs from
//! `target/<profile>/deps/`, the binaries are in `target/<profile>/`.
//!
//! Cargo releases the build lock before it runs tests, so a test may run cargo itself. Once
//! per test process, `$CARGO build --workspace --bins` (in the test's own profile) brings the
//! binaries up to date: `cargo test -p steward-e2e` alone never tests stale binaries. With the
//! whole workspace selected, dependency features resolve exactly as under
//! `cargo test --workspace` (CI), so there it finds everything fresh and builds nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The directory holding the service binaries, built and up to date (once per process).
/// Blocking: cargo may compile for minutes.
pub fn ensure_built() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| build().map_err(|e| format!("{e:#}"))).clone().map_err(anyhow::Error::msg)
}

fn build() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("find the test executable")?;
    let deps = exe.parent().context("the test executable's directory")?;
    let dir = deps.parent().context("target/<profile>")?.to_path_buf();
    let Ok(cargo) = std::env::var("CARGO") else {
        // Run by hand rather than by cargo: use what is there, saying how to refresh it.
        check_present(&dir).context(
            "CARGO is not set (not run by cargo); run `cargo build --workspace --bins` first",
        )?;
        return Ok(dir);
    };
    let mut command = Command::new(cargo);
    command.args(["build", "--workspace", "--bins"]);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => bail!("unexpected target directory {}", dir.display()),
    }
    eprintln!("steward-e2e: bringing the service binaries up to date: {command:?}");
    let status = command.status().context("run cargo")?;
    if !status.success() {
        bail!("{command:?} failed ({status}); fix the build, then run the tests again");
    }
    check_present(&dir)?;
    Ok(dir)
}

fn check_present(dir: &Path) -> Result<()> {
    for service in crate::Service::ALL {
        let path = dir.join(service.binary());
        if !path.is_file() {
            bail!("{} is missing; run `cargo build --workspace --bins`", path.display());
        }
    }
    Ok(())
}
