//! The process's shutdown signal: SIGTERM (Kubernetes) or SIGINT (Ctrl-C).

/// Resolves when the process is asked to stop.
pub async fn signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, never resolve this branch: SIGTERM still works.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = term => tracing::info!("SIGTERM received; shutting down"),
    }
}
