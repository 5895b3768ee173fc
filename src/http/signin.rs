//! The sign-in routes: `GET /oauth2/start`, `GET /oauth2/callback`,
//! `GET`/`POST /oauth2/login`, `POST /oauth2/sign_out` and
//! `GET /oauth2/signed_out`. Each is a thin adapter over [`crate::login`].

use super::auth;
use super::browser::with_cookies;
use super::context::Context;
use super::error::Failure;
use super::pages;
use super::state::State;
use crate::login::{self, Callback};
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Query, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// A 302 to the provider that starts a login returning to `return_to`.
///
/// # Errors
/// The provider has not been discovered yet (503).
pub fn redirect(
    state: &State,
    return_to: &str,
    login_hint: Option<&str>,
    jar: &[(String, String)],
) -> Result<Response, Failure> {
    let metadata = state
        .provider
        .metadata()
        .ok_or(Failure::SignInUnavailable)?;
    let started = state
        .sign_in
        .start(&metadata, return_to, login_hint, jar)
        .map_err(Failure::SignIn)?;
    let location =
        HeaderValue::from_str(started.location.as_str()).map_err(|_| Failure::SignInUnavailable)?;
    let response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    Ok(with_cookies(response, &started.cookies))
}

#[derive(Debug, Default, Deserialize)]
pub struct StartParams {
    /// A local path of this broker to return to; anything else is `/`.
    rd: Option<String>,
}

pub async fn start(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    headers: HeaderMap,
    params: Result<Query<StartParams>, QueryRejection>,
) -> Result<Response, Failure> {
    let params = params.map_err(|_| bad_query())?.0;
    let credentials = auth::caller(&state, &ctx, &headers).await?;
    let rd = params.rd.as_deref().unwrap_or("/");
    redirect(&state, rd, None, &credentials.jar)
}

pub async fn callback(
    Shared(state): Shared<Arc<State>>,
    Extension(ctx): Extension<Context>,
    headers: HeaderMap,
    params: Result<Query<Callback>, QueryRejection>,
) -> Result<Response, Failure> {
    auth::refuse_bad_bearer(&state, &headers).await?;
    state
        .limits
        .unauthenticated(ctx.client_addr)
        .map_err(Failure::RateLimited)?;
    let params = params.map_err(|_| bad_query())?.0;
    let jar = jar(&headers);
    match state.sign_in.finish(&state.provider, &params, &jar).await {
        Ok(finished) => {
            tracing::info!(
                identity = finished.session.identity(),
                request_id = %ctx.request_id,
                "signed in"
            );
            let location =
                HeaderValue::from_str(&finished.return_to).unwrap_or(HeaderValue::from_static("/"));
            let response = (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
            Ok(with_cookies(response, &finished.cookies))
        }
        Err((refusal, clear)) => {
            tracing::info!(reason = %refusal, request_id = %ctx.request_id, "sign-in refused");
            Ok(with_cookies(
                Failure::SignIn(refusal).into_response(),
                &clear,
            ))
        }
    }
}

/// OpenID Connect third-party-initiated login ([Core §4]).
///
/// [Core §4]: https://openid.net/specs/openid-connect-core-1_0.html#ThirdPartyInitiatedLogin
#[derive(Debug, Default, Deserialize)]
pub struct LoginParams {
    /// Must be the configured issuer.
    iss: Option<String>,
    /// Honoured only when it is a route of this broker's own origin.
    target_link_uri: Option<String>,
    /// Passed on to the provider.
    login_hint: Option<String>,
}

pub async fn login_get(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    params: Result<Query<LoginParams>, QueryRejection>,
) -> Result<Response, Failure> {
    let params = params.map_err(|_| bad_query())?.0;
    initiated(&state, &headers, params).await
}

pub async fn login_post(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    params: Result<Form<LoginParams>, FormRejection>,
) -> Result<Response, Failure> {
    let params = params
        .map_err(|_| Failure::InvalidRequest("The form could not be read."))?
        .0;
    initiated(&state, &headers, params).await
}

async fn initiated(
    state: &State,
    headers: &HeaderMap,
    params: LoginParams,
) -> Result<Response, Failure> {
    auth::refuse_bad_bearer(state, headers).await?;
    if params.iss.as_deref() != Some(state.config.oidc.issuer.as_str()) {
        return Err(Failure::InvalidRequest(
            "iss must name this broker's identity provider.",
        ));
    }
    let target = params.target_link_uri.as_deref().unwrap_or("/");
    let hint = params.login_hint.as_deref().filter(|h| h.len() <= 256);
    redirect(state, target, hint, &jar(headers))
}

/// Ends this browser's session (other browsers keep theirs until they
/// expire), then sends the person to the provider's end-session endpoint
/// or straight to the signed-out page.
pub async fn sign_out(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    auth::refuse_bad_bearer(&state, &headers).await?;
    let public = state.sign_in.public_url().as_str().trim_end_matches('/');
    let signed_out = format!("{public}/oauth2/signed_out");
    let end_session = state
        .provider
        .metadata()
        .and_then(|m| m.end_session_endpoint.clone())
        .and_then(|e| url::Url::parse(&e).ok());
    let location = match end_session {
        Some(mut url) => {
            url.query_pairs_mut()
                .append_pair("client_id", state.sign_in.client_id())
                .append_pair("post_logout_redirect_uri", &signed_out);
            url.to_string()
        }
        None => "/oauth2/signed_out".to_owned(),
    };
    let location = HeaderValue::from_str(&location).map_err(|_| Failure::SignInUnavailable)?;
    let response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    Ok(with_cookies(response, &[state.sign_in.sign_out()]))
}

/// A page that does not sign the person in again by itself.
pub async fn signed_out(Shared(state): Shared<Arc<State>>) -> Response {
    let body = "<h1>You are signed out</h1>\
        <p>You have been signed out of the Studio broker in this browser.</p>\
        <p><a href=\"/\">Sign in again</a></p>";
    pages::page(&state, StatusCode::OK, "Signed out", body)
}

fn jar(headers: &HeaderMap) -> Vec<(String, String)> {
    login::parse_cookies(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

fn bad_query() -> Failure {
    Failure::InvalidRequest("The query string could not be read.")
}
