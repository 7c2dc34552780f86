//! `mbt run` end to end on the example project with the real telco data: training quality,
//! records, determinism and failures.

mod util;

use util::Sandbox;

const EXAMPLE: &str = "telecom-churn";

/// `mbt run --select PIPELINE` in `project`.
fn run(sandbox: &Sandbox, project: &std::path::Path, pipeline: &str) -> util::Output {
    sandbox
        .mbt(project)
        .args(["run", "--select", pipeline])
        .run()
}

/// Runs `pipeline` from the manifest of its last run, without compiling the YAML again (as an
/// orchestrator does with a pinned manifest): how the runtime meets data that changed after the
/// compile, which `mbt check` would otherwise have refused.
fn rerun_pinned(sandbox: &Sandbox, project: &std::path::Path, pipeline: &str) -> util::Output {
    sandbox
        .mbt(project)
        .env("MBT_PYTHON", util::python())
        .args(["retry", "--force", pipeline])
        .run()
}

fn results(project: &std::path::Path, pipeline: &str) -> serde_json::Value {
    let path = project
        .join("target")
        .join(pipeline)
        .join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn training_run_reaches_the_auc_target_and_is_recorded() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = run(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(0);
    let first = results(&project, "churn_gbm_v1");
    assert_eq!(first["status"], "success", "{output}");
    let auc = first["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc >= 0.83, "test ROC AUC {auc} is below 0.83");
    let steps: Vec<&str> = first["steps"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        steps,
        [
            "load_data",
            "split_data",
            "encode",
            "train_model",
            "evaluate",
            "log_run"
        ]
    );
    for step in first["steps"].as_object().unwrap().values() {
        for uri in step["outputs"].as_object().unwrap().values() {
            let path = uri.as_str().unwrap().strip_prefix("file://").unwrap();
            assert!(
                std::path::Path::new(path).is_file(),
                "missing artifact {path}"
            );
        }
    }
    // The local registry holds the run: metrics, parameters and the model.
    let run_id = first["run_id"].as_str().unwrap();
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("local_registry").join(run_id).join("run.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record["metrics"]["roc_auc"], first["metrics"]["roc_auc"]);
    assert_eq!(record["params"]["model_training"]["framework"], "gbm");
    let model = project
        .join("local_registry")
        .join(run_id)
        .join("artifacts/model.json");
    let model_bytes = std::fs::read(model).unwrap();

    // Same manifest, data and seed: identical metrics and identical model bytes.
    let output = run(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(0);
    let second = results(&project, "churn_gbm_v1");
    assert_ne!(second["run_id"], first["run_id"]);
    assert_eq!(second["metrics"], first["metrics"]);
    let second_model = project
        .join("local_registry")
        .join(second["run_id"].as_str().unwrap())
        .join("artifacts/model.json");
    assert!(
        std::fs::read(second_model).unwrap() == model_bytes,
        "model bytes differ between identical runs"
    );
}

#[test]
fn a_corrupt_table_fails_load_data_with_a_clear_error() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    std::fs::write(
        project.join("sample_data/customer_churn_features.csv"),
        "customer_id,churned\nC1,1,extra,fields\n\"unterminated\n",
    )
    .unwrap();
    let output = run(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(1);
    let results = results(&project, "churn_gbm_v1");
    assert_eq!(results["status"], "failed");
    assert_eq!(results["steps"]["load_data"]["status"], "failed");
    let error = results["steps"]["load_data"]["error"].as_str().unwrap();
    assert!(error.contains("customer_churn_features.csv"), "{error}");
    assert_eq!(results["steps"]["load_data"]["code"], "MBT4002");
    assert!(output.stderr.contains("error[MBT4002]"), "{output}");
}

#[test]
fn outputs_that_cannot_be_stored_fail_their_step_with_a_code() {
    // Outputs are written on a background thread while the next step runs; a write that fails
    // must still fail the run and name the step whose output is missing.
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    util::edit(
        &project.join("profiles.yaml"),
        "base_path: ./local_artifacts\n",
        "base_path: ./blocked/artifacts\n",
    );
    // A file where the storage folder should be: no artifact can be written under it.
    std::fs::write(project.join("blocked"), "not a folder").unwrap();
    let output = run(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(1);
    let results = results(&project, "churn_gbm_v1");
    assert_eq!(results["status"], "failed");
    let load = &results["steps"]["load_data"];
    assert_eq!(load["status"], "failed", "{results:#}");
    assert_eq!(load["code"], "MBT4013");
    let error = load["error"].as_str().unwrap();
    assert!(error.contains("cannot store output"), "{error}");
    assert!(results["steps"].get("train_model").is_none(), "{results:#}");
}

#[test]
fn a_single_class_label_fails_train_model() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    // `mbt check` refuses `classes: [0, 1]` over a label that holds only 0 (MBT2405); the
    // runtime meets it when the data changes under a compiled manifest.
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let path = project.join("sample_data/customer_churn_features.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // Every row churned = 0 (the label is the last column).
    let single: String = text
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if index == 0 {
                format!("{line}\n")
            } else {
                format!("{},0\n", &line[..line.rfind(',').unwrap()])
            }
        })
        .collect();
    std::fs::write(&path, single).unwrap();
    let output = run(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT2405]"), "{output}");
    let output = rerun_pinned(&sandbox, &project, "churn_gbm_v1");
    output.expect_code(1);
    let results = results(&project, "churn_gbm_v1");
    let error = results["steps"]["train_model"]["error"].as_str().unwrap();
    assert!(error.contains("single class"), "{error}");
    assert_eq!(results["steps"]["train_model"]["code"], "MBT4006");
    // Earlier steps' outputs are intact.
    assert_eq!(results["steps"]["split_data"]["status"], "success");
}

#[test]
fn deps_list_shows_each_adapter_with_its_version_and_needs() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox.mbt(&project).args(["deps", "list"]).run();
    insta::assert_snapshot!(output.success(), @r"
    exit code: 0
    ----- stdout -----
    KIND             NAME         VERSION            NEEDS
    data_connector   local_file   polars 0.55.2      a folder of CSV or Parquet files
    data_connector   postgres     rust-postgres 0.19 a PostgreSQL server (9.4 or later)
    executor         kubernetes   mbt 0.1.0          a Kubernetes cluster, an image with mbt and the project, and Airflow with apache-airflow-providers-cncf-kubernetes
    executor         local        mbt 0.1.0          nothing
    framework        automl       mbt 0.1.0          nothing
    framework        gbm          mbt 0.1.0          nothing
    framework        h2o_automl   h2o-3 3.46.0.11    Java 17 and H2O-3 3.46.0.11: a cluster URL, or the `h2o.jar` of PyPI's `h2o` package (`pip install h2o==3.46.0.11` in the project's .venv, `h2o: {jar: PATH}`, or MBT_H2O_JAR)
    framework        sklearn      scikit-learn (py)  Python 3 with scikit-learn, pandas and pyarrow (`MBT_PYTHON`, the project's .venv, or python3)
    framework        smartcore    smartcore 0.7.0    nothing
    metrics          pushgateway  mbt 0.1.0          a Prometheus Pushgateway
    metrics          statsd       mbt 0.1.0          a StatsD server (UDP)
    model_registry   local        mbt 0.1.0          a writable folder
    model_registry   mlflow       mbt 0.1.0          an MLflow tracking server (`http(s)://`), or MLflow installed for `sqlite:///`
    model_registry   s3           mbt 0.1.0          an S3-compatible object store and its bucket
    output_writer    local_file   polars 0.55.2      a writable folder
    output_writer    postgres     rust-postgres 0.19 a PostgreSQL server (9.4 or later)
    output_writer    s3           mbt 0.1.0          an S3-compatible object store and its bucket
    secrets          env          mbt 0.1.0          the environment variables
    storage          local        mbt 0.1.0          a writable folder
    storage          s3           mbt 0.1.0          an S3-compatible object store and its bucket

    known, not in this build: data_connector snowflake, output_writer snowflake
    ----- stderr -----
    ");
    let output = sandbox
        .mbt(&project)
        .args(["deps", "list", "--format", "json"])
        .run();
    output.success();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(json["version"], 1);
    let adapters = json["adapters"].as_array().unwrap();
    let gbm = adapters
        .iter()
        .find(|a| a["kind"] == "framework" && a["name"] == "gbm")
        .unwrap();
    assert_eq!(gbm["available"], true);
    assert_eq!(gbm["version"], "mbt 0.1.0");
    let h2o = adapters.iter().find(|a| a["name"] == "h2o_automl").unwrap();
    assert_eq!(h2o["available"], true);
    assert!(h2o["needs"].as_str().unwrap().contains("Java"));
    let snowflake = adapters
        .iter()
        .find(|a| a["kind"] == "data_connector" && a["name"] == "snowflake")
        .unwrap();
    assert_eq!(snowflake["available"], false);
    assert!(snowflake["version"].is_null());
}

#[test]
fn serving_reproduces_the_evaluated_probabilities_exactly() {
    use mbt_runtime::frame::{from_parquet, numbers, texts};
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let training = results(&project, "churn_gbm_v1");
    let run_id = training["run_id"].as_str().unwrap();
    let uri = |step: &str, output: &str| {
        training["steps"][step]["outputs"][output]
            .as_str()
            .unwrap()
            .strip_prefix("file://")
            .unwrap()
            .to_string()
    };
    // Score the training run's own test rows through a serving pipeline.
    std::fs::copy(
        uri("split_data", "test_set"),
        project.join("sample_data/parity_scoring.parquet"),
    )
    .unwrap();
    std::fs::write(
        project.join("pipelines/parity_serving.yaml"),
        "schema_version: 1\nproject:\n  name: parity_serving\n  problem_type: binary_classification\nserving:\n  model_source:\n    registry: local\n    run_id: \"{{ var('run_id') }}\"\n  data_source:\n    scoring_table: parity_scoring\n  output:\n    table: parity.parquet\n    columns:\n      prediction: probability\n      label: predicted\n      threshold: 0.5\n",
    )
    .unwrap();
    let output = sandbox
        .mbt(&project)
        .args([
            "run",
            "--select",
            "parity_serving",
            "--vars",
            &format!("run_id={run_id}"),
        ])
        .run();
    output.expect_code(0);
    let served =
        from_parquet(std::fs::read(project.join("predictions/parity.parquet")).unwrap()).unwrap();
    let evaluated =
        from_parquet(std::fs::read(uri("evaluate", "test_predictions")).unwrap()).unwrap();
    assert_eq!(served.height(), evaluated.height());
    assert_eq!(
        texts(&served, "customer_id").unwrap(),
        texts(&evaluated, "customer_id").unwrap()
    );
    let served_scores = numbers(&served, "probability").unwrap();
    let evaluated_scores = numbers(&evaluated, "score").unwrap();
    let identical = served_scores
        .iter()
        .zip(&evaluated_scores)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(
        identical,
        "serving probabilities differ from the evaluate step's"
    );
    let labels = numbers(&served, "predicted").unwrap();
    assert!(labels
        .iter()
        .zip(&served_scores)
        .all(|(label, score)| (*label == 1.0) == (*score >= 0.5)));
}

#[test]
fn serving_before_any_training_run_says_which_pipeline_to_run() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = run(&sandbox, &project, "churn_serving_v1");
    output.expect_code(1);
    let first = results(&project, "churn_serving_v1");
    let load_model = &first["steps"]["load_model"];
    let error = load_model["error"].as_str().unwrap();
    assert!(
        error.contains("`run_id: latest` found no run of pipeline `churn_training_v1`"),
        "{error}"
    );
    assert_eq!(load_model["code"], "MBT4011");
    assert_eq!(
        load_model["help"],
        "run `mbt run churn_training_v1` first, or pin a run with `--vars run_id=RUN_ID`"
    );
    // A run id left to run time (`run_vars`) and not given: the variable to pass.
    let pipeline = project.join("pipelines/churn_serving_v1.yaml");
    util::edit(
        &pipeline,
        "run_vars: [fallback]",
        "run_vars: [run_id, fallback]",
    );
    util::edit(&pipeline, "var('run_id', 'latest')", "var('run_id')");
    run(&sandbox, &project, "churn_serving_v1").expect_code(1);
    let rerun = results(&project, "churn_serving_v1");
    let load_model = &rerun["steps"]["load_model"];
    let error = load_model["error"].as_str().unwrap();
    assert!(error.contains("a variable that was not given"), "{error}");
    assert_eq!(load_model["code"], "MBT4014");
    assert_eq!(load_model["help"], "pass `--vars NAME=VALUE` to `mbt run`");
}

#[test]
fn nulls_in_the_label_fail_validate_data_with_the_share() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let path = project.join("sample_data/customer_churn_features.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let rows = text.lines().count() - 1;
    let blanked = (rows as f64 * 0.05).round() as usize;
    // Empty the label (the last column) of the first 5% of rows.
    let corrupted: String = text
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if (1..=blanked).contains(&index) {
                format!("{},\n", &line[..line.rfind(',').unwrap()])
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&path, corrupted).unwrap();
    let output = run(&sandbox, &project, "churn_training_v1");
    output.expect_code(1);
    let results = results(&project, "churn_training_v1");
    assert_eq!(results["steps"]["join_tables"]["status"], "success");
    let error = results["steps"]["validate_data"]["error"].as_str().unwrap();
    assert_eq!(
        error,
        "null_threshold failed: churned has 5.0% nulls (max 0.0%)"
    );
    assert_eq!(results["steps"]["validate_data"]["code"], "MBT4004");
}

#[test]
fn retry_resumes_from_the_failed_step_and_keeps_earlier_outputs() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let path = project.join("target/churn_gbm_v1/run_results.json");
    let mut record = results(&project, "churn_gbm_v1");
    let metrics = record["metrics"].clone();
    // Simulate a crash in train_model: its outputs are gone and later steps never ran.
    for uri in record["steps"]["train_model"]["outputs"]
        .as_object()
        .unwrap()
        .values()
    {
        std::fs::remove_file(uri.as_str().unwrap().strip_prefix("file://").unwrap()).unwrap();
    }
    record["status"] = "failed".into();
    record["steps"]["train_model"]["status"] = "failed".into();
    record["steps"]["train_model"]["error"] = "simulated crash".into();
    for step in ["evaluate", "log_run"] {
        record["steps"].as_object_mut().unwrap().remove(step);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();

    let output = sandbox.mbt(&project).args(["retry", "churn_gbm_v1"]).run();
    output.expect_code(0);
    let resumed = results(&project, "churn_gbm_v1");
    assert_eq!(resumed["run_id"], record["run_id"]);
    assert_eq!(resumed["status"], "success");
    let statuses: Vec<(&str, &str)> = resumed["steps"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, step)| (name.as_str(), step["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("load_data", "skipped"),
            ("split_data", "skipped"),
            ("encode", "skipped"),
            ("train_model", "success"),
            ("evaluate", "success"),
            ("log_run", "success")
        ]
    );
    assert_eq!(resumed["metrics"], metrics);
    // Nothing to retry after a success.
    let output = sandbox.mbt(&project).args(["retry", "churn_gbm_v1"]).run();
    output.expect_code(0);
    assert!(output.stdout.contains("nothing to retry"), "{output}");
}

#[test]
fn retrying_from_a_manifest_of_another_version_is_mbt4016() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let folder = project.join("target/churn_gbm_v1");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("manifest.json"), r#"{"manifest_version": 1}"#).unwrap();
    std::fs::write(
        folder.join("run_results.json"),
        r#"{"run_id": "r", "pipeline": "churn_gbm_v1", "target": "dev", "status": "failed",
            "started": "2026-01-01T00:00:00.000Z", "finished": null, "steps": {}, "metrics": {}}"#,
    )
    .unwrap();
    let output = sandbox.mbt(&project).args(["retry", "churn_gbm_v1"]).run();
    output.expect_code(1);
    assert!(output.stderr.contains("[MBT4016]"), "{output}");
    assert!(
        output
            .stderr
            .contains("manifest version 1 is not supported (this MBT reads version 2)"),
        "{output}"
    );
}

