//! `mbt validate`: one pipeline's diagnostics, and with `--show-resolved` its merged YAML.

use std::process::ExitCode;

use mbt_compiler::diagnostics::sort_and_dedup;
use mbt_compiler::diagnostics::{Sources, Summary};
use mbt_compiler::queries::check::base_diagnostics;
use mbt_compiler::queries::compose::{composition_cycle, expanded};
use mbt_compiler::queries::parse::{is_base_name, pipeline_name};
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
            print_diagnostics(&[*diagnostic], &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let is_base = pipeline_name(file.path(&host.db)).is_some_and(is_base_name);
    let diagnostics = if is_base {
        // A base is checked as a partial pipeline, as `mbt check` does when nothing extends it.
        let mut diagnostics = base_diagnostics(&host.db, file).to_vec();
        sort_and_dedup(&mut diagnostics, &host.db);
        diagnostics
    } else {
        super::diagnostics_of(&host, file)
    };
    print_diagnostics(&diagnostics, &host.db, color)?;
    let summary = Summary::of(&diagnostics);
    if args.show_resolved {
        let root = if is_base {
            (composition_cycle(&host.db, file).is_none())
                .then(|| expanded(&host.db, file).root.clone())
                .flatten()
        } else {
            validated(&host.db, file).root.clone()
        };
        if let Some(root) = &root {
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
