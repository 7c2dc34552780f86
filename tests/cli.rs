//! End-to-end tests of the `mbt` binary: each runs the real executable in a temporary directory
//! with a clean environment and asserts exit code, stdout and stderr.
//!
//! Also the contract files: golden manifests of `examples/telecom-churn` (`UPDATE_GOLDEN=1`
//! rewrites them) and the JSON Schemas in `schemas/` (`UPDATE_SCHEMAS=1` rewrites them).
//! Snapshots live in `tests/snapshots/`; review changes with `cargo insta review`.

mod util;

use std::path::PathBuf;

use serde_json::{json, Value};
use util::{edit, env_flag, execution_order, read_manifest, repo_root, Sandbox};

const EXAMPLE: &str = "telecom-churn";

/// The steps of `churn_training_v1`, in execution order.
const TRAINING_STEPS: &[&str] = &[
    "load_data",
    "join_tables",
    "validate_data",
    "transform",
    "split_data",
    "normalize",
    "select_features",
    "train_model",
    "evaluate",
    "log_run",
];

/// Binds the serving pipeline's variables so `check` reports no MBT2102 warnings.
const ALL_VARS: &str = "run_id=r1,fallback=r0";

// ---------------------------------------------------------------------------------------------
// mbt init

#[test]
fn init_creates_a_project_that_checks_compiles_and_tests() {
    let sandbox = Sandbox::new();
    let init = sandbox.mbt(sandbox.path()).args(["init", "demo"]).run();
    insta::assert_snapshot!(init.success(), @r"
    exit code: 0
    ----- stdout -----
    created project `demo` in demo
    next: cd demo && mbt check && mbt test && mbt run
    ----- stderr -----
    ");
    let project = sandbox.path().join("demo");

    let check = sandbox.mbt(&project).args(["check"]).run();
    insta::assert_snapshot!(check.success(), @r"
    exit code: 0
    ----- stdout -----
    ----- stderr -----
    checked 2 pipeline(s) and 1 test file(s): 0 errors, 0 warnings
    ");

    let compile = sandbox.mbt(&project).args(["compile", "training_v1"]).run();
    compile.success();
    assert!(
        compile
            .stdout
            .starts_with("compiled training_v1 (target dev) -> target/training_v1/manifest.json\n"),
        "{compile}"
    );
    let manifest = read_manifest(&project, "training_v1");
    assert_eq!(manifest["manifest_version"], 2);
    // Python hooks are opt-in: the scaffold's pipelines run without Python.
    assert!(
        !std::fs::read_to_string(project.join("pipelines/training_v1.yaml"))
            .unwrap()
            .lines()
            .any(|line| line.trim_start().starts_with("function:")),
        "the scaffold references a Python hook"
    );
    assert_eq!(manifest["metadata"]["pipeline_name"], "training_v1");
    assert_eq!(manifest["metadata"]["profile"], "demo");

    let test = sandbox.mbt(&project).args(["test"]).run();
    test.success();
    assert!(
        test.stdout
            .lines()
            .any(|line| line.starts_with("3 passed, 0 failed")),
        "{test}"
    );
}

#[test]
fn init_into_a_non_empty_directory_fails() {
    let sandbox = Sandbox::new();
    let existing = sandbox.path().join("busy");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("notes.txt"), "keep me\n").unwrap();
    let output = sandbox.mbt(sandbox.path()).args(["init", "busy"]).run();
    insta::assert_snapshot!(output.expect_code(2), @r"
    exit code: 2
    ----- stdout -----
    ----- stderr -----
    error: busy already exists and is not empty
    ");
    assert_eq!(
        std::fs::read_dir(&existing).unwrap().count(),
        1,
        "init must not write into a non-empty directory"
    );
}

// ---------------------------------------------------------------------------------------------
// The telecom-churn example

#[test]
fn example_checks_clean() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.success();
    // The serving pipeline declares `fallback` a run-time input (`run_vars`):
    // not set at check time is the normal case, and no warning.
    assert!(
        output
            .stderr
            .ends_with("checked 7 pipeline(s) and 2 test file(s): 0 errors, 0 warnings\n"),
        "{output}"
    );
    // Without the declaration, an unset variable is a warning that says how to declare it.
    edit(
        &project.join("pipelines/churn_serving_v1.yaml"),
        "run_vars: [fallback]\n",
        "",
    );
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.success();
    assert!(output
        .stderr
        .contains("[MBT2102] Warning: variable `fallback` is not set"));
    assert!(
        output
            .stderr
            .contains("declare it given at run time with `run_vars: [fallback]`"),
        "{output}"
    );
}

#[test]
fn a_misspelled_column_fails_check_and_compile_before_anything_runs() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    edit(
        &project.join("includes/telecom_schema.yaml"),
        "label_column: churned",
        "label_column: churnd",
    );
    edit(
        &project.join("pipelines/churn_training_v1.yaml"),
        "column: monthly_charges",
        "column: monthly_charge",
    );
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.expect_code(1);
    assert!(
        output.stderr.contains(
            "[MBT2402] Error: label_column `churnd` is not a column of the data at this point"
        ),
        "{output}"
    );
    assert!(
        output.stderr.contains("includes/telecom_schema.yaml:2:17"),
        "{output}"
    );
    assert!(
        output.stderr.contains("did you mean `churned`?"),
        "{output}"
    );
    assert!(
        output.stderr.contains("pipelines/churn_training_v1.yaml:"),
        "{output}"
    );
    assert!(
        output.stderr.contains("did you mean `monthly_charges`?"),
        "{output}"
    );
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT2402]"), "{output}");
    assert!(!project
        .join("target/churn_training_v1/manifest.json")
        .exists());
}

