//! Reading a project into a database: sources, profiles.yaml and settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use mbt_compiler::diagnostics::{Code, Diagnostic};
use mbt_compiler::project::pyproject_name;
use mbt_compiler::text::Span;
use mbt_compiler::{Database, Settings};

use crate::discover::{relative_path, source_files};
use crate::options::Options;

/// A file's text as the compiler sees it: invalid UTF-8 is replaced (and remembered, for
/// MBT0007), never a reason to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceText {
    pub text: Arc<str>,
    /// The byte offset of the first invalid UTF-8 sequence, if any.
    pub invalid_utf8_at: Option<u32>,
}

/// Reads a source file.
pub fn read_source(path: &Path) -> std::io::Result<SourceText> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => SourceText {
            text: text.into(),
            invalid_utf8_at: None,
        },
        Err(error) => SourceText {
            invalid_utf8_at: Some(error.utf8_error().valid_up_to() as u32),
            text: String::from_utf8_lossy(error.as_bytes())
                .into_owned()
                .into(),
        },
    })
}

/// The profiles.yaml in use: in `--profiles-dir` (`$MBT_PROFILES_DIR`) when given, else the
/// project root's, else `~/.mbt/profiles.yaml`. `None` when there is none.
pub fn profiles_path(root: &Path, options: &Options) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match &options.profiles_dir {
        Some(dir) => vec![dir.join("profiles.yaml")],
        None => [
            Some(root.join("profiles.yaml")),
            options
                .home
                .as_ref()
                .map(|home| home.join(".mbt").join("profiles.yaml")),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    candidates.into_iter().find(|path| path.is_file())
}

/// The compile settings of `options` for a project whose pyproject.toml reads `pyproject`.
pub fn settings(options: &Options, pyproject: Option<&str>) -> Settings {
    Settings {
        vars: options.vars.clone(),
        env: options.env.clone(),
        target: options
            .target
            .clone()
            .or_else(|| options.env.get("MBT_TARGET").cloned())
            .filter(|target| !target.is_empty()),
        profile: options.profile.clone(),
        project_name: pyproject.and_then(pyproject_name),
        profiles_required: options.profiles_dir.is_some(),
    }
}

/// A project read into a new database.
pub struct Loaded {
    pub db: Database,
    /// Project-relative paths of files that are not valid UTF-8, with the first bad offset.
    pub invalid_utf8: BTreeMap<String, u32>,
    /// The profiles.yaml in use, and the path the database names it by (project-relative
    /// inside the root).
    pub profiles: Option<(PathBuf, String)>,
    /// The data catalog as read for the resolved target (absent when it did not resolve).
    pub catalog: Option<crate::catalog::CatalogRead>,
}

/// Reads every source under `root`, the profiles.yaml in use and the settings into a new
/// database.
pub fn load(root: &Path, options: &Options) -> anyhow::Result<Loaded> {
    let mut files: Vec<(String, Arc<str>)> = Vec::new();
    let mut invalid_utf8 = BTreeMap::new();
    for path in source_files(root) {
        let relative = relative_path(root, &path);
        let source =
            read_source(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if let Some(offset) = source.invalid_utf8_at {
            invalid_utf8.insert(relative.clone(), offset);
        }
        files.push((relative, source.text));
    }
    let pyproject = files
        .iter()
        .find(|(path, _)| path == "pyproject.toml")
        .map(|(_, text)| text.clone());
    let settings = settings(options, pyproject.as_deref());
    let mut db = if options.query_log {
        Database::with_query_log(settings)
    } else {
        Database::new(settings)
    };
    db.set_files(files);
    let mut profiles = None;
    if let Some(path) = profiles_path(root, options) {
        let shown = relative_path(root, &path);
        let text = match db.file(&shown) {
            Some(file) => file.text(&db).clone(),
            None => {
                let source = read_source(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if let Some(offset) = source.invalid_utf8_at {
                    invalid_utf8.insert(shown.clone(), offset);
                }
                source.text
            }
        };
        db.set_profiles(Some((&shown, text)));
        profiles = Some((path, shown));
    }
    let catalog = crate::catalog::load_catalog(&mut db, root, false);
    Ok(Loaded {
        db,
        invalid_utf8,
        profiles,
        catalog,
    })
}

/// MBT0007 for a file (by its path in `db`) that is not valid UTF-8 from `offset` on.
pub fn invalid_utf8_diagnostic(db: &Database, path: &str, offset: u32) -> Option<Diagnostic> {
    let file = db.file(path).or_else(|| {
        db.profiles_file()
            .filter(|profiles| profiles.path(db) == path)
    })?;
    Some(
        Diagnostic::at(
            Code::InvalidUtf8,
            Span::new(file.id(db), offset, offset),
            format!("`{path}` is not valid UTF-8"),
        )
        .with_label("invalid byte here")
        .with_help("re-save the file as UTF-8"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_found_in_order_and_invalid_utf8_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".mbt")).unwrap();
        std::fs::create_dir_all(root.join("pipelines")).unwrap();
        std::fs::write(home.join(".mbt/profiles.yaml"), "p: {}\n").unwrap();
        std::fs::write(root.join("pipelines/a.yaml"), b"a: \xff\n").unwrap();
        let options = Options {
            home: Some(home.clone()),
            ..Options::default()
        };
        assert_eq!(
            profiles_path(&root, &options),
            Some(home.join(".mbt/profiles.yaml"))
        );
        std::fs::write(root.join("profiles.yaml"), b"p:\n  target: \xfe\n").unwrap();
        let loaded = load(&root, &options).unwrap();
        assert_eq!(loaded.invalid_utf8["pipelines/a.yaml"], 3);
        assert_eq!(loaded.invalid_utf8["profiles.yaml"], 13);
        assert_eq!(loaded.profiles.unwrap().1, "profiles.yaml");
        let diagnostic =
            invalid_utf8_diagnostic(&loaded.db, "profiles.yaml", 13).expect("a diagnostic");
        assert_eq!(diagnostic.code, Code::InvalidUtf8);
        // An empty --profiles-dir is no profiles dir; a missing one is a place with no file.
        let elsewhere = Options {
            profiles_dir: Some(dir.path().join("none")),
            ..Options::default()
        };
        assert_eq!(profiles_path(&root, &elsewhere), None);
    }
}
