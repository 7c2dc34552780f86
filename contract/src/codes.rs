//! Every diagnostic code MBT emits, in one enum, with its documentation.
//!
//! Bands: 0xxx syntax, 1xxx include/inheritance, 2xxx schema and validation, 3xxx DAG and tests,
//! 4xxx runtime, 9xxx bugs. Codes are never reused or renumbered and there is no catch-all code.
//! Each code's doc comment is what `mbt explain CODE` prints: trigger, why it matters, a bad
//! example and the fix.

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

macro_rules! codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $code:literal, $severity:ident, $name:literal;
    )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable identifier, e.g. `MBT1001`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A kebab-case name, e.g. `include-not-found`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// The documentation printed by `mbt explain`.
            pub fn docs(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc, "\n",)*),)* }
            }
        }
    };
}

impl Code {
    /// Looks a code up by its identifier (`MBT1001`, case-insensitive) or its name.
    pub fn parse(text: &str) -> Option<Code> {
        let text = text.trim();
        Code::ALL.iter().copied().find(|code| {
            code.as_str().eq_ignore_ascii_case(text) || code.name().eq_ignore_ascii_case(text)
        })
    }

    /// The first line of the docs: a one-line title.
    pub fn title(self) -> &'static str {
        self.docs().lines().next().unwrap_or("").trim()
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

codes! {
    /// Invalid YAML syntax.
    ///
    /// The file is not well-formed YAML, so nothing else in it can be checked. Only the first
    /// syntax error of a file is reported.
    ///
    /// Bad:
    ///     training:
    ///       split: {test_size: 0.2
    ///
    /// Fix: close the bracket, quote strings that start with `{`, `[`, `*`, `&`, `!` or `%`, and
    /// indent with spaces only.
    YamlSyntax = "MBT0001", Error, "yaml-syntax";

    /// Duplicate mapping key.
    ///
    /// A key appears twice in the same mapping. YAML forbids it, and silently keeping one value
    /// would hide a mistake.
    ///
    /// Bad:
    ///     split:
    ///       test_size: 0.2
    ///       test_size: 0.3
    ///
    /// Fix: remove one of the two keys.
    DuplicateKey = "MBT0002", Error, "duplicate-key";

    /// Unknown YAML tag.
    ///
    /// MBT understands one custom tag, `!include`, plus YAML's core tags such as `!!str`.
    ///
    /// Bad:
    ///     schema: !import ../includes/schema.yaml
    ///
    /// Fix: use `!include PATH`, or remove the tag.
    UnknownTag = "MBT0003", Error, "unknown-tag";

    /// Mapping key that is not a string.
    ///
    /// Pipeline keys are names. A list or mapping used as a key cannot name anything.
    ///
    /// Bad:
    ///     ? [a, b]
    ///     : 1
    ///
    /// Fix: use a plain string key.
    NonStringKey = "MBT0004", Error, "non-string-key";

    /// More than one YAML document in a file.
    ///
    /// Each pipeline, include or profiles file holds exactly one document; later documents
    /// would be ignored.
    ///
    /// Bad:
    ///     schema_version: 1
    ///     ---
    ///     schema_version: 2
    ///
    /// Fix: split the documents into separate files.
    MultipleDocuments = "MBT0005", Error, "multiple-documents";

    /// The file is empty.
    ///
    /// A pipeline, include or profiles file with no content cannot be compiled.
    ///
    /// Bad: a pipeline file holding only comments.
    ///
    /// Fix: add the pipeline's sections (`mbt init` scaffolds a working example), or delete the file.
    EmptyFile = "MBT0006", Error, "empty-file";

    /// The file is not valid UTF-8.
    ///
    /// MBT reads YAML as UTF-8 text.
    ///
    /// Bad: a pipeline saved as Latin-1 with an accented character.
    ///
    /// Fix: re-save the file as UTF-8.
    InvalidUtf8 = "MBT0007", Error, "invalid-utf8";

    /// Included file not found.
    ///
    /// An `!include` path, relative to the including file, names a file that does not exist in
    /// the project.
    ///
    /// Bad:
    ///     schema: !include ../include/telecom_schema.yaml
    ///
    /// Fix: correct the path (the help line suggests similar files), or create the file.
    IncludeNotFound = "MBT1001", Error, "include-not-found";

    /// `!include` cycle.
    ///
    /// A file includes itself, directly or through other files. The chain is shown.
    ///
    /// Bad: `a.yaml` has `x: !include b.yaml` and `b.yaml` has `y: !include a.yaml`.
    ///
    /// Fix: move the shared part into a third file that includes nothing.
    IncludeCycle = "MBT1002", Error, "include-cycle";

    /// Path escapes the project root.
    ///
    /// `!include` paths must stay inside the project so that a project is self-contained and a
    /// pipeline cannot read arbitrary files.
    ///
    /// Bad:
    ///     schema: !include ../../../etc/schema.yaml
    ///
    /// Fix: copy the fragment into the project's `includes/` folder and include it from there.
    PathEscapesProject = "MBT1003", Error, "path-escapes-project";

    /// `!include` used on a list or mapping.
    ///
    /// `!include` takes a file path as a plain scalar.
    ///
    /// Bad:
    ///     schema: !include {path: x.yaml}
    ///
    /// Fix: write `schema: !include x.yaml`.
    IncludeNotScalar = "MBT1004", Error, "include-not-scalar";

    /// Base pipeline not found.
    ///
    /// `base_pipeline` names a pipeline (a file stem under `pipelines/`) that does not exist.
    ///
    /// Bad:
    ///     base_pipeline: _base_chrn
    ///
    /// Fix: use the name of an existing pipeline file, without `.yaml` (see the suggestion).
    BasePipelineNotFound = "MBT1005", Error, "base-pipeline-not-found";

    /// `base_pipeline` cycle.
    ///
    /// A pipeline extends itself, directly or through other pipelines. The chain is shown.
    ///
    /// Bad: `a.yaml` has `base_pipeline: b` and `b.yaml` has `base_pipeline: a`.
    ///
    /// Fix: break the chain; a base should not extend the pipelines derived from it.
    BasePipelineCycle = "MBT1006", Error, "base-pipeline-cycle";

    /// `base_pipeline` is not a pipeline name.
    ///
    /// `base_pipeline` takes the name of another pipeline as a string.
    ///
    /// Bad:
    ///     base_pipeline: [_base_churn]
    ///
    /// Fix: `base_pipeline: _base_churn`.
    BasePipelineNotName = "MBT1007", Error, "base-pipeline-not-name";

    /// Pipeline not found.
    ///
    /// A command names a pipeline that is not a file under `pipelines/`.
    ///
    /// Bad:
    ///     mbt compile churn_trainig_v1
    ///
    /// Fix: use an existing pipeline name (see the suggestion); `mbt check` lists the project's pipelines.
    PipelineNotFound = "MBT1008", Error, "pipeline-not-found";

    /// Two pipeline files with the same name.
    ///
    /// Pipelines are named by file stem, so `pipelines/a.yaml` and `pipelines/sub/a.yml` clash.
    ///
    /// Bad: `pipelines/churn.yaml` and `pipelines/old/churn.yaml`.
    ///
    /// Fix: rename one of them.
    DuplicatePipeline = "MBT1009", Error, "duplicate-pipeline";

    /// Included file is not a mapping where a mapping is merged.
    ///
    /// A file used as a base pipeline must be a mapping of sections.
    ///
    /// Bad: a base pipeline file holding a list.
    ///
    /// Fix: make the file a mapping (`schema_version: 1`, `project: ...`).
    BaseNotMapping = "MBT1010", Error, "base-not-mapping";

    /// A base pipeline named where a complete pipeline is needed.
    ///
    /// Pipelines whose name starts with `_` are bases: they hold shared sections and are
    /// merged into the pipelines that name them in `base_pipeline`; they are not compiled,
    /// run or tested on their own (`mbt validate` checks a base as a partial pipeline).
    ///
    /// Bad:
    ///     mbt compile _base_churn
    ///
    /// Fix: compile a pipeline that extends the base (the help line lists them).
    BasePipelineNotCompilable = "MBT1011", Error, "base-pipeline-not-compilable";

    /// Unknown key.
    ///
    /// The key is not part of the pipeline schema at this place. Typos would otherwise be
    /// silently ignored.
    ///
    /// Bad:
    ///     training:
    ///       evaluaton:
    ///         primary_metric: roc_auc
    ///
    /// Fix: use the suggested key, or remove it. `mbt explain` and the JSON Schema in
    /// `schemas/pipeline.schema.json` list the valid keys.
    UnknownKey = "MBT2001", Error, "unknown-key";

    /// Wrong value type.
    ///
    /// The value has the wrong type, e.g. a string where a number is expected.
    ///
    /// Bad:
    ///     split:
    ///       test_size: twenty
    ///
    /// Fix: write a value of the expected type (`test_size: 0.2`).
    WrongType = "MBT2002", Error, "wrong-type";

    /// Value not among the allowed values.
    ///
    /// The field takes one of a fixed set of values.
    ///
    /// Bad:
    ///     problem_type: binary_classifcation
    ///
    /// Fix: use one of the listed values (the help line suggests the closest one).
    InvalidEnumValue = "MBT2003", Error, "invalid-enum-value";

    /// Required key missing.
    ///
    /// The merged pipeline (after `base_pipeline` and `!include`) lacks a required key.
    ///
    /// Bad: a training pipeline without `training.model_training`.
    ///
    /// Fix: add the key here or in the base pipeline.
    MissingKey = "MBT2004", Error, "missing-key";

    /// Number out of range.
    ///
    /// The number is outside the range the field accepts, e.g. `test_size` must lie strictly
    /// between 0 and 1.
    ///
    /// Bad:
    ///     split:
    ///       test_size: 1.5
    ///
    /// Fix: use a value within the stated range.
    OutOfRange = "MBT2005", Error, "out-of-range";

    /// Unsupported `schema_version`.
    ///
    /// This MBT understands pipeline schema version 1.
    ///
    /// Bad:
    ///     schema_version: 3
    ///
    /// Fix: `schema_version: 1`.
    UnsupportedSchemaVersion = "MBT2006", Error, "unsupported-schema-version";

    /// `positive_class` is not one of `classes`.
    ///
    /// The positive class of a classification target must be one of its classes, or metrics such
    /// as ROC AUC cannot be computed.
    ///
    /// Bad:
    ///     target: {label_column: churned, classes: [0, 1], positive_class: yes}
    ///
    /// Fix: set `positive_class` to one of `classes`.
    PositiveClassNotInClasses = "MBT2007", Error, "positive-class-not-in-classes";

    /// Metric not valid for the problem type.
    ///
    /// Binary classification: roc_auc, pr_auc, accuracy, precision, recall, f1, log_loss.
    /// Multiclass: accuracy, macro_f1, log_loss. Regression: rmse, mae, r2, mape.
    ///
    /// Bad:
    ///     project: {problem_type: regression}
    ///     training: {evaluation: {primary_metric: roc_auc}}
    ///
    /// Fix: choose a metric listed for the problem type.
    MetricNotForProblemType = "MBT2008", Error, "metric-not-for-problem-type";

    /// Joined table without `join_key`.
    ///
    /// Every feature table other than the label table is joined to it and needs a `join_key`.
    ///
    /// Bad:
    ///     feature_tables:
    ///       - table: customer_demographics
    ///
    /// Fix: add `join_key: customer_id` (and optionally `join_type`).
    JoinKeyRequired = "MBT2009", Error, "join-key-required";

    /// Minimum greater than maximum.
    ///
    /// A range check or assertion has `min` above `max`, so nothing could pass it.
    ///
    /// Bad:
    ///     - type: value_range
    ///       column: monthly_charges
    ///       min: 500
    ///       max: 0
    ///
    /// Fix: swap the bounds.
    MinGreaterThanMax = "MBT2010", Error, "min-greater-than-max";

    /// The label column is listed in `ignored_columns`.
    ///
    /// Ignoring the label would train without a target.
    ///
    /// Bad:
    ///     target: {label_column: churned}
    ///     ignored_columns: [churned]
    ///
    /// Fix: remove the label column from `ignored_columns`.
    LabelIgnored = "MBT2011", Error, "label-ignored";

    /// Custom function module not found.
    ///
    /// A custom transform, validator or metric `lib.module.fn` refers to `lib/module.py`, which
    /// does not exist in the project.
    ///
    /// Bad:
    ///     custom_transforms: [lib.custom_transfroms.compute_rfm]
    ///
    /// Fix: correct the module path or create the file.
    CustomModuleNotFound = "MBT2012", Error, "custom-module-not-found";

    /// Custom function not defined in its module.
    ///
    /// The module exists but has no top-level `def NAME(`.
    ///
    /// Bad:
    ///     function: lib.custom_validators.check_labels
    ///
    /// Fix: use the name of a function defined in the module (see the suggestion).
    CustomFunctionNotFound = "MBT2013", Error, "custom-function-not-found";

    /// Malformed custom function reference.
    ///
    /// Custom functions are written `package.module.function` (at least a module and a
    /// function, dot-separated identifiers), or `sql: SELECT ...` for SQL transforms.
    ///
    /// Bad:
    ///     custom_transforms: [compute_rfm]
    ///
    /// Fix: `lib.custom_transforms.compute_rfm`.
    InvalidFunctionReference = "MBT2014", Error, "invalid-function-reference";

    /// Unknown framework.
    ///
    /// `model_training.framework` names no framework MBT knows (`mbt deps list` shows the ones
    /// this build runs; MBT2024 is a known framework this build does not run).
    ///
    /// Bad:
    ///     framework: h2o_automls
    ///
    /// Fix: use one of the known frameworks (see the suggestion).
    UnknownFramework = "MBT2015", Error, "unknown-framework";

    /// Model class not supported by the framework.
    ///
    /// The framework does not offer this model, or the model does not fit the problem type
    /// (a classifier for regression).
    ///
    /// Bad:
    ///     framework: smartcore
    ///     config: {model: GradientBoostingClassifier}
    ///
    /// Fix: pick a model the framework lists for the problem type.
    ModelNotSupported = "MBT2016", Error, "model-not-supported";

    /// Framework option not valid for the problem type.
    ///
    /// For example an H2O `sort_metric` of `AUC` on a regression problem.
    ///
    /// Bad:
    ///     problem_type: regression
    ///     config: {sort_metric: AUC}
    ///
    /// Fix: use an option valid for the problem type (the help line lists them).
    FrameworkOptionNotForProblemType = "MBT2017", Error, "framework-option-not-for-problem-type";

    /// Pipeline has neither `training` nor `serving`, or both.
    ///
    /// A pipeline is either a training pipeline or a serving pipeline.
    ///
    /// Bad: a pipeline with only `project:`.
    ///
    /// Fix: add a `training:` section (or `serving:`), or make the file a base (`_name.yaml`).
    PipelineKind = "MBT2018", Error, "pipeline-kind";

    /// Classes do not match the problem type.
    ///
    /// Binary classification needs exactly two classes; multiclass needs at least three;
    /// regression takes no classes.
    ///
    /// Bad:
    ///     problem_type: binary_classification
    ///     classes: [0, 1, 2]
    ///
    /// Fix: correct `classes` or `problem_type`.
    ClassesForProblemType = "MBT2019", Error, "classes-for-problem-type";

    /// Duplicate entry in a list that must be unique.
    ///
    /// For example the same table twice in `feature_tables`, or the same class twice.
    ///
    /// Bad:
    ///     classes: [0, 0]
    ///
    /// Fix: remove the repeated entry.
    DuplicateEntry = "MBT2020", Error, "duplicate-entry";

    /// Pipeline name does not match its file.
    ///
    /// `project.name` must equal the file stem, so that `mbt compile NAME` and `target/NAME/`
    /// agree.
    ///
    /// Bad: `pipelines/churn_v2.yaml` with `project: {name: churn_v1}`.
    ///
    /// Fix: rename the file or the project.
    PipelineNameMismatch = "MBT2021", Error, "pipeline-name-mismatch";

    /// Label column missing for supervised training.
    ///
    /// `training.schema.target.label_column` is required to train.
    ///
    /// Bad: `schema:` with only `identifiers`.
    ///
    /// Fix: add `target: {label_column: NAME}`.
    MissingLabel = "MBT2022", Error, "missing-label";

    /// Invalid memory quantity.
    ///
    /// Memory sizes are written as a number with an optional binary or decimal suffix:
    /// `512Mi`, `64Gi`, `2G`, `1000000`.
    ///
    /// Bad:
    ///     memory_max: 64 gigs
    ///
    /// Fix: `memory_max: 64Gi`.
    InvalidQuantity = "MBT2023", Error, "invalid-quantity";

    /// Not available in this build.
    ///
    /// The pipeline or target uses an adapter (framework, storage, data connector, model
    /// registry, output writer, executor) or a feature that MBT knows but this build does not
    /// run. `mbt check` refuses it so that what compiles also runs: without this, the run would
    /// stop at the step that needs it, after loading and preparing the data.
    ///
    /// Bad:
    ///     model_training:
    ///       framework: h2o_automl      # in a build without H2O
    ///
    /// Fix: use one of the available adapters the help line lists (`mbt deps list` shows each
    /// with what it needs), or a build of MBT that provides it.
    NotAvailable = "MBT2024", Error, "not-available";

    /// Keys that choose the same thing.
    ///
    /// Two keys each decide one thing, and only one may: serving's model is a run (`run_id`) or
    /// a registered model's alias (`model_name` with `alias`).
    ///
    /// Bad:
    ///     model_source: {run_id: latest, model_name: churn, alias: champion}
    ///
    /// Fix: keep one of them.
    ConflictingKeys = "MBT2025", Error, "conflicting-keys";

    /// Invalid name.
    ///
    /// A name that becomes part of a path or of a registry's API (a registered model, an
    /// alias) may hold only letters, digits, `_`, `-` and `.`, and does not start with `.`.
    ///
    /// Bad:
    ///     registration: {registered_model_name: "churn/v2"}
    ///
    /// Fix: rename it, e.g. `churn_v2`.
    InvalidName = "MBT2026", Error, "invalid-name";

    /// Unknown template function or variable syntax error.
    ///
    /// Scalars may use `{{ var('k') }}`, `{{ var('k', default) }}`, `{{ env_var('K') }}`,
    /// `{{ env_var('K', default) }}` and `{{ secret('K') }}`.
    ///
    /// Bad:
    ///     run_id: "{{ vars('run_id') }}"
    ///
    /// Fix: use one of the functions above (see the suggestion).
    TemplateError = "MBT2101", Error, "template-error";

    /// Variable not set at compile time.
    ///
    /// `{{ var('k') }}` has no default, `--vars k=...` was not given, and the pipeline does not
    /// declare `k` among its `run_vars`. The reference stays in the manifest and must be bound
    /// when the pipeline runs (`mbt run --vars k=...`).
    ///
    /// Bad:
    ///     run_id: "{{ var('run_id') }}"   # compiled without --vars run_id=...
    ///
    /// Fix: declare what is given at run time (`run_vars: [run_id]` at the top of the
    /// pipeline), pass `--vars run_id=VALUE`, or give a default:
    /// `{{ var('run_id', 'latest') }}` (`latest` is the most recent training run).
    VarNotSet = "MBT2102", Warning, "var-not-set";

    /// Environment variable not set.
    ///
    /// `{{ env_var('K') }}` has no default and `K` is not set in the environment of the compile.
    ///
    /// Bad:
    ///     tracking_uri: "{{ env_var('MLFLOW_TRACKING_URI') }}"
    ///
    /// Fix: export the variable, or give a default: `{{ env_var('K', 'sqlite:///mlruns.db') }}`.
    EnvVarNotSet = "MBT2103", Error, "env-var-not-set";

    /// Template used where a structured value is expected.
    ///
    /// A variable left unbound until run time (see MBT2102) can stand only where a string is
    /// expected, because the value cannot be type-checked at compile time.
    ///
    /// Bad:
    ///     test_size: "{{ var('test_size') }}"   # without --vars test_size=...
    ///
    /// Fix: pass the variable at compile time or give it a default.
    DeferredValueType = "MBT2104", Error, "deferred-value-type";

    /// `profiles.yaml` not found.
    ///
    /// Looked up in order: `--profiles-dir`, `$MBT_PROFILES_DIR`, the project root, `~/.mbt/`.
    ///
    /// Bad: a project without `profiles.yaml`.
    ///
    /// Fix: create `profiles.yaml` in the project root (`mbt init` writes one).
    ProfilesNotFound = "MBT2201", Error, "profiles-not-found";

    /// Profile not found.
    ///
    /// `--profile` names a profile that `profiles.yaml` does not define, or no profile could be
    /// chosen: the file has several and none is named after the project.
    ///
    /// Bad:
    ///     mbt compile churn --profile telecom
    ///
    /// Fix: pass `--profile NAME` with one of the listed profiles.
    ProfileNotFound = "MBT2202", Error, "profile-not-found";

    /// Target not found.
    ///
    /// `--target`, `$MBT_TARGET` or the profile's default `target:` names a target that the
    /// profile's `outputs` do not define.
    ///
    /// Bad:
    ///     mbt compile churn --target prdo
    ///
    /// Fix: use one of the listed targets.
    TargetNotFound = "MBT2203", Error, "target-not-found";

    /// Unknown adapter.
    ///
    /// A target's `type:` (or `provider:` for secrets) names no adapter MBT knows for that
    /// kind. Known but unavailable adapters are MBT2024.
    ///
    /// Bad:
    ///     storage:
    ///       type: locla
    ///
    /// Fix: use one of the listed adapters (`mbt deps list`).
    UnknownAdapter = "MBT2204", Error, "unknown-adapter";

    /// Credential not given as a secret reference.
    ///
    /// A password, token, access key or account in a target's adapter config is a literal or
    /// comes from `env_var()` or `var()`. Those are rendered at compile time and would be
    /// written in clear into `target/<pipeline>/manifest.json`, which is shipped to MLflow and
    /// orchestrator workers. A credential must be a `{{ secret('NAME') }}` reference, resolved
    /// only at run time, in memory, by the target's secrets provider.
    ///
    /// Bad:
    ///     password: "{{ env_var('PG_PASSWORD') }}"
    ///
    /// Fix: `password: "{{ secret('PG_PASSWORD') }}"` (the `env` provider reads the environment
    /// variable of that name at run time).
    CredentialNotSecret = "MBT2205", Error, "credential-not-secret";

    /// Setting that has no effect.
    ///
    /// A target sets something the target does not use, e.g. the plan's `mlflow:` section while
    /// `model_registry` names another registry.
    ///
    /// Bad:
    ///     model_registry: {type: local}
    ///     mlflow: {tracking_uri: "sqlite:///mlruns.db"}
    ///
    /// Fix: remove the setting, or make the target use it (e.g. drop `model_registry` so that
    /// `mlflow:` chooses MLflow).
    UnusedSetting = "MBT2206", Warning, "unused-setting";

    /// Secret reference outside a credential field.
    ///
    /// `{{ secret('NAME') }}` stands somewhere that is not a credential field (a pipeline value,
    /// a URL, part of a longer string). Only credential fields are resolved by the secrets
    /// provider at run time; anywhere else the reference would be used as literal text.
    ///
    /// Bad:
    ///     tracking_uri: "https://{{ secret('TOKEN') }}@mlflow.internal"
    ///
    /// Fix: put the secret in the adapter's credential field on its own (e.g.
    /// `token: "{{ secret('TOKEN') }}"`), and keep other values free of secrets.
    SecretOutsideCredential = "MBT2207", Error, "secret-outside-credential";

    /// Unsupported server address.
    ///
    /// An adapter's address uses a scheme the adapter cannot talk to. The `mlflow` model
    /// registry takes `http://` or `https://` (a tracking server) or `sqlite:///FILE` (a store
    /// MBT serves through a local `mlflow server` for the run).
    ///
    /// Bad:
    ///     mlflow:
    ///       tracking_uri: "./mlruns"
    ///
    /// Fix: point at the tracking server (`http://HOST:5000`) or use `sqlite:///mlruns.db`.
    UnsupportedUri = "MBT2208", Error, "unsupported-uri";

    /// Adapter not configured by the target.
    ///
    /// A pipeline names an adapter that cannot run on its defaults (it needs an address), and
    /// the target configures another one of its kind: serving from the `mlflow` registry while
    /// the target records runs in `local`.
    ///
    /// Bad:
    ///     serving:
    ///       model_source: {registry: mlflow, run_id: ...}   # the target has no mlflow settings
    ///
    /// Fix: give the target the adapter's settings (`model_registry: {type: mlflow, config:
    /// {tracking_uri: ...}}`, or the plan's `mlflow:` section), or name the target's adapter.
    AdapterNotConfigured = "MBT2209", Error, "adapter-not-configured";

    /// Assertion that cannot check anything.
    ///
    /// A `resource_limit` assertion names no limit. (A missing required field, such as
    /// `step_order` without `after`, is MBT2004.)
    ///
    /// Bad:
    ///     - type: resource_limit
    ///       step: train_model
    ///
    /// Fix: add `memory_max: 64Gi` and/or `cpu_max: 4`.
    InvalidAssertion = "MBT2301", Error, "invalid-assertion";

    /// Test names an unknown pipeline.
    ///
    /// A `tests/*.test.yaml` file's `pipeline:` is not a pipeline of the project.
    ///
    /// Bad:
    ///     pipeline: churn_trainig_v1
    ///
    /// Fix: use an existing pipeline name (see the suggestion).
    TestPipelineNotFound = "MBT2302", Error, "test-pipeline-not-found";

    /// Table not in the data catalog.
    ///
    /// A `label_table`, feature `table` or `scoring_table` is not among the tables the target's
    /// data connector holds (for `local_file`: no `<table>.csv` or `<table>.parquet` in
    /// `data_path`). The catalog is `target/catalog.json`; `mbt catalog` reads it again.
    ///
    /// Bad:
    ///     label_table: customer_churn_featurs
    ///
    /// Fix: use a table the catalog lists (see the suggestion), or add the data file.
    UnknownTable = "MBT2401", Error, "unknown-table";

    /// Column not in the data at that point of the pipeline.
    ///
    /// A column reference (label, keys, ignored columns, join keys, validation and transform
    /// columns) names a column that the tables, joins and transforms before it do not produce.
    /// The step would fail at run time (MBT4003) after loading the data.
    ///
    /// Bad:
    ///     label_column: churnd
    ///
    /// Fix: use a column of the table (see the suggestion); a Python transform that adds
    /// columns declares them in its docstring (`Adds columns: a, b`).
    UnknownColumn = "MBT2402", Error, "unknown-column";

    /// Column of the wrong type for its use.
    ///
    /// A `value_range` or normalization on a text column, a `partition_key` with time windows
    /// whose values are not dates, or a `type_check` the data already contradicts.
    ///
    /// Bad:
    ///     - type: value_range
    ///       column: contract        # text: Month-to-month, One year, ...
    ///
    /// Fix: check a numeric column, or convert the column first (a `sql:` transform with CAST).
    ColumnTypeMismatch = "MBT2403", Error, "column-type-mismatch";

    /// A join brings a column the frame already has.
    ///
    /// Both sides of a join have a non-key column of the same name; the joined frame keeps the
    /// left one and renames the right one to `<name>_right`, which is rarely what was meant.
    ///
    /// Bad:
    ///     feature_tables:
    ///       - table: billing          # has tenure, like the label table
    ///         join_key: customer_id
    ///
    /// Fix: drop or rename the column in one of the tables, or join on it too.
    JoinColumnCollision = "MBT2404", Warning, "join-column-collision";

    /// Declared classes differ from the label's values in the data.
    ///
    /// `target.classes` names a class the label column never holds, or the label column holds
    /// a value that is not a declared class (checked when the catalog knows the column's
    /// distinct values). A warning: windows, filters and joins may change what training sees.
    ///
    /// Bad:
    ///     classes: [yes, no]       # the column holds 0 and 1
    ///
    /// Fix: write the classes as the data spells them.
    ClassNotInData = "MBT2405", Warning, "class-not-in-data";

    /// Column references are not checked: the target's tables cannot be read.
    ///
    /// The catalog could not be read from the data connector (for `local_file`: `data_path`
    /// does not exist) and no cached catalog exists in `target/catalog.json`. Nothing is
    /// wrong with the pipelines; their column references are simply not checked.
    ///
    /// Bad:
    ///     data_connector:
    ///       type: local_file
    ///       config: {data_path: ./data}     # ./data does not exist (yet)
    ///
    /// Fix: make the data reachable (create `data_path`, connect to the database) and run
    /// `mbt catalog`.
    CatalogUnavailable = "MBT2406", Warning, "catalog-unavailable";

    /// Column references are checked against a cached catalog.
    ///
    /// The data connector could not be read now, so `target/catalog.json` as last read is
    /// used; a column added since then may be reported missing.
    ///
    /// Bad:
    ///     data_path: ./data       # unmounted now; target/catalog.json read it last week
    ///
    /// Fix: make the data reachable and run `mbt catalog` to read it again.
    CatalogCached = "MBT2407", Note, "catalog-cached";

    /// A table could not be read into the catalog.
    ///
    /// A data file exists but cannot be read as a table (a CSV row with the wrong number of
    /// fields, an unclosed quote); column references into it are not checked, and the run
    /// would fail with MBT4002.
    ///
    /// Bad:
    ///     customer_id,churned
    ///     C1,0,extra              # three fields under a two-column header
    ///
    /// Fix: repair or re-export the file.
    TableUnreadable = "MBT2408", Warning, "table-unreadable";

    /// A `sql:` transform does not parse.
    ///
    /// The statement is parsed as the runtime's SQL engine parses it (one SELECT over the
    /// frame `data`); it would fail at run time with MBT4009.
    ///
    /// Bad:
    ///     - sql: SELECT *, tenure * 12 AS tenure_days FORM data
    ///
    /// Fix: correct the statement where the message points.
    SqlSyntax = "MBT2409", Error, "sql-syntax";

    /// Two columns of the published predictions have one name.
    ///
    /// The published table holds the model's key column (the training pipeline's
    /// `primary_key`), `output.columns.prediction` and `output.columns.label`; naming two of them
    /// alike keeps only one.
    ///
    /// Bad:
    ///     columns:
    ///       prediction: customer_id     # the training pipeline's primary_key
    ///
    /// Fix: choose a new name, e.g. `churn_probability`.
    OutputColumnCollision = "MBT2410", Warning, "output-column-collision";

    /// Unknown step name.
    ///
    /// A test assertion names a step that no pipeline can have.
    ///
    /// Bad:
    ///     - type: step_exists
    ///       step: normalise
    ///
    /// Fix: use a step name (load_data, join_tables, validate_data, transform, split_data,
    /// normalize, encode, select_features, train_model, evaluate, log_run, load_model,
    /// load_scoring_data, apply_transforms, predict, publish).
    UnknownStep = "MBT3001", Error, "unknown-step";

    /// Data table not found or unreadable.
    ///
    /// A step asked the data connector for a table that it cannot find or read (for
    /// `local_file`: no `<table>.csv` or `<table>.parquet` in the target's `data_path`).
    ///
    /// Bad:
    ///     label_table: customer_churn_featurs
    ///
    /// Fix: correct the table name, or the target's `data_connector.config.data_path`.
    TableNotFound = "MBT4001", Error, "table-not-found";

    /// Data file is corrupt.
    ///
    /// A CSV or Parquet file could not be parsed: ragged rows, bad quoting, invalid bytes or a
    /// truncated file. The message gives the parser's error and, when known, the row.
    ///
    /// Bad:
    ///     customer_id,tenure
    ///     C1,12,extra
    ///
    /// Fix: repair or re-export the file; check the delimiter and quoting.
    CorruptData = "MBT4002", Error, "corrupt-data";

    /// Column not found.
    ///
    /// A step needs a column (a join key, a validated or scaled column, the label, a feature
    /// the model was trained on) that the data does not have. The message lists the columns.
    ///
    /// Bad:
    ///     - type: value_range
    ///       column: monthly_charge
    ///
    /// Fix: use the column's exact name, or add the column to the data.
    ColumnNotFound = "MBT4003", Error, "column-not-found";

    /// Data validation failed.
    ///
    /// A `validation.checks` entry failed with `on_failure: fail` (null_threshold,
    /// value_range, expected_columns, unique_key, type_check or a custom validator).
    ///
    /// Bad:
    ///     null_threshold failed: churned has 5.0% nulls (max 0.0%)
    ///
    /// Fix: clean the data, relax the check, or use `on_failure: warn` / `skip_row`.
    ValidationFailed = "MBT4004", Error, "validation-failed";

    /// Join multiplies rows.
    ///
    /// `fan_out_check` found join key values that occur more than once in the joined table,
    /// so the join would duplicate label rows.
    ///
    /// Bad:
    ///     - table: orders
    ///       join_key: customer_id
    ///
    /// Fix: aggregate the table to one row per key first, or join on a unique key.
    JoinFanOut = "MBT4005", Error, "join-fan-out";

    /// The data cannot train this model.
    ///
    /// Training or evaluation cannot start: the label has a single class, a metric needs both
    /// classes in the test set, there are no usable feature columns, or the framework refused
    /// the data.
    ///
    /// Bad:
    ///     every row of the train set has churned = 0
    ///
    /// Fix: check the label column, the time window and the split; see the message.
    UntrainableData = "MBT4006", Error, "untrainable-data";

    /// Python is not available for a custom function.
    ///
    /// A custom transform, validator or metric runs through the Python bridge, and the
    /// interpreter (`$MBT_PYTHON`, the project's `.venv`, else `python3`) is missing or lacks
    /// pandas / pyarrow.
    ///
    /// Bad:
    ///     custom_transforms: [lib.custom_transforms.compute_rfm]   # with no python3 on PATH
    ///
    /// Fix: install Python 3 with `pip install pandas pyarrow`, or set MBT_PYTHON.
    PythonUnavailable = "MBT4007", Error, "python-unavailable";

    /// A custom Python function failed.
    ///
    /// The function raised an exception, does not exist at run time, or returned the wrong
    /// type (a transform must return a DataFrame, a validator `(passed, message)`, a metric a
    /// number). The message names the function and the line of your code that raised.
    ///
    /// Bad:
    ///     def compute_rfm(df, context):
    ///         return df["tenure"]          # a Series, not a DataFrame
    ///
    /// Fix: fix the function; run it on a sample of the data in Python to reproduce.
    PythonFunctionFailed = "MBT4008", Error, "python-function-failed";

    /// SQL transform failed.
    ///
    /// A `sql:` custom transform could not be parsed or executed by the polars SQL engine.
    /// The frame is the table `data`.
    ///
    /// Bad:
    ///     - sql: SELECT *, tenure * monthly AS x FROM customers
    ///
    /// Fix: select `FROM data`, and use the frame's column names.
    SqlFailed = "MBT4009", Error, "sql-failed";

    /// Time window selects no rows.
    ///
    /// `data_windows` (or a serving `lookback_window`) over the partition key, relative to the
    /// execution date, keeps no row, or the partition key holds values that are not dates.
    ///
    /// Bad:
    ///     mbt run --select churn --vars execution_date=2020-01-01   # data starts in 2024
    ///
    /// Fix: pass `--vars execution_date=YYYY-MM-DD` inside the data's range, or widen the window.
    EmptyWindow = "MBT4010", Error, "empty-window";

    /// Training run not found.
    ///
    /// `load_model` cannot find the run (or its model) in the model registry, and no usable
    /// `fallback_run_id` is set.
    ///
    /// Bad:
    ///     mbt run --select churn_serving_v1 --vars run_id=run_does_not_exist
    ///
    /// Fix: pass the run id printed by the training run (see `target/<pipeline>/run_results.json`).
    RunNotFound = "MBT4011", Error, "run-not-found";

    /// Scoring data does not match training.
    ///
    /// The rows to score lack a column the model was trained on, or a column has a type the
    /// fitted transforms cannot apply.
    ///
    /// Bad:
    ///     active_customers.csv without the `contract` column the model uses
    ///
    /// Fix: score data with the training table's columns (the message lists what is missing).
    ScoringMismatch = "MBT4012", Error, "scoring-mismatch";

    /// Artifact storage failed.
    ///
    /// An artifact or record could not be written or read back (disk full, permissions, a
    /// deleted artifact). Writes are atomic, so earlier outputs are intact.
    ///
    /// Bad:
    ///     local_artifacts/ is read-only
    ///
    /// Fix: fix the storage location, then `mbt retry PIPELINE`.
    StorageFailed = "MBT4013", Error, "storage-failed";

    /// Unbound run-time variable.
    ///
    /// A value the run needs is still a `{{ var('NAME') }}` reference, or a run-time variable
    /// such as `execution_date` is malformed.
    ///
    /// Bad:
    ///     mbt run --select churn_serving_v1          # run_id: "{{ var('run_id') }}"
    ///
    /// Fix: pass `--vars NAME=VALUE` (dates as YYYY-MM-DD).
    RunVarMissing = "MBT4014", Error, "run-var-missing";

    /// Adapter not available at run time.
    ///
    /// The manifest or a training run names an adapter this runtime does not have: a model
    /// trained by a framework this build lacks, or a manifest written by another build. `mbt
    /// check` refuses unavailable adapters (MBT2024), so this comes from artifacts made
    /// elsewhere.
    ///
    /// Bad:
    ///     serving a run whose model was trained with `h2o_automl` by another MBT build
    ///
    /// Fix: run it with a build that provides the adapter (`mbt deps list`), or retrain.
    AdapterNotAvailable = "MBT4015", Error, "adapter-not-available";

    /// Invalid manifest.
    ///
    /// `manifest.json` is not JSON, was written by another manifest version, or does not have
    /// this version's shape (a hand edit, a truncated copy).
    ///
    /// Bad:
    ///     mbt exec --manifest old/manifest.json ...   # manifest_version 1
    ///
    /// Fix: recompile with `mbt compile PIPELINE` and use the new manifest.
    InvalidManifest = "MBT4016", Error, "invalid-manifest";

    /// Secret not set.
    ///
    /// The target's secrets provider has no value for a `{{ secret('NAME') }}` the run needs
    /// (for the `env` provider: the environment variable is not set). The value itself is
    /// never printed.
    ///
    /// Bad:
    ///     password: "{{ secret('PG_PASSWORD') }}"   # PG_PASSWORD not exported
    ///
    /// Fix: set the secret in the provider (`export PG_PASSWORD=...` for `env`).
    SecretNotSet = "MBT4017", Error, "secret-not-set";

    /// Adapter failed to start.
    ///
    /// An adapter could not be built or set up for the run: a folder that cannot be created,
    /// a server that does not answer, a connection refused.
    ///
    /// Bad:
    ///     storage: {type: local, config: {base_path: /proc/forbidden}}
    ///
    /// Fix: correct the target's settings or start the service, then run again.
    AdapterFailed = "MBT4018", Error, "adapter-failed";

    /// Service unreachable.
    ///
    /// A server the target names (an MLflow tracking server, an H2O cluster) did not answer,
    /// or kept answering with server errors (5xx) after MBT retried with backoff. The message
    /// names the URI.
    ///
    /// Bad:
    ///     model_registry: {type: mlflow, config: {tracking_uri: "http://127.0.0.1:5000"}}
    ///     # and no server listening there
    ///
    /// Fix: start the server or correct the URI in profiles.yaml (`mbt debug` checks it), then
    /// `mbt retry PIPELINE`.
    ServiceUnreachable = "MBT4019", Error, "service-unreachable";

    /// Service refused a request.
    ///
    /// A server the target names answered a request with an error that retrying does not fix:
    /// authentication failed (401/403), or the server rejected what MBT sent. The message has
    /// the server's own error code and text.
    ///
    /// Bad:
    ///     token: "{{ secret('MLFLOW_TOKEN') }}"   # an expired token
    ///
    /// Fix: correct the credentials or the server's configuration, then `mbt retry PIPELINE`.
    ServiceRejected = "MBT4020", Error, "service-rejected";

    /// Snapshot artifact changed.
    ///
    /// Serving reads a run's artifacts from the copy `artifact_snapshot: true` took into
    /// `target/<pipeline>/artifacts/`, and one of them no longer has the SHA-256 the manifest
    /// recorded (edited, truncated or replaced), or is missing.
    ///
    /// Bad: editing `target/churn_serving_v1/artifacts/model.json` after `mbt compile`.
    ///
    /// Fix: take the snapshot again: delete `target/<pipeline>/artifacts/` and run `mbt compile
    /// PIPELINE` (or `mbt run`) with the registry reachable.
    ArtifactChanged = "MBT4021", Error, "artifact-changed";

    /// AutoML found no model.
    ///
    /// The AutoML search ended (its time budget ran out, or every candidate failed) with an
    /// empty leaderboard, so there is no model to store. H2O AutoML on a fresh node with a
    /// budget of under a minute often ends this way.
    ///
    /// Bad:
    ///     config: {max_runtime_secs: 5}
    ///
    /// Fix: raise `max_runtime_secs` (60 or more for H2O), or set `max_models` and narrow
    /// `include_algos` (e.g. `[GLM, GBM]`), then `mbt retry PIPELINE`.
    AutomlNoModel = "MBT4022", Error, "automl-no-model";

    /// Java unavailable.
    ///
    /// A framework that runs on the JVM (H2O AutoML's local node, offline scoring of an H2O
    /// MOJO) found no `java` executable, or no `h2o.jar` to run.
    ///
    /// Bad: `framework: h2o_automl` on a machine without Java 17 or without the `h2o` package.
    ///
    /// Fix: install Java 17 (or set JAVA_HOME), and `pip install h2o==3.46.0.11` into the
    /// project's .venv (or set `h2o: {jar: PATH}` in the target, or MBT_H2O_JAR); or point
    /// `h2o: {url: ...}` at a running cluster.
    JavaUnavailable = "MBT4023", Error, "java-unavailable";

    /// Publish failed.
    ///
    /// A database output writer could not publish the predictions: the table exists with
    /// columns the predictions do not fit (a missing column, a type a value cannot be converted
    /// to), a view depends on a table `mode: replace` would drop, or the server refused the
    /// statement. The publish ran in one transaction, so the table is unchanged.
    ///
    /// Bad:
    ///     # churn_predictions exists with churn_probability as an integer column
    ///     output: {destination: postgres, table: churn_predictions}
    ///
    /// Fix: make the table's columns fit the predictions (the message lists their types), or
    /// publish with `mode: replace` in the target's `output_writer` config, then `mbt retry
    /// PIPELINE`.
    PublishFailed = "MBT4024", Error, "publish-failed";

    /// Steps run elsewhere.
    ///
    /// `mbt run` was asked to run a pipeline on a target whose executor runs each step where
    /// an orchestrator schedules it (`kubernetes`: one pod per step), not in this process.
    ///
    /// Bad:
    ///     mbt run churn_training_v1 --target prod   # prod: executor {type: kubernetes}
    ///
    /// Fix: write the target's DAGs with `mbt generate-dags --target prod --output DAGS_DIR`
    /// and let Airflow schedule them (each pod runs `mbt exec`), or run on a target with the
    /// `local` executor.
    RunsElsewhere = "MBT4025", Error, "runs-elsewhere";

    /// Internal compiler error.
    ///
    /// MBT hit a bug while compiling. This is never the user's fault.
    ///
    /// Bad: (any input that triggers a bug).
    ///
    /// Fix: report it at https://github.com/mbt-dev/mbt/issues with the MBT version and the
    /// smallest pipeline that reproduces it.
    InternalError = "MBT9001", Error, "internal-error";

    /// Internal runtime error.
    ///
    /// A step failed with an error MBT did not classify: every expected failure has an MBT4xxx
    /// code, so this is a bug, even when the message shows what went wrong.
    ///
    /// Bad: (any run that reports it).
    ///
    /// Fix: report it at https://github.com/mbt-dev/mbt/issues with the message and the
    /// manifest; `mbt retry PIPELINE` resumes once the cause is fixed.
    InternalRuntimeError = "MBT9002", Error, "internal-runtime-error";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{} reused", code.as_str());
            let id = code.as_str();
            assert!(id.len() == 7 && id.starts_with("MBT"), "{id}");
            assert!(id[3..].bytes().all(|b| b.is_ascii_digit()), "{id}");
            let docs = code.docs();
            assert!(docs.contains("Bad"), "{id} docs lack a bad example");
            assert!(docs.contains("Fix"), "{id} docs lack a fix");
            assert!(!code.title().is_empty(), "{id} has no title");
            assert_eq!(Code::parse(id), Some(*code));
        }
    }
}
