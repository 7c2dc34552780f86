//! The documentation promises only what this build runs: every adapter a README names in YAML
//! (`framework:`, `registry:`, `destination:`, `type:`, `provider:`) is available, and the
//! schema descriptions of `framework` and `registry` name exactly the available ones.

use std::path::Path;

use mbt_compiler::contract::adapters::{self, AdapterKind};
use mbt_compiler::schema::pipeline_schema;

fn readmes() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![
        root.join("README.md"),
        root.join("editors/vscode/README.md"),
    ];
    for example in std::fs::read_dir(root.join("examples")).unwrap() {
        let readme = example.unwrap().path().join("README.md");
        if readme.is_file() {
            found.push(readme);
        }
    }
    found
}

/// `key: value` pairs of a text where the value is a plain word (YAML, not prose).
fn settings<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let pattern = format!("{key}: ");
    text.match_indices(&pattern)
        .filter_map(|(index, _)| {
            let value = &text[index + pattern.len()..];
            let word: &str = value
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()?;
            (!word.is_empty()).then_some(word)
        })
        .collect()
}

#[test]
fn readmes_name_only_adapters_this_build_runs() {
    let mut named = 0;
    for path in readmes() {
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: [(&str, &[AdapterKind]); 5] = [
            ("framework", &[AdapterKind::Framework]),
            ("registry", &[AdapterKind::ModelRegistry]),
            ("destination", &[AdapterKind::OutputWriter]),
            ("provider", &[AdapterKind::Secrets]),
            (
                "type",
                &[
                    AdapterKind::Storage,
                    AdapterKind::DataConnector,
                    AdapterKind::ModelRegistry,
                    AdapterKind::OutputWriter,
                    AdapterKind::Executor,
                ],
            ),
        ];
        for (key, kinds) in kinds {
            for name in settings(&text, key) {
                // `type:` also types other things (validation checks); only adapters count.
                let known = kinds
                    .iter()
                    .any(|kind| adapters::adapter(*kind, name).is_some());
                if key == "type" && !known {
                    continue;
                }
                named += 1;
                let available = kinds
                    .iter()
                    .any(|kind| adapters::available_names(*kind).contains(&name));
                assert!(
                    available,
                    "{} names {key} `{name}`, which this build does not run",
                    path.display()
                );
            }
        }
    }
    assert!(
        named >= 4,
        "found only {named} adapter names in the READMEs"
    );
}

#[test]
fn schema_descriptions_name_exactly_the_available_adapters() {
    let schema = pipeline_schema();
    let definitions = &schema["definitions"];
    for (definition, property, kind) in [
        ("ModelTraining", "framework", AdapterKind::Framework),
        ("ModelSource", "registry", AdapterKind::ModelRegistry),
        ("Output", "destination", AdapterKind::OutputWriter),
    ] {
        let description = definitions[definition]["properties"][property]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{definition}.{property} has no description"));
        for spec in adapters::of_kind(kind) {
            let mentioned = description.contains(&format!("`{}`", spec.name));
            assert_eq!(
                mentioned,
                spec.available,
                "{definition}.{property}: `{}` is {}available but {}mentioned: {description}",
                spec.name,
                if spec.available { "" } else { "not " },
                if mentioned { "" } else { "not " }
            );
        }
    }
}
