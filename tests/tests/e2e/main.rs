//! End-to-end tests of the whole suite: the four real service binaries, each its own OS
//! process on a loopback port, against a fresh Postgres database per suite, driven through
//! their gRPC APIs with authenticated clients (see the `steward_e2e` library). The binaries
//! are built (`cargo build --workspace --bins`) before the first suite starts.

mod mission;
mod replay;
mod restart;
