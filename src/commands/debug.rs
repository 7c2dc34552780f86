//! `mbt debug [--target T] [--format json]`: checks what a run on the target needs, each as
//! ✓/✗ with the reason and the time it took: the profile and target, the secrets the target
//! and pipelines reference (present or not — never their values), the data connector and its
//! tables, storage, model registry and output folders writable, the executor, each framework
//! the pipelines use, and Python for `lib.*` hooks. Exit code 1 when anything fails.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use mbt_compiler::contract::adapters::{
    ConnectorSettings, ExecutorSettings, Named, RegistrySettings, StorageSettings, TargetSettings,
    WriterSettings,
};
use mbt_compiler::db::{CatalogState, Db};
use mbt_compiler::queries::parse::pipeline_index;
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_compiler::queries::validate::validated;
use mbt_compiler::yaml::Node;
use mbt_runtime::adapters::{Adapters, Registry};
use mbt_runtime::python::PythonBridge;
use serde::Serialize;

use crate::args::{DebugArgs, DepsFormat};
use crate::host::Host;
use crate::outln;

/// One check as `--format json` prints it (format version 1).
#[derive(Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
    ms: u128,
}

struct Checks(Vec<Check>);

impl Checks {
    /// Times `check` and records its verdict.
    fn run(&mut self, name: impl Into<String>, check: impl FnOnce() -> Result<String, String>) {
        let start = Instant::now();
        let result = check();
        let ms = start.elapsed().as_millis();
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.0.push(Check {
            name: name.into(),
            ok,
            detail,
            ms,
        });
    }
}

