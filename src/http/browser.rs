//! The routes people open from bookmarks and portal tiles: `GET /`,
//! `GET /go/{domain}` and `GET /go/{domain}/{space}`.

use super::auth;
use super::context::Context;
use super::error::Failure;
use super::open::{self, Opened};
use super::pages;
use super::signin;
use super::state::State;
use crate::access;
use crate::studio::MintError;
use axum::extract::{Extension, Path, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn root(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    go_to(&state, &ctx, &headers, access::Request::default()).await
}

pub async fn domain(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    Path(domain): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let request = access::Request {
        domain: Some(&domain),
        space: None,
    };
    go_to(&state, &ctx, &headers, request).await
}

pub async fn space(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    Path((domain, space)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let request = access::Request {
        domain: Some(&domain),
        space: Some(&space),
    };
    go_to(&state, &ctx, &headers, request).await
}

async fn go_to(
    state: &State,
    ctx: &Context,
    headers: &HeaderMap,
    request: access::Request<'_>,
) -> Result<Response, Failure> {
    let credentials = auth::caller(state, ctx, headers).await?;
    let response = match &credentials.caller {
        Some(caller) => open_for(state, ctx, caller, request).await,
        None if ctx.wants_json => Err(Failure::MissingToken),
        None => {
            let here = return_path(request);
            signin::redirect(state, &here, None, &credentials.jar)
        }
    };
    Ok(with_cookies(response?, &credentials.cookies))
}

async fn open_for(
    state: &State,
    ctx: &Context,
    caller: &crate::identity::Caller,
    request: access::Request<'_>,
) -> Result<Response, Failure> {
    match open::open(state, ctx, caller, request).await? {
        Opened::Url(_, presigned) => found(&presigned.url),
        Opened::Choose(targets) if ctx.wants_json => Err(Failure::Ambiguous(targets)),
        Opened::Choose(targets) => Ok(pages::chooser(state, ctx, &caller.identity, &targets)),
    }
}

/// The route a person asked for, to come back to after signing in.
fn return_path(request: access::Request<'_>) -> String {
    match (request.domain, request.space) {
        (Some(domain), Some(space)) => format!("/go/{domain}/{space}"),
        (Some(domain), None) => format!("/go/{domain}"),
        _ => "/".to_owned(),
    }
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A 302 (not 303 or 307): what browsers and portals expect from a
/// bookmark; the URL is used once, right away.
fn found(url: &str) -> Result<Response, Failure> {
    let location = HeaderValue::from_str(url).map_err(|_| {
        Failure::Mint(MintError::Failed(
            "SageMaker returned an unusable URL".into(),
        ))
    })?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}
