//! Composition: `!include` expansion and `base_pipeline` inheritance, with provenance.
//!
//! Every node of a merged tree keeps the span of the file it came from, so a value inherited
//! from a base pipeline or an included fragment points back to where it was written. Cycles are
//! found first, by a non-recursive walk over each file's references, because a query cycle would
//! panic inside salsa.

use std::sync::Arc;

use super::parse::{parse_file, pipeline_index};
use crate::db::{Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::text::Span;
use crate::yaml::{Entry, Mapping, Node, NodeKind};

/// A reference from one file to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub kind: ReferenceKind,
    /// The target file, when it exists.
    pub target: Option<SourceFile>,
    /// The written path or pipeline name.
    pub written: String,
    /// Where it is written (the `!include` scalar or the `base_pipeline` value).
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceKind {
    Include,
    Base,
}

#[derive(Clone, Debug, PartialEq)]
pub struct References {
    pub references: Vec<Reference>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The files a file refers to; broken references are diagnostics here.
#[salsa::tracked]
pub fn references(db: &dyn Db, file: SourceFile) -> Arc<References> {
    let parsed = parse_file(db, file);
    let mut references = Vec::new();
    let mut diagnostics = Vec::new();
    let Some(root) = &parsed.root else {
        return Arc::new(References {
            references,
            diagnostics,
        });
    };
    let path = file.path(db);
    collect_includes(db, path, root, &mut references, &mut diagnostics);
    if super::parse::pipeline_name(path).is_some() {
        if let Some(entry) = root.as_mapping().and_then(|m| m.entry("base_pipeline")) {
            match &entry.value.kind {
                NodeKind::String(name) => {
                    let index = pipeline_index(db, db.project());
                    let target = index.by_name.get(name).copied();
                    if target.is_none() {
                        let names: Vec<&str> = index.names();
                        let diagnostic = Diagnostic::at(
                            Code::BasePipelineNotFound,
                            entry.value.span,
                            format!("base pipeline `{name}` not found"),
                        )
                        .with_label("no such pipeline");
                        diagnostics.push(if names.is_empty() {
                            diagnostic.with_help("create it under pipelines/")
                        } else {
                            diagnostic.with_did_you_mean(name, &names, entry.value.span)
                        });
                    }
                    references.push(Reference {
                        kind: ReferenceKind::Base,
                        target,
                        written: name.clone(),
                        span: entry.value.span,
                    });
                }
                NodeKind::Null => {}
                _ => diagnostics.push(
                    Diagnostic::at(
                        Code::BasePipelineNotName,
                        entry.value.span,
                        format!("`base_pipeline` must be a pipeline name, found {}", entry.value.type_name()),
                    )
                    .with_label("expected a name")
                    .with_help("write `base_pipeline: NAME` with the file stem of a pipeline under pipelines/"),
                ),
            }
        }
    }
    Arc::new(References {
        references,
        diagnostics,
    })
}

fn collect_includes(
    db: &dyn Db,
    from: &str,
    node: &Node,
    references: &mut Vec<Reference>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match &node.kind {
        NodeKind::Include(written) => {
            let target = match join_relative(from, written) {
                Some(resolved) => {
                    let target = db.project().files(db).get(&resolved).copied();
                    if target.is_none() {
                        let files = db.project().files(db);
                        let yaml_files: Vec<&str> = files
                            .keys()
                            .map(String::as_str)
                            .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
                            .collect();
                        let candidate =
                            crate::diagnostics::suggest(&resolved, yaml_files.iter().copied())
                                .map(|candidate| relative_from(from, candidate));
                        let help = match &candidate {
                            Some(candidate) => format!("did you mean `{candidate}`?"),
                            None => format!(
                                "create `{resolved}`, or fix the path (it is relative to `{from}`)"
                            ),
                        };
                        let mut diagnostic = Diagnostic::at(
                            Code::IncludeNotFound,
                            node.span,
                            format!("included file `{resolved}` not found"),
                        )
                        .with_label("included here")
                        .with_help(help);
                        if let Some(candidate) = candidate {
                            // The span covers the tag too: keep it in the replacement.
                            let text = db.project().files(db).get(from).map(|f| f.text(db).clone());
                            let written = text
                                .as_deref()
                                .and_then(|text| text.get(node.span.range()))
                                .unwrap_or_default();
                            let replacement = if written.starts_with('!') {
                                format!("!include {candidate}")
                            } else {
                                candidate
                            };
                            diagnostic = diagnostic.with_suggestion(node.span, replacement);
                        }
                        diagnostics.push(diagnostic);
                    }
                    target
                }
                None => {
                    diagnostics.push(
                        Diagnostic::at(
                            Code::PathEscapesProject,
                            node.span,
                            format!("`{written}` is outside the project"),
                        )
                        .with_label("escapes the project root")
                        .with_help("include files from inside the project, e.g. `includes/`"),
                    );
                    None
                }
            };
            references.push(Reference {
                kind: ReferenceKind::Include,
                target,
                written: written.clone(),
                span: node.span,
            });
        }
        NodeKind::Sequence(items) => {
            for item in items {
                collect_includes(db, from, item, references, diagnostics);
            }
        }
        NodeKind::Mapping(mapping) => {
            for entry in &mapping.entries {
                collect_includes(db, from, &entry.value, references, diagnostics);
            }
        }
        _ => {}
    }
}

/// Joins `relative` to the directory of `from` (both project-relative), normalizing `.` and
/// `..`. `None` when the result would leave the project.
pub fn join_relative(from: &str, relative: &str) -> Option<String> {
    let relative = relative.trim();
    if relative.starts_with('/') || relative.contains('\\') || relative.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// How `target` is written relative to the directory of `from`.
pub fn relative_from(from: &str, target: &str) -> String {
    let from_dir: Vec<&str> =
        from.split('/').collect::<Vec<_>>()[..from.split('/').count() - 1].to_vec();
    let target_parts: Vec<&str> = target.split('/').collect();
    let common = from_dir
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = std::iter::repeat_n("..", from_dir.len() - common).collect();
    parts.extend(&target_parts[common..]);
    parts.join("/")
}

/// A cycle through `!include` or `base_pipeline` reachable from `file`, if any.
#[salsa::tracked]
pub fn composition_cycle(db: &dyn Db, file: SourceFile) -> Option<Diagnostic> {
    // Iterative depth-first search; `stack` holds (file, index of next reference to follow).
    let mut stack: Vec<(SourceFile, usize)> = vec![(file, 0)];
    let mut path_edges: Vec<Reference> = Vec::new();
    let mut finished: rustc_hash::FxHashSet<SourceFile> = Default::default();
    while let Some((current, next)) = stack.last().copied() {
        let refs = references(db, current);
        let Some(reference) = refs.references.get(next) else {
            finished.insert(current);
            stack.pop();
            path_edges.pop();
            continue;
        };
        stack.last_mut().expect("non-empty").1 += 1;
        let Some(target) = reference.target else {
            continue;
        };
        if finished.contains(&target) {
            continue;
        }
        if let Some(position) = stack.iter().position(|(f, _)| *f == target) {
            let mut cycle: Vec<Reference> = path_edges[position..].to_vec();
            cycle.push(reference.clone());
            return Some(cycle_diagnostic(
                db,
                &stack[position..]
                    .iter()
                    .map(|(f, _)| *f)
                    .collect::<Vec<_>>(),
                &cycle,
            ));
        }
        path_edges.push(reference.clone());
        stack.push((target, 0));
    }
    None
}

fn cycle_diagnostic(db: &dyn Db, files: &[SourceFile], edges: &[Reference]) -> Diagnostic {
    // Report at the edge leaving the file with the smallest path, so every file in the cycle
    // yields the same diagnostic (and duplicates collapse).
    let start = (0..files.len())
        .min_by_key(|index| files[*index].path(db).clone())
        .unwrap_or(0);
    let edge = &edges[start];
    let chain: Vec<String> = (0..=files.len())
        .map(|offset| files[(start + offset) % files.len()].path(db).clone())
        .collect();
    let (code, what) = match edge.kind {
        ReferenceKind::Include => (Code::IncludeCycle, "`!include` cycle"),
        ReferenceKind::Base => (Code::BasePipelineCycle, "`base_pipeline` cycle"),
    };
    let mut diagnostic = Diagnostic::at(code, edge.span, format!("{what}: {}", chain.join(" -> ")))
        .with_label("this reference closes the cycle")
        .with_help("break the chain: move the shared part into a file that refers to nothing");
    for offset in 1..files.len() {
        let index = (start + offset) % files.len();
        let edge = &edges[index];
        diagnostic =
            diagnostic.with_secondary(edge.span, format!("which refers to `{}`", edge.written));
    }
    diagnostic
}

/// A file with its `!include`s replaced by the included trees.
#[derive(Clone, Debug, PartialEq)]
pub struct Expanded {
    pub root: Option<Node>,
    /// Every file whose content is in `root` (this file and everything it includes).
    pub files: Vec<SourceFile>,
}

/// Expands includes. Callers must have checked [`composition_cycle`] first.
#[salsa::tracked]
pub fn expanded(db: &dyn Db, file: SourceFile) -> Arc<Expanded> {
    let parsed = parse_file(db, file);
    let refs = references(db, file);
    let mut files = vec![file];
    let root = parsed.root.clone().map(|mut root| {
        substitute(db, &mut root, &refs.references, &mut files);
        root
    });
    files.sort_by_key(|file| file.id(db));
    files.dedup();
    Arc::new(Expanded { root, files })
}

fn substitute(db: &dyn Db, node: &mut Node, references: &[Reference], files: &mut Vec<SourceFile>) {
    match &mut node.kind {
        NodeKind::Include(_) => {
            let target = references
                .iter()
                .find(|reference| {
                    reference.kind == ReferenceKind::Include && reference.span == node.span
                })
                .and_then(|reference| reference.target);
            if let Some(target) = target {
                let included = expanded(db, target);
                files.extend(included.files.iter().copied());
                if let Some(root) = &included.root {
                    *node = root.clone();
                }
            }
        }
        NodeKind::Sequence(items) => items
            .iter_mut()
            .for_each(|item| substitute(db, item, references, files)),
        NodeKind::Mapping(mapping) => mapping
            .entries
            .iter_mut()
            .for_each(|entry| substitute(db, &mut entry.value, references, files)),
        _ => {}
    }
}

/// A pipeline after includes and inheritance.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub root: Option<Node>,
    /// Every file that contributed, the pipeline itself first.
    pub files: Vec<SourceFile>,
    /// The base chain, nearest base first.
    pub bases: Vec<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked]
pub fn resolved(db: &dyn Db, file: SourceFile) -> Arc<Resolved> {
    if let Some(cycle) = composition_cycle(db, file) {
        return Arc::new(Resolved {
            root: None,
            files: vec![file],
            bases: Vec::new(),
            diagnostics: vec![cycle.clone()],
        });
    }
    let own = expanded(db, file);
    let mut files = vec![file];
    files.extend(own.files.iter().copied().filter(|f| *f != file));
    let mut diagnostics = Vec::new();
    let mut bases = Vec::new();
    let base = references(db, file)
        .references
        .iter()
        .find(|reference| reference.kind == ReferenceKind::Base)
        .cloned();
    let root = match (
        own.root.clone(),
        base.and_then(|b| b.target.map(|t| (b, t))),
    ) {
        (Some(root), Some((reference, base_file))) => {
            let base = resolved(db, base_file);
            bases.push(base_file);
            bases.extend(base.bases.iter().copied());
            for contributing in &base.files {
                if !files.contains(contributing) {
                    files.push(*contributing);
                }
            }
            match &base.root {
                Some(base_root) if base_root.as_mapping().is_some() => {
                    Some(merge(base_root.clone(), root))
                }
                Some(base_root) => {
                    diagnostics.push(
                        Diagnostic::at(
                            Code::BaseNotMapping,
                            reference.span,
                            format!("base pipeline `{}` is not a mapping", reference.written),
                        )
                        .with_secondary(
                            base_root.span,
                            format!("this is {}", base_root.type_name()),
                        )
                        .with_help("a base pipeline must be a mapping of sections"),
                    );
                    Some(root)
                }
                None => Some(root),
            }
        }
        (root, _) => root,
    };
    Arc::new(Resolved {
        root,
        files,
        bases,
        diagnostics,
    })
}

/// Deep merge: mappings merge key by key and `derived` wins; lists and scalars replace.
/// Keys keep the derived file's order; keys only the base has follow, in the base's order.
pub fn merge(base: Node, derived: Node) -> Node {
    match (base.kind, derived.kind) {
        (NodeKind::Mapping(base_mapping), NodeKind::Mapping(derived_mapping)) => {
            let mut base_entries = base_mapping.entries;
            let mut entries: Vec<Entry> =
                Vec::with_capacity(base_entries.len() + derived_mapping.entries.len());
            for derived_entry in derived_mapping.entries {
                match base_entries
                    .iter()
                    .position(|entry| entry.key == derived_entry.key)
                {
                    Some(position) => {
                        let base_entry = base_entries.remove(position);
                        entries.push(Entry {
                            key: derived_entry.key,
                            key_span: derived_entry.key_span,
                            value: merge(base_entry.value, derived_entry.value),
                        });
                    }
                    None => entries.push(derived_entry),
                }
            }
            entries.extend(base_entries);
            Node {
                kind: NodeKind::Mapping(Mapping { entries }),
                span: derived.span,
            }
        }
        (_, kind) => Node {
            kind,
            span: derived.span,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            join_relative("pipelines/a.yaml", "../includes/s.yaml").as_deref(),
            Some("includes/s.yaml")
        );
        assert_eq!(join_relative("pipelines/a.yaml", "../../x.yaml"), None);
        assert_eq!(join_relative("pipelines/a.yaml", "/etc/x.yaml"), None);
        assert_eq!(
            relative_from("pipelines/a.yaml", "includes/s.yaml"),
            "../includes/s.yaml"
        );
        assert_eq!(
            relative_from("a.yaml", "includes/s.yaml"),
            "includes/s.yaml"
        );
    }
}
