//! Artifact snapshots (`artifact_snapshot: true` on a serving pipeline): when the host compiles
//! the pipeline for a run, [`take`] copies the training run's artifacts and record into
//! `target/<pipeline>/artifacts/` and writes their SHA-256 into the manifest's `load_model`;
//! serving then reads that copy through [`SnapshotRegistry`], which refuses any file whose hash
//! changed (MBT4021). A snapshot of the same run is reused without asking the registry, so
//! serving works with the registry down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::digest::sha256;
use anyhow::Context;
use mbt_contract::fs::write_atomic;
use mbt_contract::manifest::{ArtifactSnapshot, LoadModel, Manifest, StepConfig};

use crate::adapters::registry::Registered;
use crate::adapters::{Adapter, Adapters, ModelRegistry, RunFilter, RunRecord};
use crate::error::{coded, Code};

/// The run's record in a snapshot.
const RECORD: &str = "run.json";

/// Whether the manifest's `load_model` asks for a snapshot (only then are adapters needed).
pub fn requested(manifest: &Manifest) -> bool {
    manifest
        .steps
        .values()
        .any(|step| matches!(&step.config, StepConfig::LoadModel(load) if load.artifact_snapshot))
}

/// Fills the manifest's snapshot when its `load_model` asks for one; returns what to tell the
/// user (which run was copied or reused).
pub fn take(
    manifest: &mut Manifest,
    adapters: &Adapters,
    project: &Path,
) -> anyhow::Result<Option<String>> {
    let pipeline = manifest.metadata.pipeline_name.clone();
    let Some(config) = manifest
        .steps
        .values_mut()
        .find_map(|step| match &mut step.config {
            StepConfig::LoadModel(load) if load.artifact_snapshot => Some(load),
            _ => None,
        })
    else {
        return Ok(None);
    };
    let folder = format!("target/{pipeline}/artifacts");
    let existing = read_existing(&project.join(&folder));
    let registry = adapters.registry_named(&config.registry)?;
    // The target's own registry is set up here (a run sets it up itself later).
    let own = matches!(registry, Registered::Target(_));
    let outcome = match if own { registry.setup() } else { Ok(()) } {
        Ok(()) => copy(config, &*registry, project, &folder, existing.as_ref()),
        Err(error) => reuse(existing.as_ref(), error),
    };
    if own {
        let _ = registry.teardown();
    }
    let (snapshot, note) = outcome?;
    config.snapshot = Some(snapshot);
    Ok(Some(note))
}

fn copy(
    config: &LoadModel,
    registry: &dyn ModelRegistry,
    project: &Path,
    folder: &str,
    existing: Option<&ArtifactSnapshot>,
) -> anyhow::Result<(ArtifactSnapshot, String)> {
    let mut notes = Vec::new();
    let run_id = match resolve_run(config, registry, &mut notes) {
        Ok(run_id) => run_id,
        Err(error) => return reuse(existing, error),
    };
    if let Some(snapshot) = existing.filter(|s| s.run_id == run_id) {
        if verify_all(project, snapshot).is_ok() {
            return Ok((
                snapshot.clone(),
                format!("artifact snapshot: run `{run_id}` already copied to {folder}/"),
            ));
        }
    }
    // A copy that changed is taken again; with the registry down, serving refuses it (MBT4021).
    match download(registry, &run_id, project, folder) {
        Ok(snapshot) => {
            notes.push(format!(
                "artifact snapshot: run `{run_id}` copied to {folder}/ ({} files)",
                snapshot.files.len()
            ));
            Ok((snapshot, notes.join("; ")))
        }
        Err(error) => reuse(existing.filter(|s| s.run_id == run_id), error),
    }
}

