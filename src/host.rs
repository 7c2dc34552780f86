//! The host side of compilation: find the project, read its files, fill the database. Project
//! discovery and the directory walk are the language server's (`mbt_lsp::workspace`), so the
//! CLI and the editor see the same files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use mbt_compiler::diagnostics::{did_you_mean, Code, Diagnostic};
use mbt_compiler::project::{is_source_file_name, pyproject_name};
use mbt_compiler::queries::compose::resolved;
use mbt_compiler::queries::parse::{is_base_name, pipeline_index};
use mbt_compiler::text::Span;
use mbt_compiler::{Database, Db, Settings, SourceFile};

use crate::args::ProjectArgs;

/// A loaded project.
pub struct Host {
    pub root: PathBuf,
    pub db: Database,
    /// Problems found while reading files (e.g. invalid UTF-8).
    pub diagnostics: Vec<Diagnostic>,
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
            None => find_root(&start)?,
        };
        let mut files: Vec<(String, Arc<str>)> = Vec::new();
        let mut diagnostics = Vec::new();
        let mut invalid = Vec::new();
        for entry in mbt_lsp::workspace::project_walk(&root) {
            let entry = entry.context("cannot list the project")?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            if !entry.file_name().to_str().is_some_and(is_source_file_name) {
                continue;
            }
            let relative = relative_path(&root, path);
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            match String::from_utf8(bytes) {
                Ok(text) => files.push((relative, text.into())),
                Err(error) => {
                    let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                    let offset = error.utf8_error().valid_up_to() as u32;
                    invalid.push((relative.clone(), offset));
                    files.push((relative, text.into()));
                }
            }
        }
        let project_name = files
            .iter()
            .find(|(path, _)| path == "pyproject.toml")
            .and_then(|(_, text)| pyproject_name(text));
        let profiles_dir = args
            .profiles_dir
            .clone()
            .or_else(|| std::env::var_os("MBT_PROFILES_DIR").map(PathBuf::from));
        let profiles_required = profiles_dir.is_some();
        let profiles_path = match &profiles_dir {
            Some(dir) => Some(dir.join("profiles.yaml")),
            None => [
                Some(root.join("profiles.yaml")),
                home().map(|home| home.join(".mbt").join("profiles.yaml")),
            ]
            .into_iter()
            .flatten()
            .find(|path| path.is_file()),
        };
        let vars = parse_vars(&args.vars)?;
        let settings = Settings {
            vars,
            env: std::env::vars().collect(),
            target: args
                .target
                .clone()
                .or_else(|| std::env::var("MBT_TARGET").ok().filter(|t| !t.is_empty())),
            profile: args.profile.clone(),
            project_name,
            profiles_required,
        };
        let mut db = Database::new(settings);
        db.set_files(files);
        if let Some(path) = profiles_path.filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let shown = if path.starts_with(&root) {
                relative_path(&root, &path)
            } else {
                path.display().to_string()
            };
            db.set_profiles(Some((&shown, text.into())));
        }
        for (path, offset) in invalid {
            if let Some(file) = db.file(&path) {
                diagnostics.push(
                    Diagnostic::at(
                        Code::InvalidUtf8,
                        Span::new(file.id(&db), offset, offset),
                        format!("`{path}` is not valid UTF-8"),
                    )
                    .with_label("invalid byte here")
                    .with_help("re-save the file as UTF-8"),
                );
            }
        }
        Ok(Host {
            root,
            db,
            diagnostics,
        })
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

/// `--vars` values: `k=v` pairs, comma-separated or repeated.
pub fn parse_vars(values: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for pair in values.iter().flat_map(|text| text.split(',')) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--vars expects KEY=VALUE pairs, got `{pair}`");
        };
        vars.insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(vars)
}

fn find_root(start: &Path) -> anyhow::Result<PathBuf> {
    mbt_lsp::workspace::find_root(start).with_context(|| format!("no MBT project here: no profiles.yaml or pyproject.toml in {} or its parents (use --project-dir, or `mbt init NAME`)", start.display()))
}

fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}
