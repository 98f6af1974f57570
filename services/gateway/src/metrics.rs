//! RED metrics per method, in Prometheus text format at `GET /metrics`.

use std::{sync::Mutex, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// Labels of one series. All `'static`: recording a call allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// gRPC path, or `other` for paths that are not govmedia methods.
    pub method: &'static str,
    /// gRPC status code name, e.g. `Ok`, `PermissionDenied`.
    pub code: &'static str,
    /// `grpc` or `http`.
    pub transport: &'static str,
}

/// Labels of the calls the gateway cut short.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CutLabels {
    /// `not_read` (the caller stopped reading) or `deadline` (the call's deadline passed).
    pub reason: &'static str,
}

/// The counters a response relay adds to (cheap to clone; clones count together).
#[derive(Clone, Debug)]
pub struct Cuts {
    /// Calls cut because their caller did not read.
    pub not_read: Counter,
    /// Calls cut because their deadline passed while the response was still coming or unread.
    pub deadline: Counter,
}

/// Labels of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// gRPC path.
    pub method: &'static str,
    /// `grpc` or `http`.
    pub transport: &'static str,
}

fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "Ok",
        Cancelled => "Cancelled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram>,
    cuts: Cuts,
    limiter: crate::ratelimit::LimiterMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms .. ~8 s
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_25, 2.0, 16,
            ))
        });
        let mut registry = Registry::with_prefix("govmedia_gateway");
        registry.register(
            "calls",
            "Calls through the gateway, by method, gRPC code and transport",
            calls.clone(),
        );
        registry.register(
            "call_duration_seconds",
            "Time from receiving a call to its response headers, by method and transport",
            latency.clone(),
        );
        let cut = Family::<CutLabels, Counter>::default();
        registry.register(
            "calls_cut",
            "Calls the gateway ended early: their caller stopped reading the response, or their deadline passed before the response was through",
            cut.clone(),
        );
        // One statement each: the guard `get_or_create` returns must be gone before the next
        // series is created.
        let not_read = cut.get_or_create(&CutLabels { reason: "not_read" }).clone();
        let deadline = cut.get_or_create(&CutLabels { reason: "deadline" }).clone();
        let cuts = Cuts { not_read, deadline };
        let limiter = crate::ratelimit::LimiterMetrics::default();
        registry.register(
            "rate_limiter_local",
            "1 while rate limits are kept by this replica alone because Redis does not answer",
            limiter.local.clone(),
        );
        registry.register(
            "rate_limiter_round_trips",
            "Round trips to Redis for rate limits (leases of several calls' budget, and probes)",
            limiter.round_trips.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            calls,
            latency,
            cuts,
            limiter,
        }
    }
}

impl Metrics {
    /// Records one call.
    pub fn record(
        &self,
        method: &str,
        code: tonic::Code,
        transport: &'static str,
        elapsed: Duration,
    ) {
        let method = govmedia_proto::method_access(method).map_or("other", |rule| rule.path);
        self.calls
            .get_or_create(&CallLabels {
                method,
                code: code_label(code),
                transport,
            })
            .inc();
        self.latency
            .get_or_create(&MethodLabels { method, transport })
            .observe(elapsed.as_secs_f64());
    }

    /// What the rate limiter reports.
    pub fn limiter(&self) -> &crate::ratelimit::LimiterMetrics {
        &self.limiter
    }

    /// The counters of cut calls.
    pub fn cuts(&self) -> &Cuts {
        &self.cuts
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