#[test]
fn catalog_reads_the_tables_into_a_file_that_matches_its_schema() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["catalog"]).run();
    output.success();
    assert!(
        output.stdout.contains(
            "customer_churn_features (customer_churn_features.csv, 7043 rows, 18 columns)"
        ),
        "{output}"
    );
    assert!(
        output
            .stdout
            .contains("  churned                  integer      0.0% missing  0, 1"),
        "{output}"
    );
    assert!(
        output
            .stderr
            .contains("target `dev`: 4 table(s) in ./sample_data read into target/catalog.json"),
        "{output}"
    );
    let catalog: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("target/catalog.json")).unwrap(),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schemas/catalog.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&catalog)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let total = &catalog["targets"]["dev"]["tables"]["customer_churn_features"]["columns"][16];
    assert_eq!(total["name"], "total_charges");
    assert_eq!(total["type"], "float");
    assert_eq!(total["nulls"], 11);

    // Without its data, check uses the cache with a note; with neither, one warning.
    std::fs::rename(project.join("sample_data"), project.join("moved")).unwrap();
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.success();
    assert!(output.stderr.contains("[MBT2407]"), "{output}");
    std::fs::remove_file(project.join("target/catalog.json")).unwrap();
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.success();
    assert!(output.stderr.contains("[MBT2406] Warning"), "{output}");
    assert!(output.stderr.contains("0 errors, 1 warning"), "{output}");
    let output = sandbox.mbt(&project).args(["catalog"]).run();
    output.expect_code(1);
}

#[test]
fn compile_training_prints_the_order_and_writes_the_manifest() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .run();
    insta::assert_snapshot!(output.success(), @r"
    exit code: 0
    ----- stdout -----
    compiled churn_training_v1 (target dev) -> target/churn_training_v1/manifest.json
      10 steps: load_data -> join_tables -> validate_data -> transform -> split_data -> normalize -> select_features -> train_model -> evaluate -> log_run
    ----- stderr -----
    ");
    let manifest = read_manifest(&project, "churn_training_v1");
    assert_eq!(manifest["manifest_version"], 2);
    assert_eq!(execution_order(&manifest), TRAINING_STEPS);
    let mut steps: Vec<&str> = manifest["steps"]
        .as_object()
        .expect("steps is an object")
        .keys()
        .map(String::as_str)
        .collect();
    steps.sort_unstable();
    let mut expected = TRAINING_STEPS.to_vec();
    expected.sort_unstable();
    assert_eq!(steps, expected);
    assert_eq!(manifest["profile"]["target"], "dev");
    assert_eq!(manifest["profile"]["settings"]["executor"]["type"], "local");
    assert_eq!(
        manifest["steps"]["train_model"]["config"]["model"]["framework"],
        "gbm"
    );
}

#[test]
fn disabling_feature_selection_removes_its_step() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    edit(
        &project.join("pipelines/churn_training_v1.yaml"),
        "feature_selection:\n    enabled: true",
        "feature_selection:\n    enabled: false",
    );
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .run();
    output.success();
    let order = execution_order(&read_manifest(&project, "churn_training_v1"));
    let expected: Vec<&str> = TRAINING_STEPS
        .iter()
        .copied()
        .filter(|step| *step != "select_features")
        .collect();
    assert_eq!(order, expected);
    assert!(output.stdout.contains("  9 steps: "), "{output}");
}

