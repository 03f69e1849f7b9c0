//! The service kit: what makes every Steward service start, stop, log, authenticate and fail
//! the same way.

pub mod auth;
pub mod client;
pub mod config;
pub mod db;
pub mod deadline;
pub mod enums;
pub mod error;
pub mod etag;
pub mod feed;
pub mod idempotency;
pub mod mask;
mod middleware;
pub mod names;
pub mod page;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod time;

pub use error::{Error, FieldViolation, Violations};
pub use server::Application;
