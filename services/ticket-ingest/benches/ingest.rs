//! Ingest benchmark (written with the service; see the crate README).

fn main() {}
