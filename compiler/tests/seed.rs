//! Every YAML example of the seed plan compiles as written (the plan's success criteria).

use std::path::Path;

use mbt_compiler::diagnostics::{
    render::render_all, render::RenderConfig, sort_and_dedup, Severity,
};
use mbt_compiler::queries::check::check_project;
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::{Code, Database, Settings};

fn load(settings: Settings) -> Database {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let mut db = Database::new(Settings {
        project_name: Some("telecom-churn-example".into()),
        ..settings
    });
    let mut files = Vec::new();
    for directory in ["pipelines", "includes", "lib", "tests"] {
        for entry in std::fs::read_dir(root.join(directory)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = format!(
                "{directory}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            files.push((name, text.into()));
        }
    }
    db.set_files(files);
    let profiles = std::fs::read_to_string(root.join("profiles.yaml")).unwrap();
    db.set_profiles(Some(("profiles.yaml", profiles.into())));
    db
}

#[test]
fn seed_examples_have_no_errors() {
    let db = load(Settings::default());
    let mut diagnostics = check_project(&db, None).diagnostics;
    sort_and_dedup(&mut diagnostics, &db);
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    assert!(
        errors.is_empty(),
        "{}",
        render_all(&errors, &db, RenderConfig { color: false })
    );
    // The serving example reads `run_id` and `fallback`, given only at run time.
    let warnings: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(warnings, vec![Code::VarNotSet, Code::VarNotSet]);
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
        manifest.steps["train_model"].adapters["framework"],
        "h2o_automl"
    );
}

#[test]
fn seed_targets_change_the_manifest() {
    for (target, executor) in [("dev", "local"), ("staging", "kubernetes")] {
        let db = load(Settings {
            target: Some(target.into()),
            ..Settings::default()
        });
        let file = db.file("pipelines/churn_h2o_v1.yaml").unwrap();
        let manifest = manifest(&db, file).manifest.clone().expect("compiles");
        assert_eq!(manifest.metadata.target, target);
        assert_eq!(manifest.profile.config["executor"]["type"], executor);
        if target == "staging" {
            assert_eq!(
                manifest.profile.config["data_connector"]["config"]["account"],
                "{{ secret('SNOWFLAKE_ACCOUNT') }}"
            );
            assert_eq!(manifest.secrets, vec!["SNOWFLAKE_ACCOUNT"]);
        }
    }
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
    assert_eq!(
        manifest.steps["load_model"].config["run_id"],
        "abc123def456"
    );
    // `fallback` is still unset: its reference stays for the runtime.
    assert_eq!(
        manifest.steps["load_model"].config["fallback_run_id"],
        "{{ var('fallback') }}"
    );
    // Scoring reads the training run's partition key (for its lookback window) from the model.
    assert_eq!(
        manifest.dag.execution_batches[..2],
        [vec!["load_model"], vec!["load_scoring_data"]]
    );
}
