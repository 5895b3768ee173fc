//! The network conditions of `--source-vpce` and `--source-ip`, which
//! narrow where `CreatePresignedDomainUrl` may be called from.

use super::Error;
use ipnet::IpNet;
use serde_json::{Value, json};
use std::net::IpAddr;

/// Where the broker's calls come from; empty means anywhere.
#[derive(Debug, Default)]
pub(super) struct Network {
    vpce: Vec<String>,
    ip: Vec<String>,
}

impl Network {
    /// Checks the command line's values; addresses are written as
    /// networks (`/32` for a single IPv4 address) with host bits cleared,
    /// and a note says when a value was changed that way.
    pub fn parse(
        vpce: &[String],
        ip: &[String],
        notes: &mut Vec<String>,
    ) -> Result<Network, Error> {
        let mut network = Network::default();
        for id in vpce {
            if !is_vpce(id) {
                return Err(Error::SourceVpce(id.clone()));
            }
            push_unique(&mut network.vpce, id.clone());
        }
        for value in ip {
            let net = parse_net(value)?;
            if net.to_string() != *value && value.contains('/') {
                notes.push(format!(
                    "--source-ip {value}: written as {net} (host bits \
                     cleared)"
                ));
            }
            push_unique(&mut network.ip, net.to_string());
        }
        Ok(network)
    }

    /// One `(Sid, Condition)` per `CreatePresignedDomainUrl` Allow.
    ///
    /// Conditions within one statement must all hold, so a VPC endpoint
    /// condition and an address condition cannot share a statement: a
    /// request through a VPC endpoint carries `aws:SourceVpce` but no
    /// `aws:SourceIp`, and one over the internet the reverse, so both
    /// together would match nothing. They become two statements, either of
    /// which allows.
    pub fn mint_variants(&self) -> Vec<(&'static str, Option<Value>)> {
        let vpce = json!({ "StringEquals": { "aws:SourceVpce": self.vpce } });
        let vpce = (!self.vpce.is_empty()).then_some(vpce);
        let ip = json!({ "IpAddress": { "aws:SourceIp": self.ip } });
        let ip = (!self.ip.is_empty()).then_some(ip);
        match (vpce, ip) {
            (Some(vpce), Some(ip)) => vec![
                ("MintStudioUrlsThroughVpce", Some(vpce)),
                ("MintStudioUrlsFromAddresses", Some(ip)),
            ],
            (vpce, ip) => vec![("MintStudioUrls", vpce.or(ip))],
        }
    }
}

/// `vpce-` and 8 to 17 lower-case hex digits.
fn is_vpce(id: &str) -> bool {
    id.strip_prefix("vpce-").is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn parse_net(value: &str) -> Result<IpNet, Error> {
    let net = match value.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => value
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| Error::SourceIp(value.to_owned()))?,
    };
    Ok(net.trunc())
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}
