//! Background jobs that every node runs: expiry clean-up. Each is safe to run on several
//! nodes at once.

/// Deletes expired rows every `login.cleanup_interval_secs` until `stop` turns true.
pub async fn run_cleanup(
    state: std::sync::Arc<crate::app::AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = std::time::Duration::from_secs(state.config.login.cleanup_interval_secs.max(1));
    loop {
        match crate::store::cleanup::purge_expired(&state.db, state.clock.now()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired rows deleted"),
            Err(error) => tracing::error!(error = %error, "expired rows could not be deleted"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}
