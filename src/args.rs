//! Command-line arguments (clap). Only this binary uses clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// MBT compiles declarative ML pipelines (YAML) into validated DAGs.
#[derive(Debug, Parser)]
#[command(name = "mbt", version, about, max_term_width = 80)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new, working MBT project in directory NAME.
    Init(InitArgs),
    /// Compile pipelines into target/<pipeline>/manifest.json (all without a selection).
    Compile(CompileArgs),
    /// Check pipelines, includes, profiles and tests (for pre-commit).
    Check(CheckArgs),
    /// Validate one pipeline; optionally print it merged.
    Validate(ValidateArgs),
    /// Print a pipeline's step DAG.
    Dag(DagArgs),
    /// Compile and run pipelines: training, then serving (all without a selection).
    #[cfg(feature = "runtime")]
    Run(RunArgs),
    /// Resume a pipeline's last run from the step that failed.
    #[cfg(feature = "runtime")]
    Retry(RetryArgs),
    /// Run one step of a run, reading its inputs from storage (what an orchestrator schedules).
    #[cfg(feature = "runtime")]
    Exec(ExecArgs),
    /// Write one orchestrator job per pipeline (Airflow DAG files) and the manifests they pin.
    #[cfg(feature = "runtime")]
    GenerateDags(GenerateDagsArgs),
    /// List the adapters this build runs, by kind, with what each needs.
    #[cfg(feature = "runtime")]
    Deps(DepsArgs),
    /// Check what a run on the target needs: secrets, data, storage, registry, frameworks, Python.
    #[cfg(feature = "runtime")]
    Debug(DebugArgs),
    /// Read the target's tables into target/catalog.json and print their columns.
    Catalog(CatalogArgs),
    /// Run the DAG assertions in tests/*.test.yaml.
    Test(TestArgs),
    /// Explain a diagnostic code, e.g. `mbt explain MBT1001`.
    Explain(ExplainArgs),
    /// Print a JSON Schema (pipeline, pipeline-authoring, manifest...).
    Schema(SchemaArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Run the language server on stdin/stdout (for editors).
    #[cfg(feature = "lsp")]
    Lsp(LspArgs),
}

/// Flags that locate the project and choose the profile and target.
#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    /// Project root [default: nearest ancestor with profiles.yaml, or pyproject.toml and pipelines/].
    #[arg(long, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
    /// Directory holding profiles.yaml.
    #[arg(long, value_name = "DIR", env = "MBT_PROFILES_DIR")]
    pub profiles_dir: Option<String>,
    /// Profile in profiles.yaml [default: the only one, or the project's].
    #[arg(long)]
    pub profile: Option<String>,
    /// Target of the profile [default: the profile's].
    #[arg(long, env = "MBT_TARGET")]
    pub target: Option<String>,
    /// Variables for {{ var('k') }}: k=v pairs, comma-separated or repeated.
    #[arg(long, value_name = "K=V,...")]
    pub vars: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to create; its name becomes the project name.
    pub name: PathBuf,
}

/// Which pipelines a command takes.
#[derive(Debug, Args, Clone)]
pub struct SelectArgs {
    /// Pipelines by name or `tag:NAME` [default: every pipeline but bases].
    #[arg(long, short = 's', value_name = "PIPELINE|tag:NAME", num_args = 1..)]
    pub select: Vec<String>,
    /// Pipelines to leave out, by name or `tag:NAME`.
    #[arg(long, value_name = "PIPELINE|tag:NAME", num_args = 1..)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Pipeline names or `tag:NAME` (as --select) [default: every pipeline but bases].
    pub pipelines: Vec<String>,
    #[command(flatten)]
    pub selection: SelectArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[cfg(feature = "runtime")]
#[derive(Debug, Args)]
pub struct GenerateDagsArgs {
    /// Pipeline names or `tag:NAME` (as --select) [default: every pipeline but bases].
    pub pipelines: Vec<String>,
    #[command(flatten)]
    pub selection: SelectArgs,
    /// The folder for the DAG files (the orchestrator's DAG folder) and `manifests/`.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// The scheduler to write jobs for.
    #[arg(long, default_value = "airflow")]
    pub orchestrator: String,
    /// Retries of a failed task.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// The `mbt` the tasks run [default: this one].
    #[arg(long, value_name = "PATH")]
    pub mbt: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Changed files; checks everything they affect [default: all].
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Pipeline name.
    pub pipeline: String,
    /// Print the merged pipeline, each value with the file:line it comes from.
    #[arg(long)]
    pub show_resolved: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct DagArgs {
    /// Pipeline name.
    pub pipeline: String,
    /// Print a Mermaid flowchart.
    #[arg(long)]
    pub mermaid: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub selection: SelectArgs,
    /// Progress: lines on stderr for people, or JSON lines on stdout (nothing else there).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["pipeline", "manifest"]))]
pub struct ExecArgs {
    /// The pipeline the step belongs to (compiled from the project's YAML).
    #[arg(long, value_name = "PIPELINE")]
    pub pipeline: Option<String>,
    /// A compiled manifest to run as it is (no YAML needed; `mbt generate-dags` pins them).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
    /// The step to run, e.g. `train_model`.
    #[arg(long, value_name = "STEP")]
    pub step: String,
    /// The run the step belongs to: its inputs are read from, and its outputs written to, this
    /// run's storage [default: a new run, for its first step].
    #[arg(long, value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// Progress: lines on stderr for people, or JSON lines on stdout (nothing else there).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DebugArgs {
    /// Output format (json: format version 1, `{version, target, ok, checks: [{name, ok, detail, ms}]}`).
    #[arg(long, value_enum, default_value_t = DepsFormat::Human)]
    pub format: DepsFormat,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Output format (json: the target's catalog entry as in target/catalog.json).
    #[arg(long, value_enum, default_value_t = DepsFormat::Human)]
    pub format: DepsFormat,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct DepsArgs {
    #[command(subcommand)]
    pub command: DepsCommand,
}

#[derive(Debug, Subcommand)]
pub enum DepsCommand {
    /// Print the adapters this build runs: kind, name, version and what each needs.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = DepsFormat::Human)]
        format: DepsFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DepsFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only tests of this pipeline.
    pub pipeline: Option<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A code such as MBT1001, or its name such as include-not-found.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its title.
    #[arg(long)]
    pub list: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// The merged pipeline (strict).
    Pipeline,
    /// Pipeline files as edited (relaxed, for editors).
    PipelineAuthoring,
    /// target/<pipeline>/manifest.json.
    Manifest,
    /// profiles.yaml.
    Profiles,
    /// tests/*.test.yaml.
    Tests,
    /// target/catalog.json (the data catalog `mbt catalog` writes).
    Catalog,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The pipeline whose last run failed.
    pub pipeline: String,
    /// Run every step again, also when the last run succeeded.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[cfg(feature = "lsp")]
#[derive(Debug, Args)]
pub struct LspArgs {
    /// Talk LSP over stdin/stdout (the only transport; accepted for editors that pass it).
    #[arg(long)]
    pub stdio: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}
