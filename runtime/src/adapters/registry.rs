//! The one registry that finds adapters by the adapter table's names, and the adapters of one
//! run built from a target's typed settings.
//!
//! [`Registry`] maps each available name to a factory. [`Registry::build`] turns a manifest's
//! [`TargetSettings`] into [`Adapters`]: the secrets provider first, then every other kind, each
//! factory resolving its credentials through [`BuildContext::secret`](super::BuildContext::secret), in memory only (the one
//! place secrets are resolved). [`Adapters`] is what the runner and the steps use; tests build it
//! by hand with in-memory adapters. A test holds the registry and the table together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mbt_contract::adapters::{
    self, AdapterKind, ConnectorSettings, ExecutorSettings, H2oClusterConfig, MetricsSettings,
    Named, RegistrySettings, SecretsSettings, StorageSettings, TargetSettings, WriterSettings,
};

use super::monitoring::{Emission, MetricsEmitter};
use super::{
    Adapter, BuildContext, DataConnector, Executor, Framework, FrameworkContext, ModelRegistry,
    OutputWriter, SecretsProvider, Storage,
};
use crate::error::{coded, Code, Coded};

/// Builds an adapter from its typed settings.
pub type Factory<S, T> = fn(&S, &BuildContext<'_>) -> anyhow::Result<Box<T>>;
/// Builds a framework for a run: in the project folder (where a Python worker finds `.venv`),
/// with the target's framework settings (the `h2o:` cluster).
pub type FrameworkFactory = fn(&FrameworkContext<'_>) -> anyhow::Result<Box<dyn Framework>>;

type SecretsFactory = fn(&SecretsSettings, &Path) -> anyhow::Result<Box<dyn SecretsProvider>>;

/// One registered adapter, for `mbt deps list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub kind: AdapterKind,
    pub name: &'static str,
    /// The engine and version that implements it (e.g. `smartcore 0.7.0`).
    pub version: &'static str,
}

/// Every adapter this build runs, by kind and name.
pub struct Registry {
    frameworks: BTreeMap<&'static str, FrameworkFactory>,
    storages: BTreeMap<&'static str, Factory<StorageSettings, dyn Storage>>,
    connectors: BTreeMap<&'static str, Factory<ConnectorSettings, dyn DataConnector>>,
    registries: BTreeMap<&'static str, Factory<RegistrySettings, dyn ModelRegistry>>,
    writers: BTreeMap<&'static str, Factory<WriterSettings, dyn OutputWriter>>,
    executors: BTreeMap<&'static str, Factory<ExecutorSettings, dyn Executor>>,
    secrets: BTreeMap<&'static str, SecretsFactory>,
    emitters: BTreeMap<&'static str, Factory<MetricsSettings, dyn MetricsEmitter>>,
    installed: Vec<Installed>,
}

/// The version of MBT's own adapters.
const MBT: &str = concat!("mbt ", env!("CARGO_PKG_VERSION"));
/// The engine behind the data adapters (pinned in runtime/Cargo.toml).
const POLARS: &str = "polars 0.55.2";
/// The client behind the `postgres` connector and writer (runtime/Cargo.toml).
const POSTGRES: &str = "rust-postgres 0.19";
/// The engine behind the `smartcore` framework (pinned in runtime/Cargo.toml).
const SMARTCORE: &str = "smartcore 0.7.0";
/// scikit-learn runs in the interpreter found at run time (`mbt debug` prints its version).
const SKLEARN: &str = "scikit-learn (py)";
/// The H2O-3 release the `h2o_automl` adapter is tested against (its REST API and MOJOs).
const H2O: &str = "h2o-3 3.46.0.11";

impl Registry {
    /// The adapters built into MBT: exactly the table's available entries.
    pub fn builtin() -> Registry {
        let mut registry = Registry {
            frameworks: BTreeMap::new(),
            storages: BTreeMap::new(),
            connectors: BTreeMap::new(),
            registries: BTreeMap::new(),
            writers: BTreeMap::new(),
            executors: BTreeMap::new(),
            secrets: BTreeMap::new(),
            emitters: BTreeMap::new(),
            installed: Vec::new(),
        };
        registry.framework("automl", MBT, |_| Ok(Box::new(super::automl::Automl)));
        registry.framework("gbm", MBT, |_| Ok(Box::new(super::gbm::Gbm)));
        registry.framework("h2o_automl", H2O, super::h2o::framework);
        registry.framework("smartcore", SMARTCORE, |_| {
            Ok(Box::new(super::smartcore::Smartcore))
        });
        registry.framework("sklearn", SKLEARN, |context| {
            Ok(Box::new(super::sklearn::Sklearn::new(
                context.build.project,
            )))
        });
        registry.add(AdapterKind::Storage, "local", MBT);
        registry.storages.insert("local", super::local::storage);
        registry.add(AdapterKind::Storage, "s3", MBT);
        registry.storages.insert("s3", super::s3::storage);
        registry.add(AdapterKind::DataConnector, "local_file", POLARS);
        registry
            .connectors
            .insert("local_file", super::local::connector);
        registry.add(AdapterKind::DataConnector, "postgres", POSTGRES);
        registry
            .connectors
            .insert("postgres", super::postgres::connector);
        registry.add(AdapterKind::ModelRegistry, "local", MBT);
        registry
            .registries
            .insert("local", super::local::model_registry);
        registry.add(AdapterKind::ModelRegistry, "mlflow", MBT);
        registry
            .registries
            .insert("mlflow", super::mlflow::model_registry);
        registry.add(AdapterKind::OutputWriter, "local_file", POLARS);
        registry
            .writers
            .insert("local_file", super::local::output_writer);
        registry.add(AdapterKind::ModelRegistry, "s3", MBT);
        registry.registries.insert("s3", super::s3::model_registry);
        registry.add(AdapterKind::OutputWriter, "s3", MBT);
        registry.writers.insert("s3", super::s3::output_writer);
        registry.add(AdapterKind::OutputWriter, "postgres", POSTGRES);
        registry
            .writers
            .insert("postgres", super::postgres::output_writer);
        registry.add(AdapterKind::Executor, "local", MBT);
        registry.executors.insert("local", super::local::executor);
        registry.add(AdapterKind::Executor, "kubernetes", MBT);
        registry
            .executors
            .insert("kubernetes", super::kubernetes::executor);
        registry.add(AdapterKind::Secrets, "env", MBT);
        registry.secrets.insert("env", super::local::secrets);
        for name in ["pushgateway", "statsd"] {
            registry.add(AdapterKind::Metrics, name, MBT);
            registry.emitters.insert(name, super::monitoring::emitter);
        }
        registry
    }

    /// Registers a framework under `name` (an embedding or a test may add its own).
    pub fn framework(
        &mut self,
        name: &'static str,
        version: &'static str,
        factory: FrameworkFactory,
    ) {
        self.frameworks.insert(name, factory);
        self.add(AdapterKind::Framework, name, version);
    }

    fn add(&mut self, kind: AdapterKind, name: &'static str, version: &'static str) {
        self.installed.push(Installed {
            kind,
            name,
            version,
        });
    }

    /// A fresh set of this registry's frameworks for one run (for adapters built by hand).
    pub fn frameworks(&self) -> Frameworks {
        Frameworks::new(self.frameworks.clone())
    }

    /// Every registered adapter, by kind then name.
    pub fn installed(&self) -> Vec<Installed> {
        let mut installed = self.installed.clone();
        installed.sort_by_key(|adapter| (adapter.kind, adapter.name));
        installed
    }

    /// The adapters of a run on `settings`: the secrets provider first, then every other kind.
    /// Nothing is set up yet (the runner does that once per run).
    pub fn build(&self, settings: &TargetSettings, project: &Path) -> anyhow::Result<Adapters> {
        let secrets_factory = self
            .secrets
            .get(settings.secrets.name())
            .ok_or_else(|| unavailable(AdapterKind::Secrets, settings.secrets.name()))?;
        let secrets: Arc<dyn SecretsProvider> =
            Arc::from(secrets_factory(&settings.secrets, project)?);
        let context = BuildContext {
            project,
            secrets: secrets.as_ref(),
        };
        Ok(Adapters {
            storage: build(&self.storages, &settings.storage, &context)?,
            connector: build(&self.connectors, &settings.data_connector, &context)?,
            model_registry: build(&self.registries, &settings.model_registry, &context)?,
            output_writer: build(&self.writers, &settings.output_writer, &context)?,
            executor: build(&self.executors, &settings.executor, &context)?,
            metrics: settings
                .metrics
                .as_ref()
                .map(|metrics| build(&self.emitters, metrics, &context))
                .transpose()?,
            frameworks: Frameworks {
                factories: self.frameworks.clone(),
                built: Mutex::default(),
                project: project.to_path_buf(),
                h2o: settings.h2o.clone(),
                secrets: secrets.clone(),
            },
            project: project.to_path_buf(),
            registry_settings: settings.model_registry.clone(),
            writer_settings: settings.output_writer.clone(),
            registries: self.registries.clone(),
            writers: self.writers.clone(),
            secrets,
        })
    }
}

fn build<S: Named, T: ?Sized>(
    factories: &BTreeMap<&'static str, Factory<S, T>>,
    settings: &S,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<T>> {
    let factory = factories
        .get(settings.name())
        .ok_or_else(|| unavailable(S::KIND, settings.name()))?;
    factory(settings, context)
}

/// The coded error for an adapter this runtime does not have (a manifest or model from
/// another build).
pub fn unavailable(kind: AdapterKind, name: &str) -> anyhow::Error {
    coded(
        Code::AdapterNotAvailable,
        format!(
            "{} `{name}` is not available in this build",
            kind.describe()
        ),
        format!(
            "available: {}; see `mbt deps list`",
            adapters::available_names(kind).join(", ")
        ),
    )
}

/// The adapters of one run. Built by [`Registry::build`] from the manifest's target, or by hand
/// (tests inject in-memory adapters).
pub struct Adapters {
    pub storage: Box<dyn Storage>,
    pub connector: Box<dyn DataConnector>,
    pub model_registry: Box<dyn ModelRegistry>,
    pub output_writer: Box<dyn OutputWriter>,
    pub executor: Box<dyn Executor>,
    /// The target's metrics emitter, if it has one.
    pub metrics: Option<Box<dyn MetricsEmitter>>,
    pub frameworks: Frameworks,
    project: PathBuf,
    registry_settings: RegistrySettings,
    writer_settings: WriterSettings,
    registries: BTreeMap<&'static str, Factory<RegistrySettings, dyn ModelRegistry>>,
    writers: BTreeMap<&'static str, Factory<WriterSettings, dyn OutputWriter>>,
    secrets: Arc<dyn SecretsProvider>,
}

/// The frameworks of a run, each built and set up on first use (serving learns which one from
/// the model it loads) and torn down with the run.
pub struct Frameworks {
    factories: BTreeMap<&'static str, FrameworkFactory>,
    built: Mutex<BTreeMap<String, Arc<dyn Framework>>>,
    project: PathBuf,
    h2o: Option<H2oClusterConfig>,
    secrets: Arc<dyn SecretsProvider>,
}

impl Frameworks {
    /// Frameworks from these factories only (for tests and embeddings), run in the current
    /// folder with no framework settings and no secrets.
    pub fn new(factories: BTreeMap<&'static str, FrameworkFactory>) -> Frameworks {
        Frameworks {
            factories,
            built: Mutex::default(),
            project: PathBuf::from("."),
            h2o: None,
            secrets: Arc::new(super::memory::MemorySecrets::default()),
        }
    }

    /// The framework `name`, set up for this run.
    pub fn get(&self, name: &str) -> anyhow::Result<Arc<dyn Framework>> {
        let mut built = self.built.lock().expect("frameworks lock");
        if let Some(framework) = built.get(name) {
            return Ok(framework.clone());
        }
        let factory = self
            .factories
            .get(name)
            .ok_or_else(|| unavailable(AdapterKind::Framework, name))?;
        let context = FrameworkContext {
            build: BuildContext {
                project: &self.project,
                secrets: self.secrets.as_ref(),
            },
            h2o: self.h2o.as_ref(),
        };
        let framework: Arc<dyn Framework> = Arc::from(factory(&context)?);
        framework.setup().code(
            Code::AdapterFailed,
            format!("check what framework `{name}` needs: `mbt deps list`"),
        )?;
        built.insert(name.to_string(), framework.clone());
        Ok(framework)
    }

    fn teardown(&self) -> Vec<anyhow::Error> {
        let built = std::mem::take(&mut *self.built.lock().expect("frameworks lock"));
        built
            .into_values()
            .filter_map(|framework| framework.teardown().err())
            .collect()
    }
}

impl Adapters {
    /// Adapters from parts (tests and embeddings); other registries and writers than these are
    /// not available, and secrets come from `secrets`.
    pub fn from_parts(parts: Parts) -> Adapters {
        Adapters {
            storage: parts.storage,
            connector: parts.connector,
            model_registry: parts.model_registry,
            output_writer: parts.output_writer,
            executor: parts.executor,
            metrics: None,
            frameworks: parts.frameworks,
            project: parts.project,
            registry_settings: RegistrySettings::Local(Default::default()),
            writer_settings: WriterSettings::LocalFile(Default::default()),
            registries: BTreeMap::new(),
            writers: BTreeMap::new(),
            secrets: Arc::from(parts.secrets),
        }
    }

    /// Whether the target's secrets provider has `name` (`mbt debug`); the value is dropped here
    /// and never returned.
    pub fn secret_available(&self, name: &str) -> bool {
        self.secrets.get_secret(name).is_ok()
    }

    /// Sends samples to the target's metrics emitter; what went wrong, if anything (a warning
    /// for the run: monitoring never fails it).
    pub fn emit(&self, emission: &Emission<'_>) -> Option<String> {
        let emitter = self.metrics.as_ref()?;
        if emission.samples.is_empty() {
            return None;
        }
        emitter
            .emit(emission)
            .err()
            .map(|error| format!("metrics not sent: {error:#}"))
    }

    /// Sets up every adapter of the run (frameworks set up on first use).
    pub fn setup(&self) -> anyhow::Result<()> {
        for (kind, adapter) in self.parts() {
            adapter.setup().code(
                Code::AdapterFailed,
                format!("check the target's `{kind}` settings"),
            )?;
        }
        Ok(())
    }

    /// What the adapters have to say after setup, for the run's record.
    pub fn warnings(&self) -> Vec<String> {
        self.parts()
            .iter()
            .flat_map(|(_, adapter)| adapter.warnings())
            .collect()
    }

    /// Tears every adapter down, also after a failed run; the errors, if any, for the record.
    pub fn teardown(&self) -> Vec<anyhow::Error> {
        let mut errors = self.frameworks.teardown();
        for (_, adapter) in self.parts() {
            errors.extend(adapter.teardown().err());
        }
        errors
    }

    /// Every adapter but the frameworks (trait objects upcast to their supertrait).
    fn parts(&self) -> [(AdapterKind, &dyn Adapter); 5] {
        [
            (AdapterKind::Storage, self.storage.as_ref() as &dyn Adapter),
            (AdapterKind::DataConnector, self.connector.as_ref()),
            (AdapterKind::ModelRegistry, self.model_registry.as_ref()),
            (AdapterKind::OutputWriter, self.output_writer.as_ref()),
            (AdapterKind::Executor, self.executor.as_ref()),
        ]
    }

    /// The model registry named `name` (serving's `model_source.registry`): the target's when
    /// it is the same, else that registry with its defaults.
    pub fn registry_named(&self, name: &str) -> anyhow::Result<Registered<'_, dyn ModelRegistry>> {
        self.named(
            name,
            &self.registry_settings,
            self.model_registry.as_ref(),
            &self.registries,
        )
    }

    /// The output writer named `name` (serving's `output.destination`): the target's when it
    /// is the same, else that writer with its defaults.
    pub fn writer_named(&self, name: &str) -> anyhow::Result<Registered<'_, dyn OutputWriter>> {
        self.named(
            name,
            &self.writer_settings,
            self.output_writer.as_ref(),
            &self.writers,
        )
    }

    /// The adapter `name` of a kind: the target's (`target`, set by `settings`) when the names
    /// match, else one built from `factories` with the adapter's defaults and set up.
    fn named<'a, S, T>(
        &self,
        name: &str,
        settings: &S,
        target: &'a T,
        factories: &BTreeMap<&'static str, Factory<S, T>>,
    ) -> anyhow::Result<Registered<'a, T>>
    where
        S: Named + serde::de::DeserializeOwned,
        T: Adapter + ?Sized,
    {
        if settings.name() == name {
            return Ok(Registered::Target(target));
        }
        let defaults: S = defaults(S::KIND, name)?;
        let adapter = build(factories, &defaults, &self.context())?;
        adapter.setup().code(
            Code::AdapterFailed,
            format!("check the {} `{name}`", S::KIND.describe()),
        )?;
        Ok(Registered::Own(adapter))
    }

    fn context(&self) -> BuildContext<'_> {
        BuildContext {
            project: &self.project,
            secrets: self.secrets.as_ref(),
        }
    }
}