#[test]
fn json_logs_are_the_only_output_on_stdout() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .args(["run", "--select", "churn_gbm_v1", "--log-format", "json"])
        .run();
    output.expect_code(0);
    // `mbt run ... | jq` works: every stdout line is a JSON object, and nothing else is there.
    let lines: Vec<serde_json::Value> = output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert_eq!(output.stderr, "", "{output}");
    assert_eq!(lines.len(), 14, "{output}");
    for line in &lines[..12] {
        for key in [
            "ts", "level", "pipeline", "step", "run_id", "target", "event",
        ] {
            assert!(line.get(key).is_some(), "{line} lacks {key}");
        }
    }
    assert_eq!(lines[0]["event"], "step_started");
    assert_eq!(lines[11]["event"], "step_completed");
    assert_eq!(lines[11]["step"], "log_run");
    assert_eq!(lines[12]["event"], "run_finished");
    assert_eq!(lines[12]["status"], "success");
    assert!(lines[12]["metrics"]["roc_auc"].as_f64().unwrap() > 0.8);
    assert_eq!(
        lines[13],
        serde_json::json!({"event": "summary", "pipelines": 1, "succeeded": 1, "failed": 0})
    );
}

#[test]
fn a_new_project_trains_then_serves_its_latest_run_without_python() {
    let sandbox = Sandbox::new();
    sandbox
        .mbt(sandbox.path())
        .args(["init", "demo"])
        .run()
        .success();
    let project = sandbox.path().join("demo");
    // Serving's `run_id: latest` before any training run: a coded error that says what to do.
    let output = sandbox
        .mbt(&project)
        .args(["run", "--select", "serving_v1"])
        .env("MBT_PYTHON", "/nonexistent/python")
        .run();
    output.expect_code(1);
    assert!(output.stderr.contains("error[MBT4011]"), "{output}");
    assert!(
        output
            .stderr
            .contains("`run_id: latest` found no run of pipeline `training_v1`"),
        "{output}"
    );
    // `mbt run` without a selection: training, then serving its latest run; no Python needed.
    let output = sandbox
        .mbt(&project)
        .args(["run"])
        .env("MBT_PYTHON", "/nonexistent/python")
        .run();
    output.success();
    let summary: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(summary.len(), 3, "{output}");
    assert!(
        summary[0].starts_with("training_v1: success (run "),
        "{output}"
    );
    assert!(
        summary[1].starts_with("serving_v1: success (run "),
        "{output}"
    );
    assert_eq!(summary[2], "2 pipeline(s): 2 succeeded, 0 failed");
    let trained = results(&project, "training_v1");
    let served = results(&project, "serving_v1");
    let warning = served["steps"]["load_model"]["warnings"][0]
        .as_str()
        .unwrap();
    assert!(
        warning.contains(&format!(
            "run_id latest: run `{}` of pipeline `training_v1`",
            trained["run_id"].as_str().unwrap()
        )),
        "{warning}"
    );
    let predictions = std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 401);
    // `--force` runs a successful run again, every step.
    let output = sandbox
        .mbt(&project)
        .args(["retry", "training_v1", "--force"])
        .run();
    output.success();
    assert!(output.stderr.contains("rerunning training_v1"), "{output}");
    let rerun = results(&project, "training_v1");
    assert_eq!(rerun["run_id"], trained["run_id"]);
    assert!(rerun["steps"]
        .as_object()
        .unwrap()
        .values()
        .all(|step| step["status"] == "success"));
}

