//! The runtime below `mbt run`: steps and whole manifests run in process, on small frames, with
//! in-memory adapters. Failures are injected through the adapters (a storage that refuses a
//! write, a connector that cannot start, a framework this build lacks), never through the file
//! system.
//!
//! The manifests are the example's golden manifests (`examples/telecom-churn/golden/`): the
//! compiler's output, checked in as the contract, so these tests need no compiler.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mbt_contract::frameworks::FrameworkConfig;
use mbt_contract::manifest::{parse_manifest, Manifest, Step, StepConfig};
use mbt_contract::pipeline::{Check, OnFailure};
use mbt_runtime::adapters::memory::{
    MemoryRegistry, MemorySecrets, MemoryStorage, MemoryTables, MemoryWriter,
};
use mbt_runtime::adapters::registry::{FrameworkFactory, Frameworks, Parts};
use mbt_runtime::adapters::{
    Adapter, Adapters, DataConnector, Framework, Registry, SerializedModel, TableRequest, Task,
};
use mbt_runtime::error::{code_of, Code};
use mbt_runtime::features::{Columns, Matrix};
use mbt_runtime::run::{exec, run, Progress, RunOptions, RunResults, StepResult};
use mbt_runtime::steps::{self, Artifact, StepContext};
use polars::prelude::*;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn golden(name: &str) -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/telecom-churn/golden")
        .join(format!("{name}.manifest.json"));
    parse_manifest(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Telecom-like rows: churn follows short tenure on month-to-month contracts.
fn customers(rows: usize, with_label: bool, date: Option<&str>) -> DataFrame {
    let contracts = ["Month-to-month", "One year", "Two year"];
    let ids: Vec<String> = (0..rows).map(|i| format!("C{i:05}")).collect();
    let dates: Vec<String> = (0..rows)
        .map(|i| date.map_or_else(|| format!("2025-0{}-01", 1 + i % 6), str::to_string))
        .collect();
    let tenure: Vec<i64> = (0..rows).map(|i| (i * 7 % 72) as i64).collect();
    let contract: Vec<&str> = (0..rows).map(|i| contracts[i % 3]).collect();
    let charges: Vec<f64> = (0..rows).map(|i| 20.0 + (i * 13 % 100) as f64).collect();
    let mut frame = df!(
        "customer_id" => ids,
        "snapshot_date" => dates,
        "tenure" => tenure.clone(),
        "contract" => contract.clone(),
        "monthly_charges" => charges,
    )
    .unwrap();
    if with_label {
        let churned: Vec<i64> = (0..rows)
            .map(|i| i64::from((contract[i] == "Month-to-month" && tenure[i] < 30) || i % 11 == 0))
            .collect();
        frame
            .with_column(Column::new("churned".into(), churned))
            .unwrap();
    }
    frame
}

/// In-memory adapters, with handles a test keeps to look inside.
struct Memory {
    storage: MemoryStorage,
    tables: MemoryTables,
    registry: MemoryRegistry,
    writer: MemoryWriter,
}

impl Memory {
    fn new(tables: MemoryTables) -> Memory {
        Memory {
            storage: MemoryStorage::default(),
            tables,
            registry: MemoryRegistry::default(),
            writer: MemoryWriter::default(),
        }
    }

    fn adapters(&self, frameworks: Frameworks) -> Adapters {
        self.adapters_with(Box::new(self.tables.clone()), frameworks)
    }

    fn adapters_with(&self, connector: Box<dyn DataConnector>, frameworks: Frameworks) -> Adapters {
        Adapters::from_parts(Parts {
            storage: Box::new(self.storage.clone()),
            connector,
            model_registry: Box::new(self.registry.clone()),
            output_writer: Box::new(self.writer.clone()),
            executor: Box::new(mbt_runtime::adapters::local::LocalExecutor),
            frameworks,
            project: std::env::temp_dir(),
            secrets: Box::new(MemorySecrets::default()),
        })
    }
}

struct Quiet;

impl Progress for Quiet {
    fn step_started(&mut self, _: usize, _: usize, _: &str) {}
    fn step_finished(&mut self, _: &str, _: &StepResult) {}
}

/// Options of run `run_id` recording its results in `dir`.
fn options<'a>(dir: &'a Path, run_id: &str) -> RunOptions<'a> {
    RunOptions {
        project: dir,
        run_id: run_id.to_string(),
        results_path: dir.join("run_results.json"),
        resume: None,
        execution_date: None,
    }
}

