//! The `steward` binary as people and scripts run it, against the real account,
//! ticket-ingest and health-scoring services on a real Postgres: each test starts them on a
//! fresh database (or `steward dev` itself) and checks exit codes, reports and what the
//! services stored.

mod account360;
mod accounts;
mod dev;
mod errors;
mod scores;
mod support;
mod tickets;
mod watch;
