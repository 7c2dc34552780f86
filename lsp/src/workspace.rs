//! Projects on disk: finding roots, scanning sources (with the compiler's shared skip rules),
//! settings, profiles and sample-data headers. This is the language server's host side; the
//! compiler itself does no I/O.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mbt_compiler::project::{
    is_skipped_entry, is_source_file_name, is_source_path, pyproject_name,
};
use mbt_compiler::{Database, Settings};

/// How the server compiles, chosen by `mbt lsp` flags (the same meaning as for `mbt check`).
/// The default: no flags, an empty environment.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// `--profiles-dir` or `$MBT_PROFILES_DIR`.
    pub profiles_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub target: Option<String>,
    pub vars: BTreeMap<String, String>,
    /// The environment `env_var()` reads (a snapshot taken at start).
    pub env: BTreeMap<String, String>,
    /// `$HOME`, for `~/.mbt/profiles.yaml`.
    pub home: Option<PathBuf>,
}

/// One project root and its database.
pub struct ProjectHost {
    pub root: PathBuf,
    pub db: Database,
    /// Open documents (project-relative path) and their versions.
    pub open: HashMap<String, i32>,
    /// Files read from disk that were not valid UTF-8, with the offset of the first bad byte.
    pub invalid_utf8: BTreeMap<String, u32>,
    /// Tables and their columns, from CSV headers of the project's data.
    pub data: Arc<DataCatalog>,
    options: CompileOptions,
}

/// Tables (CSV file stems) and their column names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataCatalog {
    pub tables: BTreeMap<String, Vec<String>>,
}

impl ProjectHost {
    /// Scans `root` and loads every source into a new database.
    pub fn load(root: PathBuf, options: CompileOptions) -> ProjectHost {
        let mut host = ProjectHost {
            db: Database::new(Settings::default()),
            root,
            open: HashMap::new(),
            invalid_utf8: BTreeMap::new(),
            data: Arc::default(),
            options,
        };
        let mut files = Vec::new();
        for path in source_files(&host.root) {
            if let Some((relative, text)) = host.read(&path) {
                files.push((relative, text));
            }
        }
        host.db.set_files(files);
        host.refresh_settings();
        host.refresh_profiles();
        host.refresh_data();
        host
    }

    /// The project-relative path of an absolute path inside the root.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }

