//! The Kubernetes manifests in `deploy/kubernetes` agree with the broker.
//!
//! No cluster runs here, so the manifests are read, not applied. The
//! embedded `broker.toml` is validated by the broker's own parser, and the
//! users table by its own loader, inside a copy of the pod's file system:
//! a temporary folder is filled from the Deployment's volume mounts (the
//! ConfigMaps' and the Secret's keys, each where its mount puts it), and
//! the absolute paths in `broker.toml` are moved under that folder. So the
//! check also proves that every file the config names is where a mount
//! puts it. The Secret's placeholder values are swapped for valid test
//! values there; a separate test shows the placeholder key is refused.

use base64::Engine;
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use studio_broker::config::{Config, Env};
use studio_broker::table::{IdentityKind, Schema, Table};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");
const NAMESPACE: &str = "studio-broker";
const NAME: &str = "studio-broker";

/// One object from one file.
struct Object {
    file: String,
    value: Value,
}

/// Every object in the folder, except the Kustomization.
struct Manifests {
    objects: Vec<Object>,
    kustomization: Value,
}

/// Secret values used instead of the Secret's own, by key.
type Overrides = BTreeMap<&'static str, String>;

/// Files of a volume: name and contents.
type Files = BTreeMap<String, String>;

/// A `*_file` key of the config, dotted, and its value.
type Named = (String, String);

/// The config names no environment variable: secrets come from files.
struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

fn yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let fail = |e| panic!("{}: {e}", path.display());
    let docs = serde_yaml_ng::Deserializer::from_str(&text);
    let values = docs.map(|doc| Value::deserialize(doc).unwrap_or_else(fail));
    values.filter(|value| !value.is_null()).collect()
}

impl Manifests {
    fn load() -> Manifests {
        let mut objects = Vec::new();
        let mut kustomization = Value::Null;
        for path in yaml_files() {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            for value in documents(&path) {
                if value["kind"] == "Kustomization" {
                    kustomization = value;
                } else {
                    objects.push(Object {
                        file: file.clone(),
                        value,
                    });
                }
            }
        }
        Manifests {
            objects,
            kustomization,
        }
    }

    fn get(&self, kind: &str, name: &str) -> &Value {
        let named = |o: &&Object| {
            let value = &o.value;
            value["kind"] == kind && value["metadata"]["name"] == name
        };
        let found = self.objects.iter().find(named);
        &found.unwrap_or_else(|| panic!("no {kind} {name}")).value
    }

    fn deployment(&self) -> &Value {
        self.get("Deployment", NAME)
    }

    fn template(&self) -> &Value {
        &self.deployment()["spec"]["template"]
    }

    fn pod(&self) -> &Value {
        &self.template()["spec"]
    }

    fn container(&self) -> &Value {
        let containers = self.pod()["containers"].as_sequence().unwrap();
        assert_eq!(containers.len(), 1, "one container");
        &containers[0]
    }

    fn mounts(&self) -> &[Value] {
        self.container()["volumeMounts"].as_sequence().unwrap()
    }

    fn volume(&self, name: &str) -> &Value {
        let volumes = self.pod()["volumes"].as_sequence().unwrap();
        let found = volumes.iter().find(|v| v["name"] == name);
        found.unwrap_or_else(|| panic!("no volume {name}"))
    }

    /// The mount that puts a file at `path` in the container, and the key
    /// of its volume that becomes that file.
    fn source(&self, path: &Path) -> (&Value, String) {
        for mount in self.mounts() {
            let at = Path::new(str_of(&mount["mountPath"]));
            match mount["subPath"].as_str() {
                Some(key) if at == path => return (mount, key.to_owned()),
                None if path.parent() == Some(at) => {
                    let key = path.file_name().unwrap().to_string_lossy();
                    return (mount, key.into_owned());
                }
                _ => {}
            }
        }
        panic!("no volume mount puts a file at {}", path.display())
    }

    /// The keys of the ConfigMap or Secret behind a volume, with their
    /// contents; `overrides` replaces Secret values.
    fn volume_files(&self, volume: &Value, overrides: &Overrides) -> Files {
        if let Some(name) = volume["configMap"]["name"].as_str() {
            return string_map(&self.get("ConfigMap", name)["data"]);
        }
        let name = str_of(&volume["secret"]["secretName"]);
        let mut files = secret_data(self.get("Secret", name));
        for (key, value) in overrides {
            files.insert((*key).to_owned(), value.clone());
        }
        files
    }

