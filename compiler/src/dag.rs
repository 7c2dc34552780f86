//! The step registry and DAG builder: which steps a pipeline has, how they connect, and the
//! order and parallel batches they run in.
//!
//! Each step declares the data *roles* it consumes and produces ("data", "train", "model"...);
//! a step's inputs come from the latest earlier producer of each role, which fixes both the
//! artifact wiring and `depends_on`. Steps appear only when the pipeline's YAML asks for them.

use std::collections::BTreeMap;

use petgraph::graphmap::DiGraphMap;
use serde_json::{json, Value};

use crate::schema::pipeline::{Check, Metric, Pipeline, SelectionMethod, Serving, Training};

/// Every step name MBT knows, training then serving.
pub const ALL_STEPS: &[&str] = &[
    "load_data",
    "join_tables",
    "validate_data",
    "transform",
    "split_data",
    "normalize",
    "encode",
    "select_features",
    "train_model",
    "evaluate",
    "log_run",
    "load_model",
    "load_scoring_data",
    "apply_transforms",
    "predict",
    "publish",
];

/// One step of a pipeline's DAG.
#[derive(Clone, Debug, PartialEq)]
pub struct StepNode {
    pub name: &'static str,
    pub config: Value,
    /// Artifact names read, each produced by an earlier step.
    pub inputs: Vec<String>,
    /// Artifact names written.
    pub outputs: Vec<String>,
    pub depends_on: Vec<String>,
    /// Re-running with the same inputs gives the same outputs and has no outside effect.
    pub idempotent: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dag {
    pub steps: Vec<StepNode>,
    pub execution_order: Vec<String>,
    pub execution_batches: Vec<Vec<String>>,
    pub parent_map: BTreeMap<String, Vec<String>>,
    pub child_map: BTreeMap<String, Vec<String>>,
}

/// A step's data flow: roles read, and (role, artifact name) written.
struct Flow {
    reads: &'static [&'static str],
    writes: &'static [(&'static str, &'static str)],
    idempotent: bool,
}

fn flow(name: &str) -> Flow {
    let (reads, writes, idempotent): (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
        bool,
    ) = match name {
        "load_data" => (&[], &[("data", "raw_data")], true),
        "join_tables" => (&["data"], &[("data", "joined_data")], true),
        "validate_data" => (
            &["data"],
            &[
                ("data", "validated_data"),
                ("validation_report", "validation_report"),
            ],
            true,
        ),
        "transform" => (&["data"], &[("data", "transformed_data")], true),
        "split_data" => (
            &["data"],
            &[("train", "train_set"), ("test", "test_set")],
            true,
        ),
        "normalize" => (
            &["train", "test"],
            &[
                ("train", "normalized_train"),
                ("test", "normalized_test"),
                ("scaler", "scaler"),
            ],
            true,
        ),
        "encode" => (
            &["train", "test"],
            &[
                ("train", "encoded_train"),
                ("test", "encoded_test"),
                ("encoder", "encoder"),
            ],
            true,
        ),
        "select_features" => (
            &["train", "test"],
            &[
                ("train", "selected_train"),
                ("test", "selected_test"),
                ("feature_selector", "feature_selector"),
            ],
            true,
        ),
        "train_model" => (&["train"], &[("model", "model")], true),
        "evaluate" => (
            &["model", "test"],
            &[
                ("metrics", "metrics"),
                ("test_predictions", "test_predictions"),
            ],
            true,
        ),
        "log_run" => (
            &[
                "model",
                "metrics",
                "scaler?",
                "encoder?",
                "feature_selector?",
                "validation_report?",
            ],
            &[("run_record", "run_record")],
            false,
        ),
        "load_model" => (
            &[],
            &[
                ("model", "model"),
                ("fitted_transforms", "fitted_transforms"),
            ],
            true,
        ),
        // Reads the training run's schema (its partition key) for the lookback window.
        "load_scoring_data" => (
            &["fitted_transforms"],
            &[("scoring_data", "scoring_data")],
            true,
        ),
        "apply_transforms" => (
            &["scoring_data", "fitted_transforms"],
            &[("features", "features")],
            true,
        ),
        "predict" => (
            &["model", "features"],
            &[("predictions", "predictions")],
            true,
        ),
        "publish" => (
            &["predictions", "scoring_data"],
            &[("published", "published")],
            false,
        ),
        _ => (&[], &[], true),
    };
    Flow {
        reads,
        writes,
        idempotent,
    }
}

