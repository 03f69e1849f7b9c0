//! The `steward` binary as people and scripts run it, against the real account,
//! ticket-ingest, health-scoring and playbook services on a real Postgres: each test starts
//! them on a fresh database (or `steward dev` itself) and checks exit codes, reports and what
//! the services stored.

mod account360;
mod accounts;
mod bench;
mod demo;
mod dev;
mod errors;
mod playbooks;
mod scores;
mod support;
mod tickets;
mod watch;