    /// Reads a file as the CLI does: invalid UTF-8 is kept lossily and remembered.
    fn read(&mut self, path: &Path) -> Option<(String, Arc<str>)> {
        let relative = self.relative(path)?;
        let bytes = std::fs::read(path).ok()?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => {
                self.invalid_utf8.remove(&relative);
                text
            }
            Err(error) => {
                let offset = error.utf8_error().valid_up_to() as u32;
                self.invalid_utf8.insert(relative.clone(), offset);
                String::from_utf8_lossy(error.as_bytes()).into_owned()
            }
        };
        Some((relative, text.into()))
    }

    /// Sets the text of a file the editor owns. Returns whether anything changed.
    pub fn set_text(&mut self, relative: &str, text: String) {
        self.invalid_utf8.remove(relative);
        self.db.set_file(relative, text);
        self.after_change(relative);
    }

    /// Re-reads a file from disk (created, changed, or closed in the editor); removes it when it
    /// no longer exists or is not a source.
    pub fn reload(&mut self, path: &Path) {
        let Some(relative) = self.relative(path) else {
            return;
        };
        if relative.ends_with(".csv") {
            self.refresh_data();
            return;
        }
        if !is_source_path(&relative) {
            return;
        }
        if self.open.contains_key(&relative) {
            // The editor's text wins over the disk's until the document is closed.
            return;
        }
        match path.is_file().then(|| self.read(path)).flatten() {
            Some((relative, text)) => {
                self.db.set_file(&relative, text);
            }
            None => {
                self.invalid_utf8.remove(&relative);
                self.db.remove_file(&relative);
            }
        }
        self.after_change(&relative);
    }

    fn after_change(&mut self, relative: &str) {
        if relative == "pyproject.toml" {
            self.refresh_settings();
        }
        if relative == "profiles.yaml" || relative == "profiles.yml" {
            self.refresh_profiles();
        }
    }

    /// Settings as `mbt check` computes them (project name from pyproject.toml).
    fn refresh_settings(&mut self) {
        let project_name = self
            .db
            .file("pyproject.toml")
            .and_then(|file| pyproject_name(file.text(&self.db)));
        let target = self.options.target.clone().or_else(|| {
            self.options
                .env
                .get("MBT_TARGET")
                .filter(|t| !t.is_empty())
                .cloned()
        });
        self.db.set_settings(Settings {
            vars: self.options.vars.clone(),
            env: self.options.env.clone(),
            target,
            profile: self.options.profile.clone(),
            project_name,
            profiles_required: self.options.profiles_dir.is_some(),
        });
    }

    /// Finds profiles.yaml as the CLI does: `--profiles-dir`, the root, then `~/.mbt/`.
    fn refresh_profiles(&mut self) {
        let candidates: Vec<PathBuf> = match &self.options.profiles_dir {
            Some(dir) => vec![dir.join("profiles.yaml")],
            None => [
                Some(self.root.join("profiles.yaml")),
                self.options
                    .home
                    .as_ref()
                    .map(|home| home.join(".mbt").join("profiles.yaml")),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        let found = candidates.into_iter().find(|path| path.is_file());
        match found {
            Some(path) => {
                let shown = self
                    .relative(&path)
                    .unwrap_or_else(|| path.display().to_string());
                let text: Arc<str> = match self.db.file(&shown) {
                    Some(file) => file.text(&self.db).clone(),
                    None => std::fs::read(&path)
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned().into())
                        .unwrap_or_default(),
                };
                self.db.set_profiles(Some((&shown, text)));
            }
            None => self.db.set_profiles(None),
        }
    }

    /// Reads the header line of every CSV file of the project (sample data, data directories).
    pub fn refresh_data(&mut self) {
        let mut catalog = DataCatalog::default();
        for entry in project_walk(&self.root).max_depth(3).into_iter().flatten() {
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "csv") {
                continue;
            }
            let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            if let Some(header) = read_first_line(path) {
                let columns = header
                    .split(',')
                    .map(|column| column.trim().trim_matches('"').to_string())
                    .filter(|column| !column.is_empty())
                    .collect();
                catalog.tables.entry(stem).or_insert(columns);
            }
        }
        if *self.data != catalog {
            self.data = Arc::new(catalog);
        }
    }
}

fn read_first_line(path: &Path) -> Option<String> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    std::io::BufReader::new(file.take(64 * 1024))
        .read_until(b'\n', &mut bytes)
        .ok()?;
    let line = String::from_utf8_lossy(&bytes);
    Some(line.trim_end().trim_start_matches('\u{feff}').to_string())
}

/// Every entry under `root` in name order, skipping what the compiler's rules skip (hidden
/// entries, target/, local_artifacts/...). The CLI's host and the server both scan with it.
pub fn project_walk(root: &Path) -> ProjectWalk {
    ProjectWalk(walkdir::WalkDir::new(root).sort_by_file_name())
}

/// A directory walk with the project's skip rules ([`project_walk`]).
pub struct ProjectWalk(walkdir::WalkDir);

impl ProjectWalk {
    pub fn max_depth(self, depth: usize) -> ProjectWalk {
        ProjectWalk(self.0.max_depth(depth))
    }
}

impl IntoIterator for ProjectWalk {
    type Item = walkdir::Result<walkdir::DirEntry>;
    type IntoIter = Box<dyn Iterator<Item = Self::Item>>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.0.into_iter().filter_entry(|entry| {
            entry.depth() == 0
                || !is_skipped_entry(
                    &entry.file_name().to_string_lossy(),
                    entry.file_type().is_dir(),
                )
        }))
    }
}

/// Every source file under `root`, with the CLI's skip rules.
pub fn source_files(root: &Path) -> Vec<PathBuf> {
    project_walk(root)
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry.file_type().is_file()
                && entry.file_name().to_str().is_some_and(is_source_file_name)
        })
        .map(|entry| entry.into_path())
        .collect()
}

/// The project root holding `start` (a directory): the nearest ancestor with profiles.yaml or
/// pyproject.toml, as the CLI finds it.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|directory| {
            directory.join("profiles.yaml").is_file() || directory.join("pyproject.toml").is_file()
        })
        .map(Path::to_path_buf)
}
