//! The data catalog on the example project: a changed CSV header re-checks exactly the
//! pipelines that read the table (asserted from salsa events), and a removed column becomes an
//! error at the reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mbt_compiler::queries::check::check_project;
use mbt_compiler::{Code, Database};
use mbt_host::catalog::load_catalog;
use mbt_host::{load, Options};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/telecom-churn")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// How many times each query ran since the last call, by query name.
fn executed(db: &Database) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in db.take_executed() {
        let name = event.split('(').next().unwrap_or(&event).to_string();
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

/// Replaces the first line (the header) of a CSV file.
fn rewrite_header(path: &Path, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    std::fs::write(path, format!("{}\n{rest}", edit(header))).unwrap();
}

#[test]
fn a_header_change_rechecks_only_the_pipelines_that_read_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    copy_dir(&example(), &root);
    let options = Options {
        query_log: true,
        ..Options::default()
    };
    let mut loaded = load(&root, &options).unwrap();
    loaded.catalog.as_ref().unwrap().save(&root).unwrap();
    let report = check_project(&loaded.db, None);
    assert!(
        report.diagnostics.is_empty(),
        "the example checks clean: {:?}",
        report.diagnostics
    );
    assert!(root.join("target/catalog.json").is_file());
    executed(&loaded.db);

    // Unchanged data: reading the catalog again re-checks nothing.
    load_catalog(&mut loaded.db, &root, false);
    check_project(&loaded.db, None);
    assert_eq!(executed(&loaded.db).get("column_check"), None);

    // customer_demographics is joined by churn_training_v1 alone.
    rewrite_header(
        &root.join("sample_data/customer_demographics.csv"),
        |header| header.replace("senior_citizen", "senior"),
    );
    let read = load_catalog(&mut loaded.db, &root, false).unwrap();
    assert_eq!(read.refreshed, ["customer_demographics"]);
    read.save(&root).unwrap();
    check_project(&loaded.db, None);
    let counts = executed(&loaded.db);
    assert_eq!(counts.get("column_check"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("validated"), None, "{counts:?}");

    // Renaming the label in the table every training pipeline but churn_simple_v1 reads.
    rewrite_header(
        &root.join("sample_data/customer_churn_features.csv"),
        |header| header.replace("churned", "churn"),
    );
    load_catalog(&mut loaded.db, &root, false);
    let report = check_project(&loaded.db, None);
    let counts = executed(&loaded.db);
    assert_eq!(counts.get("column_check"), Some(&5), "{counts:?}");
    let missing: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownColumn)
        .map(|d| d.message.clone())
        .collect();
    assert!(
        !missing.is_empty() && missing.iter().all(|m| m.contains("`churned`")),
        "{missing:?}"
    );
    assert!(report
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownColumn)
        .all(|d| d.help.as_deref() == Some("did you mean `churn`?")));
}