fn run_manifest(
    manifest: &Manifest,
    adapters: &Adapters,
    run_id: &str,
) -> anyhow::Result<RunResults> {
    let dir = tempfile::tempdir().unwrap();
    run(manifest, &options(dir.path(), run_id), adapters, &mut Quiet)
}

fn training_tables() -> MemoryTables {
    MemoryTables::new([(
        "customer_churn_features".to_string(),
        customers(400, true, None),
    )])
}

/// The serving manifest, loading run `run_id`.
fn serving(run_id: &str) -> Manifest {
    let mut manifest = golden("churn_serving_v1");
    let step = manifest.steps.get_mut("load_model").unwrap();
    let StepConfig::LoadModel(load) = &mut step.config else {
        panic!("load_model holds another config");
    };
    load.run_id = Some(run_id.to_string());
    load.fallback_run_id = None;
    manifest
}

// ---------------------------------------------------------------------------------------------
// Whole manifests

#[test]
fn training_runs_on_in_memory_adapters_and_records_the_run() {
    let memory = Memory::new(training_tables());
    let adapters = memory.adapters(Registry::builtin().frameworks());
    let results = run_manifest(&golden("churn_gbm_v1"), &adapters, "r1").unwrap();
    assert_eq!(results.status, "success", "{results:#?}");
    assert!(results.metrics["roc_auc"] > 0.8, "{:?}", results.metrics);
    for step in [
        "load_data",
        "split_data",
        "encode",
        "train_model",
        "evaluate",
        "log_run",
    ] {
        assert_eq!(results.steps[step].status, "success", "{step}");
    }
    // Every output went to storage; the model as a model artifact.
    let stored = memory.storage.names();
    for name in [
        "r1/load_data/raw_data.parquet",
        "r1/encode/encoder.json",
        "r1/train_model/model.model.json",
        "r1/evaluate/metrics.json",
        "r1/evaluate/roc_curve.png",
    ] {
        assert!(stored.iter().any(|s| s == name), "{name} not in {stored:?}");
    }
    let runs = memory.registry.runs.lock().unwrap();
    let (record, artifacts) = &runs["r1"];
    assert_eq!(record.pipeline, "churn_gbm_v1");
    assert!(record.metrics["roc_auc"] > 0.8);
    let mut names: Vec<&str> = artifacts.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "encoder.json",
            "manifest.json",
            "metrics.json",
            "model.json"
        ]
    );
    // The recorded manifest is the one the run executed.
    let recorded: serde_json::Value = serde_json::from_slice(&artifacts["manifest.json"]).unwrap();
    assert_eq!(recorded["metadata"]["pipeline_name"], "churn_gbm_v1");
}

#[test]
fn serving_replays_the_training_run_in_memory() {
    let tables = MemoryTables::new([
        (
            "customer_churn_features".to_string(),
            customers(400, true, None),
        ),
        (
            "active_customers".to_string(),
            customers(60, false, Some("2025-06-01")),
        ),
    ]);
    let memory = Memory::new(tables);
    let adapters = memory.adapters(Registry::builtin().frameworks());
    run_manifest(&golden("churn_gbm_v1"), &adapters, "trained").unwrap();
    let results = run_manifest(&serving("trained"), &adapters, "scored").unwrap();
    assert_eq!(results.status, "success", "{results:#?}");
    let tables = memory.writer.tables.lock().unwrap();
    let published = &tables["predictions.csv"];
    assert_eq!(published.height(), 60);
    let names: Vec<&str> = published
        .get_column_names()
        .into_iter()
        .map(|name| name.as_str())
        .collect();
    assert_eq!(
        names,
        ["customer_id", "churn_probability", "churn_predicted"]
    );
}

#[test]
fn a_refused_write_fails_its_step_and_keeps_earlier_outputs() {
    let mut memory = Memory::new(training_tables());
    memory.storage.faults.failing_puts = vec!["model.model.json".into()];
    let adapters = memory.adapters(Registry::builtin().frameworks());
    let results = run_manifest(&golden("churn_gbm_v1"), &adapters, "r2").unwrap();
    assert_eq!(results.status, "failed");
    let failed = &results.steps["train_model"];
    assert_eq!(failed.code.as_deref(), Some("MBT4013"), "{failed:#?}");
    // The run stopped there; what came before is stored, so `mbt retry` can resume.
    assert!(!results.steps.contains_key("log_run"));
    let stored = memory.storage.names();
    assert!(stored.contains(&"r2/encode/encoded_train.parquet".to_string()));
    assert!(!stored
        .iter()
        .any(|name| name.starts_with("r2/train_model/")));
}

