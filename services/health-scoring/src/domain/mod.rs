//! Pure scoring logic, no I/O: scorecard validation and assignment, scoring functions, the
//! built-in measures, score computation with renormalized weights and bands, explanations.

pub mod assignment;
pub mod compute;
pub mod edit;
pub mod explain;
pub mod history;
pub mod measures;
pub mod preview;
pub mod reasons;
pub mod scorecard;
pub mod scoring;
pub mod selection;