#[test]
fn exec_runs_a_pinned_manifest_with_no_yaml_on_the_worker() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    sandbox
        .mbt(&project)
        .args(["compile", "churn_gbm_v1"])
        .run()
        .success();
    // The worker holds the manifest and the data, nothing else.
    let worker = sandbox.path().join("worker");
    std::fs::create_dir_all(&worker).unwrap();
    std::fs::copy(
        project.join("target/churn_gbm_v1/manifest.json"),
        worker.join("manifest.json"),
    )
    .unwrap();
    util::copy_tree(&project.join("sample_data"), &worker.join("sample_data"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(worker.join("manifest.json")).unwrap())
            .unwrap();
    let steps: Vec<String> = manifest["dag"]["execution_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step.as_str().unwrap().to_string())
        .collect();
    // The first step starts a run and says its id.
    let output = sandbox
        .mbt(&worker)
        .args(["exec", "--manifest", "manifest.json", "--step", &steps[0]])
        .run();
    output.success();
    let run_id = output
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("run id: "))
        .and_then(|rest| rest.split(' ').next())
        .expect("exec printed the run id")
        .to_string();
    for step in &steps[1..] {
        let output = sandbox
            .mbt(&worker)
            .args(["exec", "--manifest", "manifest.json", "--step", step])
            .args(["--run-id", &run_id])
            .run();
        output.success();
    }
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            worker.join(format!("target/churn_gbm_v1/exec/{run_id}/evaluate.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(result["metrics"]["roc_auc"].as_f64().unwrap() > 0.8);
    assert!(worker
        .join(format!("local_registry/{run_id}/run.json"))
        .is_file());
    assert!(!worker.join("pipelines").exists());
}

#[test]
fn credentials_from_the_environment_never_reach_a_manifest_or_output() {
    // A target whose credential would be rendered from the environment at compile time: it is
    // refused (MBT2205), and neither the diagnostics nor any file under the project hold it.
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let secret = "pg-s3cr3t-7f2c";
    std::fs::write(
        project.join("profiles.yaml"),
        "telecom-churn:\n  target: prod\n  outputs:\n    prod:\n      data_connector:\n        type: postgres\n        config:\n          host: db.internal\n          database: analytics\n          password: \"{{ env_var('PG_PASSWORD') }}\"\n",
    )
    .unwrap();
    for command in [
        vec!["check"],
        vec!["compile", "churn_gbm_v1"],
        vec!["run", "--select", "churn_gbm_v1"],
    ] {
        let output = sandbox
            .mbt(&project)
            .env("PG_PASSWORD", secret)
            .args(&command)
            .run();
        output.expect_code(1);
        assert!(output.stderr.contains("[MBT2205]"), "{output}");
        assert!(
            output.stderr.contains("{{ secret('PG_PASSWORD') }}"),
            "the help shows the secret() form:\n{output}"
        );
        assert!(
            !output.stdout.contains(secret) && !output.stderr.contains(secret),
            "{command:?} printed the password:\n{output}"
        );
    }
    assert!(
        !project.join("target").exists(),
        "nothing is compiled from a target with a credential in clear"
    );
}

#[test]
fn concurrent_runs_of_one_pipeline_do_not_clobber_each_other() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let first = std::thread::scope(|scope| {
        let one = scope.spawn(|| run(&sandbox, &project, "churn_gbm_v1"));
        let two = scope.spawn(|| run(&sandbox, &project, "churn_gbm_v1"));
        let (one, two) = (one.join().unwrap(), two.join().unwrap());
        one.expect_code(0);
        two.expect_code(0);
        one
    });
    // Two distinct runs, each complete in the registry with the same metrics.
    let runs: Vec<_> = std::fs::read_dir(project.join("local_registry"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2, "{first}");
    let records: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap()
        })
        .collect();
    assert_ne!(records[0]["run_id"], records[1]["run_id"]);
    assert_eq!(records[0]["metrics"], records[1]["metrics"]);
    assert_eq!(results(&project, "churn_gbm_v1")["status"], "success");
}

