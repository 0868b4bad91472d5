//! The git commit the programs are built from, as `CALICO_BGP_COMMIT` for
//! `ctl::build_info` (`--version` of both programs, `show status`,
//! `calico_bgp_build_info`).
//!
//! A build from a source tarball has no `.git` at the workspace root and
//! says `unknown`; so does a checkout whose git cannot be run. A packager who
//! knows the commit of such a tarball sets `CALICO_BGP_COMMIT` for the build.
//! The root must hold `.git` itself: a tarball unpacked inside some other
//! repository must not report that repository's commit.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CALICO_BGP_COMMIT");
    let commit = match std::env::var("CALICO_BGP_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => {
            let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
            let root = Path::new(&manifest).parent().unwrap_or(Path::new("."));
            git_commit(root).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=CALICO_BGP_COMMIT={commit}");
}

/// `HEAD`'s commit (12 hex digits) of the checkout at `root`, after asking
/// cargo to run this script again when `HEAD` or the branch it names moves.
fn git_commit(root: &Path) -> Option<String> {
    if !root.join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Only the files that change when this checkout's HEAD moves: watching
    // all of refs/ would rebuild on every commit to any branch (worktrees
    // share their refs).
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten() {
        let path = root.join(path);
        // A path that does not exist would make cargo run this script on
        // every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Some(commit)
}
