//! `mbt`: the command-line host of the MBT compiler.
//!
//! It finds the project, reads its files into the compiler's database, runs queries and prints
//! results. All I/O lives here (and in the runtime); the compiler crate never touches the disk.

mod args;
mod commands;
mod host;
mod output;
#[cfg(feature = "runtime")]
mod progress;
mod select;

use std::process::ExitCode;

use clap::Parser;

// The compiler allocates many small nodes; mimalloc is markedly faster than glibc's malloc here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let color = output::use_color(cli.color);
    let result = match cli.command {
        args::Command::Init(args) => commands::init::run(args),
        args::Command::Compile(args) => commands::compile::run(args, color),
        args::Command::Check(args) => commands::check::run(args, color),
        args::Command::Validate(args) => commands::validate::run(args, color),
        args::Command::Dag(args) => commands::dag::run(args, color),
        args::Command::Test(args) => commands::test::run(args, color),
        #[cfg(feature = "runtime")]
        args::Command::Run(args) => commands::run::run(args, color),
        #[cfg(feature = "runtime")]
        args::Command::GenerateDags(args) => commands::generate_dags::run(args, color),
        #[cfg(feature = "runtime")]
        args::Command::Deps(args) => commands::deps::run(args),
        #[cfg(feature = "runtime")]
        args::Command::Debug(args) => commands::debug::run(args),
        #[cfg(feature = "runtime")]
        args::Command::Retry(args) => commands::retry::retry(args, color),
        #[cfg(feature = "runtime")]
        args::Command::Exec(args) => commands::exec::exec(args, color),
        args::Command::Explain(args) => commands::explain::run(args),
        args::Command::Catalog(args) => commands::catalog::run(args, color),
        args::Command::Schema(args) => commands::schema::run(args),
        args::Command::Completions(args) => commands::completions::run(args),
        #[cfg(feature = "lsp")]
        args::Command::Lsp(args) => commands::lsp::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            if output::is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
