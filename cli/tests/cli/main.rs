//! The `steward` binary as people and scripts run it, against the real account and
//! ticket-ingest services on a real Postgres: each test starts both on a fresh database
//! (or `steward dev` itself) and checks exit codes, reports and what the services stored.

mod accounts;
mod dev;
mod errors;
mod support;
mod tickets;
