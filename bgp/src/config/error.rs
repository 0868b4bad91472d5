//! Configuration problems: each names the key path, the value found and what
//! is allowed, so `calico-bgpd --check` output can be acted on without
//! reading the source.

use std::fmt;
use std::path::PathBuf;

/// One problem with the configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path} = {value}: {message}")]
pub struct ConfigError {
    /// Key path, e.g. `peers[2].remote_as`.
    pub path: String,
    /// The offending value as written (or `(unset)`).
    pub value: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    /// A problem at `path` with `value`.
    pub fn new(
        path: impl Into<String>,
        value: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        ConfigError { path: path.into(), value: value.to_string(), message: message.into() }
    }
}

/// Every problem found by validation, grouped by section. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ConfigError>);

impl ValidationErrors {
    /// The problems.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Whether some problem is at exactly this key path.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|e| e.path == path)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Why a configuration file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not TOML, or a key or value that does not fit the schema (unknown key,
    /// wrong type, unknown enum value). The message quotes the line.
    #[error("{path}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: PathBuf,
        /// The TOML parser's message, with line, column and snippet.
        message: String,
    },
    /// Well-formed but inconsistent or out of range.
    #[error("{path}: invalid configuration:\n{errors}")]
    Invalid {
        /// The file (or `<string>`).
        path: PathBuf,
        /// Every problem found.
        errors: ValidationErrors,
    },
}
