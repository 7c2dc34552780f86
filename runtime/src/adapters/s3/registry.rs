//! `s3` model registry: run records and their artifacts as objects of a bucket, laid out as the
//! local registry lays out files: `<prefix>/<run>/artifacts/<name>`, then `<prefix>/<run>/run.json`
//! (written last, so a run is listed only once complete); registered models under
//! `<prefix>/models/<name>/versions/<n>` (claimed with a conditional write, so two runs never
//! take one number) and `<prefix>/models/<name>/aliases/<alias>`.

use mbt_contract::adapters::RegistrySettings;

use super::{prefix_of, under, Client};
use crate::adapters::{Adapter, BuildContext, ModelRegistry, RunFilter, RunRecord};
use crate::error::{coded, Code, Coded};

struct S3Registry {
    client: Client,
    prefix: String,
}

/// The `s3` model registry of a target.
pub fn model_registry(
    settings: &RegistrySettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn ModelRegistry>> {
    let RegistrySettings::S3(config) = settings else {
        anyhow::bail!("the s3 registry factory got {settings:?}");
    };
    Ok(Box::new(S3Registry {
        client: Client::new(config, context)?,
        prefix: prefix_of(config),
    }))
}

impl S3Registry {
    fn key(&self, rest: &str) -> String {
        under(&self.prefix, rest)
    }

    fn place(&self) -> String {
        format!("s3://{}/{}", self.client.bucket, self.prefix)
    }
}

impl Adapter for S3Registry {}

impl ModelRegistry for S3Registry {
    fn health(&self) -> anyhow::Result<String> {
        let runs = self
            .client
            .list(&self.key(""))?
            .iter()
            .filter(|key| key.ends_with("/run.json"))
            .count();
        Ok(format!("{}: {runs} run(s) recorded", self.place()))
    }

    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord> {
        let mut record = record.clone();
        for (name, bytes) in artifacts {
            let key = self.key(&format!("{}/artifacts/{name}", record.run_id));
            self.client.put_object(&key, bytes)?;
            record
                .artifacts
                .insert(name.clone(), format!("s3://{}/{key}", self.client.bucket));
        }
        let text = serde_json::to_string_pretty(&record)? + "\n";
        self.client.put_object(
            &self.key(&format!("{}/run.json", record.run_id)),
            text.as_bytes(),
        )?;
        Ok(record)
    }

    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord> {
        let bytes = self
            .client
            .get_if_present(&self.key(&format!("{run_id}/run.json")))?
            .ok_or_else(|| {
                coded(
                    Code::RunNotFound,
                    format!("run `{run_id}` not found in {}", self.place()),
                    "pass the run id a training run printed (target/<pipeline>/run_results.json)",
                )
            })?;
        serde_json::from_slice(&bytes).map_err(|error| {
            coded(
                Code::StorageFailed,
                format!("the record of run `{run_id}` is not a run record: {error}"),
                "the object was changed outside MBT: train the run again",
            )
        })
    }

    fn latest_run(&self, filter: RunFilter<'_>) -> anyhow::Result<RunRecord> {
        let mut records = Vec::new();
        for key in self.client.list(&self.key(""))? {
            let Some(run) = key
                .strip_prefix(&self.key(""))
                .and_then(|rest| rest.strip_suffix("/run.json"))
            else {
                continue;
            };
            if run.contains('/') {
                continue; // not a run's own record
            }
            if let Some(bytes) = self.client.get_if_present(&key)? {
                if let Ok(record) = serde_json::from_slice::<RunRecord>(&bytes) {
                    records.push(record);
                }
            }
        }
        crate::adapters::latest(&records, filter, &self.place()).cloned()
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        self.client
            .get_if_present(&self.key(&format!("{run_id}/artifacts/{name}")))?
            .ok_or_else(|| {
                coded(
                    Code::RunNotFound,
                    format!(
                        "run `{run_id}` has no artifact `{name}` in {}",
                        self.place()
                    ),
                    "the run is incomplete: train it again",
                )
            })
    }

    fn register_model(
        &self,
        record: &RunRecord,
        name: &str,
        alias: Option<&str>,
    ) -> anyhow::Result<String> {
        let versions = self.key(&format!("models/{name}/versions/"));
        // The next free number, taken with a conditional write: a concurrent run that took it
        // first makes this one try the number after.
        let mut version = self
            .client
            .list(&versions)?
            .iter()
            .filter_map(|key| key.strip_prefix(&versions)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        loop {
            version += 1;
            let key = format!("{versions}{version}");
            if self
                .client
                .put_if_absent(&key, record.run_id.as_bytes())
                .code(Code::StorageFailed, "check the bucket's permissions")?
            {
                break;
            }
        }
        let version = version.to_string();
        if let Some(alias) = alias {
            self.client.put_object(
                &self.key(&format!("models/{name}/aliases/{alias}")),
                version.as_bytes(),
            )?;
        }
        Ok(version)
    }

    fn resolve_alias(&self, name: &str, alias: &str) -> anyhow::Result<String> {
        let place = self.place();
        let not_found = |what: String| crate::adapters::alias_not_found(what, &place, name, alias);
        let version = self
            .client
            .get_if_present(&self.key(&format!("models/{name}/aliases/{alias}")))?
            .ok_or_else(|| not_found(format!("model `{name}` has no alias `{alias}`")))?;
        let version = String::from_utf8_lossy(&version).trim().to_string();
        let run = self
            .client
            .get_if_present(&self.key(&format!("models/{name}/versions/{version}")))?
            .ok_or_else(|| not_found(format!("model `{name}` has no version {version}")))?;
        Ok(String::from_utf8_lossy(&run).trim().to_string())
    }
}
