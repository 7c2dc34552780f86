//! The manifest query: a validated pipeline plus the resolved profile, as the runtime contract.

use std::collections::BTreeMap;
use std::sync::Arc;

use mbt_contract::adapters::{AdapterKind, Named, RegistrySettings, TargetSettings};
use mbt_contract::manifest::{
    stable_hash, DagSection, Manifest, Metadata, PipelineType, ProfileSection, Resources, Step,
    StepConfig, MANIFEST_VERSION,
};

use super::columns::column_check;
use super::profiles::resolved_profile;
use super::validate::validated;
use crate::dag;
use crate::db::{Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::schema::pipeline::Pipeline;
use crate::text::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestResult {
    /// Absent when the pipeline or the profile has errors.
    pub manifest: Option<Manifest>,
    /// Only internal errors: user errors are reported by validation and
    /// [`target_diagnostics`].
    pub diagnostics: Vec<Diagnostic>,
}

/// The version of MBT written into manifests.
pub const MBT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[salsa::tracked]
pub fn manifest(db: &dyn Db, file: SourceFile) -> Arc<ManifestResult> {
    let validated = validated(db, file);
    let profile = resolved_profile(db, db.project());
    // A column the data lacks fails the compile as it would fail the run.
    let columns_ok = !column_check(db, file)
        .diagnostics
        .iter()
        .any(Diagnostic::is_error);
    let (Some(root), true, Some(settings)) = (
        &validated.root,
        validated.ok && columns_ok,
        &profile.settings,
    ) else {
        return Arc::new(ManifestResult {
            manifest: None,
            diagnostics: Vec::new(),
        });
    };
    let internal = |span: Span, what: String| {
        Arc::new(ManifestResult {
            manifest: None,
            diagnostics: vec![Diagnostic::at(
                Code::InternalError,
                span,
                format!("internal error: {what}"),
            )
            .with_help(format!(
                "this is a bug in MBT {MBT_VERSION}; please report it at https://github.com/mbt-dev/mbt/issues with the pipeline"
            ))],
        })
    };
    // Validation accepted the tree, so it must type; failing here is a bug in MBT.
    let pipeline = match serde_json::from_value::<Pipeline>(root.to_json()) {
        Ok(pipeline) => pipeline,
        Err(error) => {
            return internal(
                root.span,
                format!("the validated pipeline did not deserialize: {error}"),
            )
        }
    };
    let dag = match dag::build(&pipeline) {
        Ok(dag) => dag,
        Err(error) => {
            return internal(
                root.span,
                format!("the validated pipeline did not type: {error}"),
            )
        }
    };
    if target_diagnostics(db, file)
        .iter()
        .any(Diagnostic::is_error)
    {
        return Arc::new(ManifestResult {
            manifest: None,
            diagnostics: Vec::new(),
        });
    }
    let name = super::parse::pipeline_name(file.path(db))
        .unwrap_or_default()
        .to_string();
    let resolved = super::compose::resolved(db, file);
    let project_settings = db.project().settings(db);
    let steps = dag
        .steps
        .iter()
        .map(|step| {
            (
                step.name.to_string(),
                Step {
                    config: step.config.clone(),
                    adapters: adapters_of(&step.config, settings),
                    inputs: step.inputs.clone(),
                    outputs: step.outputs.clone(),
                    depends_on: step.depends_on.clone(),
                    idempotent: step.idempotent,
                    resources: resources_of(step.name, settings),
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
            project_settings.vars, project_settings.target, project_settings.profile
        )
        .into_bytes(),
    );
    hash_parts.push(serde_json::to_vec(settings).expect("target settings serialize"));
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
            problem_type: pipeline.project.problem_type,
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
            settings: settings.clone(),
        },
        pipeline,
        secrets,
        vars: validated.vars.iter().cloned().collect(),
    };
    Arc::new(ManifestResult {
        manifest: Some(manifest),
        diagnostics: Vec::new(),
    })
}

/// What is wrong with the pipeline on the selected target (beyond its columns): an adapter it
/// names that the target does not configure.
#[salsa::tracked]
pub fn target_diagnostics(db: &dyn Db, file: SourceFile) -> Arc<Vec<Diagnostic>> {
    let validated = validated(db, file);
    let profile = resolved_profile(db, db.project());
    let (Some(root), Some(settings)) = (&validated.root, &profile.settings) else {
        return Arc::new(Vec::new());
    };
    Arc::new(
        unconfigured_registry(root, settings, &profile.target)
            .into_iter()
            .collect(),
    )
}

/// Serving from a registry other than the target's builds it from its defaults at run time;
/// one that needs settings (`mlflow`: its tracking URI) would fail there.
fn unconfigured_registry(
    root: &crate::yaml::Node,
    settings: &TargetSettings,
    target: &str,
) -> Option<Diagnostic> {
    let node = root.get_path(&["serving", "model_source", "registry"])?;
    let name = node.as_str()?;
    // An unknown or unavailable registry is reported at the value already (MBT2204/MBT2024).
    let known = mbt_contract::adapters::adapter(AdapterKind::ModelRegistry, name)
        .is_some_and(|spec| spec.available);
    if !known
        || name == settings.model_registry.name()
        || mbt_contract::adapters::at_defaults::<RegistrySettings>(name).is_ok()
    {
        return None;
    }
    Some(
        Diagnostic::at(
            Code::AdapterNotConfigured,
            node.span,
            format!(
                "serving loads from model registry `{name}`, which target `{target}` does not configure (it records runs in `{}`)",
                settings.model_registry.name()
            ),
        )
        .with_label("not the target's registry")
        .with_help(format!(
            "give target `{target}` `model_registry: {{type: {name}, config: ...}}`{}, or serve from `{}`",
            if name == "mlflow" { " (or the plan's `mlflow:` section)" } else { "" },
            settings.model_registry.name()
        )),
    )
}

/// The adapters a step uses, by kind: every step stores its outputs.
fn adapters_of(config: &StepConfig, settings: &TargetSettings) -> BTreeMap<AdapterKind, String> {
    let mut adapters = BTreeMap::new();
    let mut add = |kind: AdapterKind, name: &str| {
        adapters.insert(kind, name.to_string());
    };
    match config {
        StepConfig::LoadData(_) | StepConfig::JoinTables(_) | StepConfig::LoadScoringData(_) => {
            add(AdapterKind::DataConnector, settings.data_connector.name())
        }
        StepConfig::TrainModel(train) => add(AdapterKind::Framework, train.model.name()),
        StepConfig::LogRun(_) => add(AdapterKind::ModelRegistry, settings.model_registry.name()),
        StepConfig::LoadModel(load) => add(AdapterKind::ModelRegistry, &load.registry),
        StepConfig::Publish(publish) => add(AdapterKind::OutputWriter, &publish.destination),
        _ => {}
    }
    add(AdapterKind::Storage, settings.storage.name());
    adapters
}

/// What the executor's `resources` ask for `step` (its own entry, else `default`).
fn resources_of(step: &str, settings: &TargetSettings) -> Resources {
    let resources = settings.executor.resources();
    let own = resources.get(step);
    let default = resources.get("default");
    Resources {
        memory: own
            .and_then(|r| r.memory.clone())
            .or_else(|| default.and_then(|r| r.memory.clone())),
        cpu: own
            .and_then(|r| r.cpu)
            .or_else(|| default.and_then(|r| r.cpu)),
    }
}
