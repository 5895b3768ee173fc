//! The SageMaker endpoint, `POST /` in AWS JSON 1.1: reads the body,
//! applies injected latency, checks the signature, names the operation,
//! applies injected failures, runs the operation and logs presign calls
//! with their signer. Form-encoded bodies go to STS (`sts`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde_json::Value;

use crate::error::ApiError;
use crate::{App, ops, presign, sigv4, state, sts};

/// The largest request body read; SageMaker's requests are far smaller.
const MAX_BODY: usize = 1024 * 1024;

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// Answers one SageMaker request.
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY).await;
    // Even a zero-length sleep waits for the timer's next millisecond tick.
    let latency = app.store().faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    if is_form(&parts) {
        return match body {
            Ok(body) => sts::handle(&app, &parts, &body),
            Err(_) => answer(Err(ApiError::TooLarge)),
        };
    }
    let outcome = match body {
        Ok(body) => serve(&app, &parts, &body),
        Err(_) => Err(ApiError::TooLarge),
    };
    answer(outcome)
}

/// The query protocol's body; the AWS JSON protocol's is never one.
fn is_form(parts: &Parts) -> bool {
    let kind = parts.headers.get(header::CONTENT_TYPE);
    let kind = kind.and_then(|k| k.to_str().ok()).unwrap_or_default();
    kind.starts_with("application/x-www-form-urlencoded")
}

fn serve(app: &App, parts: &Parts, body: &[u8]) -> Result<Value, ApiError> {
    let find = |key: &str| app.keys_for(key);
    let signer = sigv4::verify(&find, "sagemaker", parts, body, SystemTime::now())?;
    let operation = operation(parts)?;

    let outcome = match take_fault(app) {
        Some(fault) => Err(fault),
        None => ops::dispatch(app, operation, body),
    };
    if operation == "CreatePresignedDomainUrl" {
        let mut store = app.store();
        let mut record = presign::call_record(body, &outcome);
        record["access_key_id"] = signer.access_key_id.clone().into();
        if let Some(session) = store.sessions.get(&signer.access_key_id) {
            record["source_identity"] = session.source_identity.clone().into();
            record["role_arn"] = session.role_arn.clone().into();
            let tags = session
                .tags
                .iter()
                .map(|(k, v)| serde_json::json!({ "key": k, "value": v }));
            record["session_tags"] = tags.collect();
        }
        state::log_call(&mut store.calls, record);
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
pub fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = presign::hex(&bytes);
    let cut = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    let groups = [cut(0, 8), cut(8, 12), cut(12, 16), cut(16, 20), cut(20, 32)];
    groups.join("-")
}