/// Builds the DAG of a validated pipeline.
pub fn build(pipeline: &Pipeline) -> Dag {
    let steps: Vec<(&'static str, Value)> = match (&pipeline.training, &pipeline.serving) {
        (Some(training), _) => training_steps(pipeline, training),
        (None, Some(serving)) => serving_steps(pipeline, serving),
        (None, None) => Vec::new(),
    };
    wire(steps)
}

fn wire(steps: Vec<(&'static str, Value)>) -> Dag {
    let mut producers: BTreeMap<&str, (&'static str, &'static str)> = BTreeMap::new();
    let mut nodes = Vec::new();
    let mut graph: DiGraphMap<&'static str, ()> = DiGraphMap::new();
    for (name, config) in steps {
        let flow = flow(name);
        let mut inputs = Vec::new();
        let mut depends_on: Vec<String> = Vec::new();
        graph.add_node(name);
        for role in flow.reads {
            let (role, optional) = match role.strip_suffix('?') {
                Some(role) => (role, true),
                None => (*role, false),
            };
            match producers.get(role) {
                Some((producer, artifact)) => {
                    inputs.push(artifact.to_string());
                    if !depends_on.iter().any(|d| d == producer) {
                        depends_on.push(producer.to_string());
                    }
                    graph.add_edge(producer, name, ());
                }
                None => debug_assert!(
                    optional,
                    "step {name} reads {role}, which no earlier step produces"
                ),
            }
        }
        for (role, artifact) in flow.writes {
            producers.insert(role, (name, artifact));
        }
        nodes.push(StepNode {
            name,
            config,
            inputs,
            outputs: flow
                .writes
                .iter()
                .map(|(_, artifact)| artifact.to_string())
                .collect(),
            depends_on,
            idempotent: flow.idempotent,
        });
    }
    // Batches: a step runs one level after its deepest parent; steps of a level are independent.
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &nodes {
        let depth = node
            .depends_on
            .iter()
            .filter_map(|parent| level.get(parent.as_str()))
            .map(|depth| depth + 1)
            .max()
            .unwrap_or(0);
        level.insert(node.name, depth);
    }
    let batch_count = level.values().copied().max().map_or(0, |max| max + 1);
    let mut execution_batches = vec![Vec::new(); batch_count];
    for node in &nodes {
        execution_batches[level[node.name]].push(node.name.to_string());
    }
    let execution_order: Vec<String> = execution_batches.iter().flatten().cloned().collect();
    let mut parent_map = BTreeMap::new();
    let mut child_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in &nodes {
        parent_map.insert(node.name.to_string(), node.depends_on.clone());
        child_map.entry(node.name.to_string()).or_default();
        for parent in &node.depends_on {
            child_map
                .entry(parent.clone())
                .or_default()
                .push(node.name.to_string());
        }
    }
    debug_assert!(
        petgraph::algo::toposort(&graph, None).is_ok(),
        "the step registry is acyclic"
    );
    Dag {
        steps: nodes,
        execution_order,
        execution_batches,
        parent_map,
        child_map,
    }
}

fn training_steps(pipeline: &Pipeline, training: &Training) -> Vec<(&'static str, Value)> {
    let problem_type = pipeline.project.problem_type;
    let source = &training.data_source;
    let schema = &training.schema;
    let target = schema.target.as_ref();
    let label = target.map(|t| t.label_column.clone());
    let identifiers = schema.identifiers.clone();
    let partition_key = identifiers.as_ref().and_then(|i| i.partition_key.clone());
    let mut steps = Vec::new();
    let mut tables = vec![source.label_table.clone()];
    tables.extend(
        source
            .feature_tables
            .iter()
            .map(|t| t.table.clone())
            .filter(|t| *t != source.label_table),
    );
    steps.push((
        "load_data",
        json!({"label_table": source.label_table, "tables": tables, "data_windows": source.data_windows, "partition_key": partition_key}),
    ));
    let joins: Vec<Value> = source
        .feature_tables
        .iter()
        .filter(|table| table.table != source.label_table)
        .map(|table| {
            json!({
                "table": table.table,
                "join_key": table.join_key.as_ref().map(|k| k.columns()).unwrap_or_default(),
                "join_type": table.join_type,
                "fan_out_check": table.fan_out_check,
            })
        })
        .collect();
    if !joins.is_empty() {
        steps.push((
            "join_tables",
            json!({"label_table": source.label_table, "joins": joins}),
        ));
    }
    if let Some(validation) = &training.validation {
        let custom: Vec<&str> = validation
            .checks
            .iter()
            .filter_map(|check| match check {
                Check::Custom { function } => Some(function.as_str()),
                _ => None,
            })
            .collect();
        steps.push((
            "validate_data",
            json!({"on_failure": validation.on_failure, "checks": validation.checks, "custom_functions": custom, "label_column": label}),
        ));
    }
    let transformations = training.transformations.as_ref();
    if let Some(transforms) = transformations.filter(|t| !t.custom_transforms.is_empty()) {
        steps.push((
            "transform",
            json!({"custom_transforms": transforms.custom_transforms}),
        ));
    }
    let split = training
        .split
        .clone()
        .unwrap_or(crate::schema::pipeline::Split {
            test_size: crate::schema::pipeline::default_test_size(),
            stratify: true,
            seed: crate::schema::pipeline::default_seed(),
        });
    steps.push((
        "split_data",
        json!({
            "test_size": split.test_size,
            "stratify": split.stratify && problem_type.is_classification(),
            "seed": split.seed,
            "label_column": label,
            "partition_key": partition_key,
            "data_windows": source.data_windows,
        }),
    ));
    if let Some(normalization) = transformations
        .and_then(|t| t.normalization.as_ref())
        .filter(|n| n.enabled)
    {
        steps.push((
            "normalize",
            json!({"method": normalization.method, "columns": normalization.columns}),
        ));
    }
    if let Some(encoding) = transformations
        .and_then(|t| t.encoding.as_ref())
        .filter(|e| e.enabled)
    {
        steps.push((
            "encode",
            json!({"method": encoding.method, "columns": encoding.columns}),
        ));
    }
    if let Some(selection) = training.feature_selection.as_ref().filter(|s| s.enabled) {
        let methods: Vec<Value> = selection
            .methods
            .iter()
            .map(|method| match method {
                SelectionMethod::GbmImportance { threshold }
                | SelectionMethod::LgbmImportance { threshold } => {
                    json!({"name": "gbm_importance", "threshold": threshold})
                }
                SelectionMethod::Correlation { threshold } => {
                    json!({"name": "correlation", "threshold": threshold})
                }
            })
            .collect();
        steps.push((
            "select_features",
            json!({"methods": methods, "label_column": label}),
        ));
    }
    let training_config = &training.model_training;
    steps.push((
        "train_model",
        json!({
            "framework": training_config.framework,
            "config": training_config.config,
            "problem_type": problem_type,
            "label_column": label,
            "classes": target.and_then(|t| t.classes.clone()),
            "positive_class": target.and_then(|t| t.positive_class.clone()),
            "identifiers": identifiers,
            "ignored_columns": schema.ignored_columns,
        }),
    ));
    let evaluation = training.evaluation.as_ref();
    let primary = evaluation
        .map(|e| e.primary_metric)
        .unwrap_or(Metric::default_for(problem_type));
    let mut metrics = vec![primary];
    for metric in evaluation
        .map(|e| e.additional_metrics.clone())
        .unwrap_or_default()
    {
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    steps.push((
        "evaluate",
        json!({
            "primary_metric": primary,
            "metrics": metrics,
            "generate_plots": evaluation.is_some_and(|e| e.generate_plots),
            "custom_metrics": evaluation.map(|e| e.custom_metrics.clone()).unwrap_or_default(),
            "problem_type": problem_type,
            "label_column": label,
            "positive_class": target.and_then(|t| t.positive_class.clone()),
        }),
    ));
    steps.push((
        "log_run",
        json!({
            "experiment_name": pipeline.project.experiment_name,
            "tags": pipeline.project.tags,
            "owner": pipeline.project.owner,
        }),
    ));
    steps
}

fn serving_steps(pipeline: &Pipeline, serving: &Serving) -> Vec<(&'static str, Value)> {
    let columns =
        serving
            .output
            .columns
            .clone()
            .unwrap_or(crate::schema::pipeline::OutputColumns {
                prediction: "prediction".into(),
                label: None,
                threshold: 0.5,
            });
    vec![
        (
            "load_model",
            json!({
                "registry": serving.model_source.registry,
                "run_id": serving.model_source.run_id,
                "fallback_run_id": serving.model_source.fallback_run_id,
                "artifact_snapshot": serving.model_source.artifact_snapshot,
            }),
        ),
        (
            "load_scoring_data",
            json!({
                "scoring_table": serving.data_source.scoring_table,
                "lookback_window": serving.data_source.data_windows.as_ref().and_then(|w| w.lookback_window.clone()),
            }),
        ),
        ("apply_transforms", json!({})),
        (
            "predict",
            json!({"problem_type": pipeline.project.problem_type, "threshold": columns.threshold}),
        ),
        (
            "publish",
            json!({
                "destination": serving.output.destination,
                "table": serving.output.table,
                "columns": columns,
            }),
        ),
    ]
}
