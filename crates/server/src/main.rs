//! `hotline`: the front door. `serve` runs the server, `token` mints access
//! tokens with the same secret, `loadtest` measures a server under load.

use std::process::ExitCode;

use clap::Parser;

use hotline_server::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => hotline_server::serve::run_blocking(args),
        Command::Token(args) => hotline_server::cli::mint_token(args),
        Command::Loadtest(args) => hotline_server::loadtest::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline: {e:#}");
            ExitCode::FAILURE
        }
    }
}