pub fn run(args: DebugArgs) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let db = &host.db;
    let profile = resolved_profile(db, db.project()).clone();
    let mut checks = Checks(Vec::new());
    let profiles_file = db
        .profiles_file()
        .map(|file| file.path(db).clone())
        .unwrap_or_else(|| "none (the built-in dev target)".into());
    let errors: Vec<String> = profile
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("[{}] {}", d.code.as_str(), d.message))
        .collect();
    checks.run("profile", || {
        if errors.is_empty() {
            Ok(format!(
                "{profiles_file}: profile `{}`, target `{}`",
                profile.profile, profile.target
            ))
        } else {
            Err(format!("{profiles_file}: {}", errors.join("; ")))
        }
    });
    let Some(settings) = profile.settings.clone() else {
        return finish(&checks, &args, &profile.target);
    };
    let uses = Uses::of(db);

    // The target's adapters, built once for the secrets and start-up checks.
    let builtin = Registry::builtin();
    let adapters = builtin
        .build(&settings, &host.root)
        .map_err(|error| format!("{error:#}"));
    checks.run("secrets", || {
        secrets(adapters.as_ref()?, &settings, &profile.secrets, &uses)
    });
    checks.run("data connector", || match &settings.data_connector {
        ConnectorSettings::LocalFile(config) => local_files(db, config),
        ConnectorSettings::Postgres(_) => health(&adapters, "postgres", |adapters| {
            adapters.connector.health()
        }),
    });
    checks.run("executor", || match &settings.executor {
        ExecutorSettings::Local(_) => {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Ok(format!("local: {cores} core(s)"))
        }
        // No cluster is contacted: the orchestrator starts the pods.
        ExecutorSettings::Kubernetes(config) => Ok(format!(
            "kubernetes: image {} in namespace {} (pods of `mbt generate-dags`' DAGs; `mbt run` refuses this target)",
            config.image,
            config.namespace.as_deref().unwrap_or("default")
        )),
    });
    checks.run("storage", || match &settings.storage {
        StorageSettings::Local(storage) => {
            writable(&host.root, &storage.base_path).map(|path| format!("local: {path}"))
        }
        StorageSettings::S3(_) => health(&adapters, "s3", |adapters| adapters.storage.health()),
    });
    match &settings.model_registry {
        RegistrySettings::Local(registry) => checks.run("model registry", || {
            writable(&host.root, &registry.base_path).map(|path| {
                let runs = std::fs::read_dir(host.root.join(&registry.base_path))
                    .map(|entries| entries.flatten().filter(|e| e.path().is_dir()).count())
                    .unwrap_or(0);
                format!("local: {path}, {runs} run(s) recorded")
            })
        }),
        // `/health` and an API call (for `sqlite:///`, of the local server MBT starts).
        RegistrySettings::Mlflow(mlflow) => checks.run("model registry", || {
            let adapters = adapters.as_ref().map_err(String::clone)?;
            let registry = &adapters.model_registry;
            let outcome = registry.setup().and_then(|()| registry.health());
            let _ = registry.teardown();
            outcome
                .map(|found| format!("mlflow {}: {found}", mlflow.tracking_uri))
                .map_err(|error| format!("{error:#}"))
        }),
        RegistrySettings::S3(_) => checks.run("model registry", || {
            health(&adapters, "s3", |adapters| adapters.model_registry.health())
        }),
    }
    checks.run("output writer", || match &settings.output_writer {
        WriterSettings::LocalFile(writer) => {
            writable(&host.root, &writer.output_path).map(|path| format!("local_file: {path}"))
        }
        WriterSettings::Postgres(_) => health(&adapters, "postgres", |adapters| {
            adapters.output_writer.health()
        }),
        WriterSettings::S3(_) => {
            health(&adapters, "s3", |adapters| adapters.output_writer.health())
        }
    });
    if settings.metrics.is_some() {
        checks.run("metrics", || {
            let adapters = adapters.as_ref().map_err(String::clone)?;
            let emitter = adapters
                .metrics
                .as_ref()
                .ok_or("no metrics emitter was built")?;
            emitter.health().map_err(|error| format!("{error:#}"))
        });
    }
    checks.run("adapters", || {
        let adapters = adapters.as_ref().map_err(String::clone)?;
        adapters.setup().map_err(|error| format!("{error:#}"))?;
        let notes = adapters.warnings();
        let problems = adapters.teardown();
        match problems.first() {
            Some(error) => Err(format!("{error:#}")),
            None if notes.is_empty() => Ok("every adapter of the target builds and starts".into()),
            None => Ok(format!(
                "every adapter of the target builds and starts; {}",
                notes.join("; ")
            )),
        }
    });
    for framework in &uses.frameworks {
        checks.run(format!("framework {framework}"), || {
            let installed = builtin.installed();
            let Some(adapter) = installed.iter().find(|a| a.name == framework.as_str()) else {
                return Err(format!(
                    "`{framework}` is not available in this build; see `mbt deps list`"
                ));
            };
            // What it needs outside MBT (an interpreter, Java and H2O), checked for real.
            let adapters = adapters.as_ref().map_err(String::clone)?;
            let found = adapters
                .frameworks
                .get(framework)
                .and_then(|built| built.health_check())
                .map_err(|error| format!("{error:#}"))?;
            Ok(format!("built in ({}): {found}", adapter.version))
        });
    }
    if !uses.python.is_empty() {
        checks.run("python", || {
            let hooks: Vec<&str> = uses.python.iter().map(String::as_str).collect();
            PythonBridge::new(&host.root)
                .probe()
                .map(|versions| format!("{versions} (for {})", hooks.join(", ")))
                .map_err(|error| format!("{error:#}"))
        });
    }
    finish(&checks, &args, &profile.target)
}

