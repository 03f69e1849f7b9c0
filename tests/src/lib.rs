//! End-to-end support: the suite's four real service binaries (`steward-account`,
//! `steward-ticket-ingest`, `steward-health-scoring`, `steward-playbook`) started as separate
//! OS processes on loopback ports against a fresh Postgres database, killed and restarted at
//! will, with authenticated clients, data builders and the checks that tell when the suite
//! has settled. The tests themselves are in `tests/e2e/`.

pub mod binaries;
pub mod data;
pub mod outcome;
pub mod process;
pub mod settle;
pub mod stream;
pub mod suite;

pub use process::Service;
pub use suite::Suite;