#[test]
fn smartcore_classifiers_give_probabilities() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let pipeline = project.join("pipelines/churn_simple_v1.yaml");
    let original = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("framework: sklearn", "framework: smartcore");
    for (model, extra) in [
        ("RandomForestClassifier", "      n_estimators: 100\n"),
        ("LogisticRegression", ""),
        ("DecisionTreeClassifier", "      max_depth: 4\n"),
    ] {
        let text = original.replace(
            "      model: RandomForestClassifier\n      n_estimators: 100\n",
            &format!("      model: {model}\n{extra}"),
        );
        assert!(text.contains(model));
        std::fs::write(&pipeline, text).unwrap();
        let output = run(&sandbox, &project, "churn_simple_v1");
        output.expect_code(0);
        let results = results(&project, "churn_simple_v1");
        let auc = results["metrics"]["roc_auc"].as_f64().unwrap();
        // A classifier ranking by hard labels only would sit near 0.5-0.7 here.
        assert!(auc > 0.75, "{model}: ROC AUC {auc}");
    }
}

/// The failed step's result in run_results.json.
fn failed_step(project: &std::path::Path, pipeline: &str, step: &str) -> serde_json::Value {
    let results = results(project, pipeline);
    assert_eq!(results["status"], "failed", "{results:#}");
    let step = results["steps"][step].clone();
    assert_eq!(step["status"], "failed", "{results:#}");
    step
}

fn uri_path(results: &serde_json::Value, step: &str, output: &str) -> std::path::PathBuf {
    results["steps"][step]["outputs"][output]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .into()
}

#[test]
fn the_plans_training_pipeline_runs_python_hooks_and_windows_then_serves() {
    use mbt_runtime::frame::{from_parquet, names};
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args([
            "run",
            "--select",
            "churn_training_v1",
            "--vars",
            "execution_date=2026-03-01",
        ])
        .run();
    output.expect_code(0);
    let training = results(&project, "churn_training_v1");
    assert_eq!(training["execution_date"], "2026-03-01");
    let auc = training["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc >= 0.83, "test ROC AUC {auc} is below 0.83");
    // The custom validator ran and passed, through the bridge.
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(uri_path(&training, "validate_data", "validation_report")).unwrap(),
    )
    .unwrap();
    let custom = &report["checks"][2];
    assert_eq!(custom["passed"], true, "{report:#}");
    assert!(
        custom["message"]
            .as_str()
            .unwrap()
            .contains("Label positive rate: 0.2"),
        "{report:#}"
    );
    // generate_plots: true (from the base) stores the evaluation plots with evaluate's outputs.
    for plot in [
        "roc_curve.png",
        "pr_curve.png",
        "confusion_matrix.png",
        "feature_importance.png",
    ] {
        let bytes = std::fs::read(uri_path(&training, "evaluate", plot)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{plot} is not a PNG"
        );
    }
    // compute_rfm added its columns.
    let transformed =
        from_parquet(std::fs::read(uri_path(&training, "transform", "transformed_data")).unwrap())
            .unwrap();
    for column in ["recency", "frequency", "monetary"] {
        assert!(
            names(&transformed).iter().any(|n| n == column),
            "{column} missing"
        );
    }
    // The window [2025-02-01, 2026-02-01) keeps 12 of the 24 monthly snapshots.
    let window_rows = training["steps"]["split_data"]["metrics"]["window_rows"]
        .as_f64()
        .unwrap();
    assert!((3000.0..4500.0).contains(&window_rows), "{window_rows}");
    assert!(window_rows < transformed.height() as f64);

    // Serving replays compute_rfm and the fitted scaler/selector, over the lookback window.
    let run_id = training["run_id"].as_str().unwrap();
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args([
            "run",
            "--select",
            "churn_serving_v1",
            "--vars",
            &format!("run_id={run_id}"),
        ])
        .run();
    output.expect_code(0);
    let predictions = std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap();
    let mut lines = predictions.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,churn_probability,churn_predicted"
    );
    assert_eq!(lines.count(), 500);
    let serving = results(&project, "churn_serving_v1");
    let warnings = serving["steps"]["load_scoring_data"]["warnings"].to_string();
    assert!(warnings.contains("2026-03-01"), "{warnings}");
    // An explicit execution date whose lookback holds no snapshot: a coded, explained failure.
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args([
            "run",
            "--select",
            "churn_serving_v1",
            "--vars",
            &format!("run_id={run_id},execution_date=2026-03-10"),
        ])
        .run();
    output.expect_code(1);
    let step = failed_step(&project, "churn_serving_v1", "load_scoring_data");
    assert_eq!(step["code"], "MBT4010", "{step}");
    assert!(
        step["error"]
            .as_str()
            .unwrap()
            .contains("[2026-03-09, 2026-03-10]"),
        "{step}"
    );
}

