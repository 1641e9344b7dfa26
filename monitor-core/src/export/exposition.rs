//! The Prometheus text exposition format (version 0.0.4), written straight from the figures.
//!
//! Why not the `prometheus` crate's `TextEncoder`, which [`super::prometheus::families`] still
//! feeds for programs with their own `Registry`: it wants every sample rebuilt as a protobuf
//! `Metric` with owned label strings first, and then formats each one through `fmt`. For 1,000
//! sites that took 8.2 ms on a quiet 2-core machine against a 1 ms budget for a scrape; this
//! writer escapes each site's labels once, copies them into each of its ~35 lines and formats
//! numbers with `itoa`/`ryu` (`cargo bench -p pipeline-monitor-core --features prometheus --bench
//! exporters -- render`). The format is small and fixed; the tests hold it to the crate's output
//! sample for sample, and to `promtool check metrics` and a real Prometheus server.

use super::buckets::{cumulative, LE_SECONDS};
use super::catalog::{for_each_scalar, ns_to_seconds, MetricDef, MetricType, CALL_DURATION};
use super::figures::Figures;
use std::sync::LazyLock;

/// The ends of the `_bucket` lines from the `le` value on (`0.0001"} `), with `le` as
/// Prometheus's own clients print it (`0.0001`, `1`, `+Inf`).
static LE_ENDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    LE_SECONDS
        .iter()
        .map(|le| format!("{le}\"}} "))
        .chain(std::iter::once("+Inf\"} ".to_owned()))
        .collect()
});

/// Writes `# HELP` and `# TYPE` for a family.
fn header(out: &mut String, d: &MetricDef) {
    out.push_str("# HELP ");
    out.push_str(d.prometheus);
    out.push(' ');
    // HELP text escapes only `\` and line breaks.
    for c in d.help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(d.prometheus);
    out.push_str(match d.kind {
        MetricType::Counter => " counter\n",
        MetricType::Gauge => " gauge\n",
        MetricType::Histogram => " histogram\n",
    });
}

/// Appends a label value with `\`, `"` and line feeds escaped.
fn label_value(out: &mut String, v: &str) {
    if memchr::memchr3(b'\\', b'"', b'\n', v.as_bytes()).is_none() {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends `k="v",k="v"` (no braces).
fn labels(out: &mut String, pairs: &[(&str, &str)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        label_value(out, v);
        out.push('"');
    }
}

fn int(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// A sample value: integers exactly (counts, bytes, timestamps), others shortest round-trip.
fn value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        // Exact: below 2^53 every integer-valued f64 is an integer.
        #[allow(clippy::cast_possible_truncation)]
        let i = v as i64;
        out.push_str(itoa::Buffer::new().format(i));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// Writes every family of `figures` in the text format, in the order of
/// [`super::prometheus::families`]: the duration histogram, then the counters and gauges of
/// [`super::catalog`]. Families without samples are left out.
pub fn write(figures: &Figures, out: &mut String) {
    // About 35 lines per site of some 60 bytes plus its labels: one allocation, not a doubling
    // series of copies of a multi-megabyte text.
    let estimate: usize = figures
        .sites
        .iter()
        .map(|s| 40 * (80 + figures.pipeline.len() + s.name.len()))
        .sum();
    out.reserve(4096 + estimate);
    if !figures.sites.is_empty() {
        header(out, &CALL_DURATION);
        let name = CALL_DURATION.prometheus;
        let mut site_labels = String::new();
        let mut bucket_start = String::new();
        for s in &figures.sites {
            site_labels.clear();
            labels(
                &mut site_labels,
                &[
                    ("pipeline", &figures.pipeline),
                    ("kind", s.kind.as_str()),
                    ("name", s.name),
                ],
            );
            // Everything before the `le` value, the same on the site's 25 bucket lines.
            bucket_start.clear();
            bucket_start.push_str(name);
            bucket_start.push_str("_bucket{");
            bucket_start.push_str(&site_labels);
            bucket_start.push_str(",le=\"");
            for (le_end, count) in LE_ENDS.iter().zip(cumulative(&s.le_counts)) {
                out.push_str(&bucket_start);
                out.push_str(le_end);
                int(out, count);
                out.push('\n');
            }
            out.push_str(name);
            out.push_str("_sum{");
            out.push_str(&site_labels);
            out.push_str("} ");
            value(out, ns_to_seconds(s.duration_sum_ns));
            out.push('\n');
            out.push_str(name);
            out.push_str("_count{");
            out.push_str(&site_labels);
            out.push_str("} ");
            int(out, s.calls);
            out.push('\n');
        }
    }
    let mut current: Option<&str> = None;
    for_each_scalar(figures, |d, pairs, v| {
        if current != Some(d.prometheus) {
            header(out, d);
            current = Some(d.prometheus);
        }
        out.push_str(d.prometheus);
        if !pairs.is_empty() {
            out.push('{');
            labels(out, pairs);
            out.push('}');
        }
        out.push(' ');
        value(out, v);
        out.push('\n');
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_labels_are_written_as_prometheus_reads_them() {
        let mut s = String::new();
        for v in [3.0, 0.0, 1.5e-7, 0.0001, 1e20, f64::INFINITY, -2.0] {
            value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "3 0 1.5e-7 0.0001 1e20 +Inf -2 ");
        let mut l = String::new();
        labels(&mut l, &[("name", "a\"b\\c\nd"), ("kind", "step")]);
        assert_eq!(l, r#"name="a\"b\\c\nd",kind="step""#);
        assert_eq!(LE_ENDS[0], "0.0001\"} ");
        assert_eq!(LE_ENDS[12], "1\"} ");
        assert_eq!(LE_ENDS.last().map(String::as_str), Some("+Inf\"} "));
    }
}
