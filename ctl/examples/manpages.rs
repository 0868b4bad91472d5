//! Writes the manual pages of both programs, section 8, into a directory:
//! `calico-bgpd.8`, `calico-bgpctl.8`, and one page per `calico-bgpctl`
//! subcommand (`calico-bgpctl-show-peers.8`, as git names its pages).
//! The text is the programs' own `--help`, from their clap definitions
//! (`bgp::cli`, `ctl::cli`), so the pages cannot drift from them.
//! `scripts/package.sh` runs it:
//!
//! ```sh
//! cargo run -p ctl --example manpages -- target/man
//! ```

use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: manpages DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir)?;
    for command in [bgp::cli::Args::command(), ctl::cli::Cli::command()] {
        // `help SUBCOMMAND` is --help again: no page of its own.
        let mut command = command.disable_help_subcommand(true);
        // Gives every subcommand its full name (`calico-bgpctl-show-peers`).
        command.build();
        write_pages(command, &dir)?;
    }
    Ok(())
}

/// The page of `command` and, below it, one per visible subcommand.
fn write_pages(command: clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir)?;
    }
    let page = clap_mangen::Man::new(command)
        .section("8")
        .manual("System Administration")
        .source(format!("calico-bgp {}", ctl::build_info::VERSION));
    let path = page.generate_to(dir)?;
    println!("{}", path.display());
    Ok(())
}