    /// The path of the config file, from the container's arguments.
    fn config_path(&self) -> PathBuf {
        let args: Vec<&str> = (self.container()["args"].as_sequence())
            .unwrap()
            .iter()
            .map(str_of)
            .collect();
        assert_eq!(args.first(), Some(&"serve"), "{args:?}");
        let at = args.iter().position(|a| *a == "--config").unwrap();
        PathBuf::from(args[at + 1])
    }

    /// The text of the config file the container reads.
    fn broker_toml(&self) -> String {
        let (mount, key) = self.source(&self.config_path());
        let volume = self.volume(str_of(&mount["name"]));
        let files = self.volume_files(volume, &BTreeMap::new());
        files.get(&key).unwrap().clone()
    }

    /// A container port's number, from its name or its number.
    fn port(&self, port: &Value) -> u16 {
        if let Some(number) = port.as_u64() {
            return u16::try_from(number).unwrap();
        }
        let ports = self.container()["ports"].as_sequence().unwrap();
        let found = ports.iter().find(|p| p["name"] == *port);
        let number = found.unwrap_or_else(|| panic!("no port {port:?}"));
        u16::try_from(number["containerPort"].as_u64().unwrap()).unwrap()
    }
}

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

fn string_map(value: &Value) -> Files {
    let Some(mapping) = value.as_mapping() else {
        return BTreeMap::new();
    };
    let entries = mapping
        .iter()
        .map(|(key, value)| (str_of(key).to_owned(), str_of(value).to_owned()));
    entries.collect()
}

fn secret_data(secret: &Value) -> Files {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut files = string_map(&secret["stringData"]);
    for (key, encoded) in string_map(&secret["data"]) {
        let bytes = engine.decode(encoded).unwrap();
        files.insert(key, String::from_utf8(bytes).unwrap());
    }
    files
}

/// Every label in `selector` is on `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let labels = string_map(labels);
    let selector = string_map(selector);
    let present = |(k, v): (&String, &String)| labels.get(k) == Some(v);
    !selector.is_empty() && selector.iter().all(present)
}

/// Every `*_file` value in the config that names a secret, by its dotted
/// key. `oidc.ca_file` is a certificate, not a secret: it may come from
/// anywhere.
fn secret_files(table: &toml::Table, prefix: &str, out: &mut Vec<Named>) {
    for (key, value) in table {
        let dotted = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => {
                secret_files(inner, &format!("{dotted}."), out);
            }
            toml::Value::String(path) if is_secret_file(key) => {
                out.push((dotted, path.clone()));
            }
            _ => {}
        }
    }
}

fn is_secret_file(key: &str) -> bool {
    key.ends_with("_file") && key != "ca_file"
}

/// The config with every absolute `*_file` path moved under `root`.
fn rerooted(text: &str, root: &Path) -> String {
    let mut table: toml::Table = toml::from_str(text).unwrap();
    reroot(&mut table, root);
    toml::to_string(&table).unwrap()
}

fn reroot(table: &mut toml::Table, root: &Path) {
    for (key, value) in table.iter_mut() {
        match value {
            toml::Value::Table(inner) => reroot(inner, root),
            toml::Value::String(path) if key.ends_with("_file") => {
                let moved = root.join(path.trim_start_matches('/'));
                *path = moved.display().to_string();
            }
            _ => {}
        }
    }
}

/// Fills `root` as the container would see it: each mount's files at its
/// path, the config's file paths moved under `root`. Returns the path of
/// the config file there.
fn pod_files(m: &Manifests, root: &Path, overrides: &Overrides) -> PathBuf {
    let inside = |path: &str| root.join(path.trim_start_matches('/'));
    for mount in m.mounts() {
        let volume = m.volume(str_of(&mount["name"]));
        let files = m.volume_files(volume, overrides);
        let at = inside(str_of(&mount["mountPath"]));
        let placed: Vec<(PathBuf, &String)> = match mount["subPath"].as_str() {
            Some(key) => vec![(at, &files[key])],
            None => files.iter().map(|(k, v)| (at.join(k), v)).collect(),
        };
        for (path, contents) in placed {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }
    let config = inside(&m.config_path().display().to_string());
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, rerooted(&text, root)).unwrap();
    config
}

