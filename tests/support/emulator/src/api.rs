//! The SageMaker endpoint, `POST /` in AWS JSON 1.1: reads the body,
//! applies injected latency, checks the signature, names the operation,
//! applies injected failures, runs the operation and logs presign calls.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde_json::Value;

use crate::error::ApiError;
use crate::{App, ops, presign, sigv4};

/// The largest request body read; SageMaker's requests are far smaller.
const MAX_BODY: usize = 1024 * 1024;

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// Answers one SageMaker request.
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY).await;
    let latency = app.store().faults.latency_ms;
    tokio::time::sleep(Duration::from_millis(latency)).await;

    let outcome = match body {
        Ok(body) => serve(&app, &parts, &body),
        Err(_) => Err(ApiError::TooLarge),
    };
    answer(outcome)
}

fn serve(app: &App, parts: &Parts, body: &[u8]) -> Result<Value, ApiError> {
    sigv4::verify(&app.keys, parts, body, SystemTime::now())?;
    let operation = operation(parts)?;

    let outcome = match take_fault(app) {
        Some(fault) => Err(fault),
        None => ops::dispatch(app, operation, body),
    };
    if operation == "CreatePresignedDomainUrl" {
        let record = presign::call_record(body, &outcome);
        app.store().calls.push(record);
    }
    outcome
}

/// The operation of `X-Amz-Target: SageMaker.<Operation>`.
fn operation(parts: &Parts) -> Result<&'static str, ApiError> {
    let target = parts.headers.get("x-amz-target");
    let target = target.and_then(|t| t.to_str().ok()).unwrap_or_default();
    let name = target.strip_prefix("SageMaker.").unwrap_or_default();
    let known = ops::OPERATIONS.iter().find(|&&op| op == name);
    known.copied().ok_or(ApiError::UnknownOperation)
}

/// Throttles come before failures when both are queued.
fn take_fault(app: &App) -> Option<ApiError> {
    let mut store = app.store();
    let faults = &mut store.faults;
    if faults.throttle_next > 0 {
        faults.throttle_next -= 1;
        return Some(ApiError::Throttling);
    }
    if faults.fail_next > 0 {
        faults.fail_next -= 1;
        return Some(ApiError::InternalFailure);
    }
    None
}

fn answer(outcome: Result<Value, ApiError>) -> Response {
    let (status, body, error) = match outcome {
        Ok(value) => (http::StatusCode::OK, value, None),
        Err(e) => (e.status(), e.body(), Some(e.code())),
    };
    let mut response = (status, Body::from(body.to_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    if let Some(code) = error {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// A random id in the shape of AWS request ids.
fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = presign::hex(&bytes);
    let cut = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    let groups = [cut(0, 8), cut(8, 12), cut(12, 16), cut(16, 20), cut(20, 32)];
    groups.join("-")
}
