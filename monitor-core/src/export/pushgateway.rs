//! Pushgateway: a batch pipeline pushes its figures at the end of each run.
//!
//! The push is `POST {url}/metrics/job/{job}/pipeline/{pipeline}/instance/{instance}` with the
//! Prometheus text of [`super::prometheus`]. `POST` replaces only the metric families it carries
//! within that group, so after a failed run the gateway keeps the previous
//! `monitor_pipeline_last_success_timestamp_seconds` (a new process that has never succeeded does
//! not send one): the "no success in N hours" alert keeps working across processes.
//!
//! A gateway that is down, refuses the push or hangs gets [`Pushgateway::attempts`] tries within
//! [`Pushgateway::deadline`] in total, then one `warn` event; the pipeline is never failed.

use super::figures::{Figures, RunSummary};
use super::prometheus::{render_figures, CONTENT_TYPE};
use super::RunHook;
use base64::Engine as _;
use std::time::Duration;

/// Pushes figures to one Pushgateway.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    url: String,
    job: String,
    instance: String,
    attempts: u32,
    deadline: Duration,
}

impl Pushgateway {
    /// A gateway at `url` (`http://host:9091`), job `monitor`, instance = this host's name,
    /// 3 attempts within 5 s.
    #[must_use]
    pub fn new(url: &str) -> Pushgateway {
        Pushgateway {
            url: url.trim_end_matches('/').to_owned(),
            job: "monitor".to_owned(),
            instance: crate::base::host::name().unwrap_or("unknown").to_owned(),
            attempts: 3,
            deadline: Duration::from_secs(5),
        }
    }

    /// Sets the `job` grouping label.
    #[must_use]
    pub fn job(mut self, job: &str) -> Self {
        job.clone_into(&mut self.job);
        self
    }

    /// Sets the `instance` grouping label.
    #[must_use]
    pub fn instance(mut self, instance: &str) -> Self {
        instance.clone_into(&mut self.instance);
        self
    }

    /// Sets the number of tries (at least 1).
    #[must_use]
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = n.max(1);
        self
    }

    /// Sets the time limit for one push, all tries included.
    #[must_use]
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// The URL a push for `pipeline` goes to.
    #[must_use]
    pub fn push_url(&self, pipeline: &str) -> String {
        format!(
            "{}/metrics/{}/{}/{}",
            self.url,
            segment("job", &self.job),
            segment("pipeline", pipeline),
            segment("instance", &self.instance)
        )
    }

    /// Pushes `figures` as the group of `pipeline`, retrying within the deadline.
    ///
    /// # Errors
    /// The last failure's description, once every try failed or the deadline passed.
    pub fn push(&self, figures: &Figures, pipeline: &str) -> Result<(), String> {
        // Only this pipeline's run series: the grouping key carries `pipeline`, and the gateway
        // refuses metrics whose `pipeline` label disagrees with it.
        let mut mine = figures.clone();
        mine.runs.retain(|r| r.pipeline == pipeline);
        mine.pipeline = pipeline.to_owned();
        let body = render_figures(&mine);
        super::http::post(
            &self.push_url(pipeline),
            CONTENT_TYPE,
            body.as_bytes(),
            super::http::Retry {
                attempts: self.attempts,
                deadline: self.deadline,
            },
        )
    }
}

/// One `/name/value` grouping-key path segment; values that are empty or hold characters a path
/// segment cannot carry are sent base64url-encoded (`name@base64/...`), as the gateway expects.
fn segment(name: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if plain {
        format!("{name}/{value}")
    } else {
        let enc = base64::engine::general_purpose::URL_SAFE.encode(value);
        // The gateway reads `=` as the empty value's padding.
        let enc = if enc.is_empty() { "=".to_owned() } else { enc };
        format!("{name}@base64/{enc}")
    }
}

impl RunHook for Pushgateway {
    fn run_finished(&self, figures: &Figures, run: &RunSummary<'_>) {
        if let Err(reason) = self.push(figures, run.pipeline) {
            tracing::warn!(
                target: "monitor",
                url = %self.push_url(run.pipeline),
                pipeline = run.pipeline,
                reason = %reason,
                "Pushgateway: could not push the run's metrics: {reason}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_key_segments() {
        let gw = Pushgateway::new("http://gw:9091/")
            .job("etl")
            .instance("host-1");
        assert_eq!(
            gw.push_url("nightly"),
            "http://gw:9091/metrics/job/etl/pipeline/nightly/instance/host-1"
        );
        assert_eq!(segment("pipeline", "a/b"), "pipeline@base64/YS9i");
        assert_eq!(segment("pipeline", ""), "pipeline@base64/=");
    }
}
