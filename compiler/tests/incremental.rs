//! Editing one file re-runs only the queries that depend on it (asserted from salsa events).

use mbt_compiler::diagnostics::Sources;
use mbt_compiler::queries::check::{check_project, prefetch_pipelines};
use mbt_compiler::{Database, Settings};

const BASE: &str = "schema_version: 1\nproject:\n  problem_type: binary_classification\ntraining:\n  data_source:\n    label_table: t\n  schema: !include ../includes/schema.yaml\n  model_training:\n    framework: gbm\n";
const SCHEMA: &str = "target:\n  label_column: y\n  classes: [0, 1]\n  positive_class: 1\n";

fn pipeline(name: &str, test_size: f64) -> String {
    format!("schema_version: 1\nbase_pipeline: _base\nproject:\n  name: {name}\ntraining:\n  split:\n    test_size: {test_size}\n")
}

fn project() -> Database {
    let mut db = Database::with_query_log(Settings::default());
    db.set_files([
        ("pipelines/_base.yaml".to_string(), BASE.into()),
        ("includes/schema.yaml".to_string(), SCHEMA.into()),
        ("pipelines/a.yaml".to_string(), pipeline("a", 0.2).into()),
        ("pipelines/b.yaml".to_string(), pipeline("b", 0.2).into()),
        ("pipelines/c.yaml".to_string(), pipeline("c", 0.2).into()),
    ]);
    let report = check_project(&db, None);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    db.take_executed();
    db
}

/// How many times each query ran, by query name.
fn executed(db: &Database) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for event in db.take_executed() {
        let name = event.split('(').next().unwrap_or(&event).to_string();
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

#[test]
fn unchanged_project_recomputes_nothing() {
    let db = project();
    check_project(&db, None);
    assert!(executed(&db).is_empty());
}

#[test]
fn editing_one_pipeline_revalidates_only_it() {
    let mut db = project();
    db.set_file("pipelines/b.yaml", pipeline("b", 0.3));
    check_project(&db, None);
    let counts = executed(&db);
    assert_eq!(counts.get("parse_file"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("validated"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("pipeline_diagnostics"), Some(&1), "{counts:?}");
}

#[test]
fn editing_the_base_revalidates_its_dependents() {
    let mut db = project();
    db.set_file(
        "pipelines/_base.yaml",
        BASE.replace("label_table: t", "label_table: u"),
    );
    check_project(&db, None);
    let counts = executed(&db);
    assert_eq!(counts.get("parse_file"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("validated"), Some(&3), "{counts:?}");
}

#[test]
fn a_whitespace_edit_in_the_include_moves_spans_downstream() {
    let mut db = project();
    // Same tree, different spans: the include is re-parsed, and everything downstream re-runs
    // because spans are part of the result (diagnostics must point at the new positions).
    db.set_file("includes/schema.yaml", format!("\n{SCHEMA}"));
    check_project(&db, None);
    let counts = executed(&db);
    assert_eq!(counts.get("parse_file"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("validated"), Some(&3), "{counts:?}");
}

#[test]
fn prefetching_on_all_cores_validates_each_pipeline_once_and_changes_nothing() {
    let mut db = project();
    // Break the base (every dependent reports it) and one pipeline (only it).
    db.set_file(
        "pipelines/_base.yaml",
        BASE.replace("framework: gbm", "framework: gmb"),
    );
    db.set_file("pipelines/b.yaml", pipeline("b", 1.5));
    prefetch_pipelines(&db);
    let prefetched = executed(&db);
    let report = check_project(&db, None);
    // The check read the prefetched results: nothing ran twice, and nothing ran after.
    assert_eq!(prefetched.get("validated"), Some(&3), "{prefetched:?}");
    assert_eq!(
        prefetched.get("pipeline_diagnostics"),
        Some(&3),
        "{prefetched:?}"
    );
    let after = executed(&db);
    assert!(
        !after.contains_key("validated") && !after.contains_key("pipeline_diagnostics"),
        "{after:?}"
    );
    // The same diagnostics as a database that checked without prefetching.
    let mut plain = Database::new(Settings::default());
    plain.set_files([
        (
            "pipelines/_base.yaml".to_string(),
            BASE.replace("framework: gbm", "framework: gmb").into(),
        ),
        ("includes/schema.yaml".to_string(), SCHEMA.into()),
        ("pipelines/a.yaml".to_string(), pipeline("a", 0.2).into()),
        ("pipelines/b.yaml".to_string(), pipeline("b", 1.5).into()),
        ("pipelines/c.yaml".to_string(), pipeline("c", 0.2).into()),
    ]);
    let expected = check_project(&plain, None);
    let render = |diagnostics: &[mbt_compiler::Diagnostic], db: &Database| -> Vec<String> {
        diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} {} {:?}",
                    d.code.as_str(),
                    d.message,
                    d.span.map(|s| db.path(s.file).to_string())
                )
            })
            .collect()
    };
    assert!(!expected.diagnostics.is_empty());
    assert_eq!(
        render(&report.diagnostics, &db),
        render(&expected.diagnostics, &plain)
    );
}
