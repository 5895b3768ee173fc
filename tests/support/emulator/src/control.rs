//! The test control API, unauthenticated JSON under `/_emulator/`:
//!
//! - `POST /_emulator/faults` `{"throttle_next", "fail_next", "latency_ms",
//!   "sts_deny_next"}`, each optional; sets the faults given and answers
//!   the current ones. `sts_deny_next` answers that many `AssumeRole`
//!   requests with `AccessDenied`.
//! - `POST /_emulator/reset-faults` clears every fault.
//! - `GET /_emulator/calls` lists the `CreatePresignedDomainUrl` calls
//!   received with a good signature (the latest 10,000), with their
//!   outcomes and signers.
//! - `GET /_emulator/sts-calls` lists the STS requests received with a
//!   good signature (the latest 10,000): role, session name, source identity, tags, duration,
//!   the access key ids of the caller and of the issued session, outcome.
//! - `POST /_emulator/seed` creates domains, profiles and spaces with ids
//!   chosen by the caller (the shape of `state::Seed`).
//!
//! SageMaker clients only ever `POST /`, so they never reach these paths.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::App;
use crate::state::{Faults, Seed};

/// The routes under `/_emulator`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/faults", post(set_faults))
        .route("/reset-faults", post(reset_faults))
        .route("/calls", get(calls))
        .route("/sts-calls", get(sts_calls))
        .route("/seed", post(seed))
}

/// Faults to change; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsInput {
    throttle_next: Option<u32>,
    fail_next: Option<u32>,
    latency_ms: Option<u64>,
    sts_deny_next: Option<u32>,
}

async fn set_faults(State(app): State<Arc<App>>, Json(input): Json<FaultsInput>) -> Json<Faults> {
    let mut store = app.store();
    let faults = &mut store.faults;
    if let Some(n) = input.throttle_next {
        faults.throttle_next = n;
    }
    if let Some(n) = input.fail_next {
        faults.fail_next = n;
    }
    if let Some(ms) = input.latency_ms {
        faults.latency_ms = ms;
    }
    if let Some(n) = input.sts_deny_next {
        faults.sts_deny_next = n;
    }
    Json(faults.clone())
}

async fn reset_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.store().faults = Faults::default();
    StatusCode::NO_CONTENT
}

async fn calls(State(app): State<Arc<App>>) -> Json<Vec<serde_json::Value>> {
    Json(app.store().calls.iter().cloned().collect())
}

async fn sts_calls(State(app): State<Arc<App>>) -> Json<Vec<serde_json::Value>> {
    Json(app.store().sts_calls.iter().cloned().collect())
}

async fn seed(State(app): State<Arc<App>>, Json(seed): Json<Seed>) -> Response {
    match app.store().apply_seed(&seed) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => {
            let body = serde_json::json!({ "error": error.message() });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}
