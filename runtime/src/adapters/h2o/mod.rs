//! `h2o_automl`: H2O-3 AutoML over H2O's REST API (no Python at run time).
//!
//! Training runs on the cluster of the target's `h2o: {url}`, or on a local H2O node ([`node`])
//! started on first use and stopped in `teardown` (also when the run failed). The features go up
//! as CSV (`x0..xN`, the label as an enum for classification), AutoML runs with H2O's own
//! parameters, and the leader comes back as a MOJO: the model's binary part, with the
//! leaderboard and the leader's variable importances in its payload. Scoring goes through the
//! cluster when the target has one (the MOJO imported as a generic model, so serving needs no
//! model left on the cluster), otherwise offline on the JVM with h2o-genmodel's `PredictCsv`
//! from the same jar: the same probabilities either way.

mod cluster;
mod node;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use mbt_contract::adapters::H2oClusterConfig;
use mbt_contract::frameworks::{FrameworkConfig, H2oAutomlConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use self::cluster::{Cluster, ColumnType, H2O};
use self::node::LocalNode;
use super::rest::{Auth, Rest};
use super::{Adapter, Framework, FrameworkContext, LeaderboardRow, SerializedModel, Task};
use crate::error::{coded, Code};
use crate::features::{Columns, Matrix};

const FORMAT_VERSION: u32 = 1;

/// The `h2o_automl` framework of a run.
pub fn framework(context: &FrameworkContext<'_>) -> anyhow::Result<Box<dyn Framework>> {
    let config = context.h2o.cloned().unwrap_or_default();
    let auth = match (&config.username, &config.password) {
        (Some(user), Some(password)) => Auth::Basic {
            user: user.clone(),
            password: context.build.secret(password)?,
        },
        _ => Auth::None,
    };
    Ok(Box::new(H2oAutoml {
        config,
        auth,
        project: context.build.project.to_path_buf(),
        connection: Mutex::new(None),
    }))
}

pub struct H2oAutoml {
    config: H2oClusterConfig,
    auth: Auth,
    project: PathBuf,
    /// The cluster of this run, connected (or its local node started) on first use.
    connection: Mutex<Option<Connection>>,
}

struct Connection {
    cluster: Arc<Cluster>,
    node: Option<LocalNode>,
}

/// The JSON half of a trained model (the MOJO is the binary half).
#[derive(Serialize, Deserialize)]
struct Payload {
    leader: String,
    algorithm: String,
    /// `binary`, `multiclass` or `regression`, and the number of classes (0 for regression).
    task: String,
    classes: usize,
    columns: usize,
    h2o_version: String,
    /// H2O's leaderboard rows, best first (model_id, the metrics, algo, times).
    leaderboard: Vec<Map<String, Value>>,
    importances: Vec<f64>,
}

fn h2o_config(config: &FrameworkConfig) -> anyhow::Result<&H2oAutomlConfig> {
    match config {
        FrameworkConfig::H2oAutoml(config) => Ok(config),
        other => bail!("h2o_automl cannot train with a `{}` config", other.name()),
    }
}

/// Keys unique to this process and call, so runs sharing a cluster never collide.
fn fresh_key(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "mbt_{}_{}_{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Class `index` as an H2O enum level: zero-padded so H2O's sorted domain is the index order.
fn class_level(index: usize, classes: usize) -> String {
    let width = classes.saturating_sub(1).to_string().len();
    format!("c{index:0width$}")
}

/// The features (and labels) as CSV with a header `x0..xN[,y]`; missing values are empty.
fn to_csv(x: &Matrix, labels: Option<(&[f64], Task)>) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(x.rows * x.columns * 8);
    let mut header: Vec<String> = (0..x.columns).map(|index| format!("x{index}")).collect();
    if labels.is_some() {
        header.push("y".into());
    }
    writeln!(out, "{}", header.join(","))?;
    let columns: Vec<&[f64]> = (0..x.columns).map(|index| x.column(index)).collect();
    for row in 0..x.rows {
        for (index, column) in columns.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let value = column[row];
            if value.is_finite() {
                write!(out, "{value}")?;
            }
        }
        if let Some((y, task)) = labels {
            match task {
                Task::Binary => write!(out, ",{}", class_level(y[row] as usize, 2))?,
                Task::Multiclass(classes) => {
                    write!(out, ",{}", class_level(y[row] as usize, classes))?
                }
                Task::Regression => write!(out, ",{}", y[row])?,
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Predictions CSV (H2O's or PredictCsv's: `predict[,class columns in domain order]`, values
/// possibly quoted) as MBT's scores: the positive class's probability, every class's
/// probabilities row-major, or the prediction.
fn parse_predictions(csv: &str, task: Task, rows: usize) -> anyhow::Result<Vec<f64>> {
    let mut lines = csv.lines().filter(|line| !line.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .context("H2O returned no predictions")?
        .split(',')
        .map(|name| name.trim().trim_matches('"'))
        .collect();
    let wanted: Vec<usize> = match task {
        Task::Binary => vec![header.len() - 1],
        Task::Multiclass(classes) => {
            if header.len() < classes + 1 {
                bail!(
                    "H2O's predictions have {} columns for {classes} classes",
                    header.len()
                );
            }
            (header.len() - classes..header.len()).collect()
        }
        Task::Regression => vec![header
            .iter()
            .position(|name| *name == "predict")
            .context("H2O's predictions have no `predict` column")?],
    };
    let mut scores = Vec::with_capacity(rows * wanted.len());
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        for index in &wanted {
            let field = fields
                .get(*index)
                .map(|field| field.trim().trim_matches('"'))
                .unwrap_or("");
            scores.push(field.parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    if scores.len() != rows * wanted.len() {
        bail!(
            "H2O returned {} predictions for {rows} rows",
            scores.len() / wanted.len().max(1)
        );
    }
    Ok(scores)
}

/// H2O's AutoML spec for `config` (H2O's own names; what the config leaves out, H2O decides).
fn automl_spec(
    config: &H2oAutomlConfig,
    frame: &str,
    project: &str,
    task: Task,
) -> anyhow::Result<Value> {
    let mut input = json!({"training_frame": frame, "response_column": "y"});
    if let Some(metric) = config.sort_metric {
        input["sort_metric"] = serde_json::to_value(metric)?;
    }
    let mut stopping = json!({});
    if let Some(models) = config.max_models {
        stopping["max_models"] = json!(models);
    }
    match (config.max_runtime_secs, config.max_models) {
        (Some(seconds), _) => stopping["max_runtime_secs"] = json!(seconds),
        // MBT's default budget (as for `automl`), not H2O's hour.
        (None, None) => stopping["max_runtime_secs"] = json!(super::AUTOML_DEFAULT_BUDGET_SECS),
        (None, Some(_)) => {}
    }
    // A fixed seed by default, so that runs with `max_models` repeat.
    stopping["seed"] = json!(config.seed.unwrap_or(1));
    let mut control = json!({"project_name": project, "stopping_criteria": stopping});
    if let Some(folds) = config.nfolds {
        control["nfolds"] = json!(folds);
    }
    if let Some(balance) = config.balance_classes {
        if task != Task::Regression {
            control["balance_classes"] = json!(balance);
        }
    }
    let mut models = json!({});
    if let Some(algos) = &config.include_algos {
        models["include_algos"] = serde_json::to_value(algos)?;
    }
    if let Some(algos) = &config.exclude_algos {
        models["exclude_algos"] = serde_json::to_value(algos)?;
    }
    Ok(json!({"input_spec": input, "build_control": control, "build_models": models}))
}

/// Each column's share of the leader's variable importances (`x<i>` names); equal shares when
/// H2O reports none (a stacked ensemble).
fn importances(model: &Value, columns: usize) -> Vec<f64> {
    let table = &model["output"]["variable_importances"];
    let names = table["data"][0].as_array();
    let shares = table["data"][3].as_array();
    let mut out = vec![0.0; columns];
    if let (Some(names), Some(shares)) = (names, shares) {
        for (name, share) in names.iter().zip(shares) {
            let index = name
                .as_str()
                .and_then(|name| name.strip_prefix('x'))
                .and_then(|index| index.parse::<usize>().ok());
            if let (Some(index), Some(share)) = (index, share.as_f64()) {
                if index < columns {
                    out[index] = share;
                }
            }
        }
    }
    let total: f64 = out.iter().sum();
    if total > 0.0 && total.is_finite() {
        out.iter().map(|share| share / total).collect()
    } else {
        vec![1.0 / columns.max(1) as f64; columns]
    }
}

impl H2oAutoml {
    /// The run's cluster: the target's, or a local node started now.
    fn cluster(&self) -> anyhow::Result<Arc<Cluster>> {
        let mut connection = self.connection.lock().expect("h2o connection lock");
        if let Some(connection) = connection.as_ref() {
            return Ok(connection.cluster.clone());
        }
        let (url, node) = match &self.config.url {
            Some(url) => (url.clone(), None),
            None => {
                let node = LocalNode::start(&self.config, &self.project)?;
                (node.url.clone(), Some(node))
            }
        };
        let cluster = Arc::new(Cluster {
            rest: Rest::new(&H2O, &url, self.auth.clone()),
        });
        cluster.health()?;
        *connection = Some(Connection {
            cluster: cluster.clone(),
            node,
        });
        Ok(cluster)
    }

    /// Scores `x` with the MOJO offline: `PredictCsv` of h2o-genmodel, from the same jar.
    fn predict_offline(&self, mojo: &[u8], x: &Matrix, task: Task) -> anyhow::Result<Vec<f64>> {
        let java = node::find_java()?;
        let jar = node::find_jar(&self.config, &self.project)?;
        let dir = tempfile::Builder::new()
            .prefix("mbt-h2o-score-")
            .tempdir()
            .context("cannot create a temporary folder for scoring")?;
        let (model, input, output) = (
            dir.path().join("model.zip"),
            dir.path().join("in.csv"),
            dir.path().join("out.csv"),
        );
        std::fs::write(&model, mojo)?;
        std::fs::write(&input, to_csv(x, None)?)?;
        let result = Command::new(&java)
            .arg("-cp")
            .arg(&jar)
            .arg("hex.genmodel.tools.PredictCsv")
            .arg("--mojo")
            .arg(&model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .arg("--decimal")
            .output()
            .map_err(|error| {
                coded(
                    Code::JavaUnavailable,
                    format!("cannot run {}: {error}", java.display()),
                    "install Java 17 or set JAVA_HOME",
                )
            })?;
        if !result.status.success() {
            let stderr = String::from_utf8_lossy(&result.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("no message");
            return Err(coded(
                Code::AdapterFailed,
                format!("H2O's offline scorer (PredictCsv) failed: {last}"),
                "check that the jar is H2O 3.46 (`h2o: {jar}`, MBT_H2O_JAR), or score through a cluster (`h2o: {url}`)",
            ));
        }
        let csv = std::fs::read_to_string(&output).context("PredictCsv wrote no predictions")?;
        parse_predictions(&csv, task, x.rows)
    }

    fn predict_on_cluster(&self, mojo: &[u8], x: &Matrix, task: Task) -> anyhow::Result<Vec<f64>> {
        let cluster = self.cluster()?;
        // Keyed by content: a MOJO imported once serves every later call on this cluster.
        let key = format!("mbt_mojo_{}", &crate::digest::sha256(mojo)[..16]);
        cluster.import_mojo(&key, mojo)?;
        let frame = fresh_key("score");
        let names: Vec<String> = (0..x.columns).map(|index| format!("x{index}")).collect();
        cluster.upload_frame(
            &frame,
            &to_csv(x, None)?,
            &names,
            &vec![ColumnType::Numeric; x.columns],
        )?;
        let csv = cluster.predict(&key, &frame);
        cluster.delete(&frame);
        parse_predictions(&csv?, task, x.rows)
    }
}

impl Adapter for H2oAutoml {
    fn teardown(&self) -> anyhow::Result<()> {
        if let Some(mut connection) = self.connection.lock().expect("h2o lock").take() {
            if let Some(node) = connection.node.as_mut() {
                node.stop();
            }
        }
        Ok(())
    }
}

impl Framework for H2oAutoml {
    fn health_check(&self) -> anyhow::Result<String> {
        match &self.config.url {
            Some(url) => {
                let cluster = self.cluster()?;
                Ok(format!("{} at {url}", cluster.health()?))
            }
            None => {
                let java = node::find_java()?;
                let jar = node::find_jar(&self.config, &self.project)?;
                Ok(format!(
                    "a local H2O node starts for training: {} -jar {}",
                    java.display(),
                    jar.display()
                ))
            }
        }
    }

    fn validate_config(&self, config: &FrameworkConfig, task: Task) -> anyhow::Result<()> {
        super::check_sort_metric(h2o_config(config)?.sort_metric, task)
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        let config = h2o_config(config)?;
        let cluster = self.cluster()?;
        let matrix = Matrix::gather(x)?;
        let frame = fresh_key("train");
        let mut names: Vec<String> = (0..matrix.columns).map(|i| format!("x{i}")).collect();
        names.push("y".into());
        let mut types = vec![ColumnType::Numeric; matrix.columns];
        types.push(if task == Task::Regression {
            ColumnType::Numeric
        } else {
            ColumnType::Enum
        });
        let csv = to_csv(&matrix, Some((y, task)))?;
        cluster.upload_frame(&frame, &csv, &names, &types)?;
        let project = fresh_key("automl");
        let spec = automl_spec(config, &frame, &project, task)?;
        let budget = config
            .max_runtime_secs
            .map(|seconds| Duration::from_secs(seconds.into()));
        let result = cluster
            .automl(&spec, budget)
            .and_then(|id| cluster.leaderboard(&id));
        cluster.delete(&frame);
        let leaderboard = result?;
        let Some(leader) = leaderboard
            .first()
            .and_then(|row| row.get("model_id"))
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(coded(
                Code::AutomlNoModel,
                format!(
                    "H2O AutoML ended with an empty leaderboard ({})",
                    match config.max_runtime_secs {
                        Some(seconds) => format!("max_runtime_secs: {seconds}"),
                        None => "no time budget".into(),
                    }
                ),
                "raise `max_runtime_secs` (60 or more), or set `max_models` and `include_algos: [GLM, GBM]`",
            ));
        };
        let details = cluster.model(&leader)?;
        let mojo = cluster.mojo(&leader)?;
        let (task_name, classes) = task.spec();
        let payload = Payload {
            algorithm: details["algo"].as_str().unwrap_or_default().to_string(),
            leader,
            task: task_name.into(),
            classes,
            columns: matrix.columns,
            h2o_version: cluster
                .health()
                .unwrap_or_default()
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_string(),
            leaderboard,
            importances: importances(&details, matrix.columns),
        };
        Ok(SerializedModel {
            framework: "h2o_automl".into(),
            format_version: FORMAT_VERSION,
            payload: serde_json::to_string(&payload)?,
            binary_len: Some(mojo.len() as u64),
            binary: Some(Arc::new(mojo)),
        })
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let payload: Payload =
            serde_json::from_str(&model.payload).context("not an h2o_automl model payload")?;
        let mojo = model
            .binary
            .as_ref()
            .context("the h2o_automl model's MOJO (its binary part) is missing")?;
        if x.columns != payload.columns {
            bail!(
                "the H2O model was trained on {} columns, not {}",
                payload.columns,
                x.columns
            );
        }
        let task = Task::from_spec(&payload.task, payload.classes);
        if x.rows == 0 {
            return Ok(Vec::new());
        }
        if self.config.url.is_some() {
            self.predict_on_cluster(mojo, x, task)
        } else {
            self.predict_offline(mojo, x, task)
        }
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let payload: Payload =
            serde_json::from_str(&model.payload).context("not an h2o_automl model payload")?;
        if payload.importances.len() != columns {
            bail!(
                "the H2O model has {} importances for {columns} columns",
                payload.importances.len()
            );
        }
        Ok(payload.importances)
    }

    /// H2O's leaderboard in MBT's terms: the first metric column is the sort metric.
    fn leaderboard(&self, model: &SerializedModel) -> Option<Vec<LeaderboardRow>> {
        let payload: Payload = serde_json::from_str(&model.payload).ok()?;
        Some(payload.leaderboard.iter().map(leaderboard_row).collect())
    }
}

fn leaderboard_row(row: &Map<String, Value>) -> LeaderboardRow {
    const NOT_METRICS: &[&str] = &[
        "model_id",
        "training_time_ms",
        "predict_time_per_row_ms",
        "algo",
    ];
    let (metric, score) = row
        .iter()
        .find(|(name, value)| !NOT_METRICS.contains(&name.as_str()) && value.is_number())
        .map(|(name, value)| (name.to_uppercase(), value.as_f64().unwrap_or(f64::NAN)))
        .unwrap_or_default();
    let number = |name: &str| row.get(name).and_then(Value::as_f64);
    LeaderboardRow {
        model_id: row
            .get("model_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        algorithm: row
            .get("algo")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        params: Value::Null,
        metric,
        score,
        std: None,
        fit_seconds: number("training_time_ms").map(|ms| ms / 1000.0),
        predict_ms_per_1k: number("predict_time_per_row_ms").map(|ms| ms * 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_levels_sort_in_index_order() {
        let levels: Vec<String> = (0..12).map(|index| class_level(index, 12)).collect();
        let mut sorted = levels.clone();
        sorted.sort();
        assert_eq!(levels, sorted);
        assert_eq!(class_level(1, 2), "c1");
        assert_eq!(class_level(3, 12), "c03");
    }

    #[test]
    fn features_become_csv_with_empty_missing_values() {
        let x = Matrix {
            values: vec![1.5, f64::NAN, 0.1, 2.0],
            rows: 2,
            columns: 2,
        };
        let csv = to_csv(&x, Some((&[1.0, 0.0], Task::Binary))).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "x0,x1,y\n1.5,0.1,c1\n,2,c0\n"
        );
    }

    #[test]
    fn predictions_parse_quoted_cluster_csv_and_plain_predictcsv() {
        let cluster = "\"predict\",\"c0\",\"c1\"\n\"c1\",0.4,0.6\n\"c0\",0.75,0.25\n";
        assert_eq!(
            parse_predictions(cluster, Task::Binary, 2).unwrap(),
            vec![0.6, 0.25]
        );
        let offline = "predict,c0,c1,c2\nc2,0.1,0.2,0.7\n";
        assert_eq!(
            parse_predictions(offline, Task::Multiclass(3), 1).unwrap(),
            vec![0.1, 0.2, 0.7]
        );
        assert_eq!(
            parse_predictions("predict\n3.5\n", Task::Regression, 1).unwrap(),
            vec![3.5]
        );
        assert!(parse_predictions("predict\n3.5\n", Task::Regression, 2).is_err());
    }

    #[test]
    fn an_empty_leaderboard_is_mbt4022_and_the_training_frame_is_removed() {
        let job = r#"{"job": {"key": {"name": "$job"}, "dest": {"name": "p@@y"}}}"#;
        let done = r#"{"jobs": [{"status": "DONE"}]}"#;
        let (url, requests) = crate::adapters::rest::serve(vec![
            (
                "200 OK",
                r#"{"cloud_healthy": true, "version": "3.46.0.11", "cloud_size": 1}"#,
            ),
            ("200 OK", r#"{"destination_frame": "raw"}"#),
            ("200 OK", job),
            ("200 OK", done),
            ("200 OK", job),
            ("200 OK", done),
            (
                "200 OK",
                r#"{"table": {"columns": [{"name": ""}, {"name": "model_id"}], "data": [[], []]}}"#,
            ),
            ("200 OK", "{}"),
        ]);
        let framework = H2oAutoml {
            config: H2oClusterConfig {
                url: Some(url),
                ..H2oClusterConfig::default()
            },
            auth: Auth::None,
            project: PathBuf::from("."),
            connection: Mutex::new(None),
        };
        let x = Matrix {
            values: vec![0.0, 1.0, 2.0, 3.0],
            rows: 4,
            columns: 1,
        };
        let config = FrameworkConfig::H2oAutoml(
            serde_json::from_value(json!({"max_runtime_secs": 5})).unwrap(),
        );
        let error = framework
            .train(&x, &[0.0, 1.0, 0.0, 1.0], Task::Binary, &config)
            .expect_err("no model");
        let (code, help) = crate::error::code_of(&error).unwrap();
        assert_eq!(code, Code::AutomlNoModel);
        assert!(help.contains("raise `max_runtime_secs`"), "{help}");
        assert_eq!(
            error.to_string(),
            "H2O AutoML ended with an empty leaderboard (max_runtime_secs: 5)"
        );
        let lines: Vec<String> = requests.try_iter().collect();
        assert!(
            lines[1].starts_with("POST /3/PostFile?destination_frame=mbt_"),
            "{lines:?}"
        );
        assert!(lines[4].starts_with("POST /99/AutoMLBuilder "), "{lines:?}");
        assert!(
            lines[6].starts_with("GET /99/Leaderboards/p%40%40y?extensions=ALL "),
            "{lines:?}"
        );
        assert!(lines[7].starts_with("DELETE /3/DKV/mbt_"), "{lines:?}");
    }

    #[test]
    fn the_spec_uses_h2os_names_and_a_fixed_default_seed() {
        let config: H2oAutomlConfig = serde_json::from_value(json!({
            "max_runtime_secs": 60, "max_models": 3, "sort_metric": "AUC", "nfolds": 3,
            "include_algos": ["GLM", "GBM"], "balance_classes": true
        }))
        .unwrap();
        let spec = automl_spec(&config, "f", "p", Task::Binary).unwrap();
        assert_eq!(
            spec,
            json!({
                "input_spec": {"training_frame": "f", "response_column": "y", "sort_metric": "AUC"},
                "build_control": {"project_name": "p", "nfolds": 3, "balance_classes": true,
                    "stopping_criteria": {"max_models": 3, "max_runtime_secs": 60, "seed": 1}},
                "build_models": {"include_algos": ["GLM", "GBM"]}
            })
        );
    }
}
