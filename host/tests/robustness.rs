//! No input makes the compiler panic: every prefix of the example project's files, and a set of
//! hostile snippets, go through the whole check (parse, compose, validate, profile, DAG, manifest).

use std::path::Path;

use mbt_compiler::queries::check::check_project;
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::queries::parse::pipeline_index;
use mbt_compiler::{Database, Db, Settings};

/// The example project's sources, as every host reads them.
fn example_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/telecom-churn");
    mbt_host::source_files(&root)
        .iter()
        .map(|path| {
            let text = mbt_host::read_source(path).unwrap().text.to_string();
            (mbt_host::relative_path(&root, path), text)
        })
        .collect()
}

fn check_everything(db: &Database) {
    check_project(db, None);
    let index = pipeline_index(db, db.project());
    for file in index.by_name.values() {
        let _ = manifest(db, *file);
    }
}

#[test]
fn every_prefix_of_every_example_file_is_handled() {
    let files = example_files();
    let mut db = Database::new(Settings::default());
    db.set_files(files.iter().map(|(p, t)| (p.clone(), t.as_str().into())));
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .step_by(3)
            .collect();
        for end in boundaries {
            if path == "profiles.yaml" {
                db.set_profiles(Some(("profiles.yaml", text[..end].into())));
            } else {
                db.set_file(path, &text[..end]);
            }
            check_everything(&db);
        }
        if path == "profiles.yaml" {
            db.set_profiles(Some(("profiles.yaml", text.as_str().into())));
        } else {
            db.set_file(path, text.as_str());
        }
    }
}

#[test]
fn hostile_snippets_are_handled() {
    let snippets = [
        "",
        "\u{feff}",
        "~",
        "[]",
        "- a\n- b",
        "schema_version: [1]",
        "training: !include .",
        "training: !include ''",
        "base_pipeline: p",
        "base_pipeline: ''",
        "a: &x {b: *x}",
        "training: {schema: {target: {classes: 1}}}",
        "training:\n  data_source: {feature_tables: [1, {table: [x]}]}",
        "project: {name: {{ x }}}",
        "project: {name: \"{{ var( }}\"}",
        "project: {name: \"{% for %}\"}",
        "training: {validation: {checks: [{type: 3}]}}",
        "training: {model_training: {framework: smartcore, config: {model: [1]}}}",
        "serving: {output: {columns: []}}",
        "\t- x",
        "a: 1\n---\nb: 2\n---\n",
        "? [x]\n: 1",
        "key: \"\\ud800\"",
        "x: !!binary aGk=",
        "schema_version: 99999999999999999999",
    ];
    for snippet in snippets {
        let mut db = Database::new(Settings::default());
        db.set_files([
            ("pipelines/p.yaml".to_string(), snippet.into()),
            ("pipelines/_b.yaml".to_string(), snippet.into()),
            ("tests/p.test.yaml".to_string(), snippet.into()),
        ]);
        db.set_profiles(Some(("profiles.yaml", snippet.into())));
        check_everything(&db);
    }
}
