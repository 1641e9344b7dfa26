//! One HTTP POST with retries inside a time limit, shared by the Pushgateway and OTLP exporters.

use std::time::{Duration, Instant};

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// Tries, at least 1.
    pub attempts: u32,
    /// Time limit for all tries together (each try's timeout is what is left of it).
    pub deadline: Duration,
}

/// POSTs `body` to `url`, retrying network errors, 5xx and 429 with a doubling pause (from
/// 200 ms) until `retry.deadline`. A 4xx other than 429 is not retried: the server understood and
/// refused.
///
/// # Errors
/// The last failure's description.
pub(crate) fn post(url: &str, content_type: &str, body: &[u8], retry: Retry) -> Result<(), String> {
    let started = Instant::now();
    let mut last = String::new();
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=retry.attempts.max(1) {
        let left = retry.deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("{last} (gave up after {:?})", retry.deadline));
        }
        let agent = ureq::AgentBuilder::new().timeout(left).build();
        match agent
            .post(url)
            .set("Content-Type", content_type)
            .send_bytes(body)
        {
            Ok(_) => return Ok(()),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                last = format!("HTTP {code}: {}", text.trim());
                if (400..500).contains(&code) && code != 429 {
                    break;
                }
            }
            Err(e) => last = e.to_string(),
        }
        if attempt < retry.attempts {
            let left = retry.deadline.saturating_sub(started.elapsed());
            std::thread::sleep(backoff.min(left));
            backoff *= 2;
        }
    }
    Err(last)
}
