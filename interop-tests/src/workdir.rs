//! A temp dir per test, std only (the `tempfile` crate would add a dependency for the
//! ten lines below, and we want the keep-on-failure behaviour anyway).

use std::path::{Path, PathBuf};

use crate::Result;

/// A fresh directory under the system temp dir, removed on drop unless the thread is
/// panicking (so a failing test leaves its configs and logs behind) or `CBGP_KEEP` is set.
#[derive(Debug)]
pub struct Workdir {
    path: PathBuf,
}

impl Workdir {
    /// Creates `$TMPDIR/cbgp-<pid>-<n>-<tag>`.
    pub fn new(tag: &str) -> Result<Workdir> {
        let path = std::env::temp_dir().join(format!("{}-{tag}", crate::unique_name()));
        std::fs::create_dir_all(&path)
            .map_err(|e| crate::err!("creating work dir {}: {e}", path.display()))?;
        Ok(Workdir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates (if needed) and returns a sub-directory.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p)?;
        Ok(p)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("CBGP_KEEP").is_some() {
            eprintln!("keeping work dir {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
