//! `mbt deps list`: the installed adapters by kind.

use std::process::ExitCode;

use mbt_runtime::adapters::Registry;

use crate::args::{DepsArgs, DepsCommand};
use crate::outln;

pub fn run(args: DepsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DepsCommand::List => {
            for (kind, names) in Registry::builtin().list() {
                outln!("mbt.{kind}: {}", names.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
