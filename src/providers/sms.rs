//! SMS gateway. The `outbox` adapter appends each message as one JSON line to a file, which
//! developers read and tests parse.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::domain::phone::Phone;

/// The reason a message is sent, written as the `purpose` field of the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    InitialPassword,
    Realname,
    /// Information without a code or password, such as being added as an operator.
    Notice,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::InitialPassword => "initial_password",
            Purpose::Realname => "realname",
            Purpose::Notice => "notice",
        }
    }
}

pub struct SmsMessage<'a> {
    pub phone: &'a Phone,
    pub purpose: Purpose,
    pub text: String,
    /// The one-time code in the text, when there is one; gateways with templates need it apart.
    pub code: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS outbox {path} could not be written: {source}")]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SMS message could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, message: &'a SmsMessage<'a>) -> SendFuture<'a>;
}

/// Development adapter: appends to a JSON-lines file.
pub struct OutboxSender {
    path: PathBuf,
    write_lock: Mutex<()>,
}

#[derive(Serialize)]
struct OutboxLine<'a> {
    phone: &'a str,
    purpose: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    sent_at: String,
}

impl OutboxSender {
    pub fn new(path: PathBuf) -> OutboxSender {
        OutboxSender {
            path,
            write_lock: Mutex::new(()),
        }
    }

    async fn append(&self, message: &SmsMessage<'_>) -> Result<(), SmsError> {
        let line = OutboxLine {
            phone: message.phone.as_e164(),
            purpose: message.purpose.as_str(),
            text: &message.text,
            code: message.code,
            sent_at: rfc3339_utc(crate::clock::now()),
        };
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');

        let outbox_error = |source| SmsError::Outbox {
            path: self.path.clone(),
            source,
        };
        let _guard = self.write_lock.lock().await;
        if let Some(parent) = self.path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(outbox_error)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(outbox_error)?;
        file.write_all(&bytes).await.map_err(outbox_error)?;
        file.flush().await.map_err(outbox_error)?;
        Ok(())
    }
}

impl SmsSender for OutboxSender {
    fn send<'a>(&'a self, message: &'a SmsMessage<'a>) -> SendFuture<'a> {
        Box::pin(self.append(message))
    }
}

/// Formats Unix seconds as `2026-12-04T08:30:00Z` (civil-from-days, proleptic Gregorian).
pub fn rfc3339_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_utc(1_796_400_000), "2026-12-04T16:00:00Z");
        assert_eq!(super::rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
