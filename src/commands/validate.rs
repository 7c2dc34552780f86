//! `mbt validate`: one pipeline's diagnostics, and with `--show-resolved` its merged YAML.

use std::process::ExitCode;

use mbt_compiler::diagnostics::{Sources, Summary};
use mbt_compiler::queries::validate::validated;
use mbt_compiler::yaml::emit_annotated;

use crate::args::ValidateArgs;
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, summary_line};

pub fn run(args: ValidateArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let file = match host.pipeline(&args.pipeline) {
        Ok(file) => file,
        Err(diagnostic) => {
            print_diagnostics(&[diagnostic], &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let diagnostics = super::diagnostics_of(&host, file);
    print_diagnostics(&diagnostics, &host.db, color)?;
    let summary = Summary::of(&diagnostics);
    if args.show_resolved {
        if let Some(root) = &validated(&host.db, file).root {
            let origin = |span: mbt_compiler::text::Span| {
                let location = host.db.line_column(span.file, span.start);
                format!("{}:{}", host.db.path(span.file), location.line)
            };
            outln!("{}", emit_annotated(root, &origin).trim_end());
        }
    } else if summary.errors == 0 {
        outln!("{} is valid ({})", args.pipeline, summary_line(summary));
    }
    Ok(if summary.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
