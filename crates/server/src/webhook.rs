//! The announcement webhook: when every party of a scheduled call approves
//! announcing its time, the server POSTs the public view to a configured
//! URL, signed so that the receiver can check it came from this server:
//!
//! - `X-Hotline-Timestamp`: Unix seconds when it was signed;
//! - `X-Hotline-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the
//!   configured webhook secret, of the timestamp, a `.`, and the body.
//!
//! A receiver recomputes the HMAC and compares in constant time, and
//! refuses old timestamps (replays). Delivery is tried three times.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::{info, warn};

/// Where and with what key announcements are sent.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    secret: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Shortest webhook secret accepted.
pub const MIN_SECRET_CHARS: usize = 16;

/// Waits before the second and third attempts.
const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

impl Webhook {
    /// Checks the URL and secret.
    pub fn new(url: &str, secret: &str) -> Result<Webhook, String> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("the webhook URL `{url}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("the webhook URL `{url}` must be http or https"));
        }
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "the webhook secret must have at least {MIN_SECRET_CHARS} characters"
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        Ok(Webhook {
            url: url.to_string(),
            secret: secret.to_string(),
            client,
        })
    }

    /// The signature header's value for `body` signed at `timestamp`.
    pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    /// Sends `event` in the background.
    pub fn send(&self, event: serde_json::Value) {
        let hook = self.clone();
        tokio::spawn(async move {
            let body = event.to_string().into_bytes();
            for attempt in 0..=RETRY_AFTER.len() {
                if attempt > 0 {
                    tokio::time::sleep(RETRY_AFTER[attempt - 1]).await;
                }
                let timestamp = crate::cli::unix_now();
                let result = hook
                    .client
                    .post(&hook.url)
                    .header("content-type", "application/json")
                    .header("x-hotline-timestamp", timestamp.to_string())
                    .header(
                        "x-hotline-signature",
                        Self::signature(&hook.secret, timestamp, &body),
                    )
                    .body(body.clone())
                    .send()
                    .await;
                match result {
                    Ok(r) if r.status().is_success() => {
                        info!(url = %hook.url, status = %r.status(), "announcement webhook delivered");
                        return;
                    }
                    Ok(r) => {
                        warn!(url = %hook.url, status = %r.status(), attempt, "announcement webhook refused")
                    }
                    Err(e) => warn!(url = %hook.url, attempt, "announcement webhook failed: {e}"),
                }
            }
            warn!(url = %hook.url, "announcement webhook given up");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let s = Webhook::signature("0123456789abcdef", 1_800_000_000, b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert_ne!(
            s,
            Webhook::signature("0123456789abcdef", 1_800_000_001, b"{}")
        );
        assert_ne!(
            s,
            Webhook::signature("0123456789abcdef", 1_800_000_000, b"{ }")
        );
        assert_ne!(
            s,
            Webhook::signature("0123456789abcdeF", 1_800_000_000, b"{}")
        );
    }

    #[test]
    fn bad_urls_and_short_secrets_are_refused() {
        assert!(Webhook::new("ftp://x/y", "0123456789abcdef").is_err());
        assert!(Webhook::new("not a url", "0123456789abcdef").is_err());
        assert!(Webhook::new("https://x/y", "short").is_err());
        assert!(Webhook::new("https://x/y", "0123456789abcdef").is_ok());
    }
}
