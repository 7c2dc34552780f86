//! Protocol round-trips against the real server in process (request → response snapshots),
//! on a copy of `examples/telecom-churn`.

mod support;

use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, FoldingRangeRequest, Formatting,
    GotoDefinition, HoverRequest, InlayHintRequest, References,
};
use lsp_types::{
    CodeActionContext, CodeActionParams, CompletionParams, DocumentFormattingParams,
    DocumentSymbolParams, FoldingRangeParams, FormattingOptions, GotoDefinitionParams, HoverParams,
    InlayHintParams, Position, Range, ReferenceContext, ReferenceParams, TextDocumentIdentifier,
};
use serde_json::Value;
use support::Client;

const BASE: &str = "pipelines/_base_churn.yaml";
const GBM: &str = "pipelines/churn_gbm_v1.yaml";
const DEPENDENTS: [&str; 3] = [
    "pipelines/churn_gbm_v1.yaml",
    "pipelines/churn_forest_v1.yaml",
    "pipelines/churn_training_v1.yaml",
];

fn document(client: &Client, relative: &str) -> TextDocumentIdentifier {
    TextDocumentIdentifier {
        uri: client.uri(relative),
    }
}

fn labels(value: &Value) -> Vec<String> {
    let items = value
        .as_array()
        .cloned()
        .or_else(|| value.get("items").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            item.get("label")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn editing_a_base_publishes_its_dependents_and_fixing_it_clears_them() {
    let mut client = Client::example();
    let text = client.open(BASE);
    let clean = client.diagnostics_where(BASE, |p| p.version == Some(1));
    assert_eq!(clean.diagnostics, []);

    let broken = text.replace("primary_metric: roc_auc", "primary_metric: roc_aucc");
    client.change(BASE, &broken, 2);
    let published = client.diagnostics_where(BASE, |p| p.version == Some(2));
    insta::assert_json_snapshot!(
        "base_error",
        client.redact(&serde_json::to_value(&published).unwrap())
    );
    for dependent in DEPENDENTS {
        let pointer = client.diagnostics_where(dependent, |p| !p.diagnostics.is_empty());
        assert_eq!(pointer.diagnostics.len(), 1, "{dependent}: {pointer:?}");
        let diagnostic = &pointer.diagnostics[0];
        assert!(
            diagnostic.message.contains("pipelines/_base_churn.yaml:"),
            "{diagnostic:?}"
        );
        let related = diagnostic.related_information.as_ref().unwrap();
        assert_eq!(related[0].location.uri, client.uri(BASE));
    }
    // The independent pipeline is untouched.
    let simple = client.uri("pipelines/churn_simple_v1.yaml");
    assert!(!client.notifications.iter().any(|n| {
        n.params.get("uri").and_then(Value::as_str) == Some(simple.as_str())
            && n.params
                .get("diagnostics")
                .and_then(Value::as_array)
                .is_some_and(|d| !d.is_empty())
    }));

    client.change(BASE, &text, 3);
    let fixed = client.diagnostics_where(BASE, |p| p.version == Some(3));
    assert_eq!(fixed.diagnostics, []);
    for dependent in DEPENDENTS {
        client.diagnostics_where(dependent, |p| p.diagnostics.is_empty());
    }
    client.shutdown();
}

#[test]
fn quick_fix_for_did_you_mean() {
    let mut client = Client::example();
    let text = client.open(GBM);
    let broken = text.replace("framework: gbm", "framework: gbn");
    client.change(GBM, &broken, 2);
    let published = client.diagnostics_where(GBM, |p| p.version == Some(2));
    assert_eq!(published.diagnostics.len(), 1, "{published:?}");
    let diagnostic = published.diagnostics[0].clone();
    assert!(diagnostic.data.is_some(), "{diagnostic:?}");
    let actions = client.request::<CodeActionRequest>(CodeActionParams {
        text_document: document(&client, GBM),
        range: diagnostic.range,
        context: CodeActionContext {
            diagnostics: vec![diagnostic],
            only: None,
            trigger_kind: None,
        },
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    });
    insta::assert_json_snapshot!("quick_fix", client.redact(&actions));
    client.shutdown();
}

#[test]
fn missing_required_key_action() {
    let mut client = Client::example();
    let text = "schema_version: 1\nproject:\n  name: x\n  problem_type: regression\ntraining:\n  data_source:\n    label_table: customers\n  schema:\n    target:\n      label_column: churned\n  evaluation:\n    primary_metric: rmse\n";
    std::fs::write(client.root.join("pipelines/new.yaml"), text).unwrap();
    client.open_text("pipelines/new.yaml", text, 1);
    let published = client.diagnostics_where("pipelines/new.yaml", |p| p.version == Some(1));
    let missing: Vec<_> = published
        .diagnostics
        .iter()
        .filter(|d| d.code == Some(lsp_types::NumberOrString::String("MBT2004".into())))
        .cloned()
        .collect();
    assert!(!missing.is_empty(), "{published:?}");
    let actions = client.request::<CodeActionRequest>(CodeActionParams {
        text_document: document(&client, "pipelines/new.yaml"),
        range: missing[0].range,
        context: CodeActionContext {
            diagnostics: missing,
            only: None,
            trigger_kind: None,
        },
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    });
    insta::assert_json_snapshot!("add_missing_key", client.redact(&actions));
    client.shutdown();
}

#[test]
fn completion() {
    let mut client = Client::example();
    let text = client.open(GBM);
    let complete = |client: &mut Client, text: &str, needle: &str, shift: u32| {
        client.change(GBM, text, 2);
        let (line, character) = support::find_in(text, needle, shift);
        client.request::<Completion>(CompletionParams {
            text_document_position: client.position_params(GBM, line, character),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
            context: None,
        })
    };
    // Framework names.
    let items = complete(
        &mut client,
        &text.replace("framework: gbm", "framework: g"),
        "framework: g",
        12,
    );
    // Only the frameworks this build runs (the adapter table's available entries).
    assert_eq!(
        labels(&items),
        ["automl", "gbm", "h2o_automl", "sklearn", "smartcore"]
    );
    // The framework's config keys (gbm), without those already written.
    let typed = text.replace("      seed: 42", "      seed: 42\n      ear");
    let items = complete(&mut client, &typed, "      ear", 9);
    let keys = labels(&items);
    assert!(
        keys.contains(&"early_stopping_rounds".to_string()),
        "{keys:?}"
    );
    assert!(!keys.contains(&"seed".to_string()), "{keys:?}");
    // Keys of `training` (half-typed line).
    let typed = text.replace("training:\n", "training:\n  sp\n");
    let items = complete(&mut client, &typed, "  sp\n", 4);
    assert!(labels(&items).contains(&"split".to_string()));
    let split = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "split")
        .unwrap();
    assert!(split["documentation"]["value"].as_str().is_some());
    // Metrics for the inherited problem type (binary classification).
    let typed = text.replace(
        "training:\n",
        "training:\n  evaluation:\n    primary_metric: \n",
    );
    let items = complete(&mut client, &typed, "primary_metric: ", 16);
    let metrics = labels(&items);
    assert!(
        metrics.contains(&"roc_auc".to_string()) && !metrics.contains(&"rmse".to_string()),
        "{metrics:?}"
    );
    // Base pipelines.
    let typed = text.replace("base_pipeline: _base_churn", "base_pipeline: ");
    let items = complete(&mut client, &typed, "base_pipeline: ", 15);
    assert_eq!(labels(&items)[0], "_base_churn");
    // Tables and columns from sample_data headers.
    let typed = text.replace(
        "training:\n",
        "training:\n  data_source:\n    label_table: \n",
    );
    let items = complete(&mut client, &typed, "label_table: ", 13);
    assert!(
        labels(&items).contains(&"customer_churn_features".to_string()),
        "{items}"
    );
    let typed = text.replace(
        "training:\n",
        "training:\n  schema:\n    identifiers:\n      primary_key: \n",
    );
    let items = complete(&mut client, &typed, "primary_key: ", 13);
    assert!(
        labels(&items).contains(&"customer_id".to_string()),
        "{items}"
    );
    // !include paths.
    let typed = text.replace("training:\n", "training:\n  schema: !\n");
    let items = complete(&mut client, &typed, "schema: !", 9);
    assert!(
        labels(&items).contains(&"!include ../includes/telecom_schema.yaml".to_string()),
        "{items}"
    );
    client.shutdown();
}

#[test]
fn completion_in_tests_and_custom_functions() {
    let mut client = Client::example();
    let test_file = "tests/churn_training_v1.test.yaml";
    let text = client.open(test_file);
    let typed = format!("{text}  - type: step_exists\n    step: tr\n");
    client.change(test_file, &typed, 2);
    let (line, character) = support::find_in(&typed, "step: tr", 8);
    let items = client.request::<Completion>(CompletionParams {
        text_document_position: client.position_params(test_file, line, character),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
        context: None,
    });
    assert!(
        labels(&items).contains(&"train_model".to_string()),
        "{items}"
    );

    let training = "pipelines/churn_training_v1.yaml";
    let text = client.open(training);
    let (line, character) = support::find_in(&text, "function: lib.", 10);
    let items = client.request::<Completion>(CompletionParams {
        text_document_position: client.position_params(training, line, character),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
        context: None,
    });
    assert!(
        labels(&items).contains(&"lib.custom_validators.check_label_distribution".to_string()),
        "{items}"
    );
    client.shutdown();
}

#[test]
fn hover_shows_docs_and_the_effective_value() {
    let mut client = Client::example();
    let text = client.open(GBM);
    let (line, character) = support::find_in(&text, "project:", 2);
    let hover = client.request::<HoverRequest>(HoverParams {
        text_document_position_params: client.position_params(GBM, line, character),
        work_done_progress_params: Default::default(),
    });
    insta::assert_json_snapshot!("hover_project", hover);
    let (line, character) = support::find_in(&text, "n_estimators", 2);
    let hover = client.request::<HoverRequest>(HoverParams {
        text_document_position_params: client.position_params(GBM, line, character),
        work_done_progress_params: Default::default(),
    });
    insta::assert_json_snapshot!("hover_framework_config", hover);
    let serving = "pipelines/churn_serving_v1.yaml";
    let text = client.open(serving);
    for (needle, expected) in [
        ("var('run_id'", "= `abc123`"),
        ("var('fallback')", "is unset"),
    ] {
        let (line, character) = support::find_in(&text, needle, 2);
        let hover = client.request::<HoverRequest>(HoverParams {
            text_document_position_params: client.position_params(serving, line, character),
            work_done_progress_params: Default::default(),
        });
        let value = hover["contents"]["value"].as_str().unwrap();
        assert!(value.contains(expected), "{value}");
    }
    client.shutdown();
}

#[test]
fn definition_and_references() {
    let mut client = Client::example();
    let text = client.open(GBM);
    let definition = |client: &mut Client, text: &str, file: &str, needle: &str| {
        let (line, character) = support::find_in(text, needle, 2);
        let result = client.request::<GotoDefinition>(GotoDefinitionParams {
            text_document_position_params: client.position_params(file, line, character),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
        });
        client.redact(&result)
    };
    let base = definition(&mut client, &text, GBM, "_base_churn");
    let training = "pipelines/churn_training_v1.yaml";
    let training_text = client.open(training);
    let function = definition(
        &mut client,
        &training_text,
        training,
        "lib.custom_validators",
    );
    let base_text = client.text(BASE);
    let include = definition(&mut client, &base_text, BASE, "!include");
    // `project:` in the derived file: `owner` is inherited; its definition is in the base.
    let inherited = definition(&mut client, &text, GBM, "framework");
    insta::assert_json_snapshot!("definitions", [base, function, include, inherited]);

    let (line, character) = support::find_in(&text, "_base_churn", 2);
    let references = client.request::<References>(ReferenceParams {
        text_document_position: client.position_params(GBM, line, character),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
        context: ReferenceContext {
            include_declaration: false,
        },
    });
    let mut uris: Vec<String> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["uri"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    uris.sort();
    assert_eq!(
        uris,
        [
            "churn_automl_v1.yaml",
            "churn_forest_v1.yaml",
            "churn_gbm_v1.yaml",
            "churn_h2o_v1.yaml",
            "churn_training_v1.yaml"
        ]
    );
    client.shutdown();
}

#[test]
fn inlay_hints_show_inherited_sections() {
    let mut client = Client::example();
    client.open(GBM);
    let hints = client.request::<InlayHintRequest>(InlayHintParams {
        text_document: document(&client, GBM),
        range: Range::new(Position::new(0, 0), Position::new(100, 0)),
        work_done_progress_params: Default::default(),
    });
    insta::assert_json_snapshot!("inlay_hints", hints);
    client.shutdown();
}

#[test]
fn symbols_folding_and_formatting() {
    let mut client = Client::example();
    let text = client.open(GBM);
    let symbols = client.request::<DocumentSymbolRequest>(DocumentSymbolParams {
        text_document: document(&client, GBM),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    });
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["schema_version", "base_pipeline", "project", "training"]
    );
    let folding = client.request::<FoldingRangeRequest>(FoldingRangeParams {
        text_document: document(&client, GBM),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    });
    insta::assert_json_snapshot!("folding", folding);
    let messy = text
        .replace("project:\n", "project:   \n")
        .replace("seed: 42\n", "seed: 42  \n\n\n");
    client.change(GBM, &format!("# keep me  \n{messy}"), 2);
    let edits = client.request::<Formatting>(DocumentFormattingParams {
        text_document: document(&client, GBM),
        options: FormattingOptions {
            tab_size: 2,
            insert_spaces: true,
            ..FormattingOptions::default()
        },
        work_done_progress_params: Default::default(),
    });
    let new_text = edits[0]["newText"].as_str().unwrap();
    assert_eq!(new_text, format!("# keep me\n{text}"));
    client.shutdown();
}

#[test]
fn a_panicking_handler_answers_an_error_and_the_server_lives_on() {
    let mut client = Client::example();
    client.open(GBM);
    let params = serde_json::json!({"textDocument": {"uri": client.uri(GBM)}});
    let error = client.request_raw("mbt/debugPanic", params).unwrap_err();
    assert_eq!(error["code"], -32603);
    assert!(
        error["message"].as_str().unwrap().starts_with("MBT9001"),
        "{error}"
    );
    let symbols = client.request::<DocumentSymbolRequest>(DocumentSymbolParams {
        text_document: document(&client, GBM),
        work_done_progress_params: Default::default(),
        partial_result_params: Default::default(),
    });
    assert!(symbols.as_array().is_some_and(|s| !s.is_empty()));
    client.shutdown();
}

#[test]
fn only_the_latest_version_is_published() {
    let mut client = Client::example();
    let text = client.open(BASE);
    // Many edits in a row, valid and broken; only the state after the last one may be shown.
    for version in 2..40 {
        let edited = if version % 2 == 0 {
            text.replace("roc_auc", &format!("roc_auc{version}"))
        } else {
            text.clone()
        };
        client.change(BASE, &edited, version);
    }
    client.change(BASE, &text.replace("roc_auc", "bad_metric"), 40);
    let last = client.diagnostics_where(BASE, |p| p.version == Some(40));
    assert_eq!(last.diagnostics.len(), 1);
    assert!(last.diagnostics[0].message.contains("bad_metric"));
    // Versions never go backwards.
    let uri = client.uri(BASE);
    let versions: Vec<i64> = client
        .notifications
        .iter()
        .filter(|n| n.params.get("uri").and_then(Value::as_str) == Some(uri.as_str()))
        .filter_map(|n| n.params.get("version").and_then(Value::as_i64))
        .collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    client.shutdown();
}

#[test]
fn created_and_deleted_files_and_profiles_changes() {
    use lsp_types::notification::{DidChangeWatchedFiles, Notification as _};
    use lsp_types::{DidChangeWatchedFilesParams, FileChangeType, FileEvent};
    let mut client = Client::example();
    client.open(GBM);
    client.diagnostics_where(GBM, |p| p.version == Some(1));
    // A pipeline extending a base that does not exist yet, then the base appears.
    let orphan = "pipelines/orphan.yaml";
    std::fs::write(
        client.root.join(orphan),
        "schema_version: 1\nbase_pipeline: _later\n",
    )
    .unwrap();
    let event = |client: &Client, path: &str, typ| DidChangeWatchedFilesParams {
        changes: vec![FileEvent {
            uri: client.uri(path),
            typ,
        }],
    };
    let created = event(&client, orphan, FileChangeType::CREATED);
    client.notify(DidChangeWatchedFiles::METHOD, created);
    let published = client.diagnostics_where(orphan, |p| !p.diagnostics.is_empty());
    assert!(published
        .diagnostics
        .iter()
        .any(|d| d.message.contains("base pipeline `_later` not found")));
    std::fs::remove_file(client.root.join(orphan)).unwrap();
    let deleted = event(&client, orphan, FileChangeType::DELETED);
    client.notify(DidChangeWatchedFiles::METHOD, deleted);
    client.diagnostics_where(orphan, |p| p.diagnostics.is_empty());
    // profiles.yaml: a target that does not exist is reported in profiles.yaml.
    let profiles = client.open("profiles.yaml");
    let target = profiles
        .lines()
        .find(|l| l.trim_start().starts_with("target:"))
        .unwrap()
        .to_string();
    let broken = profiles.replacen(&target, "  target: nowhere", 1);
    client.change("profiles.yaml", &broken, 2);
    let published = client.diagnostics_where("profiles.yaml", |p| p.version == Some(2));
    assert!(
        published
            .diagnostics
            .iter()
            .any(|d| d.message.contains("target `nowhere` not found")),
        "{published:?}"
    );
    client.shutdown();
}

#[test]
fn describe_file_answers_what_the_compiler_makes_of_a_file() {
    let mut client = Client::example();
    let root = client.root.clone();
    let describe = |client: &mut Client, path: &std::path::Path| {
        let params = serde_json::json!({"textDocument": {"uri": mbt_lsp::uri::from_path(path)}});
        client.request_value("mbt/describeFile", params)
    };
    let expected = |relative: &str, kind: &str, pipeline: Option<&str>| {
        serde_json::json!({
            "root": root.to_str().unwrap(),
            "relative": relative,
            "kind": kind,
            "pipeline": pipeline,
        })
    };
    // Nothing is opened: the request needs no document and no diagnostics pass.
    std::fs::create_dir_all(root.join("target/churn_gbm_v1")).unwrap();
    std::fs::write(root.join("target/churn_gbm_v1/resolved.yaml"), "x: 1\n").unwrap();
    let cases = [
        (GBM, "pipeline", Some("churn_gbm_v1")),
        (BASE, "base", Some("_base_churn")),
        ("includes/telecom_schema.yaml", "include", None),
        ("profiles.yaml", "profiles", None),
        ("tests/churn_training_v1.test.yaml", "test", None),
        ("lib/custom_metrics.py", "other", None),
        // Skipped by the compiler's rules: never a pipeline, even under pipelines/.
        ("target/churn_gbm_v1/resolved.yaml", "other", None),
        ("pipelines/target/a.yaml", "other", None),
        // A file that does not exist yet is described by its path.
        ("pipelines/team/new_one.yml", "pipeline", Some("new_one")),
    ];
    for (relative, kind, pipeline) in cases {
        let answer = describe(&mut client, &root.join(relative));
        assert_eq!(answer, expected(relative, kind, pipeline), "{relative}");
    }

    // A project the server has not loaded: its own root, found as the CLI finds it.
    let other = tempfile::tempdir().unwrap();
    let other_root = other.path().canonicalize().unwrap();
    std::fs::create_dir_all(other_root.join("pipelines")).unwrap();
    std::fs::write(other_root.join("profiles.yaml"), "").unwrap();
    std::fs::write(other_root.join("pipelines/p.yaml"), "schema_version: 1\n").unwrap();
    let answer = describe(&mut client, &other_root.join("pipelines/p.yaml"));
    assert_eq!(answer["root"], other_root.to_str().unwrap());
    assert_eq!(answer["pipeline"], "p");

    // Outside any project (no profiles.yaml, or pyproject.toml beside pipelines/, above it): null.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("a.yaml"), "x: 1\n").unwrap();
    let answer = describe(&mut client, &outside.path().join("a.yaml"));
    assert_eq!(answer, Value::Null);
    let untitled = serde_json::json!({"textDocument": {"uri": "untitled:Untitled-1"}});
    assert_eq!(
        client.request_value("mbt/describeFile", untitled),
        Value::Null
    );
    let error = client
        .request_raw("mbt/describeFile", serde_json::json!({"uri": "file:///x"}))
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");

    client.shutdown();
}

#[test]
fn a_client_that_registers_watchers_dynamically_is_asked_to_watch_sources_and_data() {
    let dir = support::example_copy();
    let root = dir.path().canonicalize().unwrap();
    let capabilities = lsp_types::ClientCapabilities {
        workspace: Some(lsp_types::WorkspaceClientCapabilities {
            did_change_watched_files: Some(lsp_types::DidChangeWatchedFilesClientCapabilities {
                dynamic_registration: Some(true),
                relative_pattern_support: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut client = Client::start_with(&root, capabilities);
    // Any request round trip lets the registration (sent right after `initialized`) arrive.
    client.open(GBM);
    client.diagnostics_where(GBM, |_| true);
    let registration = client
        .requests
        .iter()
        .find(|request| request.method == "client/registerCapability")
        .expect("the server registers its file watchers");
    let globs: Vec<&str> = registration.params["registrations"][0]["registerOptions"]["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|watcher| watcher["globPattern"].as_str().unwrap())
        .collect();
    assert_eq!(
        globs,
        [
            "**/*.yaml",
            "**/*.yml",
            "**/*.py",
            "**/pyproject.toml",
            "**/*.csv",
            "**/*.parquet"
        ]
    );
    client.shutdown();
}

#[test]
fn columns_from_the_data_catalog_in_hover_completion_and_watched_data() {
    use lsp_types::notification::{DidChangeWatchedFiles, Notification as _};
    use lsp_types::{DidChangeWatchedFilesParams, FileChangeType, FileEvent};
    let mut client = Client::example();
    let training = "pipelines/churn_training_v1.yaml";
    let text = client.open(training);
    let published = client.diagnostics_where(training, |p| p.version == Some(1));
    assert!(published.diagnostics.is_empty(), "{published:?}");

    // Hover on a column reference: its type, missing share and table.
    let (line, character) = support::find_in(&text, "column: monthly_charges", 10);
    let hover = client.request::<HoverRequest>(HoverParams {
        text_document_position_params: client.position_params(training, line, character),
        work_done_progress_params: Default::default(),
    });
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains(
            "column `monthly_charges`: float · 0.0% missing · table `customer_churn_features`"
        ),
        "{value}"
    );

    // Completion offers the columns that exist at that point: the joined table's too, and the
    // columns the declared transform adds for normalization.
    let complete_in = |client: &mut Client, typed: &str, version: i32| {
        client.change(training, typed, version);
        let (line, character) = support::find_in(typed, "columns: []", 10);
        client.request::<Completion>(CompletionParams {
            text_document_position: client.position_params(training, line, character),
            work_done_progress_params: Default::default(),
            partial_result_params: Default::default(),
            context: None,
        })
    };
    let typed = text.replace(
        "      - type: custom\n",
        "      - type: unique_key\n        columns: []\n      - type: custom\n",
    );
    let items = complete_in(&mut client, &typed, 2);
    let columns = labels(&items);
    assert!(
        columns.contains(&"senior_citizen".to_string())
            && !columns.contains(&"recency".to_string()),
        "{columns:?}"
    );
    let senior = items
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["label"] == "senior_citizen")
        .unwrap();
    assert_eq!(
        senior["detail"],
        "integer · 0.0% missing · values 0, 1 · table `customer_demographics`"
    );
    let typed = text.replace(
        "      method: standard_scaler\n",
        "      method: standard_scaler\n      columns: []\n",
    );
    let items = complete_in(&mut client, &typed, 3);
    assert!(labels(&items).contains(&"recency".to_string()), "{items}");
    client.change(training, &text, 4);
    client.diagnostics_where(training, |p| {
        p.version == Some(4) && p.diagnostics.is_empty()
    });

    // A column renamed in the data file: the watched change re-reads the table and the
    // reference becomes an error, with the new name suggested.
    let csv = client.root.join("sample_data/customer_churn_features.csv");
    let data = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, data.replacen("monthly_charges", "monthly_charge", 1)).unwrap();
    client.notify(
        DidChangeWatchedFiles::METHOD,
        DidChangeWatchedFilesParams {
            changes: vec![FileEvent {
                uri: client.uri("sample_data/customer_churn_features.csv"),
                typ: FileChangeType::CHANGED,
            }],
        },
    );
    let published = client.diagnostics_where(training, |p| !p.diagnostics.is_empty());
    let diagnostic = published
        .diagnostics
        .iter()
        .find(|d| d.message.contains("`monthly_charges`"))
        .unwrap_or_else(|| panic!("{published:?}"));
    assert_eq!(
        diagnostic.code,
        Some(lsp_types::NumberOrString::String("MBT2402".into()))
    );
    assert_eq!(
        diagnostic.range.start.line,
        line_of(&text, "column: monthly_charges")
    );
    client.shutdown();
}

fn line_of(text: &str, needle: &str) -> u32 {
    support::find_in(text, needle, 0).0
}
