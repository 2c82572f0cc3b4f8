//! Prometheus metrics: the `metrics` facade records, the
//! `metrics-exporter-prometheus` recorder renders, and `/metrics` is served
//! on its own listener (`PREQSTATION_METRICS_LISTEN`), never the public one,
//! as operators expect. Without that variable no recorder is installed and
//! every `metrics::counter!` is a no-op.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `http_requests_total` | `method`, `route`, `status` | every response (route = the matched pattern) |
//! | `http_request_duration_seconds` | `route` | latency histogram |
//! | `auth_failures_total` | `reason` | API authentication refusals |
//! | `api_authenticated_requests_total` | | API and MCP requests with a valid token (each gets one `token_used` entry) |
//! | `rate_limited_total` | `limit` | `ip`, `token`, `verify` |
//! | `audit_queue_depth` | | events waiting for the writer |
//! | `audit_queue_waits_total` | | pushes that found the queue full and waited |
//! | `audit_queue_full_total` | | requests answered 503 because the queue stayed full |
//! | `audit_write_retries_total` | | writer attempts that failed and were retried (database away or busy) |
//! | `audit_events_written_total` | | events the writer committed |
//! | `audit_events_dropped_total` | | events that found no room in time (logged at error) |
//! | `audit_flush_size` | | events per writer commit (histogram) |
//! | `token_lookup_batch_size` | | bearer lookups answered by one statement (histogram) |
//! | `db_pool_connections`, `db_pool_idle` | | the connection pool |
//! | `notifications` | `channel`, `state` | rows in the outbox now (email: `pending`, `sending`, `sent`, `failed`, `skipped`; in-app: `shown`) |
//! | `notifications_queued_total` | `channel` | notifications written (in-app shown, email queued) |
//! | `notifications_sent_total`, `notifications_failed_total`, `notifications_retried_total` | `channel` | emails sent, given up, put back for a retry |
//! | `webhook_deliveries` | `endpoint_state` (`active`, `disabled`), `state` (`pending`, `delivered`, `failed`) | deliveries kept now (30 days) |
//! | `webhook_deliveries_queued_total`, `webhook_deliveries_delivered_total`, `webhook_deliveries_failed_total` | | deliveries written, delivered, given up |
//! | `webhook_attempts_failed_total` | | attempts that failed (each is retried or given up) |

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

/// Latency buckets, seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];
const FLUSH_BUCKETS: [f64; 8] = [1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const LOOKUP_BATCH_BUCKETS: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Installs the process-wide recorder (once; `serve` calls it).
pub fn install() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            &LATENCY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full("audit_flush_size".into()), &FLUSH_BUCKETS)
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("token_lookup_batch_size".into()),
                &LOOKUP_BATCH_BUCKETS,
            )
        })
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))
}

/// The metrics listener's router: `GET /metrics` only.
pub fn router(handle: PrometheusHandle, state: AppState) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            let state = state.clone();
            async move {
                // Gauges read at scrape time.
                metrics::gauge!("audit_queue_depth").set(state.audit.depth() as f64);
                metrics::gauge!("db_pool_connections").set(f64::from(state.db.size()));
                metrics::gauge!("db_pool_idle").set(state.db.num_idle() as f64);
                if let Ok(counts) = crate::notifications::outbox::counts(&state.db).await {
                    for (channel, st, n) in counts {
                        metrics::gauge!("notifications", "channel" => channel, "state" => st)
                            .set(n as f64);
                    }
                }
                if let Ok(counts) = crate::webhooks::store::counts(&state.db).await {
                    for endpoint_state in ["active", "disabled"] {
                        for st in ["pending", "delivered", "failed"] {
                            let n = counts
                                .iter()
                                .find(|(e, d, _)| e == endpoint_state && d == st)
                                .map_or(0, |c| c.2);
                            metrics::gauge!("webhook_deliveries", "endpoint_state" => endpoint_state, "state" => st)
                                .set(n as f64);
                        }
                    }
                }
                handle.run_upkeep();
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}

/// Counts every response by method, matched route and status, and times it.
/// Unmatched paths share one label, so a scan cannot grow the series.
pub async fn layer(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Serves `/metrics` on `addr` until the process ends.
pub async fn serve(
    addr: std::net::SocketAddr,
    handle: PrometheusHandle,
    state: AppState,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        format!("cannot listen on {addr} for metrics: {e} (set PREQSTATION_METRICS_LISTEN)")
    })?;
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(handle, state)).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_are_sorted() {
        assert!(super::LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert!(super::FLUSH_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
