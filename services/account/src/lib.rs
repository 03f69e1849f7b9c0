//! The account service: the leaf of Steward's dependency graph. It calls nobody; everybody
//! resolves tickets and reads accounts, contracts and revenue through it.

pub mod domain;
