//! The manifest query: a validated pipeline plus the resolved profile, as the runtime contract.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::compose::resolved;
use super::profiles::resolved_profile;
use super::validate::validated;
use crate::dag;
use crate::db::{Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::manifest::{
    stable_hash, DagSection, Manifest, Metadata, PipelineType, ProfileSection, Resources, Step,
    MANIFEST_VERSION,
};
use crate::schema::pipeline::Pipeline;

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestResult {
    /// Absent when the pipeline or the profile has errors.
    pub manifest: Option<Manifest>,
    /// Only internal errors: user errors are reported by validation.
    pub diagnostics: Vec<Diagnostic>,
}

/// The version of MBT written into manifests.
pub const MBT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[salsa::tracked]
pub fn manifest(db: &dyn Db, file: SourceFile) -> Arc<ManifestResult> {
    let validated = validated(db, file);
    let profile = resolved_profile(db, db.project());
    let (Some(root), true, false) = (
        &validated.root,
        validated.ok,
        profile.diagnostics.iter().any(Diagnostic::is_error),
    ) else {
        return Arc::new(ManifestResult {
            manifest: None,
            diagnostics: Vec::new(),
        });
    };
    // Validation accepted the tree, so it must deserialize; failing here is a bug in MBT.
    let pipeline = match serde_json::from_value::<Pipeline>(root.to_json()) {
        Ok(pipeline) => pipeline,
        Err(error) => {
            let diagnostic = Diagnostic::at(
                Code::InternalError,
                root.span,
                format!("internal error: the validated pipeline did not deserialize: {error}"),
            )
            .with_help(format!(
                "this is a bug in MBT {MBT_VERSION}; please report it at https://github.com/mbt-dev/mbt/issues with the pipeline"
            ));
            return Arc::new(ManifestResult {
                manifest: None,
                diagnostics: vec![diagnostic],
            });
        }
    };
    let pipeline = &pipeline;
    let name = super::parse::pipeline_name(file.path(db))
        .unwrap_or_default()
        .to_string();
    let dag = dag::build(pipeline);
    let resolved = resolved(db, file);
    let settings = db.project().settings(db);

    let adapters_of = |step: &str| -> BTreeMap<String, String> {
        let mut adapters = BTreeMap::new();
        let setting = |kind: &str| {
            profile
                .config
                .get(kind)
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match step {
            "load_data" | "load_scoring_data" => {
                adapters
                    .extend(setting("data_connector").map(|v| ("data_connector".to_string(), v)));
            }
            "train_model" => {
                if let Some(training) = &pipeline.training {
                    adapters.insert(
                        "framework".into(),
                        training.model_training.framework.clone(),
                    );
                }
            }
            "log_run" => {
                adapters
                    .extend(setting("model_registry").map(|v| ("model_registry".to_string(), v)));
            }
            "load_model" => {
                if let Some(serving) = &pipeline.serving {
                    let registry = serde_json::to_value(serving.model_source.registry)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string));
                    adapters.extend(registry.map(|v| ("model_registry".to_string(), v)));
                }
            }
            "publish" => {
                if let Some(serving) = &pipeline.serving {
                    adapters.insert("output_writer".into(), serving.output.destination.clone());
                }
            }
            _ => {}
        }
        adapters.extend(setting("storage").map(|v| ("storage".to_string(), v)));
        adapters
    };
    let resources_of = |step: &str| -> Resources {
        let resources = profile
            .config
            .get("executor")
            .and_then(|e| e.get("config"))
            .and_then(|c| c.get("resources"));
        let pick = |key: &str| {
            resources
                .and_then(|r| {
                    r.get(step)
                        .and_then(|s| s.get(key))
                        .or_else(|| r.get("default").and_then(|d| d.get(key)))
                })
                .cloned()
        };
        Resources {
            memory: pick("memory").and_then(|v| v.as_str().map(str::to_string)),
            cpu: pick("cpu").and_then(|v| v.as_f64()),
        }
    };
    let steps = dag
        .steps
        .iter()
        .map(|step| {
            (
                step.name.to_string(),
                Step {
                    plugin: format!("mbt.steps.{}", step.name),
                    adapters: adapters_of(step.name),
                    config: step.config.clone(),
                    inputs: step.inputs.clone(),
                    outputs: step.outputs.clone(),
                    depends_on: step.depends_on.clone(),
                    idempotent: step.idempotent,
                    resources: resources_of(step.name),
                },
            )
        })
        .collect();

    let mut source_files: Vec<String> = resolved.files.iter().map(|f| f.path(db).clone()).collect();
    if let Some(profiles) = db.project().profiles(db) {
        source_files.push(profiles.path(db).clone());
    }
    let mut hash_parts: Vec<Vec<u8>> = Vec::new();
    for file in resolved
        .files
        .iter()
        .chain(db.project().profiles(db).iter())
    {
        hash_parts.push(file.path(db).as_bytes().to_vec());
        hash_parts.push(file.text(db).as_bytes().to_vec());
    }
    hash_parts.push(
        format!(
            "{:?}{:?}{:?}",
            settings.vars, settings.target, settings.profile
        )
        .into_bytes(),
    );
    hash_parts.push(profile.config.to_string().into_bytes());
    let parts: Vec<&[u8]> = hash_parts.iter().map(Vec::as_slice).collect();

    let mut secrets: Vec<String> = validated.secrets.clone();
    secrets.extend(profile.secrets.iter().cloned());
    secrets.sort();
    secrets.dedup();
    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        metadata: Metadata {
            pipeline_name: name,
            pipeline_type: if pipeline.training.is_some() {
                PipelineType::Training
            } else {
                PipelineType::Serving
            },
            problem_type: pipeline.project.problem_type.as_str().to_string(),
            target: profile.target.clone(),
            profile: profile.profile.clone(),
            schema_version: pipeline.schema_version,
            mbt_version: MBT_VERSION.to_string(),
            source_files,
            source_hash: stable_hash(&parts),
        },
        steps,
        dag: DagSection {
            execution_order: dag.execution_order,
            execution_batches: dag.execution_batches,
            parent_map: dag.parent_map,
            child_map: dag.child_map,
        },
        profile: ProfileSection {
            name: profile.profile.clone(),
            target: profile.target.clone(),
            config: profile.config.clone(),
        },
        pipeline: serde_json::to_value(pipeline).unwrap_or(Value::Null),
        secrets,
        vars: validated.vars.iter().cloned().collect(),
    };
    Arc::new(ManifestResult {
        manifest: Some(manifest),
        diagnostics: Vec::new(),
    })
}
