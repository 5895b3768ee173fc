//! Liveness, readiness and metrics.

use super::state::State;
use axum::extract::State as Shared;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// 200 while the process serves.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once a usable key set is cached (config and table are loaded
/// before the listener opens); 503 before that and while draining.
pub async fn readyz(Shared(state): Shared<Arc<State>>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    if !state.provider.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no signing keys yet\n").into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}

/// Prometheus text exposition.
pub async fn metrics(Shared(state): Shared<Arc<State>>) -> Response {
    let Some(handle) = &state.metrics else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = handle.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
