//! Steps and queries as OpenTelemetry spans: with spans on, `tracing-opentelemetry` users see one
//! span per call, named after the step or query (the `otel.name` field), not `monitor`.

use monitor::{monitor_query, monitor_step};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[monitor_step(name = "load_orders")]
fn load() -> usize {
    aggregate().unwrap_or(0)
}

#[monitor_query("customer_aggregation")]
fn aggregate() -> Result<usize, String> {
    Ok(3)
}

#[test]
fn spans_carry_the_step_and_query_names() {
    monitor::Config::builder().spans(true).install();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(load(), 3);
    });
    provider.force_flush().expect("flush spans");
    let spans = exporter.get_finished_spans().expect("finished spans");
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert!(names.contains(&"load_orders"), "{names:?}");
    assert!(names.contains(&"customer_aggregation"), "{names:?}");
    assert!(!names.contains(&"monitor"), "{names:?}");
    // The query's span is a child of the step's.
    let step = spans.iter().find(|s| s.name == "load_orders").unwrap();
    let query = spans
        .iter()
        .find(|s| s.name == "customer_aggregation")
        .unwrap();
    assert_eq!(query.parent_span_id, step.span_context.span_id());
    let kind = query
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "monitor.kind")
        .map(|kv| kv.value.to_string());
    assert_eq!(kind.as_deref(), Some("query"));
}
