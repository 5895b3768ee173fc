//! The HTTP edge: routes, middleware, pages and error-to-response.
//!
//! | route | handler |
//! | --- | --- |
//! | `GET /` | [`browser::root`]: one target: 302 to Studio; several: chooser |
//! | `GET /go/{domain}`, `GET /go/{domain}/{space}` | [`browser::domain`], [`browser::space`] |
//! | `POST /api/v1/presigned-url` | [`api::presigned_url`]: the URL as JSON |
//! | `GET /api/v1/targets` | [`api::targets`]: what the caller may open |
//! | `GET /oauth2/start` | [`signin::start`]: 302 to the provider (`rd`: a local path) |
//! | `GET /oauth2/callback` | [`signin::callback`]: finishes sign-in, sets the session |
//! | `GET`, `POST /oauth2/login` | [`signin::login_get`], [`signin::login_post`]: portal-initiated sign-in |
//! | `POST /oauth2/sign_out` | [`signin::sign_out`]: clears the session, 303 onward |
//! | `GET /oauth2/signed_out` | [`signin::signed_out`]: a page that does not sign in again |
//! | `GET /healthz` | [`ops::healthz`]: liveness |
//! | `GET /readyz` | [`ops::readyz`]: readiness |
//! | `GET /metrics` | [`ops::metrics`]: Prometheus, unless on its own listener |

mod api;
mod auth;
mod browser;
mod context;
mod error;
mod limits;
mod open;
mod ops;
mod pages;
mod signin;
mod state;

pub use error::{Failure, TargetView};
pub use state::State;

use axum::Router;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::timeout::TimeoutLayer;

/// Headers that carry tokens, cookies or presigned URLs; marked so that no
/// layer that logs headers ever prints them.
fn sensitive() -> [HeaderName; 4] {
    [
        header::AUTHORIZATION,
        header::COOKIE,
        header::SET_COOKIE,
        header::LOCATION,
    ]
}

/// The whole service, with `/metrics` unless it has its own listener.
pub fn router(state: Arc<State>) -> Router {
    let server = &state.config.server;
    let mut app = Router::new()
        .route("/", get(browser::root))
        .route("/go/{domain}", get(browser::domain))
        .route("/go/{domain}/{space}", get(browser::space))
        .route("/oauth2/start", get(signin::start))
        .route("/oauth2/callback", get(signin::callback))
        .route(
            "/oauth2/login",
            get(signin::login_get).post(signin::login_post),
        )
        .route("/oauth2/sign_out", post(signin::sign_out))
        .route("/oauth2/signed_out", get(signin::signed_out))
        .merge(api_routes(&server.cors_origins))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz));
    if server.metrics_listen.is_none() {
        app = app.route("/metrics", get(ops::metrics));
    }
    app.fallback(not_found)
        // Innermost: a panic becomes a 500 that the layers above still
        // stamp with headers and count.
        .layer(CatchPanicLayer::new())
        // Bounds the handler only, so the timeout's 503 still passes
        // through the context middleware.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            server.request_timeout,
        ))
        .layer(SetSensitiveResponseHeadersLayer::new(sensitive()))
        // Outside the handlers and the timeout: every response, including
        // refusals made before routing, gets a request id and headers.
        .layer(from_fn_with_state(state.clone(), context::middleware))
        // Outermost: headers are marked before anything could log them.
        .layer(SetSensitiveRequestHeadersLayer::new(sensitive()))
        .with_state(state)
}

/// `/metrics` alone, for `server.metrics_listen`.
pub fn metrics_router(state: Arc<State>) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}

fn api_routes(origins: &[String]) -> Router<Arc<State>> {
    let routes = Router::new()
        .route("/api/v1/presigned-url", post(api::presigned_url))
        .route("/api/v1/targets", get(api::targets));
    if origins.is_empty() {
        return routes;
    }
    // Only named origins may call the API from a browser, and only with a
    // bearer token: credentials mode (cookies) is never allowed.
    let origins = origins.iter().filter_map(|o| o.parse().ok());
    routes.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(Duration::from_secs(600)),
    )
}

async fn not_found() -> Failure {
    Failure::NotFound
}
