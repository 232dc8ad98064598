//! Wall-clock time in Unix seconds, the unit of every stored timestamp.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The server's clock: system time plus an offset that starts at zero. Tests move it forward
/// to check deadlines (such as the real-name review window) without waiting.
#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        now().saturating_add(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock forward by `secs` seconds (backward when negative).
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
