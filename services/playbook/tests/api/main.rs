//! The playbook service's API, tested through its generated gRPC client against a real
//! Postgres and the real account, ticket-ingest and health-scoring services: each test
//! starts all four on a fresh database and checks what
//! `proto/steward/playbook/v1/playbook.proto` documents.

mod adoption;
mod clock;
mod evaluate;
mod leases;
mod listing;
mod playbooks;
mod red_band;
mod renewal;
mod runs;
mod sentiment;
mod support;
