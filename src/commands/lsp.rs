//! `mbt lsp`: the language server on stdin/stdout (the server itself lives in `mbt-lsp`).

use std::process::ExitCode;

use crate::args::LspArgs;

pub fn run(args: LspArgs) -> anyhow::Result<ExitCode> {
    let options = args.project.options()?;
    let roots = args.project.project_dir.into_iter().collect();
    mbt_lsp::run_stdio(mbt_lsp::Config {
        options,
        roots,
        debug_requests: false,
    })?;
    Ok(ExitCode::SUCCESS)
}
