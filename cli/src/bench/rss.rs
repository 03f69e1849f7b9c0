//! Each service process's memory during a run: found by name in `/proc` (the four service
//! binaries of `steward dev --processes` or a deployment on this machine, or the one
//! `steward dev` process running them all), VmRSS sampled every 100 ms, plus VmHWM (the
//! kernel's own peak over the process's life).

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The service binaries.
const SERVICES: [&str; 4] =
    ["steward-account", "steward-ticket-ingest", "steward-health-scoring", "steward-playbook"];
const EVERY: Duration = Duration::from_millis(100);

/// One process's memory over the run, in MiB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Memory {
    pub(crate) process: String,
    pub(crate) pid: u32,
    /// At the start of the run (before any load: idle).
    pub(crate) start_mib: f64,
    /// The highest sampled VmRSS.
    pub(crate) peak_mib: f64,
    /// VmHWM at the end: the peak over the process's whole life.
    pub(crate) hwm_mib: f64,
}

/// VmRSS and VmHWM (KiB) from a `/proc/<pid>/status` text.
pub(crate) fn parse_status(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// What a process is, from its command line: a service binary, or a one-process
/// `steward dev`.
pub(crate) fn identify(cmdline: &[u8]) -> Option<String> {
    let mut args = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
    let program = args.next()?;
    let name = program.rsplit('/').next().unwrap_or_default().to_owned();
    if SERVICES.contains(&name.as_str()) {
        return Some(name);
    }
    // `steward dev --processes` only supervises: its children are the services.
    let args: Vec<_> = args.collect();
    (name == "steward"
        && args.iter().any(|a| a == "dev")
        && !args.iter().any(|a| a == "--processes"))
    .then(|| "steward dev (all four services in one process)".to_owned())
}

fn processes() -> Vec<(u32, String)> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found: Vec<(u32, String)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            Some((pid, identify(&cmdline)?))
        })
        .collect();
    // In the suite's start order.
    found
        .sort_by_key(|(_, name)| SERVICES.iter().position(|s| s == name).unwrap_or(SERVICES.len()));
    found
}

fn status(pid: u32) -> Option<(u64, u64)> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Samples until [`Sampler::finish`].
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<Memory>>,
}

impl Sampler {
    pub(crate) fn start() -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut memory: Vec<Memory> = processes()
                .into_iter()
                .filter_map(|(pid, process)| {
                    let (rss, hwm) = status(pid)?;
                    let mib = rss as f64 / 1024.0;
                    Some(Memory {
                        process,
                        pid,
                        start_mib: mib,
                        peak_mib: mib,
                        hwm_mib: hwm as f64 / 1024.0,
                    })
                })
                .collect();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = tokio::time::sleep(EVERY) => {}
                }
                for m in &mut memory {
                    if let Some((rss, hwm)) = status(m.pid) {
                        m.peak_mib = m.peak_mib.max(rss as f64 / 1024.0);
                        m.hwm_mib = hwm as f64 / 1024.0;
                    }
                }
            }
            memory
        });
        Self { stop, task }
    }

    pub(crate) async fn finish(self) -> Vec<Memory> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_and_its_high_water_mark_are_read_from_the_status_text() {
        let text = "Name:\tsteward-account\nVmPeak:\t  812345 kB\nVmHWM:\t   52340 kB\nVmRSS:\t   48120 kB\nThreads:\t5\n";
        assert_eq!(parse_status(text), Some((48_120, 52_340)));
        assert_eq!(parse_status("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn services_are_known_by_their_binary_and_a_one_process_suite_by_dev() {
        assert_eq!(
            identify(b"/work/target/release/steward-ticket-ingest\0serve\0"),
            Some("steward-ticket-ingest".into())
        );
        assert!(identify(b"./target/release/steward\0dev\0").is_some());
        assert_eq!(identify(b"steward\0dev\0--processes\0"), None);
        assert_eq!(identify(b"steward\0bench\0ingest\0"), None);
        assert_eq!(identify(b"/usr/bin/postgres\0-D\0data\0"), None);
    }
}