#[test]
fn a_missing_python_is_a_coded_error_naming_the_fix() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", "/nonexistent/python3")
        .args(["run", "--select", "churn_training_v1"])
        .run();
    output.expect_code(1);
    let step = failed_step(&project, "churn_training_v1", "validate_data");
    assert_eq!(step["code"], "MBT4007");
    assert!(
        step["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/python3"),
        "{step}"
    );
    assert!(
        step["help"]
            .as_str()
            .unwrap()
            .contains("pip install pandas pyarrow"),
        "{step}"
    );
    assert!(output.stderr.contains("error[MBT4007]"), "{output}");
}

#[test]
fn a_raising_python_transform_names_the_function_and_line() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    util::edit(
        &project.join("lib/custom_transforms.py"),
        "    result = df.copy()\n    tenure = pd.to_numeric(result[\"tenure\"], errors=\"coerce\")",
        "    result = df.copy()\n    tenure = pd.to_numeric(result[\"tenure_months\"], errors=\"coerce\")",
    );
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args(["run", "--select", "churn_training_v1"])
        .run();
    output.expect_code(1);
    let step = failed_step(&project, "churn_training_v1", "transform");
    assert_eq!(step["code"], "MBT4008");
    let error = step["error"].as_str().unwrap();
    assert!(
        error.starts_with("lib.custom_transforms.compute_rfm raised KeyError: 'tenure_months' (lib/custom_transforms.py:"),
        "{error}"
    );
    // Earlier outputs are intact.
    let results = results(&project, "churn_training_v1");
    assert!(uri_path(&results, "validate_data", "validated_data").is_file());
}

#[test]
fn sql_transforms_run_over_the_frame_and_bad_sql_is_coded() {
    use mbt_runtime::frame::{from_parquet, numbers};
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    util::edit(
        &project.join("pipelines/churn_gbm_v1.yaml"),
        "  transformations:\n",
        "  transformations:\n    custom_transforms:\n      - sql: SELECT *, monthly_charges * 12 AS yearly_charges FROM data\n",
    );
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let results = results(&project, "churn_gbm_v1");
    let transformed =
        from_parquet(std::fs::read(uri_path(&results, "transform", "transformed_data")).unwrap())
            .unwrap();
    let monthly = numbers(&transformed, "monthly_charges").unwrap();
    let yearly = numbers(&transformed, "yearly_charges").unwrap();
    assert!(monthly
        .iter()
        .zip(&yearly)
        .all(|(m, y)| (m * 12.0 - y).abs() < 1e-9));

    util::edit(
        &project.join("pipelines/churn_gbm_v1.yaml"),
        "FROM data",
        "FROM customers",
    );
    run(&sandbox, &project, "churn_gbm_v1").expect_code(1);
    let step = failed_step(&project, "churn_gbm_v1", "transform");
    assert_eq!(step["code"], "MBT4009");
    assert!(
        step["error"].as_str().unwrap().contains("FROM customers"),
        "{step}"
    );
}

#[test]
fn a_missing_column_is_coded_with_a_suggestion() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args(["run", "--select", "churn_training_v1"])
        .run();
    output.expect_code(0);
    util::edit(
        &project.join("sample_data/customer_churn_features.csv"),
        "monthly_charges",
        "monthly_charge",
    );
    // Compiling again refuses the pipeline (MBT2402, tests/cli.rs); the pinned manifest meets
    // the missing column at its step.
    let output = rerun_pinned(&sandbox, &project, "churn_training_v1");
    output.expect_code(1);
    let step = failed_step(&project, "churn_training_v1", "validate_data");
    assert_eq!(step["code"], "MBT4003", "{step}");
    assert!(
        step["error"]
            .as_str()
            .unwrap()
            .contains("column `monthly_charges` not found"),
        "{step}"
    );
    assert_eq!(step["help"], "did you mean `monthly_charge`?");
}

#[test]
fn an_all_null_feature_is_left_out_with_a_warning() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let path = project.join("sample_data/customer_churn_features.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // Blank `payment_method` (column 15 of 18) in every row.
    let index = text
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "payment_method")
        .unwrap();
    let blanked: String = text
        .lines()
        .enumerate()
        .map(|(row, line)| {
            if row == 0 {
                return format!("{line}\n");
            }
            // No field of this file holds a quoted comma, so splitting on commas is exact.
            let mut fields: Vec<&str> = line.split(',').collect();
            fields[index] = "";
            format!("{}\n", fields.join(","))
        })
        .collect();
    std::fs::write(&path, blanked).unwrap();
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let results = results(&project, "churn_gbm_v1");
    let warnings = results["steps"]["split_data"]["warnings"].to_string();
    assert!(
        warnings.contains("column `payment_method` is null in every train row"),
        "{warnings}"
    );
    assert!(results["metrics"]["roc_auc"].as_f64().unwrap() > 0.8);
}

