//! Each service process's memory during a run. The processes are the ones listening on
//! the benchmarked services' ports on this machine (found through `/proc/net/tcp*` and the
//! processes' sockets), so another suite running beside is not mistaken for this one: the
//! four binaries of `steward dev --processes`, or the one `steward dev` process serving all
//! four. VmRSS is sampled every 100 ms; VmHWM (the kernel's own peak over the process's
//! life) is read too.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::Connection;

const EVERY: Duration = Duration::from_millis(100);
/// `/proc/net/tcp` socket state LISTEN.
const LISTEN: &str = "0A";

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

/// The listening sockets of a `/proc/net/tcp` (or `tcp6`) text: (port, socket inode).
pub(crate) fn parse_listening(text: &str) -> Vec<(u16, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            if *state != LISTEN {
                return None;
            }
            let port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            Some((port, inode.parse().ok()?))
        })
        .collect()
}

/// The benchmarked services: (name, port).
fn services(conn: &Connection) -> Vec<(&'static str, u16)> {
    [conn.account_peer(), conn.ticket_peer(), conn.health_peer(), conn.playbook_peer()]
        .into_iter()
        .filter_map(|peer| {
            let port = peer.addr.rsplit(':').next()?.trim_end_matches('/').parse().ok()?;
            Some((peer.service, port))
        })
        .collect()
}

/// The local processes serving `conn`'s services: pid → its name, with the services it
/// serves when it is not one service's own binary.
fn processes(conn: &Connection) -> Vec<(u32, String)> {
    let wanted = services(conn);
    let mut inodes: BTreeMap<u64, &'static str> = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for (port, inode) in parse_listening(&text) {
            if let Some((name, _)) = wanted.iter().find(|(_, p)| *p == port) {
                inodes.insert(inode, *name);
            }
        }
    }
    let mut serving: BTreeMap<u32, Vec<&'static str>> = BTreeMap::new();
    let Ok(proc) = std::fs::read_dir("/proc") else { return Vec::new() };
    for pid in proc.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.filter_map(Result::ok) {
            let link = std::fs::read_link(fd.path()).unwrap_or_default();
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u64>().ok());
            if let Some(name) = inode.and_then(|i| inodes.get(&i)) {
                let names = serving.entry(pid).or_default();
                if !names.contains(name) {
                    names.push(*name);
                }
            }
        }
    }
    let mut found: Vec<(u32, String, usize)> = serving
        .into_iter()
        .map(|(pid, names)| {
            let binary = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let binary =
                String::from_utf8_lossy(binary.split(|b| *b == 0).next().unwrap_or_default())
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            let first = wanted.iter().position(|(n, _)| names.contains(n)).unwrap_or(0);
            (pid, label(&binary, &names), first)
        })
        .collect();
    // In the suite's start order.
    found.sort_by_key(|(_, _, first)| *first);
    found.into_iter().map(|(pid, label, _)| (pid, label)).collect()
}

/// `steward-ticket-ingest` for a service's own binary, `steward (account, ticket-ingest, …)`
/// for a process serving several.
pub(crate) fn label(binary: &str, serves: &[&str]) -> String {
    match serves {
        [one] if binary == format!("steward-{one}") => binary.to_owned(),
        _ => format!("{binary} ({})", serves.join(", ")),
    }
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
    /// Samples the processes serving `conn`'s services.
    pub(crate) fn start(conn: &Connection) -> Self {
        let conn = conn.clone();
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut memory: Vec<Memory> = processes(&conn)
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
    fn listening_sockets_are_read_with_their_port_and_inode() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:C4F0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 812345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C4F0 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 812399 1 0000000000000000 20 4 30 10 -1
";
        assert_eq!(parse_listening(text), [(50416, 812_345)]);
    }

    #[test]
    fn a_service_binary_is_named_alone_a_one_process_suite_with_what_it_serves() {
        assert_eq!(label("steward-ticket-ingest", &["ticket-ingest"]), "steward-ticket-ingest");
        assert_eq!(
            label("steward", &["account", "ticket-ingest", "health-scoring", "playbook"]),
            "steward (account, ticket-ingest, health-scoring, playbook)"
        );
    }
}