#[test]
fn staging_target_changes_the_settings_and_step_resources() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1", "--target", "staging"])
        .run();
    output.success();
    assert!(
        output
            .stdout
            .starts_with("compiled churn_training_v1 (target staging)"),
        "{output}"
    );
    let manifest = read_manifest(&project, "churn_training_v1");
    assert_eq!(manifest["metadata"]["target"], "staging");
    let settings = &manifest["profile"]["settings"];
    assert_eq!(
        settings["storage"],
        json!({"type": "s3", "config": {"bucket": "mbt-staging",
            "endpoint": "http://127.0.0.1:9000", "prefix": "artifacts",
            "access_key_id": "{{ secret('MBT_S3_ACCESS_KEY') }}",
            "secret_access_key": "{{ secret('MBT_S3_SECRET_KEY') }}"}})
    );
    // The database's address rendered, its password left a reference for run time.
    assert_eq!(
        settings["data_connector"],
        json!({"type": "postgres", "config": {"host": "127.0.0.1", "port": 5432,
            "database": "analytics", "user": "mbt",
            "password": "{{ secret('MBT_PG_PASSWORD') }}"}})
    );
    assert_eq!(
        manifest["secrets"],
        json!(["MBT_PG_PASSWORD", "MBT_S3_ACCESS_KEY", "MBT_S3_SECRET_KEY"])
    );
    // Defaults are filled in: the target sets no secrets provider.
    assert_eq!(
        settings["secrets"],
        json!({"provider": "env", "config": {}})
    );
    // Each step asks for its resources, else the `default` ones.
    assert_eq!(
        manifest["steps"]["train_model"]["resources"],
        json!({"memory": "32Gi", "cpu": 8.0})
    );
    assert_eq!(
        manifest["steps"]["load_data"]["resources"],
        json!({"memory": "8Gi", "cpu": 2.0})
    );
    assert_eq!(
        settings["metrics"],
        json!({"type": "statsd", "config": {"host": "127.0.0.1", "port": 8125, "prefix": "mbt"}})
    );
    // The target's `vars:` choose where serving publishes; `--vars` wins over them.
    let publish = |vars: &[&str]| {
        sandbox
            .mbt(&project)
            .args(["compile", "churn_serving_v1", "--target", "staging"])
            .args(vars)
            .run()
            .success();
        read_manifest(&project, "churn_serving_v1")["steps"]["publish"]["config"].clone()
    };
    let config = publish(&[]);
    assert_eq!(config["destination"], "postgres");
    assert_eq!(config["table"], "churn_predictions");
    let config = publish(&["--vars", "output_table=analytics.scores"]);
    assert_eq!(config["table"], "analytics.scores");
    assert_eq!(config["destination"], "postgres");
}

#[test]
fn compiling_twice_gives_identical_manifests() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let path = project.join("target/churn_training_v1/manifest.json");
    sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .run()
        .success();
    let first = std::fs::read(&path).unwrap();
    sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .run()
        .success();
    let second = std::fs::read(&path).unwrap();
    assert!(first == second, "two compiles gave different manifests");

    // The manifest does not depend on where the project lives either.
    let elsewhere = sandbox.path().join("moved");
    util::copy_tree(&project, &elsewhere);
    sandbox
        .mbt(&elsewhere)
        .args(["compile", "churn_training_v1"])
        .run()
        .success();
    let moved = std::fs::read(elsewhere.join("target/churn_training_v1/manifest.json")).unwrap();
    assert!(
        first == moved,
        "the manifest changed when the project moved"
    );
}

#[test]
fn validate_show_resolved_prints_merged_yaml_with_origins() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["validate", "churn_forest_v1", "--show-resolved"])
        .run();
    output.success();
    for needle in [
        "# pipelines/_base_churn.yaml:",
        "# includes/telecom_schema.yaml:",
        "# pipelines/churn_forest_v1.yaml:",
        "framework: smartcore",
    ] {
        assert!(
            output.stdout.contains(needle),
            "missing `{needle}`:\n{output}"
        );
    }
    insta::assert_snapshot!("validate_show_resolved_forest", output);

    let output = sandbox
        .mbt(&project)
        .args(["validate", "churn_forest_v1"])
        .run();
    insta::assert_snapshot!(output.success(), @r"
    exit code: 0
    ----- stdout -----
    churn_forest_v1 is valid (0 errors, 0 warnings)
    ----- stderr -----
    ");
}

