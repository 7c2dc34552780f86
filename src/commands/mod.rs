//! One module per subcommand.

pub mod catalog;
pub mod check;
pub mod compile;
pub mod completions;
pub mod dag;
#[cfg(feature = "runtime")]
pub mod debug;
#[cfg(feature = "runtime")]
pub mod deps;
#[cfg(feature = "runtime")]
pub mod exec;
pub mod explain;
#[cfg(feature = "runtime")]
pub mod generate_dags;
pub mod init;
#[cfg(feature = "lsp")]
pub mod lsp;
#[cfg(feature = "runtime")]
pub mod retry;
#[cfg(feature = "runtime")]
pub mod run;
pub mod schema;
pub mod test;
pub mod validate;

use mbt_compiler::diagnostics::{sort_and_dedup, Diagnostic, Summary};
use mbt_compiler::manifest::Manifest;
use mbt_compiler::queries::check::pipeline_diagnostics;
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_compiler::{Db, SourceFile};

use crate::host::Host;
use crate::output::print_diagnostics;

/// The pipelines named positionally and by `--select`, minus `--exclude` (every pipeline but
/// bases when none is named); `None` after printing why the selection is wrong.
pub fn selected(
    host: &Host,
    pipelines: &[String],
    selection: &crate::args::SelectArgs,
    color: bool,
) -> anyhow::Result<Option<Vec<crate::select::Selected>>> {
    let mut selectors = pipelines.to_vec();
    selectors.extend(selection.select.iter().cloned());
    match crate::select::select(host, &selectors, &selection.exclude) {
        Ok(selected) => Ok(Some(selected)),
        Err(problems) => {
            print_diagnostics(&problems, &host.db, color)?;
            Ok(None)
        }
    }
}

/// Compiles a runnable pipeline, printing its diagnostics; `None` when it has errors.
pub fn compiled(host: &Host, name: &str, color: bool) -> anyhow::Result<Option<Manifest>> {
    let file = match host.runnable_pipeline(name) {
        Ok(file) => file,
        Err(diagnostic) => {
            print_diagnostics(&[*diagnostic], &host.db, color)?;
            return Ok(None);
        }
    };
    let diagnostics = diagnostics_of(host, file);
    print_diagnostics(&diagnostics, &host.db, color)?;
    if Summary::of(&diagnostics).errors > 0 {
        return Ok(None);
    }
    Ok(manifest(&host.db, file).manifest.clone())
}

/// Everything wrong with one pipeline, including its profile, sorted and deduplicated.
pub fn diagnostics_of(host: &Host, file: SourceFile) -> Vec<Diagnostic> {
    let mut diagnostics = host.diagnostics.clone();
    diagnostics.extend(pipeline_diagnostics(&host.db, file).iter().cloned());
    diagnostics.extend(
        resolved_profile(&host.db, host.db.project())
            .diagnostics
            .iter()
            .cloned(),
    );
    diagnostics.extend(manifest(&host.db, file).diagnostics.iter().cloned());
    sort_and_dedup(&mut diagnostics, &host.db);
    diagnostics
}
