//! Every YAML example of the seed plan (`compiler/tests/fixtures/seed`), loaded from disk as
//! every host loads a project, compiles as written (the plan's success criteria); its staging
//! target names adapters this build does not run, and there `mbt check` reports a located
//! MBT2024 (what compiles, runs), and nothing else.

use std::path::Path;

use mbt_compiler::contract::adapters::AdapterKind;
use mbt_compiler::contract::manifest::StepConfig;
use mbt_compiler::diagnostics::Sources;
use mbt_compiler::diagnostics::{render::render_all, render::RenderConfig, sort_and_dedup};
use mbt_compiler::queries::check::check_project;
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_compiler::{Code, Database, Db, Settings};

/// The seed project as `mbt check` loads it (the one host), with `settings` on top.
fn load(settings: Settings) -> Database {
    load_with(settings, &[])
}

/// The seed project with some texts replaced: `(path, from, to)`, copied to a temporary folder
/// and loaded from there.
fn load_with(settings: Settings, edits: &[(&str, &str, &str)]) -> Database {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/tests/fixtures/seed");
    let dir = tempfile::tempdir().unwrap();
    for path in mbt_host::source_files(&seed) {
        let relative = mbt_host::relative_path(&seed, &path);
        let text = edited(&relative, std::fs::read_to_string(&path).unwrap(), edits);
        let target = dir.path().join(&relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    let options = mbt_host::Options {
        vars: settings.vars.clone(),
        target: settings.target.clone(),
        ..mbt_host::Options::default()
    };
    let loaded = mbt_host::load(dir.path(), &options).unwrap();
    assert!(loaded.invalid_utf8.is_empty());
    loaded.db
}

fn edited(name: &str, mut text: String, edits: &[(&str, &str, &str)]) -> String {
    for (path, from, to) in edits {
        if *path == name {
            assert!(text.contains(from), "{name} has no `{from}`");
            text = text.replace(from, to);
        }
    }
    text
}

/// Every diagnostic of the project, sorted, rendered without colour.
fn rendered(db: &Database) -> (Vec<mbt_compiler::Diagnostic>, String) {
    let mut diagnostics = check_project(db, None).diagnostics;
    sort_and_dedup(&mut diagnostics, db);
    let text = render_all(&diagnostics, db, RenderConfig { color: false });
    (diagnostics, text)
}

#[test]
fn seed_examples_compile_as_written() {
    let db = load(Settings::default());
    let (diagnostics, text) = rendered(&db);
    let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    // Serving reads `run_id` and `fallback`, given only at run time; the plan ships no data, so
    // columns are not checked, with one warning. Nothing else: H2O, scikit-learn, MLflow on
    // `sqlite:///` and the artifact snapshot all run in this build.
    assert_eq!(
        codes,
        vec![Code::VarNotSet, Code::VarNotSet, Code::CatalogUnavailable,],
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn seed_training_pipeline_has_the_full_dag() {
    let db = load(Settings::default());
    let file = db.file("pipelines/churn_training_v1.yaml").unwrap();
    let manifest = manifest(&db, file).manifest.clone().expect("compiles");
    assert_eq!(
        manifest.dag.execution_order,
        [
            "load_data",
            "join_tables",
            "validate_data",
            "transform",
            "split_data",
            "normalize",
            "select_features",
            "train_model",
            "evaluate",
            "log_run"
        ]
    );
    assert_eq!(
        manifest.steps["train_model"].adapters[&AdapterKind::Framework],
        "h2o_automl"
    );
}

#[test]
fn seed_staging_target_names_what_this_build_cannot_run() {
    let db = load(Settings {
        target: Some("staging".into()),
        ..Settings::default()
    });
    let profile = resolved_profile(&db, db.project());
    let located: Vec<(Code, u32)> = profile
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.span.expect("located");
            (d.code, db.line_column(span.file, span.start).line)
        })
        .collect();
    // The kubernetes executor runs but needs the pods' `image`, which the plan's "config only"
    // executor leaves out; snowflake is not in this build (s3 and MLflow run); the Snowflake
    // account is a secret reference, so no credential error.
    assert_eq!(
        located,
        vec![(Code::MissingKey, 27), (Code::NotAvailable, 36)],
        "{:#?}",
        profile.diagnostics
    );
    assert!(profile.settings.is_none());
}

#[test]
fn seed_serving_pipeline_compiles_with_a_run_id() {
    let vars = [("run_id".to_string(), "abc123def456".to_string())].into();
    let db = load(Settings {
        vars,
        ..Settings::default()
    });
    let file = db.file("pipelines/churn_serving_v1.yaml").unwrap();
    let manifest = manifest(&db, file).manifest.clone().expect("compiles");
    let StepConfig::LoadModel(load) = &manifest.steps["load_model"].config else {
        panic!("load_model holds another config");
    };
    assert_eq!(load.run_id.as_deref(), Some("abc123def456"));
    // `fallback` is still unset: its reference stays for the runtime.
    assert_eq!(
        load.fallback_run_id.as_deref(),
        Some("{{ var('fallback') }}")
    );
    // Scoring reads the training run's partition key (for its lookback window) from the model.
    assert_eq!(
        manifest.dag.execution_batches[..2],
        [vec!["load_model"], vec!["load_scoring_data"]]
    );
}
