//! The broker on an enterprise network: a provider whose certificate
//! comes from an internal CA, trusted only through `oidc.ca_file`, and a
//! provider reached through the HTTP proxy that `HTTP_PROXY` names.
//!
//! Both the broker's provider client (reqwest) and the AWS SDK read the
//! proxy variables, with the same rules: `NO_PROXY` entries match a host
//! or a network, never a port, so on loopback the provider and the
//! SageMaker emulator are either both proxied or both direct. The proxy
//! here therefore forwards any request, and records each one.

use crate::support::broker::{self, Broker, Config, Options};
use crate::support::emulator::Emulator;
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::{USERS, seed};
use axum::Router;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[tokio::test]
async fn a_provider_behind_an_internal_ca_is_trusted_only_with_ca_file() {
    let pki = InternalCa::new();
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let provider = TlsProvider::start(vec![signer.jwk()], &pki).await;
    let emulator = Emulator::start(seed()).await;
    let config = Config::new(&provider.rogue.issuer, &emulator.url);
    assert!(provider.rogue.issuer.starts_with("https://127.0.0.1:"));
    let token = signer.sign(&provider.rogue.claims("alice", "broker"));

    let untrusting = start(&config, broker::base_env(), false).await;
    provider.wait_for_failed_handshake().await;
    assert_eq!(get(&untrusting, "/readyz").await, 503);
    assert_eq!(untrusting.presign_status(&token).await, 503);
    assert_eq!(provider.rogue.jwks_fetches(), 0);
    // The log names the cause, so an operator knows to set ca_file.
    untrusting
        .wait_log(&["UnknownIssuer", "unknown issuer"])
        .await;

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let mut trusting = config.clone();
    trusting.oidc = format!("ca_file = \"{}\"", ca_file.display());
    let broker = start(&trusting, broker::base_env(), true).await;
    assert_eq!(get(&broker, "/readyz").await, 200);
    assert_eq!(broker.presign_status(&token).await, 200);
    assert!(provider.rogue.jwks_fetches() >= 1);
}

#[tokio::test]
async fn the_provider_client_goes_through_the_configured_proxy() {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start(vec![signer.jwk()]).await;
    let emulator = Emulator::start(seed()).await;
    let proxy = Proxy::start().await;
    let config = Config::new(&rogue.issuer, &emulator.url);
    let token = signer.sign(&rogue.claims("alice", "broker"));

    let proxied = start(&config, proxy_env(&proxy, None), true).await;
    assert_eq!(proxied.presign_status(&token).await, 200);
    let seen = proxy.take();
    let discovery = format!("GET {}/.well-known/openid-configuration", rogue.issuer);
    assert!(seen.contains(&discovery), "proxy saw {seen:?}");
    assert!(seen.contains(&format!("GET {}/jwks", rogue.issuer)));
    let sagemaker = format!("POST {}/", emulator.url.trim_end_matches('/'));
    assert!(
        seen.contains(&sagemaker),
        "the SDK honours HTTP_PROXY too; proxy saw {seen:?}"
    );
    drop(proxied);

    let direct = start(&config, proxy_env(&proxy, Some("127.0.0.1")), true).await;
    assert_eq!(direct.presign_status(&token).await, 200);
    assert_eq!(proxy.take(), Vec::<String>::new());
}

/// The base environment with `HTTP_PROXY` pointing at `proxy` and
/// `NO_PROXY` replaced by `no_proxy`, or left out.
fn proxy_env(proxy: &Proxy, no_proxy: Option<&str>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = broker::base_env()
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("no_proxy"))
        .collect();
    env.push(("HTTP_PROXY".into(), proxy.url.clone()));
    if let Some(hosts) = no_proxy {
        env.push(("NO_PROXY".into(), hosts.into()));
    }
    env
}

