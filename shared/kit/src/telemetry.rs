//! Logs, traces and metrics: JSON logs through `tracing`; OTLP traces and metrics when a
//! collector is configured; W3C trace context carried in gRPC metadata both ways.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, global};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the exporters alive; flushes them when dropped at exit.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(tracer) = self.tracer.take() {
            let _ = tracer.shutdown();
        }
        if let Some(meter) = self.meter.take() {
            let _ = meter.shutdown();
        }
    }
}

/// Installs the global subscriber for `service`. Call once, first thing in `main`.
pub fn init(service: &'static str, config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.log_filter)
        .map_err(|e| anyhow::anyhow!("--log-filter/RUST_LOG `{}`: {e}", config.log_filter))?;
    let fmt = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().compact().boxed(),
    };

    let mut telemetry = Telemetry::default();
    let otel = match &config.otlp_endpoint {
        Some(endpoint) => {
            let resource =
                opentelemetry_sdk::Resource::builder().with_service_name(service).build();
            let spans = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            let tracer = SdkTracerProvider::builder()
                .with_batch_exporter(spans)
                .with_resource(resource.clone())
                .build();
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            let meter = SdkMeterProvider::builder()
                .with_periodic_exporter(metrics)
                .with_resource(resource)
                .build();
            global::set_meter_provider(meter.clone());
            let layer = tracing_opentelemetry::layer().with_tracer(tracer.tracer(service));
            telemetry.tracer = Some(tracer);
            telemetry.meter = Some(meter);
            Some(layer)
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the tracing subscriber: {e}"))?;
    Ok(telemetry)
}

/// The trace context a caller sent in `traceparent`/`tracestate`.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Makes `span` a child of the caller's trace, when the caller sent one.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    // Fails only when no OpenTelemetry layer is installed: then there is nothing to link.
    let _ = span.set_parent(extract_context(headers));
}

/// Writes the current span's trace context into an outgoing call's metadata.
pub fn inject_current(metadata: &mut tonic::metadata::MetadataMap) {
    inject(&tracing::Span::current().context(), metadata);
}

fn inject(cx: &Context, metadata: &mut tonic::metadata::MetadataMap) {
    global::get_text_map_propagator(|p| p.inject_context(cx, &mut MetadataInjector(metadata)));
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    use super::*;

    #[test]
    fn w3c_trace_context_round_trips_through_grpc_metadata() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex");
        let span_id = SpanId::from_hex("00f067aa0ba902b7").expect("hex");
        let sent =
            SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, true, TraceState::default());
        let mut metadata = tonic::metadata::MetadataMap::new();
        inject(&Context::new().with_remote_span_context(sent), &mut metadata);
        assert_eq!(
            metadata.get("traceparent").and_then(|v| v.to_str().ok()),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );

        let received = extract_context(&metadata.into_headers());
        let span = received.span();
        assert_eq!(span.span_context().trace_id(), trace_id);
        assert_eq!(span.span_context().span_id(), span_id);
        assert!(span.span_context().is_remote());
    }
}
