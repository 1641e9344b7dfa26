//! OTLP: a test receiver (a small HTTP server) gets `POST /v1/metrics`, and the protobuf it
//! received decodes to our metrics with the right names, attributes and values; a collector that
//! is down is one warning.

use monitor::export::otlp::Otlp;
use monitor::export::{self, buckets::LE_SECONDS};
use monitor::{monitor_query, monitor_step};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use prost::Message;
use std::sync::mpsc;
use std::time::Duration;

#[monitor_step(rows)]
fn otlp_step(n: usize) -> Vec<u8> {
    vec![0; n]
}

#[monitor_query("otlp_query")]
fn otlp_query() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("timeout talking to db-7"))
}

/// Receives requests on a loopback port, answers 200, and hands over (path, content type, body).
fn receiver() -> (String, mpsc::Receiver<(String, String, Vec<u8>)>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("test receiver");
    let addr = server.server_addr().to_ip().expect("an IP address");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = Vec::new();
            req.as_reader().read_to_end(&mut body).unwrap();
            let ct = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Content-Type"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            let path = req.url().to_owned();
            let _ = req.respond(tiny_http::Response::empty(200));
            if tx.send((path, ct, body)).is_err() {
                break;
            }
        }
    });
    (format!("http://{addr}"), rx)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn metric<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn sum_value(m: &Metric, site: &str) -> f64 {
    let Some(metric::Data::Sum(s)) = &m.data else {
        panic!("{} is not a sum", m.name)
    };
    assert!(s.is_monotonic);
    let p = s
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "name") == Some(site))
        .unwrap_or_else(|| panic!("no {site} point in {}", m.name));
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn a_test_receiver_decodes_the_export() {
    export::set_pipeline_name("otlp_pipeline");
    let (url, received) = receiver();
    otlp_step(3);
    otlp_step(4);
    let _ = otlp_query();
    let otlp = Otlp::new(&url);
    otlp.export(&export::collect())
        .expect("export to the test receiver");

    let (path, content_type, body) = received.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(path, "/v1/metrics");
    assert_eq!(content_type, "application/x-protobuf");
    let req = ExportMetricsServiceRequest::decode(body.as_slice()).expect("valid OTLP protobuf");

    let rm = &req.resource_metrics[0];
    assert_eq!(
        attr(&rm.resource.as_ref().unwrap().attributes, "service.name"),
        Some("otlp_pipeline")
    );
    assert_eq!(rm.scope_metrics[0].scope.as_ref().unwrap().name, "monitor");

    assert_eq!(sum_value(metric(&req, "monitor.calls"), "otlp_step"), 2.0);
    assert_eq!(sum_value(metric(&req, "monitor.rows"), "otlp_step"), 7.0);
    assert_eq!(sum_value(metric(&req, "monitor.errors"), "otlp_query"), 1.0);
    // The error's type, under the semantic conventions' attribute name.
    let Some(metric::Data::Sum(errors)) = &metric(&req, "monitor.errors").data else {
        panic!("monitor.errors is not a sum")
    };
    let point = errors
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "name") == Some("otlp_query"))
        .expect("error point");
    assert_eq!(
        attr(&point.attributes, "error.type"),
        Some("std::io::error::Error")
    );

    let duration = metric(&req, "monitor.call.duration");
    assert_eq!(duration.unit, "s");
    let Some(metric::Data::Histogram(h)) = &duration.data else {
        panic!("duration is not a histogram")
    };
    let p = h
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "name") == Some("otlp_step"))
        .unwrap();
    assert_eq!(attr(&p.attributes, "kind"), Some("step"));
    assert_eq!(attr(&p.attributes, "pipeline"), Some("otlp_pipeline"));
    assert_eq!(p.count, 2);
    assert_eq!(p.explicit_bounds, LE_SECONDS.to_vec());
    assert_eq!(p.bucket_counts.len(), LE_SECONDS.len() + 1);
    assert_eq!(p.bucket_counts.iter().sum::<u64>(), 2);
    assert!(p.sum.unwrap() > 0.0 && p.min.unwrap() <= p.max.unwrap());

    // The error's message travels nowhere.
    let text = format!("{req:?}");
    assert!(!text.contains("db-7"), "{text}");
}

#[test]
fn a_collector_that_is_down_costs_bounded_time_and_never_fails() {
    let port = monitor_test_support::free_port();
    let otlp = Otlp::new(&format!("http://127.0.0.1:{port}"));
    let started = std::time::Instant::now();
    let err = otlp.export(&export::collect()).expect_err("nobody listens");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(!err.is_empty());
}
