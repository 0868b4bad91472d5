//! Which build this is: the workspace version and the git commit it was
//! built from (`unknown` outside a git checkout, see `ctl/build.rs`). Both
//! programs print it for `--version`; the daemon puts it in `show status`
//! and in `calico_bgp_build_info`.

/// The workspace version (`0.1.0`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit, 12 hex digits, or `unknown`.
pub const COMMIT: &str = env!("CALICO_BGP_COMMIT");

/// What `--version` prints after the program's name:
/// `0.1.0 (commit 0123456789ab)`.
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("CALICO_BGP_COMMIT"), ")");
