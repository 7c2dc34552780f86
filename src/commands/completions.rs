//! `mbt completions SHELL`: shell completion scripts.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "mbt", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
