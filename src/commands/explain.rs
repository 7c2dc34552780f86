//! `mbt explain CODE`: the documentation of a diagnostic code.

use std::process::ExitCode;

use mbt_compiler::diagnostics::{did_you_mean, Code};

use crate::args::ExplainArgs;
use crate::outln;

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for code in Code::ALL {
            outln!("{}  {:<40} {}", code.as_str(), code.name(), code.title());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let wanted = args.code.unwrap_or_default();
    let Some(code) = Code::parse(&wanted) else {
        let names: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(Code::ALL.iter().map(|c| c.name()))
            .collect();
        eprintln!("error: unknown diagnostic code `{wanted}`\n  help: {} (`mbt explain --list` shows all)", did_you_mean(&wanted, &names));
        return Ok(ExitCode::from(2));
    };
    outln!("{}", explanation(code));
    Ok(ExitCode::SUCCESS)
}

/// The docs of a code as printed: a header, then the doc text without rustdoc's indentation.
pub fn explanation(code: Code) -> String {
    let body: Vec<&str> = code
        .docs()
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    format!(
        "{} ({}, {:?} by default)\n\n{}",
        code.as_str(),
        code.name(),
        code.default_severity(),
        body.join("\n").trim_end()
    )
}
