//! The effective datastore settings: the `[datastore]` section with Calico's
//! environment variables on top, checked. Pure: `main` reads the environment once
//! and hands it in as a [`DatastoreEnv`].
//!
//! calico-node is configured through the environment (`ETCD_ENDPOINTS`,
//! `ETCD_CA_CERT_FILE`, `ETCD_CERT_FILE`, `ETCD_KEY_FILE`, `ETCD_USERNAME`,
//! `ETCD_PASSWORD`, as libcalico-go reads them), so a variable that is set and not
//! empty wins over the file's key. The datastore type itself comes from the file
//! only: `ETCD_*` are ignored unless `type = "etcdv3"`. A problem names the variable
//! or the key that supplied the bad value.
//!
//! `type = "file"` reads Calico's resources from `path` instead (the multi-document
//! YAML `calicoctl apply -f` takes), for operators who keep them in git.

use std::path::{Path, PathBuf};

use super::error::{ConfigError, ValidationErrors};
use super::model::{Datastore, DatastoreType, Password};

/// Calico's datastore environment variables, as found at startup (unset and empty
/// are both `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatastoreEnv {
    /// `ETCD_ENDPOINTS`: comma-separated client URLs.
    pub etcd_endpoints: Option<String>,
    /// `ETCD_CA_CERT_FILE`.
    pub etcd_ca_cert_file: Option<String>,
    /// `ETCD_CERT_FILE`.
    pub etcd_cert_file: Option<String>,
    /// `ETCD_KEY_FILE`.
    pub etcd_key_file: Option<String>,
    /// `ETCD_USERNAME`.
    pub etcd_username: Option<String>,
    /// `ETCD_PASSWORD`.
    pub etcd_password: Option<Password>,
}

impl DatastoreEnv {
    /// Reads the variables through `var` (`|k| std::env::var(k).ok()` in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> DatastoreEnv {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        DatastoreEnv {
            etcd_endpoints: get("ETCD_ENDPOINTS"),
            etcd_ca_cert_file: get("ETCD_CA_CERT_FILE"),
            etcd_cert_file: get("ETCD_CERT_FILE"),
            etcd_key_file: get("ETCD_KEY_FILE"),
            etcd_username: get("ETCD_USERNAME"),
            etcd_password: get("ETCD_PASSWORD").map(Password),
        }
    }
}

/// Where to reach etcd and how to authenticate: what the etcd source needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdSettings {
    /// Client URLs; the client spreads requests over them and fails over.
    pub endpoints: Vec<String>,
    /// CA bundle for `https://` endpoints, with the key that named it.
    pub ca_cert_file: Option<SourcedPath>,
    /// Client certificate and key (both or neither).
    pub client_cert: Option<(SourcedPath, SourcedPath)>,
    /// etcd user and password.
    pub credentials: Option<(String, Password)>,
}

/// A file path and the key or variable it came from, so a file that cannot be read
/// later is reported under the name the operator wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedPath {
    /// The path.
    pub path: PathBuf,
    /// `datastore.etcd_ca_cert_file`, `ETCD_CA_CERT_FILE`, ...
    pub key: &'static str,
}

/// The datastore in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectiveDatastore {
    /// The configuration file is the whole configuration.
    None,
    /// Follow Calico's etcd v3 datastore.
    Etcdv3(EtcdSettings),
    /// Read Calico's resources from this file at start and on every reload.
    File(PathBuf),
}

