//! Calico's datastore as calico-bgpd's configuration: the v3 resources
//! (one module each under [`resources`]), Calico's selector language
//! ([`selector`]) and the pure derivation confd performs for BIRD
//! ([`derive()`]), producing the same [`crate::config::Config`] the TOML
//! file gives.
//!
//! ```text
//!  calicoctl YAML ─ Resources::from_yaml ─┐
//!                                          ├─> Resources ──derive(resources, local TOML, env)──> Derived
//!  etcd key/values ─ Resources::from_kvs ─┘     (+ ResourceProblem per refused object)          { Config, problems }
//!                                                                                                    │
//!                                                            config::validate ──> ValidatedConfig <──┘
//! ```
//!
//! Everything here is pure: no I/O, no clock. The etcd watcher and the
//! daemon feed it and act on the result.

pub mod derive;
pub mod resources;
pub mod selector;
pub mod snapshot;

pub use derive::{Derived, Env, derive};
pub use resources::{ResourceProblem, Resources};
pub use selector::{Selector, SelectorError};
pub use snapshot::{Configured, configure, configure_resources};