#[test]
fn runtime_failures_carry_codes() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    // A table that no longer exists under a compiled manifest: did-you-mean over the data
    // folder. (Compiling with it missing is MBT2401.)
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    let data = project.join("sample_data");
    std::fs::rename(
        data.join("customer_churn_features.csv"),
        data.join("customer_churn_feature.csv"),
    )
    .unwrap();
    rerun_pinned(&sandbox, &project, "churn_gbm_v1").expect_code(1);
    let step = failed_step(&project, "churn_gbm_v1", "load_data");
    assert_eq!(step["code"], "MBT4001");
    assert_eq!(step["help"], "did you mean `customer_churn_feature`?");
    std::fs::rename(
        data.join("customer_churn_feature.csv"),
        data.join("customer_churn_features.csv"),
    )
    .unwrap();
    // An execution date outside the data: the window is empty.
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .args([
            "run",
            "--select",
            "churn_training_v1",
            "--vars",
            "execution_date=2020-01-01",
        ])
        .run();
    output.expect_code(1);
    let step = failed_step(&project, "churn_training_v1", "split_data");
    assert_eq!(step["code"], "MBT4010");
    assert!(
        step["help"]
            .as_str()
            .unwrap()
            .contains("2024-03-01 to 2026-02-01"),
        "{step}"
    );
    // A run id the registry does not have.
    run(&sandbox, &project, "churn_serving_v1");
    let output = sandbox
        .mbt(&project)
        .args([
            "run",
            "--select",
            "churn_serving_v1",
            "--vars",
            "run_id=run_nope",
        ])
        .run();
    output.expect_code(1);
    let step = failed_step(&project, "churn_serving_v1", "load_model");
    assert_eq!(step["code"], "MBT4011");
    // Every runtime code is documented.
    let output = sandbox.mbt(&project).args(["explain", "MBT4011"]).run();
    output.expect_code(0);
    assert!(output.stdout.contains("Training run not found"), "{output}");
}

#[test]
fn exec_runs_one_step_at_a_time_from_storage() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let exec = |step: &str| {
        sandbox
            .mbt(&project)
            .args([
                "exec",
                "--pipeline",
                "churn_gbm_v1",
                "--step",
                step,
                "--run-id",
                "orchestrated_1",
            ])
            .run()
    };
    // A step whose inputs were never produced says which step to run first.
    let output = exec("train_model");
    assert_ne!(output.code, Some(0), "{output}");
    assert!(
        output.stderr.contains("run step `encode` first"),
        "{output}"
    );
    for step in [
        "load_data",
        "split_data",
        "encode",
        "train_model",
        "evaluate",
        "log_run",
    ] {
        exec(step).expect_code(0);
        let result: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(project.join(format!(
                "target/churn_gbm_v1/exec/orchestrated_1/{step}.json"
            )))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(result["status"], "success", "{step}: {result:#}");
    }
    // The same metrics as one `mbt run`.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("local_registry/orchestrated_1/run.json")).unwrap(),
    )
    .unwrap();
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    assert_eq!(
        record["metrics"],
        results(&project, "churn_gbm_v1")["metrics"]
    );
    // An unknown step lists the pipeline's steps.
    let output = exec("normalise");
    assert_ne!(output.code, Some(0));
    assert!(
        output.stderr.contains("has no step `normalise`"),
        "{output}"
    );
}

#[test]
fn serving_replays_joins_and_python_transforms_with_exact_parity() {
    use mbt_runtime::frame::{from_parquet, numbers, texts};
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let python = util::python();
    sandbox
        .mbt(&project)
        .env("MBT_PYTHON", &python)
        .args([
            "run",
            "--select",
            "churn_training_v1",
            "--vars",
            "execution_date=2026-03-01",
        ])
        .run()
        .expect_code(0);
    let training = results(&project, "churn_training_v1");
    let evaluated =
        from_parquet(std::fs::read(uri_path(&training, "evaluate", "test_predictions")).unwrap())
            .unwrap();
    let ids: Vec<String> = texts(&evaluated, "customer_id")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let scores = numbers(&evaluated, "score").unwrap();
    // The raw rows of the test customers, before the join and compute_rfm, without the label.
    let raw =
        std::fs::read_to_string(project.join("sample_data/customer_churn_features.csv")).unwrap();
    let wanted: std::collections::BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let scoring: String = raw
        .lines()
        .enumerate()
        .filter(|(row, line)| *row == 0 || wanted.contains(line.split(',').next().unwrap()))
        .map(|(_, line)| format!("{}\n", &line[..line.rfind(',').unwrap()]))
        .collect();
    std::fs::write(project.join("sample_data/parity_scoring.csv"), scoring).unwrap();
    std::fs::write(
        project.join("pipelines/parity_serving.yaml"),
        "schema_version: 1\nproject:\n  name: parity_serving\n  problem_type: binary_classification\nserving:\n  model_source:\n    run_id: \"{{ var('run_id') }}\"\n  data_source:\n    scoring_table: parity_scoring\n  output:\n    table: parity.csv\n",
    )
    .unwrap();
    let run_id = training["run_id"].as_str().unwrap();
    sandbox
        .mbt(&project)
        .env("MBT_PYTHON", &python)
        .args([
            "run",
            "--select",
            "parity_serving",
            "--vars",
            &format!("run_id={run_id}"),
        ])
        .run()
        .expect_code(0);
    let served = std::fs::read_to_string(project.join("predictions/parity.csv")).unwrap();
    let served: std::collections::BTreeMap<String, f64> = served
        .lines()
        .skip(1)
        .map(|line| {
            let (id, score) = line.split_once(',').unwrap();
            (id.to_string(), score.parse().unwrap())
        })
        .collect();
    assert_eq!(served.len(), ids.len());
    for (id, score) in ids.iter().zip(&scores) {
        // CSV keeps a float's shortest round-trip text, so equality is exact.
        assert_eq!(
            served[id].to_bits(),
            score.to_bits(),
            "{id}: served {} evaluated {score}",
            served[id]
        );
    }
}

#[test]
fn multiclass_and_regression_train_and_serve_on_the_wine_example() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("wine-quality");
    run(&sandbox, &project, "wine_band_v1").expect_code(0);
    let band = results(&project, "wine_band_v1");
    let metrics = &band["metrics"];
    // Three bands with shares 0.37 / 0.44 / 0.20: always guessing "medium" scores 0.44.
    assert!(metrics["accuracy"].as_f64().unwrap() > 0.65, "{metrics}");
    assert!(metrics["macro_f1"].as_f64().unwrap() > 0.6, "{metrics}");
    assert!(metrics["log_loss"].as_f64().unwrap() < 0.8, "{metrics}");
    let run_id = band["run_id"].as_str().unwrap();
    sandbox
        .mbt(&project)
        .args([
            "run",
            "--select",
            "wine_band_serving_v1",
            "--vars",
            &format!("run_id={run_id}"),
        ])
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(project.join("predictions/wine_bands.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "wine_id,band_probability,band,probability_low,probability_medium,probability_high"
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 6497);
    assert_eq!(rows[0][0], "W00001");
    for row in &rows {
        let p: Vec<f64> = row[3..].iter().map(|v| v.parse().unwrap()).collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
        let best = p.iter().cloned().fold(f64::MIN, f64::max);
        assert_eq!(row[1].parse::<f64>().unwrap(), best);
        let names = ["low", "medium", "high"];
        assert_eq!(row[2], names[p.iter().position(|v| *v == best).unwrap()]);
    }

    run(&sandbox, &project, "wine_quality_v1").expect_code(0);
    let regression = results(&project, "wine_quality_v1")["metrics"].clone();
    // The score's standard deviation is 0.87: a model must do clearly better than the mean.
    assert!(regression["rmse"].as_f64().unwrap() < 0.7, "{regression}");
    assert!(regression["r2"].as_f64().unwrap() > 0.35, "{regression}");
}

