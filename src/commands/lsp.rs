//! `mbt lsp`: the language server on stdin/stdout (the server itself lives in `mbt-lsp`).

use std::process::ExitCode;

use crate::args::LspArgs;
use crate::host::parse_vars;

pub fn run(args: LspArgs) -> anyhow::Result<ExitCode> {
    let project = args.project;
    let options = mbt_lsp::workspace::CompileOptions {
        profiles_dir: project
            .profiles_dir
            .or_else(|| std::env::var_os("MBT_PROFILES_DIR").map(Into::into))
            .filter(|dir| !dir.as_os_str().is_empty()),
        profile: project.profile,
        target: project.target,
        vars: parse_vars(&project.vars)?,
        env: std::env::vars().collect(),
        home: std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map(Into::into),
    };
    let roots = project.project_dir.into_iter().collect();
    mbt_lsp::run_stdio(mbt_lsp::Config {
        options,
        roots,
        debug_requests: false,
    })?;
    Ok(ExitCode::SUCCESS)
}
