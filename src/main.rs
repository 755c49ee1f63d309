//! The `hoist` binary: parse the command line, set up logging, run.
//!
//! Logs go to stderr (see `hoist::logging`): `serve` logs at `info` unless
//! `HOIST_LOG` says otherwise, so a running bot leaves an audit trail of its
//! operations; the other subcommands talk to a person on stdout and log only
//! warnings and errors by default.

use clap::Parser;

fn main() {
    let cli = hoist::cli::Cli::parse();
    if let Err(e) = hoist::cli::init_logging(&cli) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let code = match hoist::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
