//! The health-scoring service: one live, explainable health score per account, computed by
//! versioned scorecards from support signals (ticket-ingest), account facts (account) and
//! custom measurements.
//!
//! This first step holds the pure scoring model; the store, the API and the feed consumers
//! follow (see issue "Health-scoring service").

pub mod domain;