#[test]
fn dag_prints_mermaid_and_text() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["dag", "churn_training_v1", "--mermaid"])
        .run();
    output.success();
    assert!(output.stdout.starts_with("graph TD\n"), "{output}");
    assert!(
        output.stdout.contains("    split_data --> normalize\n"),
        "{output}"
    );
    for step in TRAINING_STEPS {
        assert!(
            output.stdout.contains(&format!("    {step}[{step}]\n")),
            "no node {step}:\n{output}"
        );
    }

    let output = sandbox
        .mbt(&project)
        .args(["dag", "churn_training_v1"])
        .run();
    output.success();
    assert!(
        output.stdout.starts_with("churn_training_v1 (10 steps, "),
        "{output}"
    );
}

#[test]
fn example_tests_pass() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["test"]).run();
    output.success();
    assert!(
        output
            .stdout
            .lines()
            .any(|line| line.ends_with(" failed, 0 errors") && line.contains(" passed, 0 failed")),
        "{output}"
    );
    insta::assert_snapshot!("example_test", output);
}

#[test]
fn compile_serving_with_vars() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_serving_v1", "--vars", "run_id=abc123"])
        .run();
    output.success();
    assert!(
        !output.stderr.contains("`run_id` is not set"),
        "run_id was given:\n{output}"
    );
    let manifest = read_manifest(&project, "churn_serving_v1");
    assert_eq!(manifest["vars"]["run_id"], "abc123");
    assert_eq!(manifest["metadata"]["pipeline_type"], "serving");
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn unknown_pipeline_suggests_the_closest_name() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_trainig_v1"])
        .run();
    insta::assert_snapshot!(output.expect_code(1), @r"
    exit code: 1
    ----- stdout -----
    ----- stderr -----
    [MBT1008] Error: pipeline `churn_trainig_v1` not found in [TMP]/telecom-churn/pipelines
      help: did you mean `churn_training_v1`?
    ");
    assert!(!project.join("target").exists());
}

#[test]
fn invalid_utf8_is_mbt0007() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let simple = std::fs::read_to_string(project.join("pipelines/churn_simple_v1.yaml")).unwrap();
    let mut bytes = b"# caf\xe9 menu, saved as Latin-1\n".to_vec();
    bytes.extend_from_slice(
        simple
            .replace("name: churn_simple_v1", "name: churn_latin1_v1")
            .as_bytes(),
    );
    std::fs::write(project.join("pipelines/churn_latin1_v1.yaml"), bytes).unwrap();

    let output = sandbox
        .mbt(&project)
        .args(["check", "--vars", ALL_VARS])
        .run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT0007] Error"), "{output}");

    let output = sandbox
        .mbt(&project)
        .args(["check", "pipelines/churn_latin1_v1.yaml"])
        .run();
    insta::assert_snapshot!("invalid_utf8", output.expect_code(1));

    // profiles.yaml is read by the same host: MBT0007 too, not a failure to start (exit 2).
    let mut profiles = b"# \xe9quipe data\n".to_vec();
    profiles.extend(std::fs::read(project.join("profiles.yaml")).unwrap());
    std::fs::write(project.join("profiles.yaml"), profiles).unwrap();
    let output = sandbox
        .mbt(&project)
        .args(["check", "pipelines/churn_simple_v1.yaml"])
        .run();
    output.expect_code(1);
    assert!(
        output
            .stderr
            .contains("[MBT0007] Error: `profiles.yaml` is not valid UTF-8"),
        "{output}"
    );
}

/// A copy of the example whose `churn_training_v1` names an unknown framework, and where that
/// value is (1-based line, 1-based column, byte range).
fn broken_framework(sandbox: &Sandbox) -> (PathBuf, (u64, u64, std::ops::Range<usize>)) {
    let project = sandbox.copy_example(EXAMPLE);
    let path = project.join("pipelines/churn_training_v1.yaml");
    edit(&path, "framework: gbm\n", "framework: gbmm\n");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("framework: gbmm").unwrap() + "framework: ".len();
    let line = text[..start].matches('\n').count() as u64 + 1;
    let column = (start - text[..start].rfind('\n').map_or(0, |i| i + 1)) as u64 + 1;
    (project, (line, column, start..start + "gbmm".len()))
}

#[test]
fn check_format_json() {
    let sandbox = Sandbox::new();
    let (project, (line, column, range)) = broken_framework(&sandbox);
    let output = sandbox
        .mbt(&project)
        .args(["check", "--format", "json", "--vars", ALL_VARS])
        .run();
    output.expect_code(1);
    assert_eq!(output.stderr, "", "{output}");
    let json: Value = serde_json::from_str(&output.stdout).expect("stdout is JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["errors"], 1);
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{output}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["code"], "MBT2015");
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["file"], "pipelines/churn_training_v1.yaml");
    assert_eq!(diagnostic["start"]["line"], line);
    assert_eq!(diagnostic["start"]["column"], column);
    assert_eq!(diagnostic["range"]["start"], range.start);
    assert_eq!(diagnostic["range"]["end"], range.end);
}

