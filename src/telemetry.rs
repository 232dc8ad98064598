//! Logging: one line per event to stderr, filtered by `RUST_LOG` (default `info`), as text or
//! as JSON objects (`log.format = "json"`). Lines logged while a request is handled carry its
//! `request_id` from the request span.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Picks the request id: the caller's `X-Request-Id` when it is short and printable, so one
/// id follows a request through a proxy, otherwise a new random one.
pub fn request_id(header: Option<&str>) -> String {
    match header {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            id.to_owned()
        }
        _ => crate::crypto::random_digits(16).unwrap_or_default(),
    }
}
