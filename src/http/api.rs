//! `POST /api/v1/presigned-url` and `GET /api/v1/targets`, for portals and
//! scripts that present a bearer token.

use super::auth;
use super::context::Context;
use super::error::{Failure, TargetView};
use super::open::{self, Opened};
use super::state::State;
use crate::access;
use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State as Shared};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Bodies are a few dozen bytes; anything near this is not a real caller.
const MAX_BODY_BYTES: usize = 4096;

/// The request body. Both fields optional; `space` only with `domain`;
/// unknown fields are refused so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresignRequest {
    /// A configured domain alias.
    domain: Option<String>,
    /// A space name in that domain.
    space: Option<String>,
}

#[derive(Serialize)]
pub struct PresignResponse {
    url: String,
    expires_at: String,
    domain: String,
    profile: String,
    space: Option<String>,
}

#[derive(Serialize)]
pub struct TargetsResponse {
    targets: Vec<TargetView>,
}

pub async fn presigned_url(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PresignResponse>, Failure> {
    let caller = auth::caller(&state, &ctx, &headers)
        .await?
        .caller
        .ok_or(Failure::MissingToken)?;
    let request = read_body(&headers, body).await?;
    let wanted = access::Request {
        domain: request.domain.as_deref(),
        space: request.space.as_deref(),
    };
    match open::open(&state, &ctx, &caller, wanted).await? {
        Opened::Url(target, presigned) => Ok(Json(PresignResponse {
            url: presigned.url,
            expires_at: humantime::format_rfc3339_seconds(presigned.expires_at).to_string(),
            domain: target.domain,
            profile: target.profile,
            space: target.space,
        })),
        Opened::Choose(targets) => Err(Failure::Ambiguous(targets)),
    }
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<PresignRequest, Failure> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| Failure::BodyTooLarge)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(PresignRequest::default());
    }
    if !is_json(headers) {
        return Err(Failure::UnsupportedMediaType);
    }
    let request: PresignRequest = serde_json::from_slice(&bytes).map_err(|_| {
        Failure::InvalidRequest(
            "The body must be a JSON object with optional \"domain\" and \
             \"space\" strings.",
        )
    })?;
    if request.space.is_some() && request.domain.is_none() {
        return Err(Failure::InvalidRequest("\"space\" requires \"domain\"."));
    }
    Ok(request)
}

fn is_json(headers: &HeaderMap) -> bool {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

pub async fn targets(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    headers: HeaderMap,
) -> Result<Json<TargetsResponse>, Failure> {
    let caller = auth::caller(&state, &ctx, &headers)
        .await?
        .caller
        .ok_or(Failure::MissingToken)?;
    let rules = state.access_rules();
    if let Err(denial) = access::admit(&caller, &rules) {
        return Err(open::deny(
            &ctx,
            &caller,
            access::Request::default(),
            denial,
        ));
    }
    let table = state.table.current();
    let targets = access::granted(&table, &caller, &rules)
        .into_iter()
        .map(open::view)
        .collect();
    Ok(Json(TargetsResponse { targets }))
}