#[test]
fn the_catalog_reads_parquet_tables_from_their_footer() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    run(&sandbox, &project, "churn_gbm_v1").expect_code(0);
    // A Parquet table written by the runtime (polars): load_data's output, the whole CSV.
    let results = results(&project, "churn_gbm_v1");
    std::fs::copy(
        uri_path(&results, "load_data", "raw_data"),
        project.join("sample_data/features_snapshot.parquet"),
    )
    .unwrap();
    let output = sandbox
        .mbt(&project)
        .args(["catalog", "--format", "json"])
        .run();
    output.success();
    let catalog: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let parquet = &catalog["tables"]["features_snapshot"];
    let csv = &catalog["tables"]["customer_churn_features"];
    assert_eq!(parquet["source"], "features_snapshot.parquet");
    assert_eq!(parquet["rows"], 7043, "{parquet}");
    let columns = |table: &serde_json::Value| -> Vec<(String, String)> {
        table["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].to_string(), c["type"].to_string()))
            .collect()
    };
    // The same columns; CSV dates are text to the runtime, so only their type differs.
    let expected: Vec<(String, String)> = columns(csv)
        .into_iter()
        .map(|(name, dtype)| {
            let dtype = if dtype == "\"date\"" {
                "\"string\"".to_string()
            } else {
                dtype
            };
            (name, dtype)
        })
        .collect();
    assert_eq!(columns(parquet), expected);
    let total = parquet["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "total_charges")
        .unwrap();
    assert_eq!(total["nulls"], 11, "{total}");

    // Column references into it are checked like a CSV table's.
    util::edit(
        &project.join("pipelines/_base_churn.yaml"),
        "label_table: customer_churn_features",
        "label_table: features_snapshot",
    );
    sandbox.mbt(&project).args(["check"]).run().success();
    util::edit(
        &project.join("includes/telecom_schema.yaml"),
        "label_column: churned",
        "label_column: churn",
    );
    let output = sandbox.mbt(&project).args(["check"]).run();
    output.expect_code(1);
    assert!(
        output.stderr.contains("did you mean `churned`?"),
        "{output}"
    );
}

#[test]
fn debug_checks_what_a_run_on_the_target_needs() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .env("MBT_H2O_JAR", util::h2o_jar())
        .args(["debug"])
        .run();
    output.success();
    for line in [
        "✓ profile              profiles.yaml: profile `telecom-churn`, target `dev`",
        "✓ data connector       local_file ./sample_data: 4 table(s)",
        "✓ storage              local: ./local_artifacts writable (created on first use)",
        "✓ framework gbm        built in",
        "✓ framework smartcore  built in",
        "✓ framework h2o_automl built in (h2o-3 3.46.0.11): a local H2O node starts for training: ",
        "✓ python               ",
    ] {
        assert!(output.stdout.contains(line), "missing `{line}`:\n{output}");
    }
    assert!(output.stdout.contains("pandas"), "{output}");
    assert!(
        output.stdout.contains("lib.custom_transforms.compute_rfm"),
        "{output}"
    );
    // Nothing was created.
    assert!(!project.join("local_artifacts").exists());

    // No Python for the hooks, and no data: each a failed check, exit 1, also as JSON.
    std::fs::rename(project.join("sample_data"), project.join("moved")).unwrap();
    let output = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", "/nonexistent/python3")
        .args(["debug", "--format", "json"])
        .run();
    output.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["ok"] == false)
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    // The example's churn_simple_v1 (scikit-learn) and churn_h2o_v1 (no h2o.jar here) too.
    assert_eq!(
        failed,
        [
            "data connector",
            "framework h2o_automl",
            "framework sklearn",
            "python"
        ],
        "{report:#}"
    );
    let python = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "python")
        .unwrap();
    assert!(
        python["detail"]
            .as_str()
            .unwrap()
            .contains("`/nonexistent/python3` not found"),
        "{python}"
    );

    // A target that does not exist fails the profile check and stops there.
    let output = sandbox
        .mbt(&project)
        .args(["debug", "--target", "nowhere"])
        .run();
    output.expect_code(1);
    assert!(output.stdout.contains("✗ profile"), "{output}");
}

#[test]
fn the_plans_sklearn_pipeline_trains_and_serves_through_a_python_worker() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let python = util::python();
    let run_simple = || {
        sandbox
            .mbt(&project)
            .env("MBT_PYTHON", &python)
            .args(["run", "--select", "churn_simple_v1"])
            .run()
    };
    // The plan's verbatim `framework: sklearn` with RandomForestClassifier(n_estimators=100).
    run_simple().expect_code(0);
    let first = results(&project, "churn_simple_v1");
    let auc = first["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.75, "ROC AUC {auc}");
    // random_state defaults to 0: a second run has the same metrics.
    run_simple().expect_code(0);
    assert_eq!(
        results(&project, "churn_simple_v1")["metrics"],
        first["metrics"]
    );

    // Serving loads the pickled estimator and scores through the worker.
    std::fs::write(
        project.join("pipelines/simple_serving_v1.yaml"),
        "schema_version: 1\nproject:\n  name: simple_serving_v1\n  problem_type: binary_classification\nserving:\n  model_source:\n    registry: local\n    run_id: latest\n    training_pipeline: churn_simple_v1\n  data_source:\n    scoring_table: customers\n  output:\n    destination: local_file\n    table: simple.csv\n    columns:\n      prediction: churn_probability\n",
    )
    .unwrap();
    let serve = |python: &std::ffi::OsStr| {
        sandbox
            .mbt(&project)
            .env("MBT_PYTHON", python)
            .args(["run", "--select", "simple_serving_v1"])
            .run()
    };
    let output = serve(&python);
    output.expect_code(0);
    let predictions = std::fs::read_to_string(project.join("predictions/simple.csv")).unwrap();
    let mut lines = predictions.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|c| *c == "churn_probability")
        .unwrap();
    let scores: Vec<f64> = lines
        .map(|line| line.split(',').nth(column).unwrap().parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 500);
    assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)), "{scores:?}");
    assert!(scores.iter().any(|p| *p > 0.5) && scores.iter().any(|p| *p < 0.5));

    // A model pickled by another scikit-learn version loads with a warning.
    let latest = results(&project, "churn_simple_v1")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let model = project.join(format!("local_registry/{latest}/artifacts/model.json"));
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(
        &model,
        regex_free_replace(&text, "sklearn_version\\\":\\\"", "0.0.1"),
    )
    .unwrap();
    let output = serve(&python);
    output.expect_code(0);
    assert!(
        output
            .stderr
            .contains("was trained with scikit-learn 0.0.1 and is loaded with 1.7.2"),
        "{output}"
    );

    // Without Python: a coded error that says how to install what the framework needs.
    let output = serve(std::ffi::OsStr::new("/nonexistent/python3"));
    output.expect_code(1);
    let results = results(&project, "simple_serving_v1");
    let step = results["steps"]
        .as_object()
        .unwrap()
        .values()
        .find(|step| step["status"] == "failed")
        .unwrap();
    assert_eq!(step["code"], "MBT4007", "{results:#}");
    assert!(
        step["help"].as_str().unwrap().contains("scikit-learn"),
        "{step}"
    );
}