/// Combines the file's `[datastore]` with the environment and checks the result.
pub fn effective_datastore(
    file: &Datastore,
    env: &DatastoreEnv,
) -> Result<EffectiveDatastore, ValidationErrors> {
    let path_misplaced = || {
        ConfigError::new(
            "datastore.path",
            file.path.as_deref().unwrap_or(Path::new("")).display(),
            "read only with type = \"file\"",
        )
    };
    match file.kind {
        DatastoreType::None if file.path.is_some() => {
            return Err(ValidationErrors(vec![path_misplaced()]));
        }
        DatastoreType::None => return Ok(EffectiveDatastore::None),
        DatastoreType::File => return file_datastore(file),
        DatastoreType::Etcdv3 => {}
    }
    let mut errors = Vec::new();
    if file.path.is_some() {
        errors.push(path_misplaced());
    }
    // (URL, the key that supplied it)
    let endpoints: Vec<(String, String)> = match &env.etcd_endpoints {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| (e.to_owned(), "ETCD_ENDPOINTS".to_owned()))
            .collect(),
        None => file
            .etcd_endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.trim().to_owned(), format!("datastore.etcd_endpoints[{i}]")))
            .collect(),
    };
    if endpoints.is_empty() {
        errors.push(ConfigError::new(
            "datastore.etcd_endpoints",
            "[]",
            "type = \"etcdv3\" needs at least one endpoint (or ETCD_ENDPOINTS)",
        ));
    }
    let pick = |env_value: &Option<String>, env_key, file_value: &Option<PathBuf>, file_key| match (
        env_value, file_value,
    ) {
        (Some(v), _) => Some(SourcedPath { path: PathBuf::from(v), key: env_key }),
        (None, Some(p)) => Some(SourcedPath { path: p.clone(), key: file_key }),
        (None, None) => None,
    };
    let ca = pick(
        &env.etcd_ca_cert_file,
        "ETCD_CA_CERT_FILE",
        &file.etcd_ca_cert_file,
        "datastore.etcd_ca_cert_file",
    );
    let cert = pick(
        &env.etcd_cert_file,
        "ETCD_CERT_FILE",
        &file.etcd_cert_file,
        "datastore.etcd_cert_file",
    );
    let key =
        pick(&env.etcd_key_file, "ETCD_KEY_FILE", &file.etcd_key_file, "datastore.etcd_key_file");
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(c), None) => {
            errors.push(ConfigError::new(
                "datastore.etcd_key_file",
                "(unset)",
                format!("{} is set: a client certificate needs its key", c.key),
            ));
            None
        }
        (None, Some(k)) => {
            errors.push(ConfigError::new(
                "datastore.etcd_cert_file",
                "(unset)",
                format!("{} is set: a client key needs its certificate", k.key),
            ));
            None
        }
    };
    let tls = ca.is_some() || client_cert.is_some();
    for (url, from) in &endpoints {
        match endpoint_scheme(url) {
            None => errors.push(ConfigError::new(
                from,
                url,
                "not an etcd client URL: expected http://host:port or https://host:port",
            )),
            Some(Scheme::Http) if tls => errors.push(ConfigError::new(
                from,
                url,
                "plain http while etcd TLS files are set: use https://",
            )),
            Some(Scheme::Https) if ca.is_none() => errors.push(ConfigError::new(
                from,
                url,
                "https needs the CA that signed etcd's certificate (etcd_ca_cert_file or \
                 ETCD_CA_CERT_FILE)",
            )),
            Some(_) => {}
        }
    }
    let username = env.etcd_username.clone().or_else(|| file.etcd_username.clone());
    let password = env.etcd_password.clone().or_else(|| file.etcd_password.clone());
    let credentials = match (username, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        (Some(u), None) => {
            errors.push(ConfigError::new(
                "datastore.etcd_password",
                "(unset)",
                format!("user {u:?} needs a password (etcd_password or ETCD_PASSWORD)"),
            ));
            None
        }
        (None, Some(_)) => {
            errors.push(ConfigError::new(
                "datastore.etcd_username",
                "(unset)",
                "a password needs a user (etcd_username or ETCD_USERNAME)",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(EffectiveDatastore::Etcdv3(EtcdSettings {
        endpoints: endpoints.into_iter().map(|(u, _)| u).collect(),
        ca_cert_file: ca,
        client_cert,
        credentials,
    }))
}

/// `type = "file"`: a path, and no etcd key (they would be ignored).
fn file_datastore(file: &Datastore) -> Result<EffectiveDatastore, ValidationErrors> {
    let mut errors = Vec::new();
    match &file.path {
        Some(p) if !p.as_os_str().is_empty() => {}
        _ => errors.push(ConfigError::new(
            "datastore.path",
            "(unset)",
            "type = \"file\" needs the path of a Calico resources file",
        )),
    }
    let etcd_keys = [
        ("datastore.etcd_endpoints", !file.etcd_endpoints.is_empty()),
        ("datastore.etcd_ca_cert_file", file.etcd_ca_cert_file.is_some()),
        ("datastore.etcd_cert_file", file.etcd_cert_file.is_some()),
        ("datastore.etcd_key_file", file.etcd_key_file.is_some()),
        ("datastore.etcd_username", file.etcd_username.is_some()),
        ("datastore.etcd_password", file.etcd_password.is_some()),
    ];
    for (key, _) in etcd_keys.iter().filter(|(_, set)| *set) {
        errors.push(ConfigError::new(*key, "(set)", "read only with type = \"etcdv3\""));
    }
    match (errors.is_empty(), &file.path) {
        (true, Some(p)) => Ok(EffectiveDatastore::File(p.clone())),
        _ => Err(ValidationErrors(errors)),
    }
}

enum Scheme {
    Http,
    Https,
}

/// `http://authority` or `https://authority`, an authority without path, query or
/// spaces (a trailing `/` is allowed).
fn endpoint_scheme(url: &str) -> Option<Scheme> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        (Scheme::Https, url.strip_prefix("https://")?)
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let bad = |c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@');
    if authority.is_empty() || authority.contains(bad) {
        return None;
    }
    Some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etcd(endpoints: &[&str]) -> Datastore {
        Datastore {
            kind: DatastoreType::Etcdv3,
            etcd_endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
            ..Datastore::default()
        }
    }

    fn settings(file: &Datastore, env: &DatastoreEnv) -> EtcdSettings {
        match effective_datastore(file, env).unwrap() {
            EffectiveDatastore::Etcdv3(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn env(vars: &[(&str, &str)]) -> DatastoreEnv {
        DatastoreEnv::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn type_none_ignores_the_etcd_variables() {
        let e = env(&[("ETCD_ENDPOINTS", "not a url")]);
        assert_eq!(effective_datastore(&Datastore::default(), &e), Ok(EffectiveDatastore::None));
    }

    #[test]
    fn etcd_endpoints_variable_overrides_the_file() {
        let e = env(&[("ETCD_ENDPOINTS", " http://10.0.0.1:2379 ,http://10.0.0.2:2379,")]);
        let s = settings(&etcd(&["http://127.0.0.1:2379"]), &e);
        assert_eq!(s.endpoints, ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]);
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let s = settings(&etcd(&["http://127.0.0.1:2379"]), &env(&[("ETCD_ENDPOINTS", "")]));
        assert_eq!(s.endpoints, ["http://127.0.0.1:2379"]);
    }

    #[test]
    fn etcdv3_without_endpoints_is_refused() {
        let e = effective_datastore(&etcd(&[]), &DatastoreEnv::default()).unwrap_err();
        assert!(e.has_path("datastore.etcd_endpoints"), "{e}");
    }

    #[test]
    fn a_bad_endpoint_names_its_key() {
        let e = effective_datastore(&etcd(&["http://a:1", "a:2379"]), &DatastoreEnv::default())
            .unwrap_err();
        assert!(e.has_path("datastore.etcd_endpoints[1]"), "{e}");
        let e =
            effective_datastore(&etcd(&[]), &env(&[("ETCD_ENDPOINTS", "ftp://x")])).unwrap_err();
        assert!(e.has_path("ETCD_ENDPOINTS"), "{e}");
    }

    #[test]
    fn tls_files_come_from_the_variables_first() {
        let mut file = etcd(&["https://etcd:2379"]);
        file.etcd_ca_cert_file = Some("/file/ca.pem".into());
        file.etcd_cert_file = Some("/file/cert.pem".into());
        file.etcd_key_file = Some("/file/key.pem".into());
        let s = settings(&file, &env(&[("ETCD_CA_CERT_FILE", "/env/ca.pem")]));
        let ca = s.ca_cert_file.unwrap();
        assert_eq!((ca.path.to_str(), ca.key), (Some("/env/ca.pem"), "ETCD_CA_CERT_FILE"));
        let (cert, key) = s.client_cert.unwrap();
        assert_eq!(cert.key, "datastore.etcd_cert_file");
        assert_eq!(key.path.to_str(), Some("/file/key.pem"));
    }

    #[test]
    fn a_certificate_without_its_key_is_refused() {
        let mut file = etcd(&["https://etcd:2379"]);
        file.etcd_ca_cert_file = Some("/ca.pem".into());
        let e = effective_datastore(&file, &env(&[("ETCD_CERT_FILE", "/c.pem")])).unwrap_err();
        assert!(e.has_path("datastore.etcd_key_file"), "{e}");
        assert!(e.to_string().contains("ETCD_CERT_FILE"), "{e}");
    }

    #[test]
    fn https_needs_a_ca_and_tls_needs_https() {
        let e = effective_datastore(&etcd(&["https://etcd:2379"]), &DatastoreEnv::default())
            .unwrap_err();
        assert!(e.has_path("datastore.etcd_endpoints[0]"), "{e}");
        let mut file = etcd(&["http://etcd:2379"]);
        file.etcd_ca_cert_file = Some("/ca.pem".into());
        let e = effective_datastore(&file, &DatastoreEnv::default()).unwrap_err();
        assert!(e.to_string().contains("use https://"), "{e}");
    }

    #[test]
    fn a_user_needs_a_password() {
        let e =
            effective_datastore(&etcd(&["http://etcd:2379"]), &env(&[("ETCD_USERNAME", "calico")]))
                .unwrap_err();
        assert!(e.has_path("datastore.etcd_password"), "{e}");
        let s = settings(
            &etcd(&["http://etcd:2379"]),
            &env(&[("ETCD_USERNAME", "calico"), ("ETCD_PASSWORD", "s3cret")]),
        );
        assert_eq!(s.credentials, Some(("calico".to_owned(), Password("s3cret".to_owned()))));
    }

    #[test]
    fn type_file_needs_a_path_and_ignores_the_etcd_variables() {
        let file = Datastore {
            kind: DatastoreType::File,
            path: Some("/etc/calico-bgp/resources.yaml".into()),
            ..Datastore::default()
        };
        let e = env(&[("ETCD_ENDPOINTS", "not a url")]);
        assert_eq!(
            effective_datastore(&file, &e),
            Ok(EffectiveDatastore::File("/etc/calico-bgp/resources.yaml".into()))
        );
        let bare = Datastore { path: None, ..file.clone() };
        let e = effective_datastore(&bare, &DatastoreEnv::default()).unwrap_err();
        assert!(e.has_path("datastore.path"), "{e}");
    }

    #[test]
    fn keys_of_another_type_are_refused() {
        let file = Datastore {
            kind: DatastoreType::File,
            path: Some("/r.yaml".into()),
            etcd_endpoints: vec!["http://127.0.0.1:2379".into()],
            ..Datastore::default()
        };
        let e = effective_datastore(&file, &DatastoreEnv::default()).unwrap_err();
        assert!(e.has_path("datastore.etcd_endpoints"), "{e}");
        let etcd_with_path = Datastore { path: Some("/r.yaml".into()), ..etcd(&["http://a:1"]) };
        let e = effective_datastore(&etcd_with_path, &DatastoreEnv::default()).unwrap_err();
        assert!(e.has_path("datastore.path"), "{e}");
        let none_with_path = Datastore { path: Some("/r.yaml".into()), ..Datastore::default() };
        let e = effective_datastore(&none_with_path, &DatastoreEnv::default()).unwrap_err();
        assert!(e.has_path("datastore.path"), "{e}");
    }

    #[test]
    fn the_section_parses_from_toml() {
        let text = r#"
            [node]
            name = "n1"
            ipv4 = "10.0.0.1/24"
            [datastore]
            type = "etcdv3"
            etcd_endpoints = ["http://127.0.0.1:2379"]
        "#;
        let cfg = crate::config::from_toml(text).unwrap();
        assert_eq!(cfg.datastore, etcd(&["http://127.0.0.1:2379"]));
        let e = crate::config::from_toml(&text.replace("etcdv3", "kubernetes")).unwrap_err();
        assert!(e.to_string().contains("kubernetes"), "{e}");
    }
}
