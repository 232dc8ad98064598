//! Carrier real-name check (phone two-element: does this name own this phone number?).
//! Adapters: `fixture` reads a CSV file of consistent `phone,name` pairs (development, demo
//! data and tests); `http` calls a provider's JSON API with a configurable field mapping.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::domain::phone::Phone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Match,
    Mismatch,
    NoRecord,
    InvalidInput,
    ProviderError,
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Match => "match",
            Outcome::Mismatch => "mismatch",
            Outcome::NoRecord => "no_record",
            Outcome::InvalidInput => "invalid_input",
            Outcome::ProviderError => "provider_error",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// The result of one check, with the provider's request id and the time it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub outcome: Outcome,
    pub request_id: String,
    pub latency_ms: u64,
    /// Failure detail for logs, without the name or the full phone number.
    pub detail: String,
}

impl Verification {
    /// Describes the outcome for the audit trail: outcome and provider request id.
    pub fn audit_detail(&self) -> String {
        format!(
            "real-name check {} (request {})",
            self.outcome.as_str(),
            self.request_id
        )
    }
}

pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Verification> + Send + 'a>>;

pub trait RealnameVerifier: Send + Sync {
    /// Checks that `name` is the registered owner of `phone`.
    fn verify_phone<'a>(&'a self, name: &'a str, phone: &'a Phone) -> VerifyFuture<'a>;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealnameConfig {
    /// `fixture` or `http`.
    pub adapter: String,
    /// CSV of `phone,name` lines for the fixture adapter. Empty: `DATA_DIR/realname-fixture.csv`.
    pub fixture_path: String,
    pub http: HttpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Endpoint that receives a JSON POST with the name and the phone.
    pub url: String,
    /// Sent as the `Authorization` header when not empty.
    pub authorization: String,
    pub timeout_ms: u64,
    /// Further attempts after a provider error or timeout; other outcomes are never retried.
    pub retries: u32,
    pub name_field: String,
    /// The phone is sent as 11 national digits.
    pub phone_field: String,
    /// Response field with the result code, and the codes of each outcome. A code in none
    /// of the lists is a provider error.
    pub result_field: String,
    pub match_codes: Vec<String>,
    pub mismatch_codes: Vec<String>,
    pub no_record_codes: Vec<String>,
    pub invalid_input_codes: Vec<String>,
    pub rate_limited_codes: Vec<String>,
    pub request_id_field: String,
}

impl Default for RealnameConfig {
    fn default() -> Self {
        RealnameConfig {
            adapter: "fixture".into(),
            fixture_path: String::new(),
            http: HttpConfig {
                url: String::new(),
                authorization: String::new(),
                timeout_ms: 3000,
                retries: 1,
                name_field: "name".into(),
                phone_field: "mobile".into(),
                result_field: "result".into(),
                match_codes: vec!["1".into()],
                mismatch_codes: vec!["2".into()],
                no_record_codes: vec!["3".into()],
                invalid_input_codes: vec!["4".into()],
                rate_limited_codes: vec!["5".into()],
                request_id_field: "request_id".into(),
            },
        }
    }
}

impl RealnameConfig {
    pub fn validate(&self) -> Result<(), String> {
        match self.adapter.as_str() {
            "fixture" => Ok(()),
            "http" => {
                let url = url::Url::parse(&self.http.url)
                    .map_err(|e| format!("http.url `{}` is not a URL ({e})", self.http.url))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("http.url `{}` must be http(s)", self.http.url));
                }
                if self.http.timeout_ms == 0 {
                    return Err("http.timeout_ms 0 must be above 0".into());
                }
                Ok(())
            }
            other => Err(format!(
                "adapter `{other}` is not known; use `fixture` or `http`"
            )),
        }
    }
}

/// Development adapter: a phone listed with the same name matches, with another name
/// mismatches, and an unlisted phone has no record. The file is read on every check, so
/// pairs added while the server runs count at once.
pub struct FixtureVerifier {
    path: PathBuf,
}

impl FixtureVerifier {
    /// Uses `path`, creating it with an explanatory header when it does not exist.
    pub fn new(path: PathBuf) -> std::io::Result<FixtureVerifier> {
        if !path.exists() {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(
                &path,
                "# Real-name fixture: one `phone,name` pair per line; the development real-name check\n\
                 # matches a phone only with the name given here.\n",
            )?;
        }
        Ok(FixtureVerifier { path })
    }

    /// Appends a pair unless the phone is listed already.
    pub fn add_pair(&self, phone: &Phone, name: &str) -> std::io::Result<()> {
        use std::io::Write;
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        if parse_fixture(&text).contains_key(phone.as_e164()) {
            return Ok(());
        }
        let mut file = std::fs::OpenOptions::new().append(true).open(&self.path)?;
        writeln!(file, "{},{name}", phone.national())
    }
}

fn parse_fixture(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(','))
        .filter_map(|(phone, name)| {
            let phone = Phone::parse(phone.trim()).ok()?;
            Some((phone.as_e164().to_owned(), name.trim().to_owned()))
        })
        .collect()
}

impl RealnameVerifier for FixtureVerifier {
    fn verify_phone<'a>(&'a self, name: &'a str, phone: &'a Phone) -> VerifyFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let request_id = format!(
                "fixture-{}",
                crate::crypto::random_digits(12).unwrap_or_default()
            );
            let finish = |outcome: Outcome, detail: String| Verification {
                outcome,
                request_id: request_id.clone(),
                latency_ms: elapsed_ms(started),
                detail,
            };
            let text = match tokio::fs::read_to_string(&self.path).await {
                Ok(text) => text,
                Err(error) => {
                    let detail = format!("fixture {} unreadable: {error}", self.path.display());
                    return finish(Outcome::ProviderError, detail);
                }
            };
            match parse_fixture(&text).get(phone.as_e164()) {
                Some(listed) if listed == name.trim() => finish(Outcome::Match, String::new()),
                Some(_) => finish(Outcome::Mismatch, String::new()),
                None => finish(Outcome::NoRecord, String::new()),
            }
        })
    }
}

