//! `sklearn`: scikit-learn estimators by class name, with scikit-learn's parameter names, run
//! by a Python worker (`worker.py`) over Parquet files in a private temporary folder. The fitted
//! estimator is the model's binary part (a pickle) with the scikit-learn version beside it;
//! loading it under another version is a warning. The interpreter is the Python bridge's
//! (`$MBT_PYTHON`, the project's `.venv`, or `python3`).

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use mbt_contract::frameworks::{FrameworkConfig, SklearnConfig, SKLEARN_REGRESSORS};
use polars::prelude::{Column, DataFrame};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Adapter, Framework, SerializedModel, Task};
use crate::error::{coded, Code};
use crate::features::{Columns, Matrix};
use crate::frame;
use crate::python::PythonBridge;

const WORKER: &str = include_str!("worker.py");
const FORMAT_VERSION: u32 = 1;
const INSTALL: &str = "install Python 3 with `pip install scikit-learn pandas pyarrow`, or set MBT_PYTHON to an interpreter that has them";

pub struct Sklearn {
    python: PythonBridge,
}

impl Sklearn {
    pub fn new(project: &Path) -> Sklearn {
        Sklearn {
            python: PythonBridge::new(project),
        }
    }
}

/// The JSON half of a fitted model (the pickle is the binary half).
#[derive(Serialize, Deserialize)]
struct Payload {
    model: String,
    params: Value,
    /// `binary`, `multiclass` or `regression`, and the number of classes (0 for regression).
    task: String,
    classes: usize,
    sklearn_version: String,
    importances: Vec<f64>,
}

fn sklearn_config(config: &FrameworkConfig) -> anyhow::Result<&SklearnConfig> {
    match config {
        FrameworkConfig::Sklearn(config) => Ok(config),
        other => bail!("sklearn cannot train with a `{}` config", other.name()),
    }
}

/// The estimator's keyword arguments: the config without `model`, and `random_state: 0` where
/// the estimator takes one and none is given (so runs repeat).
fn params_of(config: &SklearnConfig) -> anyhow::Result<Value> {
    let mut value = serde_json::to_value(config)?;
    let object = value
        .as_object_mut()
        .context("an sklearn config is an object")?;
    object.remove("model");
    let seeded = !matches!(
        config,
        SklearnConfig::Ridge { .. } | SklearnConfig::LinearRegression {}
    );
    if seeded && !object.contains_key("random_state") {
        object.insert("random_state".into(), json!(0));
    }
    Ok(value)
}

/// The features as a Parquet frame `x0..xN` (NaN for missing).
fn features_parquet(x: &Matrix) -> anyhow::Result<Vec<u8>> {
    let columns: Vec<Column> = (0..x.columns)
        .map(|index| Column::new(format!("x{index}").into(), x.column(index).to_vec()))
        .collect();
    frame::to_parquet(&DataFrame::new(x.rows, columns)?)
}

impl Sklearn {
    /// Runs the worker in `mode` on the files in `dir`.
    fn worker(&self, mode: &str, dir: &Path) -> anyhow::Result<()> {
        let shown = self.python.interpreter().to_string_lossy().into_owned();
        let output = self.python.run(
            WORKER,
            &[OsStr::new(mode), dir.as_os_str()],
            "framework `sklearn`",
            INSTALL,
        )?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(message) = stderr
            .lines()
            .find_map(|line| line.strip_prefix("MBT-SKLEARN: "))
        {
            return Err(coded(
                Code::PythonUnavailable,
                format!("framework `sklearn` cannot run with `{shown}`: {message}"),
                "install them for that interpreter (`pip install scikit-learn pandas pyarrow`), or set MBT_PYTHON to one that has them",
            ));
        }
        let last = stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no message");
        Err(coded(
            Code::AdapterFailed,
            format!("scikit-learn failed to {mode}: {last}"),
            "check the model's parameters against scikit-learn's documentation of the estimator",
        ))
    }

    fn workdir() -> anyhow::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("mbt-sklearn-")
            .tempdir()
            .context("cannot create a temporary folder for the scikit-learn worker")
    }
}

impl Adapter for Sklearn {}