#[test]
fn check_format_sarif() {
    let sandbox = Sandbox::new();
    let (project, (line, column, _)) = broken_framework(&sandbox);
    let output = sandbox
        .mbt(&project)
        .args(["check", "--format", "sarif", "--vars", ALL_VARS])
        .run();
    output.expect_code(1);
    let sarif: Value = serde_json::from_str(&output.stdout).expect("stdout is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mbt");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{output}");
    let result = &results[0];
    assert_eq!(result["ruleId"], "MBT2015");
    assert_eq!(result["level"], "error");
    let message = result["message"]["text"].as_str().unwrap();
    assert!(message.starts_with("unknown framework `gbmm`"), "{message}");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "pipelines/churn_training_v1.yaml"
    );
    assert_eq!(location["region"]["startLine"], line);
    assert_eq!(location["region"]["startColumn"], column);
    // ruleIndex points at the rule of ruleId.
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run["tool"]["driver"]["rules"][index]["id"], "MBT2015");
}

#[test]
fn check_paths_of_a_base_reports_its_derived_pipelines() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    edit(
        &project.join("pipelines/_base_churn.yaml"),
        "  problem_type: binary_classification\n",
        "",
    );
    let output = sandbox
        .mbt(&project)
        .args(["check", "pipelines/_base_churn.yaml"])
        .run();
    output.expect_code(1);
    // The base lost a required key: each derived pipeline is now missing it.
    for pipeline in [
        "churn_automl_v1",
        "churn_forest_v1",
        "churn_gbm_v1",
        "churn_h2o_v1",
        "churn_training_v1",
    ] {
        assert!(
            output
                .stderr
                .contains(&format!("╭─[ pipelines/{pipeline}.yaml:")),
            "no diagnostic in {pipeline}:\n{output}"
        );
    }
    assert!(output
        .stderr
        .contains("[MBT2004] Error: missing key `problem_type`"));
    assert!(
        output
            .stderr
            .ends_with("checked 5 pipeline(s) and 1 test file(s): 5 errors, 0 warnings\n"),
        "{output}"
    );

    // A pipeline that does not derive from the base is not affected.
    let output = sandbox
        .mbt(&project)
        .args(["check", "pipelines/churn_simple_v1.yaml"])
        .run();
    insta::assert_snapshot!(output.success(), @r"
    exit code: 0
    ----- stdout -----
    ----- stderr -----
    checked 1 pipeline(s) and 0 test file(s): 0 errors, 0 warnings
    ");
}

#[test]
fn check_paths_of_an_include_checks_only_its_includers() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["check", "includes/telecom_schema.yaml"])
        .run();
    // _base_churn includes it; churn_forest_v1, churn_gbm_v1 and churn_training_v1 derive from it.
    // churn_simple_v1 and churn_serving_v1 (whose warnings would show) are not checked.
    insta::assert_snapshot!(output.success(), @r"
    exit code: 0
    ----- stdout -----
    ----- stderr -----
    checked 5 pipeline(s) and 1 test file(s): 0 errors, 0 warnings
    ");

    // Absolute paths work too, from any directory inside the project.
    let absolute = project.join("includes/telecom_schema.yaml");
    let output = sandbox
        .mbt(&project.join("pipelines"))
        .args(["check"])
        .args([absolute.as_os_str()])
        .run();
    output.success();
    assert!(
        output
            .stderr
            .ends_with("checked 5 pipeline(s) and 1 test file(s): 0 errors, 0 warnings\n"),
        "{output}"
    );
}

#[test]
fn empty_profiles_dir_is_mbt2201() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let empty = sandbox.path().join("no-profiles");
    std::fs::create_dir(&empty).unwrap();
    let output = sandbox
        .mbt(&project)
        .args(["check", "--vars", ALL_VARS, "--profiles-dir"])
        .args([empty.as_os_str()])
        .run();
    insta::assert_snapshot!(output.expect_code(1), @r"
    exit code: 1
    ----- stdout -----
    ----- stderr -----
    [MBT2201] Error: profiles.yaml not found
      help: create profiles.yaml in the project root (`mbt init` writes one), or point --profiles-dir at it
    checked 7 pipeline(s) and 2 test file(s): 1 error, 0 warnings
    ");

    // $MBT_PROFILES_DIR is the same as --profiles-dir.
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_simple_v1"])
        .env("MBT_PROFILES_DIR", empty.as_os_str())
        .run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT2201]"), "{output}");
    assert!(!project.join("target").exists());
}