/// A connector that counts its lifecycle calls and can refuse to start.
struct Counted {
    inner: MemoryTables,
    setups: Arc<AtomicUsize>,
    teardowns: Arc<AtomicUsize>,
    refuse: bool,
}

impl Adapter for Counted {
    fn setup(&self) -> anyhow::Result<()> {
        self.setups.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(!self.refuse, "connection refused by 127.0.0.1:5432");
        Ok(())
    }

    fn teardown(&self) -> anyhow::Result<()> {
        self.teardowns.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl DataConnector for Counted {
    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame> {
        self.inner.read(request)
    }
}

#[test]
fn adapters_are_set_up_once_per_run_and_torn_down_after_a_failure() {
    let (setups, teardowns) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // No `churned` column: train_model fails after three steps have read nothing more.
    let unlabeled = MemoryTables::new([(
        "customer_churn_features".to_string(),
        customers(100, false, None),
    )]);
    let memory = Memory::new(unlabeled.clone());
    let connector = Counted {
        inner: unlabeled,
        setups: setups.clone(),
        teardowns: teardowns.clone(),
        refuse: false,
    };
    let adapters = memory.adapters_with(Box::new(connector), Registry::builtin().frameworks());
    let results = run_manifest(&golden("churn_gbm_v1"), &adapters, "r3").unwrap();
    assert_eq!(results.status, "failed");
    assert_eq!(results.steps["split_data"].code.as_deref(), Some("MBT4003"));
    assert_eq!(setups.load(Ordering::SeqCst), 1);
    assert_eq!(teardowns.load(Ordering::SeqCst), 1);
}

#[test]
fn an_adapter_that_cannot_start_stops_the_run_with_mbt4018() {
    let memory = Memory::new(training_tables());
    let connector = Counted {
        inner: training_tables(),
        setups: Arc::default(),
        teardowns: Arc::default(),
        refuse: true,
    };
    let adapters = memory.adapters_with(Box::new(connector), Registry::builtin().frameworks());
    let error = run_manifest(&golden("churn_gbm_v1"), &adapters, "r4").unwrap_err();
    let (code, help) = code_of(&error).expect("coded");
    assert_eq!(code, Code::AdapterFailed);
    assert_eq!(help, "check the target's `data_connector` settings");
    assert!(
        format!("{error:#}").contains("connection refused"),
        "{error:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Frameworks: once per run, binary models, and models this build cannot serve

static SETUPS: AtomicUsize = AtomicUsize::new(0);
static TEARDOWNS: AtomicUsize = AtomicUsize::new(0);

/// A framework whose model is a file: the mean label, as 8 little-endian bytes beside the JSON.
struct MeanFile;

impl Adapter for MeanFile {
    fn setup(&self) -> anyhow::Result<()> {
        SETUPS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn teardown(&self) -> anyhow::Result<()> {
        TEARDOWNS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Framework for MeanFile {
    fn train(
        &self,
        _x: &dyn Columns,
        y: &[f64],
        _task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        assert_eq!(config.name(), "gbm", "the manifest's typed config arrives");
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let bytes = mean.to_le_bytes().to_vec();
        let mut model = SerializedModel::json("gbm", 99, "{\"kind\": \"mean file\"}".into());
        model.binary_len = Some(bytes.len() as u64);
        model.binary = Some(Arc::new(bytes));
        Ok(model)
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let bytes = model.binary.as_ref().expect("the binary part was loaded");
        let mean = f64::from_le_bytes(bytes[..8].try_into()?);
        Ok(vec![mean; x.rows])
    }

    fn feature_importance(&self, _: &SerializedModel, columns: usize) -> anyhow::Result<Vec<f64>> {
        Ok(vec![1.0 / columns as f64; columns])
    }
}

fn mean_file_frameworks() -> Frameworks {
    let factory: FrameworkFactory = |_| Ok(Box::new(MeanFile));
    Frameworks::new(BTreeMap::from([("gbm", factory)]))
}

#[test]
fn frameworks_set_up_once_and_binary_models_travel_beside_their_json() {
    let tables = MemoryTables::new([
        (
            "customer_churn_features".to_string(),
            customers(200, true, None),
        ),
        (
            "active_customers".to_string(),
            customers(10, false, Some("2025-06-01")),
        ),
    ]);
    let memory = Memory::new(tables);
    let adapters = memory.adapters(mean_file_frameworks());
    let results = run_manifest(&golden("churn_gbm_v1"), &adapters, "bin").unwrap();
    assert_eq!(results.status, "success", "{results:#?}");
    // train_model and evaluate used it; one setup and one teardown for the run.
    assert_eq!(SETUPS.load(Ordering::SeqCst), 1);
    assert_eq!(TEARDOWNS.load(Ordering::SeqCst), 1);
    assert!(memory
        .storage
        .names()
        .contains(&"bin/train_model/model.model.bin".to_string()));
    let model_bin = memory.registry.runs.lock().unwrap()["bin"].1["model.bin"].clone();
    assert_eq!(model_bin.len(), 8);

    // Serving loads the binary part from the registry and predicts from it.
    let serve = memory.adapters(mean_file_frameworks());
    let results = run_manifest(&serving("bin"), &serve, "served").unwrap();
    assert_eq!(results.status, "success", "{results:#?}");
    let mean = f64::from_le_bytes(model_bin[..8].try_into().unwrap());
    let tables = memory.writer.tables.lock().unwrap();
    let scores =
        mbt_runtime::frame::numbers(&tables["predictions.csv"], "churn_probability").unwrap();
    assert!(scores.iter().all(|score| *score == mean), "{scores:?}");

    // `mbt exec` of one step reads its inputs back from storage, binary part included.
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path(), "bin");
    let evaluated = exec(&golden("churn_gbm_v1"), &options, &adapters, "evaluate").unwrap();
    assert_eq!(evaluated.status, "success", "{evaluated:#?}");
}

#[test]
fn serving_a_model_of_a_framework_this_build_lacks_is_mbt4015() {
    let tables = MemoryTables::new([
        (
            "customer_churn_features".to_string(),
            customers(200, true, None),
        ),
        (
            "active_customers".to_string(),
            customers(10, false, Some("2025-06-01")),
        ),
    ]);
    let memory = Memory::new(tables);
    let trained = memory.adapters(Registry::builtin().frameworks());
    run_manifest(&golden("churn_gbm_v1"), &trained, "t").unwrap();
    // A runtime without gbm (a build or embedding that lacks it).
    let without = memory.adapters(Frameworks::new(BTreeMap::new()));
    let results = run_manifest(&serving("t"), &without, "s").unwrap();
    let predict = &results.steps["predict"];
    assert_eq!(predict.code.as_deref(), Some("MBT4015"), "{predict:#?}");
    assert_eq!(
        predict.error.as_deref(),
        Some("framework `gbm` is not available in this build")
    );
}

// ---------------------------------------------------------------------------------------------
// Single steps

/// Runs one step of `manifest` with `config` on `inputs`; its outputs, warnings and metrics.
fn step(
    manifest: &Manifest,
    name: &str,
    config: StepConfig,
    inputs: Vec<(&str, Artifact)>,
    adapters: &Adapters,
) -> (
    anyhow::Result<Vec<Artifact>>,
    Vec<String>,
    BTreeMap<String, f64>,
) {
    let step = Step {
        config,
        inputs: inputs.iter().map(|(name, _)| name.to_string()).collect(),
        ..manifest.steps[name].clone()
    };
    let inputs: BTreeMap<String, Artifact> = inputs
        .into_iter()
        .map(|(name, artifact)| (name.to_string(), artifact))
        .collect();
    let (mut warnings, mut metrics, mut files) = (Vec::new(), BTreeMap::new(), Vec::new());
    let mut context = StepContext {
        manifest,
        name,
        step: &step,
        adapters,
        project: Path::new("."),
        run_id: "step",
        execution_date: None,
        inputs: &inputs,
        warnings: &mut warnings,
        metrics: &mut metrics,
        files: &mut files,
    };
    let outputs = steps::run(&mut context);
    (outputs, warnings, metrics)
}

fn frame(artifact: &Artifact) -> &DataFrame {
    artifact.frame().unwrap()
}

#[test]
fn validate_data_skips_failing_rows_and_reports_every_check() {
    let manifest = golden("churn_training_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let data = df!(
        "id" => ["a", "b", "c", "d"],
        "charge" => [Some(10.0), Some(-5.0), None, Some(700.0)],
    )
    .unwrap();
    let config = StepConfig::ValidateData(mbt_contract::manifest::ValidateData {
        on_failure: OnFailure::SkipRow,
        checks: vec![
            Check::ValueRange {
                column: "charge".into(),
                min: Some(0.0),
                max: Some(500.0),
            },
            Check::NullThreshold {
                columns: vec!["charge".into()],
                max_null_pct: 10.0,
            },
            Check::ExpectedColumns {
                columns: vec!["id".into()],
            },
        ],
    });
    let (outputs, warnings, metrics) = step(
        &manifest,
        "validate_data",
        config,
        vec![("joined_data", Artifact::Frame(data))],
        &adapters,
    );
    let outputs = outputs.unwrap();
    // -5 and 700 are out of range; the null is dropped by the null check.
    assert_eq!(frame(&outputs[0]).height(), 1);
    assert_eq!(metrics["validated_rows"], 1.0);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    let report = outputs[1].json().unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3);
    assert_eq!(checks[0]["failed_rows"], 2);
    assert_eq!(checks[2]["passed"], true);
}

#[test]
fn fitted_transforms_learn_from_the_train_set_only() {
    let manifest = golden("churn_gbm_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let train =
        df!("contract" => ["a", "b", "a"], "tenure" => [1i64, 2, 3], "churned" => [0i64, 1, 0])
            .unwrap();
    let test =
        df!("contract" => ["c", "b"], "tenure" => [100i64, 2], "churned" => [1i64, 0]).unwrap();
    let (outputs, _, _) = step(
        &manifest,
        "encode",
        manifest.steps["encode"].config.clone(),
        vec![
            ("train_set", Artifact::Frame(train)),
            ("test_set", Artifact::Frame(test)),
        ],
        &adapters,
    );
    let outputs = outputs.unwrap();
    let encoded_test = frame(&outputs[1]);
    // `c` was never seen in training: every indicator is false.
    let a = encoded_test.column("contract=a").unwrap().bool().unwrap();
    let b = encoded_test.column("contract=b").unwrap().bool().unwrap();
    assert_eq!(a.iter().collect::<Vec<_>>(), [Some(false), Some(false)]);
    assert_eq!(b.iter().collect::<Vec<_>>(), [Some(false), Some(true)]);
    assert!(encoded_test.column("contract=c").is_err());
    let encoder = outputs[2].json().unwrap();
    assert_eq!(
        encoder["columns"][0]["categories"],
        serde_json::json!(["a", "b"])
    );
}

#[test]
fn joins_refuse_to_multiply_rows() {
    let manifest = golden("churn_training_v1");
    let tables = MemoryTables::new([(
        "customer_demographics".to_string(),
        df!("customer_id" => ["C1", "C1"], "age" => [30i64, 31]).unwrap(),
    )]);
    let memory = Memory::new(tables);
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let label = df!("customer_id" => ["C1", "C2"], "churned" => [0i64, 1]).unwrap();
    let (outputs, _, _) = step(
        &manifest,
        "join_tables",
        manifest.steps["join_tables"].config.clone(),
        vec![("raw_data", Artifact::Frame(label))],
        &adapters,
    );
    let error = outputs.unwrap_err();
    assert_eq!(
        code_of(&error).map(|(code, _)| code),
        Some(Code::JoinFanOut)
    );
    assert!(
        error.to_string().contains("duplicated key values: C1"),
        "{error}"
    );
}

#[test]
fn split_is_stratified_and_the_same_for_the_same_seed() {
    let manifest = golden("churn_gbm_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let data = customers(200, true, None);
    let positives = data
        .column("churned")
        .unwrap()
        .i64()
        .unwrap()
        .sum()
        .unwrap();
    let split = || {
        let (outputs, _, _) = step(
            &manifest,
            "split_data",
            manifest.steps["split_data"].config.clone(),
            vec![("raw_data", Artifact::Frame(data.clone()))],
            &adapters,
        );
        outputs.unwrap()
    };
    let (first, second) = (split(), split());
    assert!(frame(&first[0]).equals(frame(&second[0])));
    let test = frame(&first[1]);
    assert_eq!(test.height(), 40);
    let test_positives = test
        .column("churned")
        .unwrap()
        .i64()
        .unwrap()
        .sum()
        .unwrap();
    // The test set keeps the label's share (20% of each class).
    assert_eq!(test_positives, (positives as f64 * 0.2).round() as i64);
}

#[test]
fn normalize_scales_with_the_train_sets_statistics_only() {
    let manifest = golden("churn_gbm_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let config = StepConfig::Normalize(mbt_contract::manifest::Normalize {
        method: mbt_contract::pipeline::ScalerMethod::StandardScaler,
        columns: None,
        roles: mbt_contract::manifest::Roles {
            label_column: Some("churned".into()),
            ..Default::default()
        },
    });
    let train = df!("tenure" => [1.0, 3.0], "churned" => [0i64, 1]).unwrap();
    let test = df!("tenure" => [5.0], "churned" => [1i64]).unwrap();
    let (outputs, _, _) = step(
        &manifest,
        "encode",
        config,
        vec![
            ("train_set", Artifact::Frame(train)),
            ("test_set", Artifact::Frame(test)),
        ],
        &adapters,
    );
    let outputs = outputs.unwrap();
    let scaled_test = mbt_runtime::frame::numbers(frame(&outputs[1]), "tenure").unwrap();
    // Mean 2 and standard deviation 1 come from the train set: 5 becomes 3.
    assert_eq!(scaled_test, [3.0]);
    let label = frame(&outputs[0]).column("churned").unwrap().i64().unwrap();
    assert_eq!(
        label.get(1),
        Some(1),
        "the label is not a feature and is not scaled"
    );
    assert_eq!(outputs[2].json().unwrap()["columns"][0]["center"], 2.0);
}

#[test]
fn select_features_drops_a_correlated_copy() {
    let manifest = golden("churn_gbm_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Registry::builtin().frameworks());
    let config = StepConfig::SelectFeatures(mbt_contract::manifest::SelectFeatures {
        methods: vec![mbt_contract::manifest::Selection::Correlation { threshold: 0.95 }],
        problem_type: mbt_contract::pipeline::ProblemType::BinaryClassification,
        positive_class: None,
        roles: mbt_contract::manifest::Roles {
            label_column: Some("churned".into()),
            ..Default::default()
        },
    });
    let rows: Vec<f64> = (0..40).map(f64::from).collect();
    let twice: Vec<f64> = rows.iter().map(|v| v * 2.0).collect();
    let noise: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 5)).collect();
    let churned: Vec<i64> = (0..40).map(|i| i64::from(i % 2)).collect();
    let train =
        df!("a" => rows, "a_twice" => twice, "noise" => noise, "churned" => churned).unwrap();
    let (outputs, _, metrics) = step(
        &manifest,
        "encode",
        config,
        vec![
            ("train_set", Artifact::Frame(train.clone())),
            ("test_set", Artifact::Frame(train)),
        ],
        &adapters,
    );
    let outputs = outputs.unwrap();
    assert_eq!(
        outputs[2].json().unwrap()["dropped"],
        serde_json::json!(["a_twice"])
    );
    assert!(frame(&outputs[1]).column("a_twice").is_err());
    assert_eq!(metrics["selected_features"], 2.0);
}

#[test]
fn sql_transforms_run_in_process_over_the_frame() {
    let manifest = golden("churn_gbm_v1");
    let memory = Memory::new(MemoryTables::default());
    let adapters = memory.adapters(Frameworks::new(BTreeMap::new()));
    let config = StepConfig::Transform(mbt_contract::manifest::Transform {
        custom_transforms: vec![mbt_contract::pipeline::CustomTransform::Sql(
            mbt_contract::pipeline::SqlTransform {
                sql: "SELECT *, tenure * monthly AS lifetime FROM data".into(),
            },
        )],
        schema: manifest.training_schema().unwrap().clone(),
    });
    let data = df!("tenure" => [2i64, 3], "monthly" => [10.0, 20.0]).unwrap();
    let (outputs, _, metrics) = step(
        &manifest,
        "encode",
        config,
        vec![("validated_data", Artifact::Frame(data))],
        &adapters,
    );
    let outputs = outputs.unwrap();
    let lifetime = mbt_runtime::frame::numbers(frame(&outputs[0]), "lifetime").unwrap();
    assert_eq!(lifetime, [20.0, 60.0]);
    assert_eq!(metrics["columns"], 3.0);
}