impl Framework for Sklearn {
    /// The interpreter and its scikit-learn, so a missing one fails before any data moves.
    fn health_check(&self) -> anyhow::Result<String> {
        const PROBE: &str = "import sys, sklearn, pandas, pyarrow; print(sys.version.split()[0], sklearn.__version__)";
        let shown = self.python.interpreter().to_string_lossy().into_owned();
        let output = self
            .python
            .run(PROBE, &[], "framework `sklearn`", INSTALL)?;
        let text = String::from_utf8_lossy(&output.stdout);
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [python, sklearn] if output.status.success() => {
                Ok(format!("{shown}: Python {python}, scikit-learn {sklearn}"))
            }
            _ => Err(coded(
                Code::PythonUnavailable,
                format!("framework `sklearn` cannot run with `{shown}`: it cannot import scikit-learn, pandas and pyarrow"),
                "install them for that interpreter (`pip install scikit-learn pandas pyarrow`), or set MBT_PYTHON to one that has them",
            )),
        }
    }

    fn validate_config(&self, config: &FrameworkConfig, task: Task) -> anyhow::Result<()> {
        let model = sklearn_config(config)?.model();
        let regressor = SKLEARN_REGRESSORS.contains(&model);
        if regressor != (task == Task::Regression) {
            bail!(
                "sklearn `{model}` is a {}, but the pipeline's task is {}",
                if regressor { "regressor" } else { "classifier" },
                task.spec().0
            );
        }
        Ok(())
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        let config = sklearn_config(config)?;
        let params = params_of(config)?;
        let (task_name, classes) = task.spec();
        let dir = Self::workdir()?;
        let matrix = Matrix::gather(x)?;
        std::fs::write(dir.path().join("x.parquet"), features_parquet(&matrix)?)?;
        let labels = DataFrame::new(y.len(), vec![Column::new("y".into(), y.to_vec())])?;
        std::fs::write(dir.path().join("y.parquet"), frame::to_parquet(&labels)?)?;
        let spec = json!({"model": config.model(), "params": params, "task": task_name, "classes": classes});
        std::fs::write(dir.path().join("spec.json"), serde_json::to_vec(&spec)?)?;
        self.worker("train", dir.path())?;
        let out: Value = serde_json::from_slice(&std::fs::read(dir.path().join("out.json"))?)
            .context("the scikit-learn worker wrote no result")?;
        let pickle = std::fs::read(dir.path().join("model.pkl"))
            .context("the scikit-learn worker wrote no model")?;
        let payload = Payload {
            model: config.model().to_string(),
            params,
            task: task_name.to_string(),
            classes,
            sklearn_version: out["sklearn_version"].as_str().unwrap_or("").to_string(),
            importances: serde_json::from_value(out["importances"].clone())
                .context("the scikit-learn worker wrote no importances")?,
        };
        Ok(SerializedModel {
            framework: "sklearn".into(),
            format_version: FORMAT_VERSION,
            payload: serde_json::to_string(&payload)?,
            binary_len: Some(pickle.len() as u64),
            binary: Some(Arc::new(pickle)),
        })
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let payload: Payload =
            serde_json::from_str(&model.payload).context("not an sklearn model payload")?;
        let pickle = model
            .binary
            .as_ref()
            .context("the sklearn model's fitted estimator (its binary part) is missing")?;
        let dir = Self::workdir()?;
        std::fs::write(dir.path().join("x.parquet"), features_parquet(x)?)?;
        std::fs::write(dir.path().join("model.pkl"), pickle.as_slice())?;
        // The worker maps probabilities onto the classes the training labels indexed.
        let spec = json!({"task": payload.task, "classes": payload.classes});
        std::fs::write(dir.path().join("spec.json"), serde_json::to_vec(&spec)?)?;
        self.worker("predict", dir.path())?;
        let out: Value = serde_json::from_slice(&std::fs::read(dir.path().join("out.json"))?)
            .context("the scikit-learn worker wrote no result")?;
        let version = out["sklearn_version"].as_str().unwrap_or("");
        if version != payload.sklearn_version {
            eprintln!(
                "warning: this {} was trained with scikit-learn {} and is loaded with {version}; predictions may differ (train it again, or install scikit-learn=={})",
                payload.model, payload.sklearn_version, payload.sklearn_version
            );
        }
        let predictions = frame::from_parquet(std::fs::read(dir.path().join("out.parquet"))?)?;
        frame::numbers(&predictions, "p")
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let payload: Payload =
            serde_json::from_str(&model.payload).context("not an sklearn model payload")?;
        if payload.importances.len() != columns {
            bail!(
                "the sklearn model has {} importances for {columns} columns",
                payload.importances.len()
            );
        }
        Ok(payload.importances)
    }
}
