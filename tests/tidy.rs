//! Repository hygiene: every Rust module documents its purpose (STYLE.md §2), and no crate's
//! modules depend on each other in a cycle (a module and its siblings form a DAG, at every level).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose module graphs must be acyclic.
const CRATES: &[&str] = &[
    "src",
    "contract/src",
    "compiler/src",
    "host/src",
    "runtime/src",
    "lsp/src",
];

fn rust_files(directory: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for source in CRATES {
        rust_files(&root.join(source), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc comment: {missing:?}"
    );
}

/// The module path of a file under a crate's `src` (`steps/model.rs` -> `steps::model`,
/// `steps/mod.rs` -> `steps`, `lib.rs` -> the root, empty).
fn module_of(source: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(source).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Module paths a file refers to through `crate::` and `super::` paths, resolved to modules
/// that exist (the longest existing prefix). Test modules (`#[cfg(test)]` to the end of the
/// file, by convention) do not count.
fn references(
    text: &str,
    own: &[String],
    is_dir_module: bool,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    // Comments (and doc links in them) are not dependencies.
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut found = BTreeSet::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("crate::") || word.starts_with("super::"))
        .collect();
    for word in words {
        let mut segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
        // `super` is the parent of the file's module; a `mod.rs` is its own module.
        let mut base: Vec<String> = if segments[0] == "crate" {
            segments.remove(0);
            Vec::new()
        } else {
            let mut base = own.to_vec();
            let _ = is_dir_module;
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            base
        };
        let mut best = None;
        for segment in segments {
            base.push(segment.to_string());
            if modules.contains(&base) {
                best = Some(base.clone());
            }
        }
        if let Some(target) = best {
            found.insert(target);
        }
    }
    found
}

/// A cycle among the children of one module, if any (depth-first search).
fn find_cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, edges, &mut state, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_crate_has_a_module_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for source in CRATES {
        let source = root.join(source);
        let mut files: Vec<PathBuf> = Vec::new();
        rust_files(&source, &mut files);
        let modules: BTreeSet<Vec<String>> =
            files.iter().map(|file| module_of(&source, file)).collect();
        // Edges between siblings: a reference from A to B counts for the children of their
        // deepest common ancestor that hold A and B.
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for file in &files {
            let own = module_of(&source, file);
            let is_dir_module = file.file_name().is_some_and(|n| n == "mod.rs");
            let text = std::fs::read_to_string(file).unwrap();
            for target in references(&text, &own, is_dir_module, &modules) {
                let common = own.iter().zip(&target).take_while(|(a, b)| a == b).count();
                if common == own.len() || common == target.len() {
                    continue; // a module using its own descendant or ancestor
                }
                let from = own[..=common].to_vec();
                let to = target[..=common].to_vec();
                edges.entry(from).or_default().insert(to);
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let shown: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            cycles.push(format!("{}: {}", source.display(), shown.join(" -> ")));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_sees_cycles() {
    let modules: BTreeSet<Vec<String>> = [vec!["a".to_string()], vec!["b".to_string()]]
        .into_iter()
        .collect();
    let a = references("use crate::b::Thing;", &["a".into()], false, &modules);
    let b = references("fn f() { super::a::g() }", &["b".into()], false, &modules);
    let mut edges = BTreeMap::new();
    edges.insert(vec!["a".to_string()], a);
    edges.insert(vec!["b".to_string()], b);
    assert!(find_cycle(&edges).is_some());
}
