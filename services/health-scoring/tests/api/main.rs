//! The health-scoring service's API, tested through its generated gRPC client against a real
//! Postgres and the real account and ticket-ingest services: each test starts all three on a
//! fresh database and checks what `proto/steward/health/v1/health.proto` documents.

mod batches;
mod live;
mod measurements;
mod operations;
mod reads;
mod scorecards;
mod support;
