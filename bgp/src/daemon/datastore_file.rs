//! A file of Calico resources as the datastore (`[datastore] type = "file"`):
//! the multi-document YAML `calicoctl apply -f` takes, block affinities as
//! `BlockAffinity` documents, for operators who keep their resources in git.
//!
//! ```text
//!   start, SIGHUP, calico-bgpctl reload --read--> Resources::from_yaml_file --> Contents
//!                                         unreadable / not YAML --> Err (the file is refused)
//! ```
//!
//! The file is read at start and on every reload, never watched: an operator
//! edits it and reloads, as with the TOML file. Each good read is one more
//! revision (1, 2, ...), shown by `show status` as the etcd revision is. A
//! read that fails refuses the file as a whole and keeps the running
//! configuration; an object that does not parse is a problem left out, as
//! with etcd.

use std::path::{Path, PathBuf};

use super::datastore::Contents;
use crate::calico::Resources;

/// The file and what its reads gave.
#[derive(Debug)]
pub(super) struct FileSource {
    path: PathBuf,
    /// Good reads so far: the revision of the newest.
    reads: i64,
    /// The last read succeeded.
    readable: bool,
    /// The last failed read and its Unix time.
    last_error: Option<(String, u64)>,
}

impl FileSource {
    pub(super) fn new(path: PathBuf) -> FileSource {
        FileSource { path, reads: 0, readable: false, last_error: None }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file at Unix time `now`; the error is why the
    /// whole file is refused, with its path.
    pub(super) fn read(&mut self, now: u64) -> Result<Contents, String> {
        let read = std::fs::read_to_string(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|text| Resources::from_yaml_file(&text).map_err(|e| e.to_string()));
        match read {
            Ok((resources, problems)) => {
                self.reads += 1;
                self.readable = true;
                Ok(Contents { revision: self.reads, resources, problems })
            }
            Err(why) => {
                let why = format!("{}: {why}", self.path.display());
                self.readable = false;
                self.last_error = Some((why.clone(), now));
                Err(why)
            }
        }
    }

    /// What `show status` shows of the file.
    pub(super) fn view(&self) -> ctl::proto::DatastoreView {
        ctl::proto::DatastoreView {
            kind: "file".into(),
            endpoint: self.path.display().to_string(),
            connected: self.readable,
            revision_seen: self.reads,
            revision_applied: None,
            applied_at: None,
            refused: None,
            last_error: self.last_error.as_ref().map(|(e, _)| e.clone()),
            last_error_at: self.last_error.as_ref().map(|(_, at)| *at),
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "kind: Node\napiVersion: projectcalico.org/v3\nmetadata:\n  name: n1\n\
                        spec:\n  bgp:\n    ipv4Address: 10.0.0.1/24\n";

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cbgp-file-ds-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("resources.yaml")
    }

    #[test]
    fn each_good_read_is_a_revision_and_a_bad_one_is_the_last_error() {
        let path = temp("reads");
        std::fs::write(&path, NODE).unwrap();
        let mut f = FileSource::new(path.clone());
        assert_eq!(f.read(10).unwrap().revision, 1);
        std::fs::write(&path, "kind: [unclosed\n").unwrap();
        let e = f.read(11).unwrap_err();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        let v = f.view();
        assert!(!v.connected);
        assert_eq!((v.revision_seen, v.last_error_at), (1, Some(11)));
        std::fs::write(&path, NODE).unwrap();
        let c = f.read(12).unwrap();
        assert_eq!(c.revision, 2);
        assert_eq!(c.resources.nodes.len(), 1);
        assert!(f.view().connected);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_missing_file_is_refused_with_its_path() {
        let mut f = FileSource::new("/nonexistent/cbgp/resources.yaml".into());
        let e = f.read(1).unwrap_err();
        assert!(e.contains("/nonexistent/cbgp/resources.yaml"), "{e}");
    }
}
