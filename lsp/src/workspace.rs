//! The language server's projects: one database per root, kept in step with the editor's
//! documents and the disk. Reading files, choosing profiles.yaml and settings, and the data
//! catalog are the one host's (`mbt_host`), exactly as for `mbt check`; this adds open documents
//! and file-watch reloads (a changed data file re-reads its table).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mbt_compiler::project::is_source_path;
use mbt_compiler::{Database, Settings};
pub use mbt_host::{find_root, project_walk, source_files, Options as CompileOptions};

/// One project root and its database.
pub struct ProjectHost {
    pub root: PathBuf,
    pub db: Database,
    /// Open documents (project-relative path) and their versions.
    pub open: HashMap<String, i32>,
    /// Files read from disk that were not valid UTF-8, with the offset of the first bad byte.
    pub invalid_utf8: BTreeMap<String, u32>,
    options: CompileOptions,
}

impl ProjectHost {
    /// Scans `root` and loads every source into a new database.
    pub fn load(root: PathBuf, options: CompileOptions) -> ProjectHost {
        let mut host = ProjectHost {
            db: Database::new(Settings::default()),
            root,
            open: HashMap::new(),
            invalid_utf8: BTreeMap::new(),
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
        let source = mbt_host::read_source(path).ok()?;
        match source.invalid_utf8_at {
            Some(offset) => self.invalid_utf8.insert(relative.clone(), offset),
            None => self.invalid_utf8.remove(&relative),
        };
        Some((relative, source.text))
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
        if relative.ends_with(".csv") || relative.ends_with(".parquet") {
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
            // Another target or data_path reads other tables.
            self.refresh_data();
        }
    }

    /// Settings as `mbt check` computes them (the one host's).
    fn refresh_settings(&mut self) {
        let pyproject = self
            .db
            .file("pyproject.toml")
            .map(|file| file.text(&self.db).clone());
        let settings: Settings = mbt_host::settings(&self.options, pyproject.as_deref());
        self.db.set_settings(settings);
    }

    /// The profiles.yaml `mbt check` would use (the one host's lookup).
    fn refresh_profiles(&mut self) {
        match mbt_host::profiles_path(&self.root, &self.options) {
            Some(path) => {
                let shown = mbt_host::relative_path(&self.root, &path);
                let text: Arc<str> = match self.db.file(&shown) {
                    Some(file) => file.text(&self.db).clone(),
                    None => match mbt_host::read_source(&path) {
                        Ok(source) => {
                            if let Some(offset) = source.invalid_utf8_at {
                                self.invalid_utf8.insert(shown.clone(), offset);
                            }
                            source.text
                        }
                        Err(_) => Arc::from(""),
                    },
                };
                self.db.set_profiles(Some((&shown, text)));
            }
            None => self.db.set_profiles(None),
        }
    }

    /// Reads the target's data catalog (the one host's, as `mbt check` reads it: fresh entries
    /// from `target/catalog.json`, changed tables again) into the database.
    pub fn refresh_data(&mut self) {
        if let Some(read) = mbt_host::catalog::load_catalog(&mut self.db, &self.root, false) {
            // Kept fresh for the CLI too; an unwritable target/ only costs a re-read.
            let _ = read.save(&self.root);
        }
    }
}

/// A document's path as the projects see it: its deepest existing folder canonicalized
/// (symlinks resolved, as the projects' roots are), the rest kept (the file and its folders
/// need not exist yet).
pub fn document_path(uri: &lsp_types::Uri) -> Option<PathBuf> {
    let path = crate::uri::to_path(uri)?;
    path.file_name()?;
    let canonical = path.ancestors().skip(1).find_map(|folder| {
        let rest = path.strip_prefix(folder).ok()?;
        Some(folder.canonicalize().ok()?.join(rest))
    });
    Some(canonical.unwrap_or(path))
}

/// The root of the project a file belongs to, as the CLI finds it from the file's folder: the
/// nearest project root at or above it ([`find_root`]). The
/// server loads this project for a document no loaded project holds.
pub fn root_of_file(path: &Path) -> Option<PathBuf> {
    find_root(path.parent()?)
}
