//! Change feeds between services: list + watch on a transactional outbox, in the manner of
//! Kubernetes informers.
//!
//! A producer appends an entry in the same transaction as the change it describes
//! ([`Feed::append`]) and serves `List…Changes` / `Watch…Changes` from it. A consumer keeps
//! its cursor in its own schema and commits it with its own effects ([`consumer`]), marking
//! the accounts it must revisit in a coalescing queue ([`DirtyQueue`]).
//!
//! **Gap safety.** Entries are ordered by (transaction id, sequence) and read only below the
//! oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`). Every
//! transaction below that point has ended, so no entry can later appear behind a position a
//! reader has already passed, however concurrent the writers.

pub mod consumer;
mod cursor;
mod dirty;
mod producer;

pub use cursor::Cursor;
pub use dirty::{DirtyQueue, Worker};
pub use producer::{Feed, FeedConfig};

/// A change message of a feed (defined beside the generated types, which implement it).
pub use steward_proto::FeedMessage;
