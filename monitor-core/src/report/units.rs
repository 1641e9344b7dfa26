//! Numbers as people read them: `1.24 s`, `340.2 MiB`, `1.2 M/s`, `1,234,567`.
//!
//! Shared by the text, Markdown and HTML renderings so they always agree.

/// A duration given in milliseconds: `850 µs`, `12.3 ms`, `1.24 s`, `2 m 05 s`, `1 h 02 m`.
#[must_use]
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "-".to_owned();
    }
    if ms == 0.0 {
        return "0".to_owned();
    }
    if ms < 1.0 {
        let us = ms * 1000.0;
        return if us < 10.0 {
            format!("{us:.1} µs")
        } else {
            format!("{us:.0} µs")
        };
    }
    if ms < 1000.0 {
        return if ms < 100.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.0} ms")
        };
    }
    let s = ms / 1000.0;
    if s < 60.0 {
        return if s < 10.0 {
            format!("{s:.2} s")
        } else {
            format!("{s:.1} s")
        };
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = s.round() as u64;
    if total < 3600 {
        format!("{} m {:02} s", total / 60, total % 60)
    } else {
        format!("{} h {:02} m", total / 3600, (total % 3600) / 60)
    }
}

/// Bytes in binary units: `512 B`, `12.0 KiB`, `340.2 MiB`, `1.25 GiB`.
#[must_use]
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.2} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// A count with thousands separators: `1,234,567`.
#[must_use]
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second with an SI suffix: `12.5/s`, `850 k/s`, `1.20 M/s`.
#[must_use]
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec < 0.0 {
        return "-".to_owned();
    }
    let (v, suffix) = if per_sec >= 1e9 {
        (per_sec / 1e9, " G")
    } else if per_sec >= 1e6 {
        (per_sec / 1e6, " M")
    } else if per_sec >= 1e3 {
        (per_sec / 1e3, " k")
    } else {
        (per_sec, "")
    };
    if v < 10.0 {
        format!("{v:.2}{suffix}/s")
    } else if v < 100.0 {
        format!("{v:.1}{suffix}/s")
    } else {
        format!("{v:.0}{suffix}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0.0), "0");
        assert_eq!(duration_ms(0.0042), "4.2 µs");
        assert_eq!(duration_ms(0.85), "850 µs");
        assert_eq!(duration_ms(12.34), "12.3 ms");
        assert_eq!(duration_ms(456.0), "456 ms");
        assert_eq!(duration_ms(1240.0), "1.24 s");
        assert_eq!(duration_ms(42_000.0), "42.0 s");
        assert_eq!(duration_ms(125_000.0), "2 m 05 s");
        assert_eq!(duration_ms(3_720_000.0), "1 h 02 m");
        assert_eq!(duration_ms(f64::NAN), "-");
    }

    #[test]
    fn sizes_counts_rates() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12 * 1024), "12.0 KiB");
        assert_eq!(bytes(356_725_145), "340.2 MiB");
        assert_eq!(bytes(1_342_177_280), "1.25 GiB");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(12.5), "12.5/s");
        assert_eq!(rate(850_000.0), "850 k/s");
        assert_eq!(rate(1_200_000.0), "1.20 M/s");
    }
}
