//! The ticket-ingest service: normalized tickets pushed by support-platform adapters, their
//! lifecycle history, account linking, SLA policies, support summaries and KPIs, and the
//! support change feed.

pub mod domain;