/// The parts of [`Adapters::from_parts`].
pub struct Parts {
    pub storage: Box<dyn Storage>,
    pub connector: Box<dyn DataConnector>,
    pub model_registry: Box<dyn ModelRegistry>,
    pub output_writer: Box<dyn OutputWriter>,
    pub executor: Box<dyn Executor>,
    pub frameworks: Frameworks,
    pub project: PathBuf,
    pub secrets: Box<dyn SecretsProvider>,
}

/// An adapter of the target, or one built for a step (torn down when dropped by the step).
pub enum Registered<'a, T: ?Sized> {
    Target(&'a T),
    Own(Box<T>),
}

impl<T: ?Sized> std::ops::Deref for Registered<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Registered::Target(adapter) => adapter,
            Registered::Own(adapter) => adapter,
        }
    }
}

/// The settings of adapter `name` with every option at its default; an error when it has
/// required options or is not available.
fn defaults<S: serde::de::DeserializeOwned>(kind: AdapterKind, name: &str) -> anyhow::Result<S> {
    if adapters::adapter(kind, name).is_none_or(|spec| !spec.available) {
        return Err(unavailable(kind, name));
    }
    adapters::at_defaults(name).map_err(|error| {
        coded(
            Code::AdapterFailed,
            format!("{} `{name}` needs settings: {error}", kind.describe()),
            format!(
                "set the target's `{}` to `{{type: {name}, config: ...}}`",
                kind.as_str()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemorySecrets;
    use mbt_contract::secret::SecretRef;

    #[test]
    fn credentials_resolve_through_the_provider_and_a_missing_one_is_mbt4017() {
        let secrets = MemorySecrets {
            values: [("PG_PASSWORD".to_string(), "hunter2".to_string())].into(),
        };
        let context = BuildContext::new(Path::new("."), &secrets);
        assert_eq!(
            context.secret(&SecretRef::new("PG_PASSWORD")).unwrap(),
            "hunter2"
        );
        let error = context.secret(&SecretRef::new("MISSING")).unwrap_err();
        let (code, help) = crate::error::code_of(&error).unwrap();
        assert_eq!(code, Code::SecretNotSet);
        assert_eq!(
            help,
            "set the secret `MISSING` in the target's secrets provider (for `env`: export MISSING)"
        );
    }

    #[test]
    fn the_registry_runs_exactly_the_tables_available_adapters() {
        let installed: Vec<(AdapterKind, &str)> = Registry::builtin()
            .installed()
            .iter()
            .map(|adapter| (adapter.kind, adapter.name))
            .collect();
        let mut table: Vec<(AdapterKind, &str)> = adapters::ADAPTERS
            .iter()
            .filter(|spec| spec.available)
            .map(|spec| (spec.kind, spec.name))
            .collect();
        table.sort();
        assert_eq!(installed, table);
    }

    #[test]
    fn unknown_adapters_are_coded_and_list_what_is_installed() {
        let error = Registry::builtin()
            .frameworks
            .get("xgboost")
            .map(|_| ())
            .ok_or_else(|| unavailable(AdapterKind::Framework, "xgboost"))
            .unwrap_err();
        let (code, help) = crate::error::code_of(&error).unwrap();
        assert_eq!(code, Code::AdapterNotAvailable);
        assert_eq!(
            help,
            "available: automl, gbm, h2o_automl, sklearn, smartcore; see `mbt deps list`"
        );
        assert_eq!(
            error.to_string(),
            "framework `xgboost` is not available in this build"
        );
    }
}