#[test]
fn profiles_dir_is_read_from_outside_the_project() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let elsewhere = sandbox.path().join("team-profiles");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::rename(
        project.join("profiles.yaml"),
        elsewhere.join("profiles.yaml"),
    )
    .unwrap();
    let output = sandbox
        .mbt(&project)
        .args([
            "compile",
            "churn_simple_v1",
            "--target",
            "staging",
            "--profiles-dir",
        ])
        .args([elsewhere.as_os_str()])
        .run();
    output.success();
    let manifest = read_manifest(&project, "churn_simple_v1");
    assert_eq!(
        manifest["profile"]["settings"]["storage"]["config"]["bucket"],
        "mbt-staging"
    );

    // Without it, ~/.mbt/profiles.yaml is the fallback.
    let home_mbt = sandbox.home().join(".mbt");
    std::fs::create_dir(&home_mbt).unwrap();
    std::fs::rename(
        elsewhere.join("profiles.yaml"),
        home_mbt.join("profiles.yaml"),
    )
    .unwrap();
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_simple_v1"])
        .run();
    output.success();
    let manifest = read_manifest(&project, "churn_simple_v1");
    assert_eq!(manifest["profile"]["name"], "telecom-churn");
}

#[test]
fn unknown_target_is_mbt2203_with_the_targets() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1", "--target", "prdo"])
        .run();
    output.expect_code(1);
    assert_eq!(output.stdout, "");
    let mut lines = output.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("[MBT2203] Error: target `prdo` not found in profile `telecom-churn`"),
        "{output}"
    );
    // The help lists the profile's targets.
    let help = lines.next().unwrap_or_default();
    assert!(
        help.starts_with("  help: ") && help.contains("dev") && help.contains("staging"),
        "{output}"
    );
    assert_eq!(
        lines.next(),
        Some("churn_training_v1: 1 error, 0 warnings; no manifest written"),
        "{output}"
    );
    assert!(!project.join("target").exists());
}

#[test]
fn mbt_target_env_selects_the_target() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1"])
        .env("MBT_TARGET", "staging")
        .run();
    output.success();
    let manifest = read_manifest(&project, "churn_training_v1");
    assert_eq!(manifest["profile"]["target"], "staging");
    assert_eq!(
        manifest["profile"]["settings"]["model_registry"]["config"]["prefix"],
        "registry"
    );

    // --target wins over MBT_TARGET.
    sandbox
        .mbt(&project)
        .args(["compile", "churn_training_v1", "--target", "dev"])
        .env("MBT_TARGET", "staging")
        .run()
        .success();
    let manifest = read_manifest(&project, "churn_training_v1");
    assert_eq!(manifest["profile"]["target"], "dev");
}

#[test]
fn outside_a_project_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let output = sandbox.mbt(&sandbox.home()).args(["check"]).run();
    insta::assert_snapshot!(output.expect_code(2), @r"
    exit code: 2
    ----- stdout -----
    ----- stderr -----
    error: no MBT project here: no profiles.yaml (or pyproject.toml beside pipelines/) in [TMP]/home or its parents (use --project-dir, or `mbt init NAME`)
    ");

    // --project-dir finds it from anywhere.
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&sandbox.home())
        .args(["check", "--vars", ALL_VARS, "--project-dir"])
        .args([project.as_os_str()])
        .run();
    output.success();
}

// ---------------------------------------------------------------------------------------------
// explain, completions

#[test]
fn explain_prints_the_docs_of_a_code() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .mbt(sandbox.path())
        .args(["explain", "MBT1001"])
        .run();
    output.success();
    assert!(
        output
            .stdout
            .starts_with("MBT1001 (include-not-found, Error by default)\n\n"),
        "{output}"
    );
    assert!(output.stdout.contains("Bad:"), "{output}");
    assert_eq!(output.stderr, "");

    // By name too.
    let by_name = sandbox
        .mbt(sandbox.path())
        .args(["explain", "include-not-found"])
        .run();
    assert_eq!(by_name.success().stdout, output.stdout);
}

#[test]
fn explain_of_an_unknown_code_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .mbt(sandbox.path())
        .args(["explain", "MBT9999"])
        .run();
    output.expect_code(2);
    assert_eq!(output.stdout, "");
    assert!(
        output
            .stderr
            .starts_with("error: unknown diagnostic code `MBT9999`\n"),
        "{output}"
    );
}