fn finish(checks: &Checks, args: &DebugArgs, target: &str) -> anyhow::Result<ExitCode> {
    let failed = checks.0.iter().filter(|check| !check.ok).count();
    match args.format {
        DepsFormat::Json => {
            let document = serde_json::json!({
                "version": 1,
                "target": target,
                "ok": failed == 0,
                "checks": checks.0,
            });
            outln!("{}", serde_json::to_string_pretty(&document)?);
        }
        DepsFormat::Human => {
            for check in &checks.0 {
                outln!(
                    "{} {:<20} {} ({} ms)",
                    if check.ok { "✓" } else { "✗" },
                    check.name,
                    check.detail,
                    check.ms
                );
            }
            eprintln!(
                "target `{target}`: {} check(s), {failed} failed",
                checks.0.len()
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What the project's pipelines use: frameworks, Python hooks and secrets.
struct Uses {
    frameworks: BTreeSet<String>,
    python: BTreeSet<String>,
    secrets: BTreeSet<String>,
}

impl Uses {
    fn of(db: &mbt_compiler::Database) -> Uses {
        let mut uses = Uses {
            frameworks: BTreeSet::new(),
            python: BTreeSet::new(),
            secrets: BTreeSet::new(),
        };
        let index = pipeline_index(db, db.project());
        for (_, file) in index.runnable() {
            let validated = validated(db, file);
            uses.secrets.extend(validated.secrets.iter().cloned());
            let Some(root) = &validated.root else {
                continue;
            };
            if let Some(framework) = root
                .get_path(&["training", "model_training", "framework"])
                .and_then(Node::as_str)
            {
                uses.frameworks.insert(framework.to_string());
            }
            let mut hooks: Vec<&Node> = Vec::new();
            let sequence = |path: &[&str]| -> Vec<&Node> {
                root.get_path(path)
                    .and_then(Node::as_sequence)
                    .map(|items| items.iter().collect())
                    .unwrap_or_default()
            };
            hooks.extend(sequence(&[
                "training",
                "transformations",
                "custom_transforms",
            ]));
            hooks.extend(sequence(&["training", "evaluation", "custom_metrics"]));
            for check in sequence(&["training", "validation", "checks"]) {
                hooks.extend(check.get_path(&["function"]));
            }
            uses.python.extend(
                hooks
                    .into_iter()
                    .filter_map(Node::as_str)
                    .filter(|text| text.starts_with("lib."))
                    .map(str::to_string),
            );
        }
        uses
    }
}

/// Every referenced secret is present in the provider; values are never read into output.
fn secrets(
    adapters: &Adapters,
    settings: &TargetSettings,
    target_secrets: &[String],
    uses: &Uses,
) -> Result<String, String> {
    let names: BTreeSet<&str> = target_secrets
        .iter()
        .map(String::as_str)
        .chain(uses.secrets.iter().map(String::as_str))
        .collect();
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !adapters.secret_available(name))
        .collect();
    let provider = settings.secrets.name();
    if missing.is_empty() {
        Ok(format!(
            "{provider}: {} referenced, all present",
            names.len()
        ))
    } else {
        Err(format!(
            "{provider}: missing {} (set them for the `{provider}` provider)",
            missing.join(", ")
        ))
    }
}

/// What an adapter of the target found when asked, under its name (`postgres: PostgreSQL
/// 15.20 at ...`).
fn health(
    adapters: &Result<mbt_runtime::adapters::Adapters, String>,
    name: &str,
    ask: impl FnOnce(&mbt_runtime::adapters::Adapters) -> anyhow::Result<String>,
) -> Result<String, String> {
    let adapters = adapters.as_ref().map_err(String::clone)?;
    ask(adapters)
        .map(|found| format!("{name}: {found}"))
        .map_err(|error| format!("{name}: {error:#}"))
}

fn local_files(
    db: &mbt_compiler::Database,
    config: &mbt_compiler::contract::adapters::LocalFileConfig,
) -> Result<String, String> {
    let tables = db.project().tables(db);
    let unreadable: Vec<String> = tables
        .iter()
        .filter_map(|(name, table)| {
            table
                .schema(db)
                .as_ref()
                .as_ref()
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    match &**db.project().catalog(db) {
        CatalogState::Fresh { .. } if unreadable.is_empty() => Ok(format!(
            "local_file {}: {} table(s)",
            config.data_path,
            tables.len()
        )),
        CatalogState::Fresh { .. } => Err(format!(
            "local_file {}: unreadable {}",
            config.data_path,
            unreadable.join("; ")
        )),
        CatalogState::Cached { reason, .. } | CatalogState::Unavailable { reason, .. } => {
            Err(format!("local_file: {reason}"))
        }
        CatalogState::NotLoaded => Err("the catalog was not read".into()),
    }
}

/// Whether the runtime can write under `path` (relative to the project): a probe file is
/// written and removed in it, or in its nearest existing parent when it does not exist yet
/// (the runtime creates it; this command creates nothing).
fn writable(root: &Path, path: &str) -> Result<String, String> {
    let folder = root.join(path);
    let existing = folder
        .ancestors()
        .find(|ancestor| ancestor.is_dir())
        .ok_or_else(|| format!("{path}: no existing parent folder"))?;
    let probe = existing.join(format!(".mbt-debug-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|error| format!("{path}: not writable: {error}"))?;
    Ok(if existing == folder {
        format!("{path} writable")
    } else {
        format!("{path} writable (created on first use)")
    })
}
