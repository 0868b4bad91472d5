//! Which build this is: `calico-bgpctl --version`, and the build script
//! that finds the commit (`ctl/build.rs`) run by itself on a copy of the
//! workspace's layout, with and without a `.git` at its root.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `HEAD` of this checkout, or `unknown` outside one.
fn expected_commit() -> String {
    let root = workspace_root();
    if !root.join(".git").exists() {
        return "unknown".into();
    }
    git(&root, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

#[test]
fn version_names_the_program_the_version_and_the_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_calico-bgpctl")).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("calico-bgpctl {} (commit {})\n", env!("CARGO_PKG_VERSION"), expected_commit())
    );
    assert_eq!(ctl::build_info::COMMIT, expected_commit());
}

/// Compiles `ctl/build.rs` once into `dir` and returns the program.
fn build_script(dir: &Path) -> PathBuf {
    let exe = dir.join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args(["--edition", "2024", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    exe
}

/// What the build script tells cargo for a crate at `manifest_dir`.
fn run_build_script(exe: &Path, manifest_dir: &Path, commit_env: Option<&str>) -> String {
    let mut cmd = Command::new(exe);
    cmd.env("CARGO_MANIFEST_DIR", manifest_dir).env_remove("CALICO_BGP_COMMIT");
    if let Some(c) = commit_env {
        cmd.env("CALICO_BGP_COMMIT", c);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_tree_without_git_says_unknown_and_the_variable_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = build_script(tmp.path());

    // A tarball: the workspace layout, no .git.
    let tarball = tmp.path().join("calico-bgp-0.1.0");
    std::fs::create_dir_all(tarball.join("ctl")).unwrap();
    let printed = run_build_script(&exe, &tarball.join("ctl"), None);
    assert!(printed.contains("cargo:rustc-env=CALICO_BGP_COMMIT=unknown\n"), "{printed}");
    assert!(!printed.contains("rerun-if-changed"), "{printed}");

    // The same tarball unpacked inside some other git checkout: not its commit.
    let outer = tmp.path().join("outer");
    let nested = outer.join("src/calico-bgp-0.1.0");
    std::fs::create_dir_all(nested.join("ctl")).unwrap();
    if git(&outer, &["init", "-q"]).is_some() {
        let printed = run_build_script(&exe, &nested.join("ctl"), None);
        assert!(printed.contains("CALICO_BGP_COMMIT=unknown\n"), "{printed}");
    }

    // A packager who knows the commit.
    let printed = run_build_script(&exe, &tarball.join("ctl"), Some("0123456789ab"));
    assert!(printed.contains("cargo:rustc-env=CALICO_BGP_COMMIT=0123456789ab\n"), "{printed}");
}

#[test]
fn a_checkout_gives_its_head_and_watches_only_its_own_head() {
    let root = workspace_root();
    let head = expected_commit();
    if head == "unknown" {
        return; // Not a checkout (a tarball) or no git: the test above covers it.
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = build_script(tmp.path());
    let printed = run_build_script(&exe, &root.join("ctl"), None);
    assert!(printed.contains(&format!("cargo:rustc-env=CALICO_BGP_COMMIT={head}\n")), "{printed}");
    // HEAD itself is watched; never the whole refs/ directory, which every
    // commit on any branch (or worktree) would touch.
    assert!(
        printed.lines().any(|l| l.starts_with("cargo:rerun-if-changed=") && l.ends_with("HEAD"))
    );
    assert!(!printed.lines().any(|l| l.ends_with("/refs") || l.ends_with("/refs/heads")));
}
