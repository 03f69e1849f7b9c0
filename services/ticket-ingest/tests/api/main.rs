//! The ticket-ingest service's API, tested through its generated gRPC client against a real
//! Postgres and a real account service: each test starts both on a fresh database and checks
//! what `proto/steward/ticket/v1/ticket.proto` documents.

mod batch_summary;
mod feed;
mod horizon;
mod ingest;
mod linking;
mod list;
mod sla;
mod stream;
mod summary;
mod support;
