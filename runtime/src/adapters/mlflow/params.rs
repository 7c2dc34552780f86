//! A run record in MLflow's terms: params flattened to `a.b.c` keys and cut to MLflow's limits,
//! batches within `log-batch`'s limits, MBT's tags, and the `MLmodel` file of the model
//! directory.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::adapters::RunRecord;

/// MLflow's limits (mlflow/utils/validation.py): key length, param and tag value length,
/// params per `log-batch` call, and entities (params + metrics) per call.
const MAX_KEY: usize = 250;
const MAX_PARAM_VALUE: usize = 6000;
const MAX_TAG_VALUE: usize = 8000;
const PARAMS_PER_BATCH: usize = 100;
const ENTITIES_PER_BATCH: usize = 1000;

/// Nested params as MLflow's flat `a.b.c` keys; lists are logged as their JSON text (as
/// MLflow's Python client does with `str()`), values cut to MLflow's length limit.
pub fn flatten(params: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let mut flat = BTreeMap::new();
    for (key, value) in params {
        flatten_into(key, value, &mut flat);
    }
    flat
}

fn flatten_into(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (key, value) in fields {
                flatten_into(&format!("{prefix}.{key}"), value, out);
            }
        }
        Value::String(text) => {
            out.insert(cut(prefix, MAX_KEY), cut(text, MAX_PARAM_VALUE));
        }
        other => {
            out.insert(
                cut(prefix, MAX_KEY),
                cut(&other.to_string(), MAX_PARAM_VALUE),
            );
        }
    }
}

/// `text` cut to at most `limit` characters (on a character boundary).
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

/// One `log-batch` call's params and metrics.
pub struct Batch {
    pub params: Vec<Value>,
    pub metrics: Vec<Value>,
}

/// Params and metrics in batches MLflow accepts. Metrics that are not finite numbers (JSON has
/// no NaN) are left out.
pub fn batches(
    params: &BTreeMap<String, String>,
    metrics: &BTreeMap<String, f64>,
    timestamp: i64,
) -> Vec<Batch> {
    let mut batches = Vec::new();
    let params: Vec<Value> = params
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    let metrics: Vec<Value> = metrics
        .iter()
        .filter(|(_, value)| value.is_finite())
        .map(|(key, value)| {
            json!({"key": cut(key, MAX_KEY), "value": value, "timestamp": timestamp, "step": 0})
        })
        .collect();
    for chunk in params.chunks(PARAMS_PER_BATCH) {
        batches.push(Batch {
            params: chunk.to_vec(),
            metrics: Vec::new(),
        });
    }
    for chunk in metrics.chunks(ENTITIES_PER_BATCH - PARAMS_PER_BATCH) {
        batches.push(Batch {
            params: Vec::new(),
            metrics: chunk.to_vec(),
        });
    }
    batches
}

/// The tags of a run: the record's own (experiment, owner, the project's tags) and MBT's.
pub fn run_tags(record: &RunRecord) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = record
        .tags
        .iter()
        .map(|(key, value)| (cut(key, MAX_KEY), cut(value, MAX_TAG_VALUE)))
        .collect();
    tags.insert("mbt.pipeline".into(), record.pipeline.clone());
    tags.insert("mbt.target".into(), record.target.clone());
    tags.insert("mbt.version".into(), record.mbt_version.clone());
    tags.insert("mbt.manifest_hash".into(), record.manifest_hash.clone());
    tags.insert("mlflow.source.name".into(), record.pipeline.clone());
    if let Some(owner) = record.tags.get("owner") {
        tags.insert("mlflow.user".into(), owner.clone());
    }
    if let Some(commit) = record.tags.get("git_commit") {
        tags.insert("mlflow.source.git.commit".into(), commit.clone());
    }
    tags
}

