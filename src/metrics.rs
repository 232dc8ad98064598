//! Prometheus metrics, kept in memory per node and served in the text exposition format on a
//! separate listener. They count sign-ins by method and result, SMS codes by purpose and
//! outcome, and tokens by grant, with request latency histograms by route and the
//! provisioning queue depth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::SharedState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    /// Count per bucket of `BUCKETS`, not cumulative.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    sign_ins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    sms: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut map) = map.lock() {
        *map.entry(key).or_insert(0) += 1;
    }
}

impl Metrics {
    /// Counts a sign-in attempt: `method` is phone, stock or certificate; `result` success,
    /// failure or locked.
    pub fn sign_in(&self, method: &'static str, result: &'static str) {
        bump(&self.sign_ins, (method, result));
    }

    /// Counts an SMS code request by purpose and outcome (sent, too_soon, daily_limit, ...).
    pub fn sms(&self, purpose: &'static str, outcome: &'static str) {
        bump(&self.sms, (purpose, outcome));
    }

    /// Counts tokens issued at the token endpoint by grant type.
    pub fn token(&self, grant: &'static str) {
        bump(&self.tokens, grant);
    }

    pub fn observe(&self, route: &str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let Ok(mut latency) = self.latency.lock() else {
            return;
        };
        let histogram = latency.entry(route.to_owned()).or_default();
        if let Some(index) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[index] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self, queue_depth: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP unilogin_sign_ins_total Sign-in attempts by method and result."
        );
        let _ = writeln!(out, "# TYPE unilogin_sign_ins_total counter");
        if let Ok(map) = self.sign_ins.lock() {
            for ((method, result), value) in map.iter() {
                let _ = writeln!(
                    out,
                    "unilogin_sign_ins_total{{method=\"{method}\",result=\"{result}\"}} {value}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP unilogin_sms_codes_total SMS code requests by purpose and outcome."
        );
        let _ = writeln!(out, "# TYPE unilogin_sms_codes_total counter");
        if let Ok(map) = self.sms.lock() {
            for ((purpose, outcome), value) in map.iter() {
                let _ = writeln!(
                    out,
                    "unilogin_sms_codes_total{{purpose=\"{purpose}\",outcome=\"{outcome}\"}} {value}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP unilogin_tokens_issued_total Token responses by grant type."
        );
        let _ = writeln!(out, "# TYPE unilogin_tokens_issued_total counter");
        if let Ok(map) = self.tokens.lock() {
            for (grant, value) in map.iter() {
                let _ = writeln!(
                    out,
                    "unilogin_tokens_issued_total{{grant=\"{grant}\"}} {value}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP unilogin_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(
            out,
            "# TYPE unilogin_http_request_duration_seconds histogram"
        );
        if let Ok(map) = self.latency.lock() {
            for (route, histogram) in map.iter() {
                let mut cumulative = 0;
                for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                    cumulative += count;
                    let _ = writeln!(
                        out,
                        "unilogin_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "unilogin_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(
                    out,
                    "unilogin_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    histogram.sum
                );
                let _ = writeln!(
                    out,
                    "unilogin_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    histogram.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP unilogin_provisioning_queue_depth Provisioning events waiting for delivery."
        );
        let _ = writeln!(out, "# TYPE unilogin_provisioning_queue_depth gauge");
        let _ = writeln!(out, "unilogin_provisioning_queue_depth {queue_depth}");
        out
    }
}

/// Middleware that records the latency of every routed request under its route pattern, so
/// ids in paths do not create new series.
pub async fn track(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(&route, started.elapsed());
    response
}

/// `GET /metrics` on the metrics listener.
pub async fn serve_metrics(State(state): State<SharedState>) -> Response {
    use axum::response::IntoResponse;
    let depth = crate::store::provisioning_events::pending_count(&state.db)
        .await
        .unwrap_or(0);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(depth),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.observe("/token", Duration::from_millis(3));
        metrics.observe("/token", Duration::from_millis(300));
        let text = metrics.render(2);
        assert!(text.contains("route=\"/token\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("route=\"/token\",le=\"0.5\"} 2"), "{text}");
        assert!(text.contains("unilogin_http_request_duration_seconds_count{route=\"/token\"} 2"));
        assert!(text.contains("unilogin_provisioning_queue_depth 2"));
    }
}
