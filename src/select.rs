//! Pipeline selection for `mbt compile` and `mbt run`: names, `tag:NAME` (a pipeline's
//! `project.tags`, inherited ones included) and `--exclude` with the same syntax; no selector
//! means every pipeline that is not a base. Training pipelines come before serving pipelines
//! (so serving's `run_id: latest` sees this run's training), then by name.

use mbt_compiler::diagnostics::{did_you_mean, Code, Diagnostic};
use mbt_compiler::queries::compose::resolved;
use mbt_compiler::queries::parse::pipeline_index;
use mbt_compiler::yaml::Node;
use mbt_compiler::{Db, SourceFile};

use crate::host::Host;

/// A selected pipeline.
#[derive(Clone, Debug)]
pub struct Selected {
    pub name: String,
    pub file: SourceFile,
    pub serving: bool,
}

/// The pipelines `select` (minus `exclude`) names, in run order, or why not.
pub fn select(
    host: &Host,
    select: &[String],
    exclude: &[String],
) -> Result<Vec<Selected>, Vec<Diagnostic>> {
    let index = pipeline_index(&host.db, host.db.project());
    let all: Vec<Selected> = index
        .runnable()
        .map(|(name, file)| Selected {
            name: name.to_string(),
            file,
            serving: resolved(&host.db, file)
                .root
                .as_ref()
                .is_some_and(|root| root.get_path(&["serving"]).is_some()),
        })
        .collect();
    let mut problems = Vec::new();
    let mut chosen: Vec<Selected> = if select.is_empty() {
        all.clone()
    } else {
        let mut chosen = Vec::new();
        for selector in select {
            for found in matching(host, &all, selector, &mut problems) {
                if !chosen.iter().any(|c: &Selected| c.name == found.name) {
                    chosen.push(found);
                }
            }
        }
        chosen
    };
    for selector in exclude {
        let excluded = matching(host, &all, selector, &mut problems);
        chosen.retain(|c| !excluded.iter().any(|e| e.name == c.name));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    chosen.sort_by(|a, b| (a.serving, &a.name).cmp(&(b.serving, &b.name)));
    Ok(chosen)
}

/// The pipelines one selector names; what it names that does not exist is a problem.
fn matching(
    host: &Host,
    all: &[Selected],
    selector: &str,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Selected> {
    if let Some(tag) = selector.strip_prefix("tag:") {
        let found: Vec<Selected> = all
            .iter()
            .filter(|candidate| tags(host, candidate.file).iter().any(|t| t == tag))
            .cloned()
            .collect();
        if found.is_empty() {
            let mut known: Vec<String> = all.iter().flat_map(|c| tags(host, c.file)).collect();
            known.sort();
            known.dedup();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            problems.push(
                Diagnostic::new(
                    Code::PipelineNotFound,
                    None,
                    format!("no pipeline has the tag `{tag}`"),
                )
                .with_help(did_you_mean(tag, &known)),
            );
        }
        return found;
    }
    match host.runnable_pipeline(selector) {
        Ok(file) => all.iter().filter(|c| c.file == file).cloned().collect(),
        Err(diagnostic) => {
            problems.push(*diagnostic);
            Vec::new()
        }
    }
}

/// A pipeline's `project.tags`, with those of its bases.
fn tags(host: &Host, file: SourceFile) -> Vec<String> {
    resolved(&host.db, file)
        .root
        .as_ref()
        .and_then(|root| root.get_path(&["project", "tags"]))
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
        .iter()
        .filter_map(|tag| tag.as_str().map(str::to_string))
        .collect()
}