/// `text` with the value after the first `marker` (up to the next `\"`) replaced by `value`.
fn regex_free_replace(text: &str, marker: &str, value: &str) -> String {
    let start = text.find(marker).unwrap() + marker.len();
    let end = start + text[start..].find("\\\"").unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

/// churn_gbm_v1 registers `churn_gbm` and moves `champion` to each run's version.
fn register_churn_gbm(project: &std::path::Path) {
    let path = project.join("pipelines/churn_gbm_v1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let registration =
        "\n  registration:\n    registered_model_name: churn_gbm\n    alias: champion\n";
    std::fs::write(&path, text + registration).unwrap();
}

#[test]
fn serving_loads_the_registered_models_alias_which_each_training_run_moves() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    register_churn_gbm(&project);
    run(&sandbox, &project, "churn_gbm_v1").success();
    let first = results(&project, "churn_gbm_v1")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    run(&sandbox, &project, "churn_gbm_v1").success();
    let second = results(&project, "churn_gbm_v1")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    let model = project.join("local_registry/models/churn_gbm");
    let read = |path: &str| std::fs::read_to_string(model.join(path)).unwrap();
    assert_eq!(read("versions/1"), first);
    assert_eq!(read("versions/2"), second);
    assert_eq!(read("aliases/champion"), "2");
    // The run record says which version the run became.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            project.join(format!("local_artifacts/{second}/log_run/run_record.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(record["tags"]["mbt.registered_model"], "churn_gbm/2");

    std::fs::write(
        project.join("pipelines/serve_champion.yaml"),
        "schema_version: 1\nproject:\n  name: serve_champion\n  problem_type: binary_classification\nserving:\n  model_source:\n    model_name: churn_gbm\n    alias: champion\n  data_source:\n    scoring_table: active_customers\n  output:\n    table: champion.csv\n",
    )
    .unwrap();
    run(&sandbox, &project, "serve_champion").success();
    let served = results(&project, "serve_champion");
    assert_eq!(
        served["steps"]["load_model"]["warnings"][0],
        format!("model churn_gbm@champion: run `{second}`").as_str()
    );
    assert!(project.join("predictions/champion.csv").is_file());

    // An alias nobody set: the coded error says how to get one.
    util::edit(
        &project.join("pipelines/serve_champion.yaml"),
        "alias: champion",
        "alias: challenger",
    );
    let failed = run(&sandbox, &project, "serve_champion");
    failed.expect_code(1);
    let error = failed_step(&project, "serve_champion", "load_model");
    assert_eq!(error["code"], "MBT4011");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("model `churn_gbm` has no alias `challenger` in "),
        "{error}"
    );
}

#[test]
fn exec_refuses_a_run_id_that_is_not_a_folder_name_and_generate_dags_an_unknown_orchestrator() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example(EXAMPLE);
    let refused = sandbox
        .mbt(&project)
        .args([
            "exec",
            "--pipeline",
            "churn_gbm_v1",
            "--step",
            "load_data",
            "--run-id",
            "../../escape",
        ])
        .run();
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("MBT2026")
            && refused
                .stderr
                .contains("run id `../../escape` is not valid"),
        "{refused}"
    );
    assert!(!sandbox.path().join("escape").exists());
    let unknown = sandbox
        .mbt(&project)
        .args([
            "generate-dags",
            "--orchestrator",
            "dagster",
            "--output",
            "dags",
        ])
        .run();
    unknown.expect_code(1);
    assert!(
        unknown
            .stderr
            .contains("orchestrator `dagster` is not available in this build"),
        "{unknown}"
    );
    assert!(!project.join("dags").exists());
}

/// `model_training` of `pipeline` (a copy in the sandbox) switched to scikit-learn's `model`
/// with `config` lines, run with the test Python; its metrics.
fn run_sklearn(
    sandbox: &Sandbox,
    project: &std::path::Path,
    pipeline: &str,
    model: &str,
    config: &str,
) -> serde_json::Value {
    let path = project.join(format!("pipelines/{pipeline}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("  model_training:\n").unwrap();
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |at| start + at);
    let replaced = format!(
        "{}  model_training:\n    framework: sklearn\n    config:\n      model: {model}\n{config}{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&path, replaced).unwrap();
    let output = sandbox
        .mbt(project)
        .env("MBT_PYTHON", util::python())
        .args(["run", "--select", pipeline])
        .run();
    output.success();
    std::fs::write(&path, text).unwrap();
    results(project, pipeline)["metrics"].clone()
}

#[test]
fn the_plans_sklearn_models_train_on_their_problem_types() {
    let sandbox = Sandbox::new();
    let churn = sandbox.copy_example(EXAMPLE);
    for (model, config) in [
        ("LogisticRegression", "      max_iter: 1000\n"),
        ("GradientBoostingClassifier", "      n_estimators: 50\n"),
        ("HistGradientBoostingClassifier", ""),
    ] {
        let metrics = run_sklearn(&sandbox, &churn, "churn_simple_v1", model, config);
        let auc = metrics["roc_auc"].as_f64().unwrap();
        assert!(auc > 0.75, "{model}: ROC AUC {auc}");
    }
    let wine = sandbox.copy_example("wine-quality");
    for (model, config) in [
        ("RandomForestRegressor", "      n_estimators: 50\n"),
        ("GradientBoostingRegressor", "      n_estimators: 100\n"),
        ("HistGradientBoostingRegressor", ""),
        ("Ridge", "      alpha: 1.0\n"),
        ("LinearRegression", ""),
    ] {
        let metrics = run_sklearn(&sandbox, &wine, "wine_quality_v1", model, config);
        let r2 = metrics["r2"].as_f64().unwrap();
        assert!(r2 > 0.2, "{model}: R² {r2}");
    }
    // Multiclass: every class's probability comes back.
    let metrics = run_sklearn(
        &sandbox,
        &wine,
        "wine_band_v1",
        "HistGradientBoostingClassifier",
        "",
    );
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5, "accuracy {accuracy}");
    assert!(metrics["log_loss"].as_f64().unwrap().is_finite());
}
