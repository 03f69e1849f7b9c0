//! The account service's API, tested through its generated gRPC client against a real
//! Postgres: each test starts the service on a fresh database and checks what
//! `proto/steward/account/v1/account.proto` documents.

mod accounts;
mod batch;
mod contacts;
mod contracts;
mod feed;
mod list;
mod resolve;
mod revenue;
mod support;