fn download(
    registry: &dyn ModelRegistry,
    run_id: &str,
    project: &Path,
    folder: &str,
) -> anyhow::Result<ArtifactSnapshot> {
    let record = registry.load_run(run_id)?;
    let target = project.join(folder);
    let mut files = BTreeMap::new();
    for name in record.artifacts.keys() {
        let bytes = registry.load_artifact(run_id, name)?;
        write(&target.join(name), &bytes)?;
        files.insert(name.clone(), sha256(&bytes));
    }
    let text = serde_json::to_vec_pretty(&record)?;
    write(&target.join(RECORD), &text)?;
    files.insert(RECORD.to_string(), sha256(&text));
    let snapshot = ArtifactSnapshot {
        run_id: run_id.to_string(),
        folder: folder.to_string(),
        files,
    };
    write(
        &target.join("snapshot.json"),
        &serde_json::to_vec_pretty(&snapshot)?,
    )?;
    Ok(snapshot)
}

/// The registry cannot say which run: the snapshot already taken serves, if there is one.
fn reuse(
    existing: Option<&ArtifactSnapshot>,
    error: anyhow::Error,
) -> anyhow::Result<(ArtifactSnapshot, String)> {
    match existing {
        Some(snapshot) => Ok((
            snapshot.clone(),
            format!(
                "artifact snapshot: serving the copy of run `{}` ({error:#})",
                snapshot.run_id
            ),
        )),
        None => Err(error),
    }
}

/// The run `load_model` names: a run id (bound), `latest`, or a registered model's alias.
pub fn resolve_run(
    config: &LoadModel,
    registry: &dyn ModelRegistry,
    notes: &mut Vec<String>,
) -> anyhow::Result<String> {
    let run_id = match (&config.registered_model, &config.run_id) {
        (Some(model), _) => {
            let run_id = registry.resolve_alias(&model.name, &model.alias)?;
            notes.push(format!(
                "model {}@{}: run `{run_id}`",
                model.name, model.alias
            ));
            return Ok(run_id);
        }
        (None, Some(run_id)) => bound(run_id, "run_id")?,
        (None, None) => {
            return Err(coded(
                Code::InvalidManifest,
                "load_model names neither a run nor a registered model",
                "recompile the pipeline with `mbt compile PIPELINE`",
            ))
        }
    };
    if run_id != mbt_contract::manifest::LATEST_RUN {
        return Ok(run_id);
    }
    let filter = match (&config.training_pipeline, &config.experiment_name) {
        (Some(pipeline), _) => RunFilter::Pipeline(pipeline),
        (None, Some(experiment)) => RunFilter::Experiment(experiment),
        (None, None) => RunFilter::Any,
    };
    let latest = registry.latest_run(filter)?;
    notes.push(format!(
        "run_id latest: run `{}` of pipeline `{}`, recorded {}",
        latest.run_id,
        latest.pipeline,
        latest
            .recorded_at
            .as_deref()
            .unwrap_or("at an unknown time")
    ));
    Ok(latest.run_id)
}

/// A value that may still hold an unbound `{{ var('NAME') }}` reference.
pub fn bound(text: &str, what: &str) -> anyhow::Result<String> {
    if text.contains("{{") {
        return Err(coded(
            Code::RunVarMissing,
            format!("`{what}` is `{text}`, a variable that was not given"),
            "pass `--vars NAME=VALUE` to `mbt run`",
        ));
    }
    Ok(text.to_string())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(|error| {
            coded(
                Code::StorageFailed,
                format!("{error:#}"),
                "check that the project's target/ folder is writable",
            )
        })
}

