//! Steps and queries as OpenTelemetry spans: with spans on, `tracing-opentelemetry` users see one
//! span per call, named after the step or query (the `otel.name` field), not `monitor`; a call
//! that fails has the span status `Error` and an `error.type` attribute.

use monitor::{monitor_query, monitor_step};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[monitor_step(name = "load_orders")]
fn load() -> usize {
    let _ = refused();
    aggregate().unwrap_or(0)
}

#[monitor_query("async_refused")]
async fn async_refused() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("refused"))
}

#[monitor_query("refused_lookup")]
fn refused() -> Result<usize, std::io::Error> {
    Err(std::io::Error::other("connection refused by db-7"))
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
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(rt.block_on(async_refused()).is_err());
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
    assert_eq!(query.status, opentelemetry::trace::Status::Unset);

    let failed = spans.iter().find(|s| s.name == "refused_lookup").unwrap();
    assert!(
        matches!(failed.status, opentelemetry::trace::Status::Error { .. }),
        "{:?}",
        failed.status
    );
    let error_type = failed
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "error.type")
        .map(|kv| kv.value.to_string());
    assert_eq!(error_type.as_deref(), Some("std::io::error::Error"));
    // Async calls' spans too.
    let failed_async = spans.iter().find(|s| s.name == "async_refused").unwrap();
    assert!(matches!(
        failed_async.status,
        opentelemetry::trace::Status::Error { .. }
    ));
    // The message stays out of the span's attributes (the `call returned an error` event inside
    // the span carries it, as the logs do).
    assert!(!format!("{:?}", failed.attributes).contains("db-7"));
}
