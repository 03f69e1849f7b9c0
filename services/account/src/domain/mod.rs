//! Pure account logic: normalisation and validation of what callers send, and revenue
//! arithmetic. No I/O.

pub mod account;
pub mod contact;
pub mod contract;
pub mod names;
pub mod revenue;
