//! `monitor::snapshot()` serialises to the documented shape, and `monitor::reset()` zeroes it.
use monitor::{monitor_query, monitor_step};

#[monitor_step(rows)]
fn load(n: usize) -> Vec<u8> {
    vec![1; n]
}

#[monitor_query("lookup")]
fn lookup(fail: bool) -> Result<u8, String> {
    if fail {
        Err("missing".into())
    } else {
        Ok(1)
    }
}

#[test]
fn snapshot_has_the_documented_shape_and_reset_zeroes_it() {
    load(10);
    load(20);
    let _ = lookup(false);
    let _ = lookup(true);
    let json = serde_json::to_value(monitor::snapshot()).expect("serialises");
    let sites = json["sites"].as_array().expect("sites array");
    let step = sites.iter().find(|s| s["name"] == "load").expect("load");
    assert_eq!(step["kind"], "step");
    assert_eq!(step["calls"], 2);
    assert_eq!(step["rows"], 30);
    for key in ["errors", "panics", "cancelled", "slow"] {
        assert_eq!(step[key], 0, "{key}");
    }
    for key in ["total", "mean", "stddev", "min", "p50", "p95", "p99", "max"] {
        assert!(
            step["duration_ms"][key].is_f64(),
            "duration_ms.{key}: {step}"
        );
    }
    let mem = &step["memory"];
    for key in ["rss_start", "rss_end", "rss_peak"] {
        assert!(mem[key]["max"].as_u64().expect("bytes") > 0, "{key}: {mem}");
        assert!(mem[key]["last"].as_u64().is_some(), "{key}");
    }
    let query = sites
        .iter()
        .find(|s| s["name"] == "lookup")
        .expect("lookup");
    assert_eq!(query["kind"], "query");
    assert_eq!(
        (query["calls"].as_u64(), query["errors"].as_u64()),
        (Some(2), Some(1))
    );
    // Queries time only by default: no memory figures at all, rather than zeros.
    assert!(
        query["memory"]
            .as_object()
            .is_some_and(serde_json::Map::is_empty),
        "{query}"
    );

    // Round trip.
    let back: monitor::Snapshot = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back.site("load").map(|s| s.calls), Some(2));

    monitor::reset();
    assert!(monitor::snapshot().site("load").is_none());
    load(1);
    assert_eq!(
        monitor::snapshot().site("load").map(|s| (s.calls, s.rows)),
        Some((1, Some(1)))
    );
}
