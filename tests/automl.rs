//! MBT's own AutoML (`framework: automl`) end to end on the example project, and the plan's
//! promise that the framework is a one-word switch.
//!
//! What they prove: `churn_automl_v1` trains, stores a leaderboard with the run (printed
//! after the run, plotted by evaluate), and serves;
//! the time budget holds for train_model (budget + 10%, the refit included); a fixed seed with
//! `max_models` and no time limit repeats exactly (the same model bytes, leaderboard and
//! metrics); and `churn_training_v1` with its config removed trains and serves with each of
//! automl, gbm, smartcore, sklearn and h2o_automl by changing `framework:` alone.

mod util;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde_json::Value;
use util::{Output, Sandbox};

/// The budget test has the machine's cores to itself: a time budget is measured on an otherwise
/// idle machine (the other tests here train too, one of them an H2O node), not under contention
/// that slows every fit after its time was estimated.
static CORES: RwLock<()> = RwLock::new(());

fn mbt(sandbox: &Sandbox, project: &Path, args: &[&str]) -> Output {
    sandbox
        .mbt(project)
        .env("MBT_PYTHON", util::python())
        .env("MBT_H2O_JAR", util::h2o_jar())
        .args(args)
        .run()
}

fn run_results(project: &Path, pipeline: &str) -> Value {
    let path = project.join(format!("target/{pipeline}/run_results.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The text of output `output` of train_model in the newest run of `pipeline`.
fn train_output(project: &Path, pipeline: &str, output: &str) -> String {
    let results = run_results(project, pipeline);
    let uri = results["steps"]["train_model"]["outputs"][output]
        .as_str()
        .unwrap_or_else(|| panic!("no output {output}"))
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    std::fs::read_to_string(uri).unwrap()
}

/// The payload of the trained model of the newest run of `pipeline`.
fn payload(project: &Path, pipeline: &str) -> Value {
    let model: Value = serde_json::from_str(&train_output(project, pipeline, "model")).unwrap();
    assert_eq!(model["model"]["framework"], "automl");
    serde_json::from_str(model["model"]["payload"].as_str().unwrap()).unwrap()
}

/// A serving pipeline for `training` writing `table`.
fn serving(project: &Path, training: &str, table: &str) -> String {
    let name = format!("serve_{training}");
    let text = std::fs::read_to_string(project.join("pipelines/churn_serving_v1.yaml"))
        .unwrap()
        .replace("name: churn_serving_v1", &format!("name: {name}"))
        .replace(
            "training_pipeline: churn_training_v1",
            &format!("training_pipeline: {training}"),
        )
        .replace("'predictions.csv'", &format!("'{table}'"));
    std::fs::write(project.join(format!("pipelines/{name}.yaml")), text).unwrap();
    name
}

#[test]
fn churn_automl_v1_trains_within_its_budget_and_serves() {
    let _alone = CORES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    util::edit(
        &project.join("pipelines/churn_automl_v1.yaml"),
        "max_runtime_secs: 30",
        "max_runtime_secs: 12",
    );
    let trained = mbt(&sandbox, &project, &["run", "--select", "churn_automl_v1"]);
    trained.success();
    // The leaderboard is printed at the end of the run, best first.
    assert!(
        trained.stdout.contains("churn_automl_v1: leaderboard (")
            && trained
                .stdout
                .contains("by cross-validated AUC; the first is served)\n   1. "),
        "{trained}"
    );
    let results = run_results(&project, "churn_automl_v1");
    let seconds = results["steps"]["train_model"]["duration_s"]
        .as_f64()
        .unwrap();
    assert!(
        seconds <= 12.0 * 1.1,
        "train_model took {seconds} s for a budget of 12 s"
    );
    let auc = results["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.83, "test AUC {auc}");
    // The evaluate step plots the leaderboard beside the other plots.
    let plot = results["steps"]["evaluate"]["outputs"]["leaderboard.png"]
        .as_str()
        .expect("a leaderboard plot")
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    assert!(std::fs::read(plot).unwrap().starts_with(b"\x89PNG"));
    // The leaderboard is stored with the run, measured times included; the model keeps it
    // without them.
    let stored: Value = serde_json::from_str(&train_output(
        &project,
        "churn_automl_v1",
        "leaderboard.json",
    ))
    .unwrap();
    let payload = payload(&project, "churn_automl_v1");
    let board = stored.as_array().unwrap();
    assert!(!board.is_empty());
    assert_eq!(payload["leader"], board[0]["model_id"]);
    assert_eq!(board[0]["metric"], "AUC");
    for (row, kept) in board.iter().zip(payload["leaderboard"].as_array().unwrap()) {
        assert_eq!(row["model_id"], kept["model_id"]);
        assert_eq!(row["score"], kept["score"]);
        assert!(kept.get("fit_seconds").is_none(), "{kept}");
    }
    for row in board {
        for key in [
            "model_id",
            "algorithm",
            "params",
            "score",
            "fit_seconds",
            "predict_ms_per_1k",
        ] {
            assert!(!row[key].is_null(), "{key} in {row}");
        }
    }
    // Ranked best first.
    let scores: Vec<f64> = board.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let serve = serving(&project, "churn_automl_v1", "automl.csv");
    mbt(&sandbox, &project, &["run", "--select", &serve]).success();
    let served = std::fs::read_to_string(project.join("predictions/automl.csv")).unwrap();
    assert!(served.lines().count() > 100);
}

#[test]
fn a_seed_with_max_models_repeats_exactly() {
    let _shared = CORES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    util::edit(
        &project.join("pipelines/churn_automl_v1.yaml"),
        "      max_runtime_secs: 30\n",
        "      max_models: 3\n      nfolds: 3\n",
    );
    let mut runs = Vec::new();
    for _ in 0..2 {
        mbt(&sandbox, &project, &["run", "--select", "churn_automl_v1"]).success();
        let model = train_output(&project, "churn_automl_v1", "model");
        let stored: Value = serde_json::from_str(&train_output(
            &project,
            "churn_automl_v1",
            "leaderboard.json",
        ))
        .unwrap();
        let board: Vec<(Value, Value, Value)> = stored
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["model_id"].clone(),
                    row["score"].clone(),
                    row["std"].clone(),
                )
            })
            .collect();
        assert!(board.len() >= 3, "{board:?}");
        let metrics = run_results(&project, "churn_automl_v1")["metrics"].clone();
        runs.push((model, board, metrics));
    }
    // The model artifact byte for byte (its leaderboard included).
    assert!(runs[0].0 == runs[1].0, "the models differ");
    assert_eq!(runs[0].1, runs[1].1, "the leaderboards differ");
    assert_eq!(runs[0].2, runs[1].2, "the metrics differ");
}

/// The frameworks `framework:` switches among, with nothing else changed.
const FRAMEWORKS: &[&str] = &["automl", "gbm", "smartcore", "sklearn", "h2o_automl"];

#[test]
fn churn_training_v1_switches_framework_with_one_word() {
    let _shared = CORES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    let path = project.join("pipelines/churn_training_v1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The example's gbm settings go; every framework trains with its defaults.
    let start = text.find("    framework: gbm\n").unwrap();
    let generic = format!("{}    framework: gbm\n", &text[..start]);
    let mut trained: Vec<PathBuf> = Vec::new();
    for framework in FRAMEWORKS {
        let variant = generic.replace("framework: gbm", &format!("framework: {framework}"));
        // Only the framework's word differs from the generic pipeline.
        let changed: Vec<(&str, &str)> = generic
            .lines()
            .zip(variant.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert!(changed.len() <= 1, "{changed:?}");
        std::fs::write(&path, &variant).unwrap();
        let output = mbt(
            &sandbox,
            &project,
            &["run", "--select", "churn_training_v1"],
        );
        output.success();
        let results = run_results(&project, "churn_training_v1");
        let auc = results["metrics"]["roc_auc"].as_f64().unwrap();
        assert!(auc > 0.8, "{framework}: test AUC {auc}");
        let manifest = util::read_manifest(&project, "churn_training_v1");
        assert_eq!(
            manifest["steps"]["train_model"]["config"]["model"]["framework"],
            *framework
        );
        // Serving loads the newest run, whatever trained it.
        mbt(&sandbox, &project, &["run", "--select", "churn_serving_v1"]).success();
        let predictions = project.join("predictions/predictions.csv");
        assert!(predictions.is_file(), "{framework}");
        let kept = project.join(format!("{framework}.csv"));
        std::fs::rename(&predictions, &kept).unwrap();
        trained.push(kept);
    }
    // Every framework scored the same customers.
    let ids = |path: &PathBuf| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| line.split(',').next().unwrap().to_string())
            .collect()
    };
    for other in &trained[1..] {
        assert_eq!(ids(&trained[0]), ids(other));
    }
}