async fn start(config: &Config, env: Vec<(String, String)>, ready: bool) -> Broker {
    let port = broker::free_port();
    let options = Options {
        config: config.render(port),
        users: USERS.to_owned(),
        users_name: "users.toml",
        env,
        wait_ready: ready,
    };
    Broker::start_with(options, port).await
}

async fn get(broker: &Broker, path: &str) -> u16 {
    let url = format!("{}{path}", broker.url);
    let response = broker::client().get(url).send().await.unwrap();
    response.status().as_u16()
}

/// A private CA and a server certificate it issued for 127.0.0.1.
struct InternalCa {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl InternalCa {
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Example Internal Root CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "idp.example.internal");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = leaf.signed_by(&key, &issuer).unwrap();

        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let crypto = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(crypto)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        Self {
            ca_pem,
            server: Arc::new(server),
        }
    }
}

/// The rogue provider served over TLS, counting handshakes that failed.
struct TlsProvider {
    rogue: Rogue,
    failed_handshakes: Arc<AtomicUsize>,
}

impl TlsProvider {
    async fn start(keys: Vec<serde_json::Value>, pki: &InternalCa) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("https://{}", listener.local_addr().unwrap());
        let acceptor = TlsAcceptor::from(pki.server.clone());
        let failed = Arc::new(AtomicUsize::new(0));
        let counter = failed.clone();
        let rogue = Rogue::serve_with(&issuer, keys, move |app| {
            tokio::spawn(serve_tls(listener, acceptor, app, counter))
        });
        Self {
            rogue,
            failed_handshakes: failed,
        }
    }

    /// Waits until a client has refused the certificate, for up to 20
    /// seconds.
    async fn wait_for_failed_handshake(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.failed_handshakes.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "no TLS handshake failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    failed: Arc<AtomicUsize>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, app, failed) = (acceptor.clone(), app.clone(), failed.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                failed.fetch_add(1, Ordering::SeqCst);
                return;
            };
            let service = TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// A forward HTTP proxy on loopback that records each request as
/// `METHOD absolute-uri` and relays it.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(proxy_loop(listener, seen.clone()));
        Self { url, seen, task }
    }

    /// The requests seen since the last call.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy_loop(listener: TcpListener, seen: Arc<Mutex<Vec<String>>>) {
    let upstream = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    while let Ok((tcp, _)) = listener.accept().await {
        let (seen, upstream) = (seen.clone(), upstream.clone());
        let service = hyper::service::service_fn(move |request| {
            relay(request, seen.clone(), upstream.clone())
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

type ProxyResponse = hyper::Response<Full<Bytes>>;

/// Relays an absolute-form request; anything else (a `CONNECT` tunnel,
/// an origin-form path) is recorded and refused.
async fn relay(
    request: hyper::Request<Incoming>,
    seen: Arc<Mutex<Vec<String>>>,
    upstream: reqwest::Client,
) -> Result<ProxyResponse, std::convert::Infallible> {
    let line = format!("{} {}", request.method(), request.uri());
    seen.lock().unwrap().push(line);
    let (parts, body) = request.into_parts();
    if parts.uri.scheme_str() != Some("http") {
        return Ok(answer(hyper::StatusCode::METHOD_NOT_ALLOWED, Bytes::new()));
    }
    let body = body.collect().await.unwrap().to_bytes();
    let mut headers = parts.headers;
    headers.remove("proxy-connection");
    let sent = upstream
        .request(parts.method, parts.uri.to_string())
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(response) = sent else {
        return Ok(answer(hyper::StatusCode::BAD_GATEWAY, Bytes::new()));
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    let mut relayed = answer(status, body);
    for (name, value) in &headers {
        if !is_hop_by_hop(name.as_str()) {
            relayed.headers_mut().append(name, value.clone());
        }
    }
    Ok(relayed)
}

fn answer(status: hyper::StatusCode, body: Bytes) -> ProxyResponse {
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "transfer-encoding" | "content-length"
    )
}
