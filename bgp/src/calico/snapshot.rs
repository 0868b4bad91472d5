//! One datastore snapshot to this node's validated configuration: what
//! confd does on every change it sees, rendering BIRD's files from the
//! whole datastore, done here as parse, derive and validate.
//!
//! A snapshot is every watched key with its value at one revision. Objects
//! that do not parse are problems (with their key) and left out, as confd
//! skips what it cannot read; the rest is derived. Whether the result is
//! applied is the caller's decision: an invalid configuration must leave
//! the running one in force. A resources file (`[datastore] type =
//! "file"`) is read into [`Resources`] by its own reader and goes through
//! the same [`configure_resources`].

use super::{Env, ResourceProblem, Resources, derive};
use crate::config::{Config, ConfigError, ValidatedConfig, ValidationErrors, validate};

/// What one snapshot gives.
#[derive(Debug)]
pub struct Configured {
    /// The node's configuration, or why it cannot run.
    pub config: Result<ValidatedConfig, ValidationErrors>,
    /// Objects refused and settings that cannot be expressed.
    pub problems: Vec<ResourceProblem>,
}

/// Parses `kvs` (Calico's etcd layout), derives the configuration of the
/// node `local.node.name` names on top of the local settings in `local`, and
/// validates it.
pub fn configure<'a>(
    kvs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    local: &Config,
    env: &Env,
) -> Configured {
    let (resources, problems) = Resources::from_kvs(kvs);
    configure_resources(&resources, problems, local, env)
}

/// [`configure`] on resources already read (from a resources file, or
/// from key/values), `problems` being those of the reading.
pub fn configure_resources(
    resources: &Resources,
    mut problems: Vec<ResourceProblem>,
    local: &Config,
    env: &Env,
) -> Configured {
    let name = &local.node.name;
    if !resources.nodes.contains_key(name) {
        // confd renders nothing for a node the datastore does not hold;
        // running the bare local file instead would drop every session.
        let missing =
            ConfigError::new("node.name", name, "no Calico Node of this name in the datastore");
        return Configured { config: Err(ValidationErrors(vec![missing])), problems };
    }
    let derived = derive(resources, local, env);
    problems.extend(derived.problems);
    Configured { config: validate(derived.config), problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_toml;

    const NODES: &str = "/calico/resources/v3/projectcalico.org/nodes/";
    const POOLS: &str = "/calico/resources/v3/projectcalico.org/ippools/";

    fn node(name: &str, ip: &str) -> (String, Vec<u8>) {
        let json = format!(
            r#"{{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{{"name":"{name}"}},"spec":{{"bgp":{{"ipv4Address":"{ip}"}}}}}}"#
        );
        (format!("{NODES}{name}"), json.into_bytes())
    }

    fn local(name: &str) -> Config {
        from_toml(&format!("[node]\nname = \"{name}\"\n")).unwrap()
    }

    fn run(kvs: &[(String, Vec<u8>)], me: &str) -> Configured {
        configure(kvs.iter().map(|(k, v)| (k.as_str(), v.as_slice())), &local(me), &Env::default())
    }

    #[test]
    fn two_nodes_in_etcd_make_a_mesh_session_from_a_name_only_local_file() {
        let c = run(&[node("n1", "10.0.0.1/24"), node("n2", "10.0.0.2/24")], "n1");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let cfg = c.config.unwrap();
        let names: Vec<String> = cfg.peers().iter().map(|p| p.bird_protocol_name()).collect();
        assert_eq!(names, ["Mesh_10_0_0_2"]);
        assert_eq!(cfg.router_id().to_string(), "10.0.0.1");
    }

    #[test]
    fn a_garbage_value_is_a_problem_with_its_key_and_the_rest_applies() {
        let mut kvs = vec![node("n1", "10.0.0.1/24"), node("n2", "10.0.0.2/24")];
        kvs.push((format!("{POOLS}broken"), b"{not json".to_vec()));
        let c = run(&kvs, "n1");
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0].to_string().contains("ippools/broken"), "{}", c.problems[0]);
        assert_eq!(c.config.unwrap().peers().len(), 1);
    }

    #[test]
    fn a_node_missing_from_the_datastore_gives_a_configuration_that_cannot_run() {
        let c = run(&[node("n2", "10.0.0.2/24")], "n1");
        assert!(c.config.unwrap_err().has_path("node.name"));
    }

    #[test]
    fn a_missing_node_is_refused_even_when_the_local_file_could_run_alone() {
        // The bare file would run with no peers: every session dropped.
        let local = from_toml("[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n").unwrap();
        let kvs = [node("n2", "10.0.0.2/24")];
        let c =
            configure(kvs.iter().map(|(k, v)| (k.as_str(), v.as_slice())), &local, &Env::default());
        assert!(c.config.is_err());
    }
}
