//! The CLI's project: the one host (`mbt_host`) loads it, as for the language server and the
//! compiler's tests; this adds what only the CLI needs (pipeline lookup by name for commands,
//! paths given on the command line).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mbt_compiler::diagnostics::{did_you_mean, Code, Diagnostic};
use mbt_compiler::queries::compose::resolved;
use mbt_compiler::queries::parse::{is_base_name, pipeline_index};
use mbt_compiler::{Database, Db, SourceFile};
use mbt_host::{find_root, invalid_utf8_diagnostic, relative_path, Options};

use crate::args::ProjectArgs;

/// A loaded project.
pub struct Host {
    pub root: PathBuf,
    pub db: Database,
    /// Problems found while reading files (e.g. invalid UTF-8).
    pub diagnostics: Vec<Diagnostic>,
    /// The data catalog as read for the target (absent when the target did not resolve).
    pub catalog: Option<mbt_host::catalog::CatalogRead>,
}

impl ProjectArgs {
    /// The host options of these flags (clap filled `MBT_PROFILES_DIR` and `MBT_TARGET`).
    pub fn options(&self) -> anyhow::Result<Options> {
        Options::new(
            self.profiles_dir.clone(),
            self.profile.clone(),
            self.target.clone(),
            &self.vars,
        )
    }
}

impl Host {
    pub fn load(args: &ProjectArgs) -> anyhow::Result<Host> {
        Host::load_for(args, &[])
    }

    /// Loads the project; without `--project-dir` it is found from the first of `paths` (so
    /// `mbt check sub/project/pipelines/a.yaml` works from a repository root), else from the
    /// current directory.
    pub fn load_for(args: &ProjectArgs, paths: &[PathBuf]) -> anyhow::Result<Host> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let start = paths
            .first()
            .map(|path| cwd.join(path))
            .and_then(|path| path.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| cwd.clone());
        let root = match &args.project_dir {
            Some(dir) => {
                if !dir.is_dir() {
                    bail!("project directory {} does not exist", dir.display());
                }
                dir.canonicalize()
                    .with_context(|| format!("cannot open {}", dir.display()))?
            }
            None => find_root(&start).with_context(|| format!("no MBT project here: no profiles.yaml (or pyproject.toml beside pipelines/) in {} or its parents (use --project-dir, or `mbt init NAME`)", start.display()))?,
        };
        let loaded = mbt_host::load(&root, &args.options()?)?;
        let diagnostics = loaded
            .invalid_utf8
            .iter()
            .filter_map(|(path, offset)| invalid_utf8_diagnostic(&loaded.db, path, *offset))
            .collect();
        Ok(Host {
            root,
            db: loaded.db,
            diagnostics,
            catalog: loaded.catalog,
        })
    }

    /// Caches the data catalog read for this command in `target/catalog.json` (commands call it
    /// once they succeed; a failed one leaves no `target/`). A cache that cannot be written is
    /// a warning: the next command reads the data again.
    pub fn save_catalog(&self) {
        if let Some(Err(error)) = self.catalog.as_ref().map(|read| read.save(&self.root)) {
            eprintln!("warning: {error}");
        }
    }

    /// The file of pipeline `name`, or a coded diagnostic with suggestions.
    /// (Boxed: a `Diagnostic` is large and this is the cold path.)
    pub fn pipeline(&self, name: &str) -> Result<SourceFile, Box<Diagnostic>> {
        let name = name.trim_end_matches(".yaml").trim_end_matches(".yml");
        let name = name.rsplit('/').next().unwrap_or(name);
        let index = pipeline_index(&self.db, self.db.project());
        index.by_name.get(name).copied().ok_or_else(|| {
            let names: Vec<&str> = index
                .names()
                .into_iter()
                .filter(|n| !n.starts_with('_'))
                .collect();
            Diagnostic::new(
                Code::PipelineNotFound,
                None,
                format!(
                    "pipeline `{name}` not found in {}",
                    self.root.join("pipelines").display()
                ),
            )
            .with_help(if names.is_empty() {
                "the project has no pipelines under pipelines/".to_string()
            } else {
                did_you_mean(name, &names)
            })
            .into()
        })
    }

    /// A pipeline that can be compiled on its own: bases (`_name`) are refused with MBT1011.
    pub fn runnable_pipeline(&self, name: &str) -> Result<SourceFile, Box<Diagnostic>> {
        let file = self.pipeline(name)?;
        let path = file.path(&self.db).clone();
        let stem = mbt_compiler::queries::parse::pipeline_name(&path)
            .unwrap_or_default()
            .to_string();
        if !is_base_name(&stem) {
            return Ok(file);
        }
        let index = pipeline_index(&self.db, self.db.project());
        let dependents: Vec<&str> = index
            .runnable()
            .filter(|(_, candidate)| resolved(&self.db, *candidate).bases.contains(&file))
            .map(|(name, _)| name)
            .collect();
        let help = if dependents.is_empty() {
            format!("no pipeline extends `{stem}` yet; add `base_pipeline: {stem}` to one")
        } else {
            format!(
                "compile a pipeline that extends it: {}",
                dependents.join(", ")
            )
        };
        Err(Diagnostic::new(
            Code::BasePipelineNotCompilable,
            None,
            format!("`{stem}` is a base pipeline; it is merged into others, not compiled alone"),
        )
        .with_help(help)
        .into())
    }

    /// A user path (relative to the current directory or absolute) as a project-relative path.
    pub fn project_path(&self, path: &Path) -> String {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        relative_path(&self.root, &absolute)
    }
}