/// A provider's JSON API. Requests time out after `timeout_ms`; provider errors and timeouts
/// are retried `retries` times, every other outcome is final.
pub struct HttpVerifier {
    config: HttpConfig,
    client: reqwest::Client,
}

impl HttpVerifier {
    pub fn new(config: HttpConfig) -> Result<HttpVerifier, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpVerifier { config, client })
    }

    async fn attempt(&self, name: &str, phone: &Phone) -> (Outcome, String, String) {
        let mut body = serde_json::Map::new();
        body.insert(self.config.name_field.clone(), name.into());
        body.insert(self.config.phone_field.clone(), phone.national().into());
        let mut request = self.client.post(&self.config.url).json(&body);
        if !self.config.authorization.is_empty() {
            request = request.header(reqwest::header::AUTHORIZATION, &self.config.authorization);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                return (Outcome::ProviderError, String::new(), "timed out".into());
            }
            Err(error) => {
                let detail = format!("request failed: {}", error.without_url());
                return (Outcome::ProviderError, String::new(), detail);
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return (Outcome::RateLimited, String::new(), "HTTP 429".into());
        }
        if !status.is_success() {
            return (
                Outcome::ProviderError,
                String::new(),
                format!("HTTP {status}"),
            );
        }
        let json: serde_json::Value = match response.json().await {
            Ok(json) => json,
            Err(error) => {
                let detail = format!("response is not JSON: {}", error.without_url());
                return (Outcome::ProviderError, String::new(), detail);
            }
        };
        let field_text = |field: &str| match &json[field] {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let code = field_text(&self.config.result_field);
        let request_id = field_text(&self.config.request_id_field);
        let listed = |codes: &[String]| codes.contains(&code);
        let outcome = if listed(&self.config.match_codes) {
            Outcome::Match
        } else if listed(&self.config.mismatch_codes) {
            Outcome::Mismatch
        } else if listed(&self.config.no_record_codes) {
            Outcome::NoRecord
        } else if listed(&self.config.invalid_input_codes) {
            Outcome::InvalidInput
        } else if listed(&self.config.rate_limited_codes) {
            Outcome::RateLimited
        } else {
            let detail = format!(
                "unknown result code `{}`",
                code.chars().take(40).collect::<String>()
            );
            return (Outcome::ProviderError, request_id, detail);
        };
        (outcome, request_id, String::new())
    }
}

impl RealnameVerifier for HttpVerifier {
    fn verify_phone<'a>(&'a self, name: &'a str, phone: &'a Phone) -> VerifyFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let mut attempt = 0;
            loop {
                let (outcome, request_id, detail) = self.attempt(name, phone).await;
                if outcome != Outcome::ProviderError || attempt >= self.config.retries {
                    return Verification {
                        outcome,
                        request_id,
                        latency_ms: elapsed_ms(started),
                        detail,
                    };
                }
                attempt += 1;
                tracing::warn!(phone = %phone, attempt, detail, "real-name check failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        })
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Builds the configured adapter.
pub fn from_config(
    config: &RealnameConfig,
    fixture_path: PathBuf,
) -> Result<Box<dyn RealnameVerifier>, String> {
    match config.adapter.as_str() {
        "http" => HttpVerifier::new(config.http.clone())
            .map(|verifier| Box::new(verifier) as Box<dyn RealnameVerifier>)
            .map_err(|e| format!("real-name HTTP client: {e}")),
        _ => FixtureVerifier::new(fixture_path.clone())
            .map(|verifier| Box::new(verifier) as Box<dyn RealnameVerifier>)
            .map_err(|e| format!("real-name fixture {}: {e}", fixture_path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(text: &str) -> Phone {
        Phone::parse(text).unwrap()
    }

    #[tokio::test]
    async fn fixture_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let verifier = FixtureVerifier::new(dir.path().join("pairs.csv")).unwrap();
        verifier.add_pair(&phone("17512342068"), "李四").unwrap();

        let matched = verifier
            .verify_phone("李四", &phone("+8617512342068"))
            .await;
        assert_eq!(matched.outcome, Outcome::Match);
        assert!(matched.request_id.starts_with("fixture-"));
        let mismatched = verifier.verify_phone("王五", &phone("17512342068")).await;
        assert_eq!(mismatched.outcome, Outcome::Mismatch);
        let unknown = verifier.verify_phone("李四", &phone("17512342069")).await;
        assert_eq!(unknown.outcome, Outcome::NoRecord);
    }

    #[tokio::test]
    async fn fixture_pairs_are_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.csv");
        let verifier = FixtureVerifier::new(path.clone()).unwrap();
        verifier.add_pair(&phone("17512342068"), "李四").unwrap();
        verifier.add_pair(&phone("17512342068"), "李四").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.matches("17512342068").count(), 1);
    }

    #[tokio::test]
    async fn http_adapter_reports_unreachable_provider() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut config = RealnameConfig::default().http;
        config.url = format!("http://127.0.0.1:{port}/verify");
        config.retries = 1;
        let verifier = HttpVerifier::new(config).unwrap();
        let result = verifier.verify_phone("李四", &phone("17512342068")).await;
        assert_eq!(result.outcome, Outcome::ProviderError);
        assert!(
            result.detail.starts_with("request failed"),
            "{}",
            result.detail
        );
    }
}