fn test_secrets() -> Overrides {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    BTreeMap::from([
        ("client-secret", "test-client-secret".to_owned()),
        ("cookie-key", key),
    ])
}

/// The embedded config, validated by the broker's parser with the pod's
/// files (and valid test secrets) in place.
fn parsed_config(m: &Manifests, root: &Path) -> Config {
    let path = pod_files(m, root, &test_secrets());
    let text = std::fs::read_to_string(&path).unwrap();
    Config::parse(&path, &text, &NoEnv).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_document_parses_and_names_itself() {
    let m = Manifests::load();
    assert!(m.objects.len() >= 9, "{} objects", m.objects.len());
    for Object { file, value } in &m.objects {
        for key in ["apiVersion", "kind"] {
            assert!(
                value[key].as_str().is_some_and(|s| !s.is_empty()),
                "{file}: {key}"
            );
        }
        let name = value["metadata"]["name"].as_str();
        assert!(name.is_some_and(|s| !s.is_empty()), "{file}: metadata.name");
        if value["kind"] != "Namespace" {
            let namespace = &value["metadata"]["namespace"];
            let namespace = namespace.as_str();
            assert_eq!(namespace, Some(NAMESPACE), "{file}: namespace");
        }
    }

    let listed: Vec<&str> = (m.kustomization["resources"].as_sequence())
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort_unstable();
    let files = m.objects.iter().map(|o| o.file.as_str());
    let mut files: Vec<&str> = files.collect();
    files.dedup();
    assert_eq!(listed_sorted, files, "kustomization.yaml lists every file");
    assert_eq!(listed.first(), Some(&"namespace.yaml"));
}

#[test]
fn embedded_config_and_table_validate() {
    let m = Manifests::load();
    let root = tempfile::tempdir().unwrap();
    let config = parsed_config(&m, root.path());

    assert_eq!(config.server.public_url.scheme(), "https");
    assert!(config.server.secure_cookies());
    let schema = Schema {
        domains: config.domains.iter().map(|d| d.alias.clone()).collect(),
        identity: IdentityKind::for_claim(&config.oidc.identity_claim),
    };
    let table = Table::load(&config.table.path, &schema);
    let table = table.unwrap_or_else(|e| panic!("{e}"));
    assert!(!table.is_empty());
}

#[test]
fn placeholder_cookie_key_is_refused() {
    let m = Manifests::load();
    let root = tempfile::tempdir().unwrap();
    let path = pod_files(&m, root.path(), &BTreeMap::new());
    let text = std::fs::read_to_string(&path).unwrap();
    let error = Config::parse(&path, &text, &NoEnv).unwrap_err().to_string();
    assert!(error.contains("session.cookie_key_file"), "{error}");
    assert!(
        !error.contains("REPLACE"),
        "a secret's value is shown: {error}"
    );
}

#[test]
fn probes_and_ports_match_the_configured_listeners() {
    let m = Manifests::load();
    let root = tempfile::tempdir().unwrap();
    let config = parsed_config(&m, root.path());
    let container = m.container();

    let live = &container["livenessProbe"]["httpGet"];
    let ready = &container["readinessProbe"]["httpGet"];
    assert_eq!(live["path"], "/healthz");
    assert_eq!(ready["path"], "/readyz");
    let listen = config.server.listen;
    assert!(
        listen.ip().is_unspecified(),
        "{listen}: reachable from the kubelet"
    );
    assert_eq!(m.port(&live["port"]), listen.port());
    assert_eq!(m.port(&ready["port"]), listen.port());
    assert_eq!(m.port(&Value::from("http")), listen.port());

    let metrics = config.server.metrics_listen.unwrap();
    assert_eq!(m.port(&Value::from("metrics")), metrics.port());
    let annotations = &m.template()["metadata"]["annotations"];
    let scraped = str_of(&annotations["prometheus.io/port"]);
    assert_eq!(scraped, metrics.port().to_string());
}

#[test]
fn pods_are_replicated_hardened_and_bounded() {
    let m = Manifests::load();
    let spec = &m.deployment()["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2);
    let spread = m.pod()["topologySpreadConstraints"].as_sequence();
    let keys: Vec<&str> = spread
        .unwrap()
        .iter()
        .map(|c| str_of(&c["topologyKey"]))
        .collect();
    assert!(keys.contains(&"kubernetes.io/hostname"), "{keys:?}");

    let pod = &m.pod()["securityContext"];
    let security = &m.container()["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    // The image names its user; runAsNonRoot needs a number to check.
    assert!(pod["runAsUser"].as_u64().unwrap() > 0);

    let resources = &m.container()["resources"];
    for kind in ["cpu", "memory"] {
        assert!(
            resources["requests"][kind].as_str().is_some(),
            "requests.{kind}"
        );
    }
    assert!(resources["limits"]["memory"].as_str().is_some());
}

#[test]
fn grace_period_covers_drain_and_shutdown() {
    let m = Manifests::load();
    let root = tempfile::tempdir().unwrap();
    let config = parsed_config(&m, root.path());
    let grace = m.pod()["terminationGracePeriodSeconds"].as_u64().unwrap();
    let needed = config.server.drain_delay + config.server.shutdown_timeout;
    assert!(grace > needed.as_secs(), "{grace}s <= {needed:?}");
}

#[test]
fn budget_and_services_select_the_pods() {
    let m = Manifests::load();
    let labels = &m.template()["metadata"]["labels"];
    let own = &m.deployment()["spec"]["selector"]["matchLabels"];
    assert!(selects(own, labels));

    let budget = &m.get("PodDisruptionBudget", NAME)["spec"];
    assert!(selects(&budget["selector"]["matchLabels"], labels));
    assert_eq!(budget["minAvailable"], 1);

    let http = m.port(&Value::from("http"));
    let service = &m.get("Service", NAME)["spec"];
    assert!(selects(&service["selector"], labels));
    let ports = service["ports"].as_sequence().unwrap();
    assert_eq!(ports.len(), 1, "metrics are not on the public Service");
    assert_eq!(ports[0]["port"], 80);
    assert_eq!(m.port(&ports[0]["targetPort"]), http);

    let metrics = &m.get("Service", "studio-broker-metrics")["spec"];
    assert!(selects(&metrics["selector"], labels));
    let target = &metrics["ports"][0]["targetPort"];
    assert_eq!(m.port(target), m.port(&Value::from("metrics")));
}

#[test]
fn users_table_is_a_folder_mount_of_its_config_map() {
    let m = Manifests::load();
    let text = m.broker_toml();
    let raw: toml::Table = toml::from_str(&text).unwrap();
    let table_path = raw["table"]["path"].as_str().unwrap();
    let folder = m.config_path().parent().unwrap().to_owned();
    let path = folder.join(table_path);

    let (mount, key) = m.source(&path);
    assert!(
        mount["subPath"].is_null(),
        "a subPath mount is never updated"
    );
    assert_eq!(
        Path::new(str_of(&mount["mountPath"])),
        path.parent().unwrap()
    );
    let volume = m.volume(str_of(&mount["name"]));
    assert_eq!(volume["configMap"]["name"], "studio-broker-users");
    assert!(
        volume["configMap"]["items"].is_null(),
        "the whole ConfigMap"
    );
    let users = m.get("ConfigMap", "studio-broker-users");
    assert!(users["data"][key.as_str()].as_str().is_some(), "key {key}");
}

#[test]
fn secret_files_are_keys_of_the_mounted_secret() {
    let m = Manifests::load();
    let raw: toml::Table = toml::from_str(&m.broker_toml()).unwrap();
    let mut files = Vec::new();
    secret_files(&raw, "", &mut files);
    let keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"oidc.client_secret_file"), "{keys:?}");
    assert!(keys.contains(&"session.cookie_key_file"), "{keys:?}");

    let secret = m.get("Secret", "studio-broker-secrets");
    let data = secret_data(secret);
    for (key, path) in &files {
        let (mount, name) = m.source(Path::new(path));
        assert_eq!(mount["readOnly"], true, "{key}");
        let volume = m.volume(str_of(&mount["name"]));
        assert_eq!(volume["secret"]["secretName"], "studio-broker-secrets");
        assert!(
            data.contains_key(&name),
            "{key}: no key {name} in the Secret"
        );
    }
}