#[test]
fn explain_list_lists_every_code() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .mbt(sandbox.path())
        .args(["explain", "--list"])
        .run();
    output.success();
    let listed: Vec<&str> = output
        .stdout
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or(""))
        .collect();
    let all: Vec<&str> = mbt_compiler::diagnostics::Code::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert_eq!(listed, all);
    for code in mbt_compiler::diagnostics::Code::ALL {
        let line = output
            .stdout
            .lines()
            .find(|line| line.starts_with(code.as_str()))
            .unwrap();
        assert!(line.contains(code.name()), "{line}");
    }
}

#[test]
fn completions_bash() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .mbt(sandbox.path())
        .args(["completions", "bash"])
        .run();
    output.success();
    assert!(output.stdout.contains("_mbt()"), "{output}");
    assert!(output.stdout.contains("complete -F _mbt"), "{output}");
    assert!(output.stdout.contains("compile"), "{output}");
}

// ---------------------------------------------------------------------------------------------
// Golden manifests and schemas: the committed contract files

/// The directory of the committed golden manifests.
fn golden_dir() -> PathBuf {
    repo_root().join("examples").join(EXAMPLE).join("golden")
}

/// The example's pipelines that compile to a manifest (names not starting with `_`), sorted.
fn example_pipelines() -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(repo_root().join("examples").join(EXAMPLE).join("pipelines"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
            })
            .filter_map(|path| Some(path.file_stem()?.to_str()?.to_string()))
            .filter(|name| !name.starts_with('_'))
            .collect();
    names.sort();
    names
}

#[test]
fn golden_manifests() {
    let update = env_flag("UPDATE_GOLDEN");
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let pipelines = example_pipelines();
    assert!(pipelines.len() >= 2, "{pipelines:?}");
    let mut stale = Vec::new();
    for pipeline in &pipelines {
        let mut args = vec!["compile".to_string(), pipeline.clone()];
        if pipeline == "churn_serving_v1" {
            args.extend(["--vars".to_string(), "run_id=golden_run".to_string()]);
        }
        sandbox.mbt(&project).args(args).run().success();
        let compiled =
            std::fs::read_to_string(project.join("target").join(pipeline).join("manifest.json"))
                .unwrap();
        let golden = golden_dir().join(format!("{pipeline}.manifest.json"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&golden, &compiled).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == compiled => {}
            Ok(expected) => stale.push(format!(
                "{}: differs from the compiled manifest\n{}",
                golden.display(),
                first_difference(&expected, &compiled)
            )),
            Err(error) => stale.push(format!("{}: {error}", golden.display())),
        }
    }
    // Golden files of pipelines that no longer exist.
    if let Ok(entries) = std::fs::read_dir(golden_dir()) {
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(pipeline) = name.strip_suffix(".manifest.json") else {
                continue;
            };
            if !pipelines.iter().any(|p| p == pipeline) {
                if update {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    stale.push(format!("{}: no such pipeline", path.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "golden manifests are out of date (rerun with UPDATE_GOLDEN=1 and review the diff):\n{}",
        stale.join("\n")
    );
}

/// The first differing line of two texts, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    for number in 1.. {
        match (expected_lines.next(), actual_lines.next()) {
            (None, None) => return "  (only line endings differ)".to_string(),
            (e, a) if e == a => continue,
            (e, a) => {
                return format!(
                    "  line {number}\n  golden:   {}\n  compiled: {}",
                    e.unwrap_or("<end of file>"),
                    a.unwrap_or("<end of file>")
                )
            }
        }
    }
    unreachable!()
}

#[test]
fn golden_manifests_match_the_manifest_schema() {
    let schema_path = repo_root().join("schemas/manifest.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap_or_else(|e| {
            panic!("{}: {e} (run with UPDATE_SCHEMAS=1)", schema_path.display())
        }))
        .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the manifest schema is valid");
    for pipeline in example_pipelines() {
        let path = golden_dir().join(format!("{pipeline}.manifest.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        let manifest: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&manifest)
            .map(|error| format!("  at {}: {error}", error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not match schemas/manifest.schema.json:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn schemas_are_up_to_date() {
    let update = env_flag("UPDATE_SCHEMAS");
    let sandbox = Sandbox::new();
    let mut stale = Vec::new();
    for (kind, file) in [
        ("pipeline", "pipeline.schema.json"),
        ("pipeline-authoring", "pipeline.authoring.schema.json"),
        ("manifest", "manifest.schema.json"),
        ("profiles", "profiles.schema.json"),
        ("tests", "tests.schema.json"),
        ("catalog", "catalog.schema.json"),
    ] {
        let output = sandbox.mbt(sandbox.path()).args(["schema", kind]).run();
        output.success();
        let schema: Value = serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("`mbt schema {kind}` is not JSON: {e}"));
        jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("`mbt schema {kind}` is not a valid JSON Schema: {e}"));
        let path = repo_root().join("schemas").join(file);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &output.stdout).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(output.stdout.as_str()) {
            stale.push(format!("schemas/{file} (mbt schema {kind})"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (rerun with UPDATE_SCHEMAS=1 and review the diff): {}",
        stale.join(", ")
    );
}

#[test]
fn compiling_a_base_pipeline_is_mbt1011_naming_its_dependents() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["compile", "_base_churn"]).run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT1011]"), "{output}");
    assert!(output.stderr.contains("churn_forest_v1"), "{output}");
    // Validating a base checks it as a partial pipeline instead.
    let output = sandbox
        .mbt(&project)
        .args(["validate", "_base_churn"])
        .run();
    output.expect_code(0);
    let output = sandbox
        .mbt(&project)
        .args(["validate", "_base_churn", "--show-resolved"])
        .run();
    output.expect_code(0);
    assert!(
        output.stdout.contains("# includes/telecom_schema.yaml:"),
        "{output}"
    );
}

#[test]
fn test_of_an_unknown_pipeline_is_mbt1008() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["test", "churn_nope"]).run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT1008]"), "{output}");
}

