//! Pure ticket logic, no I/O: validating and normalizing snapshots, ordering them, deriving
//! lifecycle events, SLA policy targets, and the support figures.

pub mod events;
pub mod figures;
pub mod mapping;
pub mod ordering;
pub mod sla;
pub mod validate;
