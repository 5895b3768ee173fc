//! `studio-broker healthcheck`: GET `/healthz` of a running broker, for
//! container health checks where no curl is installed.

use super::exit;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file whose `server.listen` gives the address
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The URL to check [default: http://<server.listen>/healthz]
    #[arg(long, value_name = "URL")]
    url: Option<String>,
}

pub fn run(args: Args) -> u8 {
    let url = match args.url {
        Some(url) => url,
        None => match super::load_config(args.config) {
            Ok(config) => default_url(config.server.listen),
            Err(code) => return code,
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("healthcheck: cannot start: {e}");
            return exit::FINDINGS;
        }
    };
    runtime.block_on(probe(&url))
}

/// A wildcard listen address is reached on loopback.
fn default_url(listen: std::net::SocketAddr) -> String {
    let ip = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{ip}:{}/healthz", listen.port())
}

async fn probe(url: &str) -> u8 {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let result = match client {
        Ok(client) => client.get(url).send().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(response) if response.status().is_success() => exit::OK,
        Ok(response) => {
            eprintln!("healthcheck: {url}: HTTP {}", response.status().as_u16());
            exit::FINDINGS
        }
        Err(e) => {
            eprintln!("healthcheck: {url}: {e}");
            exit::FINDINGS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::default_url;

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(
            default_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(
            default_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/healthz"
        );
        assert_eq!(
            default_url("10.1.2.3:80".parse().unwrap()),
            "http://10.1.2.3:80/healthz"
        );
    }
}
