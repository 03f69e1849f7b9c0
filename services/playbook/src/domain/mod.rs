//! Pure playbook logic, no I/O: definition validation and defaults, templates, trigger
//! evaluation against an account's facts, the dedupe and cooldown gate, the run state
//! machine, the lease protocol's rules, and the shipped default playbooks.
//!
//! Everything here reads and writes the generated API types (`steward_proto::playbook::v1`)
//! where that keeps the store and the handlers thin; the inputs from other services are
//! their own messages (accounts, health scores, support summaries), gathered in
//! [`facts::Facts`].

pub mod definition;
pub mod evaluate;
pub mod facts;
pub mod gate;
pub mod lease;
pub mod run;
pub mod shipped;
pub mod template;
pub mod trigger;

mod duration;

#[cfg(test)]
pub(crate) mod testing;
