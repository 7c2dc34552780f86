//! The early cold-start pass: for a pipeline that nothing else refers to, the diagnostics of
//! `compute_standalone` are exactly what the whole-project pass publishes for it; files that
//! others can contribute to (bases, referenced pipelines) are left to the whole-project pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mbt_compiler::Db;
use mbt_lsp::diagnostics::{compute, compute_standalone};
use mbt_lsp::workspace::{CompileOptions, ProjectHost};

fn copy(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().flatten() {
        let relative = entry.path().strip_prefix(from).unwrap();
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn host() -> (tempfile::TempDir, ProjectHost) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/telecom-churn");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for part in ["pipelines", "includes", "lib"] {
        copy(&example.join(part), &root.join(part));
    }
    for file in ["profiles.yaml", "pyproject.toml"] {
        std::fs::copy(example.join(file), root.join(file)).unwrap();
    }
    let options = CompileOptions::default();
    let host = ProjectHost::load(root, options);
    (dir, host)
}

fn edit(host: &mut ProjectHost, path: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(host.root.join(path)).unwrap();
    assert!(text.contains(from), "{path} has {from}");
    host.set_text(path, text.replacen(from, to, 1));
}

#[test]
fn standalone_pipelines_get_the_full_pass_diagnostics() {
    let (_dir, mut host) = host();
    // An error in the pipeline itself, one in its base (shown at `base_pipeline`), and an
    // invalid name that makes a pipeline refer to another.
    edit(
        &mut host,
        "pipelines/churn_gbm_v1.yaml",
        "      method: one_hot",
        "      method: one_hott",
    );
    edit(
        &mut host,
        "pipelines/_base_churn.yaml",
        "primary_metric: roc_auc",
        "primary_metric: roc_aucc",
    );
    edit(
        &mut host,
        "pipelines/churn_forest_v1.yaml",
        "base_pipeline: _base_churn",
        "base_pipeline: churn_training_v1",
    );
    let paths: BTreeSet<String> = host
        .db
        .project()
        .files(&host.db)
        .keys()
        .filter(|path| path.starts_with("pipelines/"))
        .cloned()
        .collect();
    let full = compute(&host.db, &host.root, &host.invalid_utf8, &paths);
    let early = compute_standalone(&host.db, &host.root, &host.invalid_utf8, &paths);
    let published: BTreeSet<&str> = early.keys().map(String::as_str).collect();
    assert!(
        published.contains("pipelines/churn_gbm_v1.yaml"),
        "{published:?}"
    );
    assert!(!published.contains("pipelines/_base_churn.yaml"));
    assert!(!published.contains("pipelines/churn_training_v1.yaml"));
    let gbm = &early["pipelines/churn_gbm_v1.yaml"];
    assert!(gbm.len() >= 2, "own error and the base's pointer: {gbm:#?}");
    let empty = Vec::new();
    let mut compared = BTreeMap::new();
    for (path, diagnostics) in &early {
        assert_eq!(
            diagnostics,
            full.files.get(path).unwrap_or(&empty),
            "{path}"
        );
        compared.insert(path, diagnostics.len());
    }
    assert!(!compared.is_empty());
}
