//! The deadline of the call being served, so that calls made on its behalf end no later.
//!
//! tonic does not carry an incoming `grpc-timeout` over to outgoing calls; the server
//! middleware records it here (a task-local) and [`crate::client`] reads it back.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Option<Instant>;
}

/// Runs `fut` with `deadline` as the current call's deadline.
pub fn scope<F: Future>(deadline: Option<Instant>, fut: F) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, fut)
}

/// Time left before the current call's deadline; `None` outside a call or without a deadline.
pub fn remaining() -> Option<Duration> {
    DEADLINE.try_with(|d| *d).ok().flatten().map(|d| d.saturating_duration_since(Instant::now()))
}

/// Parses a `grpc-timeout` header value: digits followed by one unit letter (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None, "at most 8 digits");
    }

    #[tokio::test]
    async fn remaining_is_scoped_to_the_call() {
        assert_eq!(remaining(), None);
        let deadline = Instant::now() + Duration::from_secs(5);
        let left = scope(Some(deadline), async { remaining() }).await.expect("inside scope");
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
    }
}
