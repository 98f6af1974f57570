//! Logs and traces. `tracing` everywhere; spans are exported over OTLP/gRPC when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable is set, and W3C trace context (`traceparent`) is read
//! from incoming gRPC metadata, written into outgoing metadata, and carried inside events, so one
//! trace follows a request across services and into event consumers.

use std::{
    collections::HashMap,
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::TelemetrySettings;

/// Flushes pending spans when dropped; keep it alive for the life of the process.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {error}");
        }
    }
}

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("telemetry: {0}")]
pub struct TelemetryError(String);

/// Installs the global subscriber: filtered human-readable logs on stdout, and an OpenTelemetry
/// layer (exporting over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise it still gives
/// every span a trace id to propagate and log).
pub fn init(
    service_name: &str,
    settings: &TelemetrySettings,
) -> Result<TelemetryGuard, TelemetryError> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service_name.to_owned())
            .build(),
    );
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    if let Some(endpoint) = &endpoint {
        // Building the exporter does not connect: a collector that is down costs dropped spans,
        // never a failed start.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|error| TelemetryError(error.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let tracer = provider.tracer("govmedia");
    global::set_tracer_provider(provider.clone());

    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|error| TelemetryError(format!("bad log filter {:?}: {error}", settings.log)))?;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(true)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
        )
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .map_err(|error| TelemetryError(error.to_string()))?;
    if let Some(endpoint) = endpoint {
        tracing::info!(%endpoint, "exporting traces over OTLP");
    }
    Ok(TelemetryGuard { provider })
}

struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|key| key.as_str()).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Makes `span` a child of the trace context in `headers`, when there is one.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if headers.contains_key("traceparent") {
        let parent = global::get_text_map_propagator(|p| p.extract(&HeaderCarrier(headers)));
        let _ = span.set_parent(parent);
    }
}

/// Makes `span` a child of a stored `traceparent` (e.g. from an event), when it is set.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    if traceparent.is_empty() {
        return;
    }
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    let parent = global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(parent);
}

/// The `traceparent` of the current span, when it belongs to a trace.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    carrier.remove("traceparent")
}

/// The current trace id in hex, or `-` outside a trace; quoted in internal-error messages so an
/// operator can find the log lines.
pub fn current_trace_id() -> String {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        "-".to_owned()
    }
}

/// Writes the current trace context into outgoing gRPC metadata (service-to-service clients).
pub fn inject_into_metadata(metadata: &mut tonic::metadata::MetadataMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut MetadataInjector(metadata))
    });
}

/// Tower layer: one span per call (continuing the caller's trace) and one log line per call
/// with method, gRPC status and latency.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer;

impl<S> tower::Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService { inner }
    }
}

/// The service of [`TraceLayer`].
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
}

impl<S, B, RB> tower::Service<http::Request<B>> for TraceService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path.as_str(), ""));
        macro_rules! grpc_span {
            ($level:ident) => {
                tracing::span!(
                    tracing::Level::$level,
                    "grpc",
                    otel.name = %path.trim_start_matches('/'),
                    otel.kind = "server",
                    rpc.system = "grpc",
                    rpc.service = %service,
                    rpc.method = %method,
                    rpc.grpc.status_code = tracing::field::Empty,
                    principal = tracing::field::Empty,
                )
            };
        }
        // Health checks come every second from every caller of every replica: they are traced
        // only at debug level, so that they neither fill the trace store nor hide the calls.
        let span = if path.starts_with("/grpc.health.") {
            grpc_span!(DEBUG)
        } else {
            grpc_span!(INFO)
        };
        set_parent_from_headers(&span, request.headers());
        let started = Instant::now();
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let quiet = path.starts_with("/grpc.");
        Box::pin(
            async move {
                let result = future.await;
                let status = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.parse::<i32>().ok())
                        .unwrap_or(0),
                    Err(_) => 2,
                };
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", status);
                let code = tonic::Code::from_i32(status);
                let elapsed_ms = (started.elapsed().as_secs_f64() * 1e4).round() / 10.0;
                // The access line stands alone (the span's fields are on the span for traces).
                if quiet {
                    tracing::debug!(target: "govmedia::access", parent: None, %path, ?code, elapsed_ms);
                } else {
                    tracing::info!(target: "govmedia::access", parent: None, %path, ?code, elapsed_ms);
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn trace_context_crosses_metadata_and_events() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "traceparent",
                format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
                    .parse()
                    .expect("header"),
            );
            let span = tracing::info_span!("incoming");
            set_parent_from_headers(&span, &headers);
            let _entered = span.enter();
            assert_eq!(current_trace_id(), TRACE_ID);

            // Out through gRPC metadata...
            let mut metadata = tonic::metadata::MetadataMap::new();
            inject_into_metadata(&mut metadata);
            let sent = metadata
                .get("traceparent")
                .expect("traceparent")
                .to_str()
                .expect("ascii");
            assert!(sent.starts_with(&format!("00-{TRACE_ID}-")), "{sent}");

            // ...and into an event, whose consumer continues the same trace.
            let stored = current_traceparent().expect("traceparent");
            let consumer = tracing::info_span!("consume");
            set_parent_from_traceparent(&consumer, &stored);
            let _consuming = consumer.enter();
            assert_eq!(current_trace_id(), TRACE_ID);
        });
    }

    #[test]
    fn outside_a_trace_there_is_nothing_to_propagate() {
        assert_eq!(current_traceparent(), None);
        assert_eq!(current_trace_id(), "-");
    }
}
