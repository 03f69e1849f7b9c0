//! Test support shared by every crate's tests: a real Postgres (a fresh database per test)
//! and services started on loopback ports with a connected, authenticated client.

pub mod pg;
pub mod probe;
pub mod server;
pub mod status;
pub mod wait;

pub use pg::TestDb;
pub use server::{TestServer, spawn};
pub use wait::eventually;
