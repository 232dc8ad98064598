//! Push delivery of Security Event Tokens to a relying system (RFC 8935): an HTTP POST of the
//! signed token with `Content-Type: application/secevent+jwt`; a 2xx status is success.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// How often the queue is checked for due events, in milliseconds.
    pub poll_interval_ms: u64,
    /// Delay before the first retry, in seconds; it doubles with each failed attempt.
    pub retry_base_secs: i64,
    /// Maximum delay between attempts, in seconds.
    pub retry_max_secs: i64,
    /// Timeout of one delivery request, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        ProvisioningConfig {
            poll_interval_ms: 1000,
            retry_base_secs: 10,
            retry_max_secs: 3600,
            timeout_ms: 5000,
        }
    }
}

impl ProvisioningConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_interval_ms == 0 || self.timeout_ms == 0 {
            return Err("poll_interval_ms and timeout_ms must be above 0".into());
        }
        if self.retry_base_secs <= 0 || self.retry_max_secs < self.retry_base_secs {
            return Err(format!(
                "retry_base_secs {} must be above 0 and at most retry_max_secs {}",
                self.retry_base_secs, self.retry_max_secs
            ));
        }
        Ok(())
    }

    /// Delay after `attempts` failed attempts: base x 2^(attempts - 1), at most the maximum.
    pub fn retry_delay(&self, attempts: i32) -> i64 {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.retry_base_secs
            .saturating_mul(1_i64 << exponent)
            .min(self.retry_max_secs)
    }
}

pub struct Pusher {
    client: reqwest::Client,
}

impl Pusher {
    pub fn new(config: &ProvisioningConfig) -> Result<Pusher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Pusher { client })
    }

    /// POSTs one Security Event Token. The error describes why delivery failed.
    pub async fn push(&self, endpoint: &str, token: &str) -> Result<(), String> {
        let request = self
            .client
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(token.to_owned());
        Self::send(request).await
    }

    /// POSTs a logout token as the form parameter `logout_token` (OpenID Connect Back-Channel
    /// Logout 1.0 §2.5).
    pub async fn push_logout_token(&self, endpoint: &str, token: &str) -> Result<(), String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", token)
            .finish();
        let request = self
            .client
            .post(endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        Self::send(request).await
    }

    async fn send(request: reqwest::RequestBuilder) -> Result<(), String> {
        let response = request.send().await.map_err(|error| {
            if error.is_timeout() {
                "timed out".to_owned()
            } else {
                format!("request failed: {}", error_chain(&error.without_url()))
            }
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        Err(format!("HTTP {status}: {body}"))
    }
}

/// Formats an error with its sources, such as `error sending request: connection refused`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_maximum() {
        let config = ProvisioningConfig::default();
        assert_eq!(config.retry_delay(1), 10);
        assert_eq!(config.retry_delay(2), 20);
        assert_eq!(config.retry_delay(3), 40);
        assert_eq!(config.retry_delay(12), 3600);
        assert_eq!(config.retry_delay(i32::MAX), 3600);
    }
}