/// `[{key, value}]`, MLflow's form of tags.
pub fn key_values(map: &BTreeMap<String, String>) -> Vec<Value> {
    map.iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

/// The `MLmodel` file that makes `model/` an MLflow model directory (listed as a model in
/// MLflow's UI and registrable as a model version). Its flavor `mbt` names the files and the
/// framework that reads them.
pub fn mlmodel(record: &RunRecord, artifacts: &[(String, Vec<u8>)]) -> String {
    let model: Value = artifacts
        .iter()
        .find(|(name, _)| name == "model.json")
        .and_then(|(_, bytes)| serde_json::from_slice(bytes).ok())
        .unwrap_or(Value::Null);
    let framework = model["model"]["framework"].as_str().unwrap_or("unknown");
    let format_version = model["model"]["format_version"].as_u64().unwrap_or(0);
    let binary = artifacts.iter().any(|(name, _)| name == "model.bin");
    let mut text = String::new();
    text.push_str("artifact_path: model\n");
    text.push_str("flavors:\n  mbt:\n");
    text.push_str(&format!("    framework: {framework}\n"));
    text.push_str(&format!("    format_version: {format_version}\n"));
    text.push_str("    data: model.json\n");
    if binary {
        text.push_str("    binary: model.bin\n");
    }
    text.push_str(&format!("    mbt_version: '{}'\n", record.mbt_version));
    text.push_str(&format!("run_id: {}\n", record.run_id));
    if let Some(at) = &record.recorded_at {
        text.push_str(&format!("utc_time_created: '{at}'\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_params_flatten_to_dotted_keys_within_mlflows_limits() {
        let params: BTreeMap<String, Value> = [
            (
                "model_training".to_string(),
                json!({"framework": "gbm", "config": {"learning_rate": 0.1, "max_depth": 6}}),
            ),
            ("split".to_string(), json!({"stratify": true, "seed": 42})),
            (
                "schema".to_string(),
                json!({"ignored": ["a", "b"], "empty": {}}),
            ),
            ("long".to_string(), Value::String("x".repeat(7000))),
        ]
        .into();
        let flat = flatten(&params);
        assert_eq!(flat["model_training.framework"], "gbm");
        assert_eq!(flat["model_training.config.learning_rate"], "0.1");
        assert_eq!(flat["model_training.config.max_depth"], "6");
        assert_eq!(flat["split.stratify"], "true");
        assert_eq!(flat["schema.ignored"], r#"["a","b"]"#);
        assert_eq!(flat["schema.empty"], "{}");
        assert_eq!(flat["long"].len(), 6000);
    }

    #[test]
    fn batches_hold_at_most_100_params_and_skip_non_finite_metrics() {
        let params: BTreeMap<String, String> = (0..250)
            .map(|i| (format!("p{i:03}"), i.to_string()))
            .collect();
        let metrics: BTreeMap<String, f64> =
            [("auc".to_string(), 0.8), ("nan".to_string(), f64::NAN)].into();
        let batches = batches(&params, &metrics, 7);
        let sizes: Vec<(usize, usize)> = batches
            .iter()
            .map(|b| (b.params.len(), b.metrics.len()))
            .collect();
        assert_eq!(sizes, [(100, 0), (100, 0), (50, 0), (0, 1)]);
        assert_eq!(
            batches[3].metrics[0],
            json!({"key": "auc", "value": 0.8, "timestamp": 7, "step": 0})
        );
    }

    #[test]
    fn the_mlmodel_file_names_the_framework_and_files() {
        let record = RunRecord {
            run_id: "abc".into(),
            mbt_version: "0.1.0".into(),
            recorded_at: Some("2026-12-04T00:00:00.000Z".into()),
            ..RunRecord::default()
        };
        let model = json!({"model": {"framework": "sklearn", "format_version": 1}});
        let artifacts = vec![
            (
                "model.json".to_string(),
                serde_json::to_vec(&model).unwrap(),
            ),
            ("model.bin".to_string(), vec![1, 2]),
        ];
        assert_eq!(
            mlmodel(&record, &artifacts),
            "artifact_path: model\nflavors:\n  mbt:\n    framework: sklearn\n    \
             format_version: 1\n    data: model.json\n    binary: model.bin\n    \
             mbt_version: '0.1.0'\nrun_id: abc\nutc_time_created: '2026-12-04T00:00:00.000Z'\n"
        );
    }
}