fn read_existing(folder: &Path) -> Option<ArtifactSnapshot> {
    let text = std::fs::read(folder.join("snapshot.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

fn verify_all(project: &Path, snapshot: &ArtifactSnapshot) -> anyhow::Result<()> {
    let registry = SnapshotRegistry::new(project, snapshot);
    for name in snapshot.files.keys() {
        registry.read(name)?;
    }
    Ok(())
}

/// A snapshot as a read-only model registry of its one run, checking every file's hash.
pub struct SnapshotRegistry {
    folder: PathBuf,
    snapshot: ArtifactSnapshot,
}

impl SnapshotRegistry {
    pub fn new(project: &Path, snapshot: &ArtifactSnapshot) -> SnapshotRegistry {
        SnapshotRegistry {
            folder: project.join(&snapshot.folder),
            snapshot: snapshot.clone(),
        }
    }

    /// The file's bytes, when its hash is the recorded one.
    fn read(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let changed = |what: String| {
            coded(
                Code::ArtifactChanged,
                what,
                format!(
                    "take the snapshot again: delete {}/ and run `mbt compile` with the \
                     registry reachable",
                    self.snapshot.folder
                ),
            )
        };
        let Some(expected) = self.snapshot.files.get(name) else {
            return Err(coded(
                Code::RunNotFound,
                format!(
                    "the snapshot of run `{}` has no artifact `{name}`",
                    self.snapshot.run_id
                ),
                "the run is incomplete: train it again",
            ));
        };
        let path = self.folder.join(name);
        let bytes = std::fs::read(&path).map_err(|error| {
            changed(format!(
                "snapshot artifact {}/{name} cannot be read: {error}",
                self.snapshot.folder
            ))
        })?;
        let found = sha256(&bytes);
        if &found != expected {
            return Err(changed(format!(
                "snapshot artifact {}/{name} changed since it was copied (SHA-256 {found}, the \
                 manifest recorded {expected})",
                self.snapshot.folder
            )));
        }
        Ok(bytes)
    }

    fn check_run(&self, run_id: &str) -> anyhow::Result<()> {
        if run_id == self.snapshot.run_id {
            return Ok(());
        }
        Err(coded(
            Code::RunNotFound,
            format!(
                "the artifact snapshot holds run `{}`, not `{run_id}`",
                self.snapshot.run_id
            ),
            "compile the pipeline again to snapshot the run it names",
        ))
    }
}

impl Adapter for SnapshotRegistry {}

impl ModelRegistry for SnapshotRegistry {
    fn log_run(
        &self,
        _record: &RunRecord,
        _artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord> {
        anyhow::bail!("an artifact snapshot is read-only")
    }

    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord> {
        self.check_run(run_id)?;
        serde_json::from_slice(&self.read(RECORD)?)
            .context("the snapshot's run.json is not a run record")
    }

    fn latest_run(&self, _filter: RunFilter<'_>) -> anyhow::Result<RunRecord> {
        self.load_run(&self.snapshot.run_id.clone())
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        self.check_run(run_id)?;
        self.read(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_missing_artifact_is_mbt4021() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("target/p/artifacts");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("model.json"), b"{}").unwrap();
        let snapshot = ArtifactSnapshot {
            run_id: "r1".into(),
            folder: "target/p/artifacts".into(),
            files: [
                ("model.json".to_string(), sha256(b"{}")),
                ("scaler.json".to_string(), sha256(b"[]")),
            ]
            .into(),
        };
        let registry = SnapshotRegistry::new(dir.path(), &snapshot);
        assert_eq!(registry.load_artifact("r1", "model.json").unwrap(), b"{}");
        std::fs::write(folder.join("model.json"), b"{ }").unwrap();
        let error = registry.load_artifact("r1", "model.json").unwrap_err();
        assert_eq!(
            crate::error::code_of(&error).map(|(code, _)| code),
            Some(Code::ArtifactChanged)
        );
        assert!(error.to_string().starts_with(
            "snapshot artifact target/p/artifacts/model.json changed since it was copied (SHA-256 "
        ));
        let error = registry.load_artifact("r1", "scaler.json").unwrap_err();
        assert_eq!(
            crate::error::code_of(&error).map(|(code, _)| code),
            Some(Code::ArtifactChanged)
        );
        let error = registry.load_artifact("r2", "model.json").unwrap_err();
        assert_eq!(
            crate::error::code_of(&error).map(|(code, _)| code),
            Some(Code::RunNotFound)
        );
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
