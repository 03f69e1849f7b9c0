//! The playbook service: versioned playbook definitions (triggers, audience, cooldown,
//! steps), trigger evaluation against an account's signals, runs whose steps move in order,
//! and the lease protocol through which workflow orchestrators perform automated steps.
//!
//! This first step holds the pure domain; the store, the API and the feed consumers follow
//! (see issue "Playbook service").

pub mod domain;