#[test]
fn check_finds_the_project_from_the_paths_and_rejects_missing_ones() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    // From the parent directory (a monorepo root), paths lead to the project.
    let output = sandbox
        .mbt(sandbox.path())
        .args(["check", "telecom-churn/pipelines/churn_gbm_v1.yaml"])
        .run();
    output.expect_code(0);
    assert!(output.stderr.contains("checked 1 pipeline(s)"), "{output}");
    let output = sandbox
        .mbt(&project)
        .args(["check", "pipelines/nonexistent.yaml"])
        .run();
    output.expect_code(2);
    assert!(output.stderr.contains("does not exist"), "{output}");
}

// ---------------------------------------------------------------------------------------------
// Selections

#[test]
fn compile_takes_names_tags_and_excludes_and_everything_by_default() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let compiled = |output: &util::Output| -> Vec<String> {
        output
            .stdout
            .lines()
            .filter_map(|line| line.strip_prefix("compiled "))
            .map(|rest| rest.split(' ').next().unwrap().to_string())
            .collect()
    };
    // No selection: every pipeline but bases, training first.
    let output = sandbox.mbt(&project).args(["compile"]).run();
    output.success();
    assert_eq!(
        compiled(&output),
        [
            "churn_automl_v1",
            "churn_forest_v1",
            "churn_gbm_v1",
            "churn_h2o_v1",
            "churn_simple_v1",
            "churn_training_v1",
            "churn_serving_v1"
        ]
    );
    // Tags are inherited from the base; --exclude removes.
    let output = sandbox
        .mbt(&project)
        .args(["compile", "--select", "tag:telecom", "churn_simple_v1"])
        .args(["--exclude", "churn_training_v1", "tag:serving"])
        .run();
    output.success();
    assert_eq!(
        compiled(&output),
        [
            "churn_automl_v1",
            "churn_forest_v1",
            "churn_gbm_v1",
            "churn_h2o_v1",
            "churn_simple_v1"
        ]
    );
    // Positional names are selections too.
    let output = sandbox
        .mbt(&project)
        .args(["compile", "churn_serving_v1", "churn_gbm_v1"])
        .run();
    assert_eq!(compiled(&output), ["churn_gbm_v1", "churn_serving_v1"]);
    // An unknown tag or name is an error with a suggestion; nothing is compiled.
    let output = sandbox
        .mbt(&project)
        .args(["compile", "--select", "tag:telecon"])
        .run();
    output.expect_code(1);
    assert!(
        output
            .stderr
            .contains("[MBT1008] Error: no pipeline has the tag `telecon`"),
        "{output}"
    );
    assert!(
        output.stderr.contains("did you mean `telecom`?"),
        "{output}"
    );
}

#[test]
fn the_vs_code_settings_example_is_accepted_by_mbt_lsp() {
    let sandbox = Sandbox::new();
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("editors/vscode/package.json")).unwrap(),
    )
    .unwrap();
    let description = package["contributes"]["configuration"]["properties"]["mbt.server.extraArgs"]
        ["markdownDescription"]
        .as_str()
        .expect("mbt.server.extraArgs has a description");
    let example = &description[description.find('[').unwrap()..=description.find(']').unwrap()];
    let args: Vec<String> = serde_json::from_str(&example.replace("\\\"", "\"")).unwrap();
    let output = sandbox
        .mbt(sandbox.path())
        .args(["lsp"])
        .args(&args)
        .args(["--help"])
        .run();
    output.success();
}
