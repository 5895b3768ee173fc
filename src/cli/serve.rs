//! `studio-broker serve`: load and validate everything, bind, serve, and
//! drain on SIGTERM.

use super::exit;
use crate::config::Config;
use crate::http::{self, State};
use crate::identity::Provider;
use crate::studio::{self, Studio};
use crate::table;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long the first discovery may take before the broker starts
/// unready and keeps trying in the background.
const FIRST_DISCOVERY: Duration = Duration::from_secs(5);

pub fn run(config: Option<PathBuf>) -> u8 {
    super::logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            exit::FINDINGS
        }
    }
}

async fn serve(config: Option<PathBuf>) -> u8 {
    let (config, table, schema) = match super::load_all(config, crate::config::Secrets::Read) {
        Ok((config, table, schema)) => (Arc::new(config), table, schema),
        Err(code) => return code,
    };
    let sign_in = match crate::login::SignIn::new(&config) {
        Ok(sign_in) => sign_in,
        Err(e) => {
            eprintln!("{}: {e}", config.path.display());
            return exit::CONFIG;
        }
    };
    let metrics = install_metrics();
    let provider = match start_provider(&config).await {
        Ok(provider) => provider,
        Err(code) => return code,
    };

    let shared = studio::load_shared().await;
    let domains = studio::build_clients(&shared, &config).await;
    let studio = Arc::new(Studio::new(domains, &config.studio));
    let table = table::Live::new(table, config.table.path.clone(), schema);
    let state = State::new(
        config.clone(),
        provider.clone(),
        table.clone(),
        studio,
        sign_in,
        metrics,
    );

    let listeners = match bind(&config).await {
        Ok(listeners) => listeners,
        Err(code) => return code,
    };
    let _watcher = watch_table(&table);
    spawn_background(&state, &provider, &table);
    run_server(state, listeners).await
}

/// Discovery and the first key set. A provider that is down is retried in
/// the background (the broker starts unready); a provider that names
/// another issuer is a configuration error, now or when it first answers.
async fn start_provider(config: &Config) -> Result<Arc<Provider>, u8> {
    let provider = Provider::new(config.oidc.clone()).map_err(|e| {
        eprintln!("{}: {e}", config.path.display());
        exit::CONFIG
    })?;
    match tokio::time::timeout(FIRST_DISCOVERY, provider.start()).await {
        Ok(Ok(())) => {
            tracing::info!(issuer = %config.oidc.issuer, "identity provider ready");
        }
        Ok(Err(e)) if e.is_config_error() => {
            eprintln!("{}: {e}", config.path.display());
            return Err(exit::CONFIG);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "identity provider unavailable; retrying");
            tokio::spawn(retry_provider(provider.clone()));
        }
        Err(_) => {
            tracing::warn!("identity provider did not answer in time; retrying");
            tokio::spawn(retry_provider(provider.clone()));
        }
    }
    Ok(provider)
}

async fn retry_provider(provider: Arc<Provider>) {
    let mut wait = Duration::from_secs(1);
    loop {
        tokio::time::sleep(wait).await;
        match provider.start().await {
            Ok(()) => {
                tracing::info!("identity provider ready");
                return;
            }
            Err(e) if e.is_config_error() => {
                tracing::error!(error = %e, "configuration error");
                std::process::exit(i32::from(exit::CONFIG));
            }
            Err(e) => tracing::warn!(error = %e, "identity provider still unavailable"),
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    // SageMaker answers in tens of milliseconds; retries and timeouts take
    // seconds. Buckets make the contract's histogram (without them the
    // exporter writes a summary).
    let buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
    let call_seconds = Matcher::Full("studio_broker_sagemaker_call_seconds".into());
    let builder = match PrometheusBuilder::new().set_buckets_for_metric(call_seconds, &buckets) {
        Ok(builder) => builder,
        Err(e) => {
            tracing::warn!(error = %e, "metrics are unavailable");
            return None;
        }
    };
    match builder.install_recorder() {
        Ok(handle) => {
            metrics::gauge!("studio_broker_draining").set(0.0);
            Some(handle)
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics are unavailable");
            None
        }
    }
}

struct Listeners {
    main: TcpListener,
    metrics: Option<TcpListener>,
}

async fn bind(config: &Config) -> Result<Listeners, u8> {
    let main = bind_one(config.server.listen).await?;
    let metrics = match config.server.metrics_listen {
        Some(addr) => Some(bind_one(addr).await?),
        None => None,
    };
    Ok(Listeners { main, metrics })
}

async fn bind_one(addr: SocketAddr) -> Result<TcpListener, u8> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        tracing::error!(%addr, error = %e, "cannot listen");
        exit::FINDINGS
    })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "listening");
    Ok(listener)
}

fn watch_table(table: &Arc<table::Live>) -> Option<table::Watcher> {
    match table.watch() {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the table; SIGHUP still reloads it");
            None
        }
    }
}

fn spawn_background(state: &Arc<State>, provider: &Arc<Provider>, table: &Arc<table::Live>) {
    tokio::spawn(provider.clone().refresh_periodically());
    tokio::spawn(reload_on_sighup(table.clone()));
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            state.limits.shrink();
        }
    });
}

async fn reload_on_sighup(table: Arc<table::Live>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP");
        return;
    };
    while hangup.recv().await.is_some() {
        // A failed reload is logged by the table itself and changes nothing.
        let _ = table.reload_in_background().await;
    }
}

/// Serves until SIGTERM or SIGINT, then drains: `/readyz` turns 503 at
/// once, requests are still accepted for `drain_delay`, then the listener
/// closes and in-flight requests get `shutdown_timeout` to finish.
async fn run_server(state: Arc<State>, listeners: Listeners) -> u8 {
    let server = &state.config.server;
    let (drain_delay, shutdown_timeout) = (server.drain_delay, server.shutdown_timeout);
    let closing = Arc::new(Notify::new());
    if let Some(listener) = listeners.metrics {
        let app = http::metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    let app = http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let signal = drain(state, drain_delay, closing.clone());
    let serving = axum::serve(listeners.main, app).with_graceful_shutdown(signal);
    let deadline = async {
        closing.notified().await;
        tokio::time::sleep(shutdown_timeout).await;
    };
    tokio::select! {
        result = serving => match result {
            Ok(()) => {
                tracing::info!("stopped");
                exit::OK
            }
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                exit::FINDINGS
            }
        },
        () = deadline => {
            tracing::warn!("shutdown timeout reached with requests in flight");
            exit::OK
        }
    }
}

async fn drain(state: Arc<State>, delay: Duration, closing: Arc<Notify>) {
    terminated().await;
    tracing::info!(delay_seconds = delay.as_secs(), "draining");
    state.start_draining();
    tokio::time::sleep(delay).await;
    tracing::info!("closing the listener");
    closing.notify_one();
}

async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}
