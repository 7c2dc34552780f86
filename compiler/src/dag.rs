//! The step registry and DAG builder: which steps a pipeline has, how they connect, and the
//! order and parallel batches they run in.
//!
//! Each step declares the data *roles* it consumes and produces ("data", "train", "model"...);
//! a step's inputs come from the latest earlier producer of each role, which fixes both the
//! artifact wiring and `depends_on`. Steps appear only when the pipeline's YAML asks for them.

use std::collections::BTreeMap;

use petgraph::graphmap::DiGraphMap;

use mbt_contract::frameworks::FrameworkConfig;
pub use mbt_contract::manifest::ALL_STEPS;
use mbt_contract::manifest::{
    ApplyTransforms, Encode, Evaluate, Join, JoinTables, LoadData, LoadModel, LoadScoringData,
    LogRun, ModelAlias, Normalize, Predict, Publish, Roles, RunParams, SelectFeatures, Selection,
    SplitData, StepConfig, TrainModel, Transform, ValidateData,
};
use mbt_contract::pipeline::{
    default_seed, default_test_size, Metric, OutputColumns, Pipeline, SelectionMethod, Serving,
    Split, Training,
};

/// One step of a pipeline's DAG.
#[derive(Clone, Debug, PartialEq)]
pub struct StepNode {
    pub name: &'static str,
    pub config: StepConfig,
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

/// Builds the DAG of a validated pipeline. `Err` says why a pipeline that validation accepted
/// cannot be typed: a bug in MBT.
pub fn build(pipeline: &Pipeline) -> Result<Dag, String> {
    let steps = match (&pipeline.training, &pipeline.serving) {
        (Some(training), _) => training_steps(pipeline, training)?,
        (None, Some(serving)) => serving_steps(pipeline, serving),
        (None, None) => Vec::new(),
    };
    Ok(wire(steps))
}

fn wire(steps: Vec<StepConfig>) -> Dag {
    let mut producers: BTreeMap<&str, (&'static str, &'static str)> = BTreeMap::new();
    let mut nodes = Vec::new();
    let mut graph: DiGraphMap<&'static str, ()> = DiGraphMap::new();
    for config in steps {
        let name = config.name();
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

/// The framework's typed config. Validation checked the name against the table and the config
/// against the framework's schema, so this only fails on a bug.
fn framework_config(
    training: &Training,
    problem_type: mbt_contract::pipeline::ProblemType,
) -> Result<FrameworkConfig, String> {
    let model = &training.model_training;
    let mut config = model.config.clone();
    // A framework of models by class name, with none named: its default (validation checked
    // the config with it).
    if let Some(default) = mbt_contract::frameworks::default_model(&model.framework, problem_type) {
        config
            .entry("model")
            .or_insert_with(|| serde_json::Value::from(default));
    }
    serde_json::from_value(serde_json::json!({
        "framework": model.framework,
        "config": config,
    }))
    .map_err(|error| format!("framework `{}`: {error}", model.framework))
}

fn training_steps(pipeline: &Pipeline, training: &Training) -> Result<Vec<StepConfig>, String> {
    let problem_type = pipeline.project.problem_type;
    let source = &training.data_source;
    let schema = &training.schema;
    let target = schema.target.as_ref();
    let label = target.map(|t| t.label_column.clone());
    let roles = Roles::of(schema);
    let partition_key = roles.partition_key.clone();
    let mut steps = Vec::new();
    let mut tables = vec![source.label_table.clone()];
    tables.extend(
        source
            .feature_tables
            .iter()
            .map(|t| t.table.clone())
            .filter(|t| *t != source.label_table),
    );
    steps.push(StepConfig::LoadData(LoadData {
        label_table: source.label_table.clone(),
        tables,
        data_windows: source.data_windows.clone(),
        partition_key: partition_key.clone(),
    }));
    let joins: Vec<Join> = source
        .feature_tables
        .iter()
        .filter(|table| table.table != source.label_table)
        .map(|table| Join {
            table: table.table.clone(),
            join_key: table
                .join_key
                .as_ref()
                .map(|k| k.columns())
                .unwrap_or_default(),
            join_type: table.join_type,
            fan_out_check: table.fan_out_check,
        })
        .collect();
    if !joins.is_empty() {
        steps.push(StepConfig::JoinTables(JoinTables {
            label_table: source.label_table.clone(),
            joins: joins.clone(),
        }));
    }
    if let Some(validation) = &training.validation {
        steps.push(StepConfig::ValidateData(ValidateData {
            on_failure: validation.on_failure,
            checks: validation.checks.clone(),
        }));
    }
    let transformations = training.transformations.as_ref();
    let custom_transforms = transformations
        .map(|t| t.custom_transforms.clone())
        .unwrap_or_default();
    if !custom_transforms.is_empty() {
        steps.push(StepConfig::Transform(Transform {
            custom_transforms: custom_transforms.clone(),
            schema: schema.clone(),
        }));
    }
    let split = training.split.clone().unwrap_or(Split {
        test_size: default_test_size(),
        stratify: true,
        seed: default_seed(),
    });
    let stratify = split.stratify && problem_type.is_classification();
    steps.push(StepConfig::SplitData(SplitData {
        test_size: split.test_size,
        stratify,
        seed: split.seed,
        roles: roles.clone(),
        data_windows: source.data_windows.clone(),
    }));
    if let Some(normalization) = transformations
        .and_then(|t| t.normalization.as_ref())
        .filter(|n| n.enabled)
    {
        steps.push(StepConfig::Normalize(Normalize {
            method: normalization.method,
            columns: normalization.columns.clone(),
            roles: roles.clone(),
        }));
    }
    if let Some(encoding) = transformations
        .and_then(|t| t.encoding.as_ref())
        .filter(|e| e.enabled)
    {
        steps.push(StepConfig::Encode(Encode {
            method: encoding.method,
            columns: encoding.columns.clone(),
            roles: roles.clone(),
        }));
    }
    if let Some(selection) = training.feature_selection.as_ref().filter(|s| s.enabled) {
        let methods = selection
            .methods
            .iter()
            .map(|method| match method {
                SelectionMethod::GbmImportance { threshold }
                | SelectionMethod::LgbmImportance { threshold } => Selection::GbmImportance {
                    threshold: *threshold,
                },
                SelectionMethod::Correlation { threshold } => Selection::Correlation {
                    threshold: *threshold,
                },
            })
            .collect();
        steps.push(StepConfig::SelectFeatures(SelectFeatures {
            methods,
            problem_type,
            positive_class: target.and_then(|t| t.positive_class.clone()),
            roles: roles.clone(),
        }));
    }
    let model = framework_config(training, problem_type)?;
    let label_column = label.ok_or("a training pipeline without a label column validated")?;
    steps.push(StepConfig::TrainModel(TrainModel {
        model: model.clone(),
        problem_type,
        label_column,
        classes: target.and_then(|t| t.classes.clone()),
        positive_class: target.and_then(|t| t.positive_class.clone()),
        identifiers: schema.identifiers.clone(),
        ignored_columns: schema.ignored_columns.clone(),
    }));
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
    steps.push(StepConfig::Evaluate(Evaluate {
        primary_metric: primary,
        metrics,
        generate_plots: evaluation.is_some_and(|e| e.generate_plots),
        custom_metrics: evaluation
            .map(|e| e.custom_metrics.clone())
            .unwrap_or_default(),
    }));
    steps.push(StepConfig::LogRun(LogRun {
        experiment_name: pipeline.project.experiment_name.clone(),
        tags: pipeline.project.tags.clone(),
        owner: pipeline.project.owner.clone(),
        joins,
        custom_transforms,
        params: RunParams {
            model,
            schema: schema.clone(),
            test_size: split.test_size,
            stratify,
            seed: split.seed,
        },
        registration: training.registration.clone(),
    }));
    Ok(steps)
}

fn serving_steps(pipeline: &Pipeline, serving: &Serving) -> Vec<StepConfig> {
    let columns = serving.output.columns.clone().unwrap_or(OutputColumns {
        prediction: "prediction".into(),
        label: None,
        threshold: 0.5,
    });
    let source = &serving.model_source;
    vec![
        StepConfig::LoadModel(LoadModel {
            registry: source.registry.clone(),
            run_id: source.run_id.clone(),
            registered_model: source
                .model_name
                .clone()
                .zip(source.alias.clone())
                .map(|(name, alias)| ModelAlias { name, alias }),
            artifact_snapshot: source.artifact_snapshot,
            snapshot: None,
            fallback_run_id: source.fallback_run_id.clone(),
            training_pipeline: source.training_pipeline.clone(),
            experiment_name: pipeline.project.experiment_name.clone(),
        }),
        StepConfig::LoadScoringData(LoadScoringData {
            scoring_table: serving.data_source.scoring_table.clone(),
            lookback_window: serving
                .data_source
                .data_windows
                .as_ref()
                .and_then(|w| w.lookback_window.clone()),
        }),
        StepConfig::ApplyTransforms(ApplyTransforms {}),
        StepConfig::Predict(Predict {}),
        StepConfig::Publish(Publish {
            destination: serving.output.destination.clone(),
            table: serving.output.table.clone(),
            columns,
        }),
    ]
}
