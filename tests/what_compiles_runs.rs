//! What compiles, runs: every pipeline of every example project and of the seed plan, for every
//! target of its profiles, either checks clean and is runnable by this build (the runtime's
//! registry builds its target's adapters and has every adapter its steps name), or `mbt check`
//! reported why, with a located, coded error. Secret values never reach a manifest.

use std::path::{Path, PathBuf};

use mbt_compiler::contract::adapters::AdapterKind;
use mbt_compiler::contract::manifest::{parse_manifest, StepConfig};
use mbt_compiler::diagnostics::{Diagnostic, Severity};
use mbt_compiler::queries::check::pipeline_diagnostics;
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::queries::parse::{parse_file, pipeline_index};
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_compiler::yaml::Node;
use mbt_compiler::{Database, Db};
use mbt_runtime::adapters::Registry;

/// A value every `secret()` and `env_var()` of the projects reads, which no manifest may hold.
const SENTINEL: &str = "sentinel-5e3c7a";

fn projects() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("examples/telecom-churn"),
        root.join("examples/wine-quality"),
        root.join("compiler/tests/fixtures/seed"),
    ]
}

/// The names a project's YAML passes to `secret()` or `env_var()`.
fn referenced_names(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for path in mbt_host::source_files(root) {
        let text = std::fs::read_to_string(&path).unwrap();
        for function in ["secret('", "env_var('"] {
            for (index, _) in text.match_indices(function) {
                let rest = &text[index + function.len()..];
                if let Some(end) = rest.find('\'') {
                    names.push(rest[..end].to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn load(root: &Path, target: Option<&str>) -> Database {
    let mut options = mbt_host::Options {
        target: target.map(str::to_string),
        ..mbt_host::Options::default()
    };
    for name in referenced_names(root) {
        options.env.insert(name, SENTINEL.to_string());
    }
    mbt_host::load(root, &options).unwrap().db
}

/// The targets of the profile a project compiles with (the built-in `dev` without profiles).
fn targets(db: &Database) -> Vec<String> {
    let profile = resolved_profile(db, db.project());
    let Some(file) = db.profiles_file() else {
        return vec!["dev".to_string()];
    };
    let parsed = parse_file(db, file);
    parsed
        .root
        .as_ref()
        .and_then(|root| root.get_path(&[profile.profile.as_str(), "outputs"]))
        .and_then(Node::as_mapping)
        .map(|outputs| outputs.keys().map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn every_pipeline_for_every_target_runs_or_check_says_why() {
    let registry = Registry::builtin();
    let installed = registry.installed();
    let mut checked = 0;
    let mut runnable = 0;
    for root in projects() {
        let default = load(&root, None);
        let targets = targets(&default);
        assert!(!targets.is_empty(), "{}: no targets", root.display());
        for target in targets {
            let db = load(&root, Some(&target));
            let profile = resolved_profile(&db, db.project());
            let index = pipeline_index(&db, db.project());
            for (name, file) in index.runnable() {
                checked += 1;
                let place = format!("{} --target {target}: {name}", root.display());
                let mut diagnostics: Vec<Diagnostic> =
                    pipeline_diagnostics(&db, file).iter().cloned().collect();
                diagnostics.extend(profile.diagnostics.iter().cloned());
                let errors: Vec<&Diagnostic> = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect();
                let compiled = manifest(&db, file).manifest.clone();
                match compiled {
                    None => {
                        // Refused: check said why, at a place in the sources.
                        assert!(!errors.is_empty(), "{place}: no manifest and no error");
                        assert!(
                            errors.iter().all(|d| d.span.is_some()),
                            "{place}: an error without a location: {errors:#?}"
                        );
                    }
                    Some(manifest) => {
                        assert!(errors.is_empty(), "{place}: a manifest despite {errors:#?}");
                        runnable += 1;
                        let text = manifest.to_json_string();
                        assert!(
                            !text.contains(SENTINEL),
                            "{place}: a secret in the manifest"
                        );
                        assert_eq!(parse_manifest(&text).unwrap(), manifest, "{place}");
                        // The build can run it: the target's adapters build, every adapter a
                        // step names is registered.
                        let adapters = registry.build(&manifest.profile.settings, &root);
                        assert!(adapters.is_ok(), "{place}: {:#}", adapters.err().unwrap());
                        for step in manifest.steps.values() {
                            for (kind, adapter) in &step.adapters {
                                assert!(
                                    installed
                                        .iter()
                                        .any(|i| i.kind == *kind && i.name == adapter),
                                    "{place}: step {} names {kind} `{adapter}`, not in this build",
                                    step.config.name()
                                );
                            }
                            if let StepConfig::TrainModel(train) = &step.config {
                                assert!(installed.iter().any(|i| i.kind == AdapterKind::Framework
                                    && i.name == train.model.name()));
                            }
                        }
                    }
                }
            }
        }
    }
    // The examples hold runnable pipelines on several targets; the seed plan holds refused ones.
    assert!(checked >= 20, "checked only {checked} pipelines");
    assert!(runnable >= 10, "only {runnable} runnable pipelines");
    assert!(
        runnable < checked,
        "the seed's H2O and MLflow pipelines must be refused"
    );
}
