//! Waiting for what happens asynchronously (feeds, background workers), with a bound.

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 50 ms for up to 20 s until it returns `Some`; panics naming `what`
/// when it never does.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..400 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
