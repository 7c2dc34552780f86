//! The salsa database: file texts and compile settings are inputs; everything else is a query.
//!
//! Hosts (the CLI, the language server, tests) create one [`Database`], load the project's
//! files into it with [`Database::set_file`], and ask queries. Setting a file's text again
//! invalidates only what depends on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::diagnostics::Sources;
use crate::text::FileId;
use mbt_contract::catalog::TableSchema;

/// One source file of the project (pipeline, include, profiles, test, Python module...).
#[salsa::input(debug)]
pub struct SourceFile {
    /// Path relative to the project root, `/`-separated.
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: Arc<str>,
    #[returns(copy)]
    pub id: FileId,
}

/// The project: which files exist, the profiles file, and compile settings.
#[salsa::input(debug)]
pub struct Project {
    /// Every loaded file by project-relative path. A path missing here does not exist.
    #[returns(ref)]
    pub files: Arc<BTreeMap<String, SourceFile>>,
    /// The `profiles.yaml` in use, wherever the host found it.
    #[returns(copy)]
    pub profiles: Option<SourceFile>,
    #[returns(ref)]
    pub settings: Arc<Settings>,
    /// The data catalog's tables by name (see [`Database::set_catalog`]). Each table is its own
    /// input, so a changed table re-checks only the pipelines that read it.
    #[returns(ref)]
    pub tables: Arc<BTreeMap<String, DataTable>>,
    /// Whether and how the catalog was read.
    #[returns(ref)]
    pub catalog: Arc<CatalogState>,
}

/// One table of the data catalog: its schema, or why it could not be read.
#[salsa::input(debug)]
pub struct DataTable {
    #[returns(ref)]
    pub name: String,
    #[returns(ref)]
    pub schema: Arc<Result<TableSchema, String>>,
}

/// How the host read the catalog column checks use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum CatalogState {
    /// No catalog was given (the host does not read data): columns are not checked, silently.
    #[default]
    NotLoaded,
    /// Read from the data connector just now (or cached entries that are still fresh).
    Fresh { location: String },
    /// The connector could not be read; the cached catalog is used.
    Cached { location: String, reason: String },
    /// Neither the connector nor a cache: columns are not checked (one warning).
    Unavailable { location: String, reason: String },
}

impl CatalogState {
    /// Whether column references are checked against the tables.
    pub fn checks_columns(&self) -> bool {
        matches!(
            self,
            CatalogState::Fresh { .. } | CatalogState::Cached { .. }
        )
    }
}

/// Compile settings chosen by the host (CLI flags, environment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Settings {
    /// `--vars k=v`.
    pub vars: BTreeMap<String, String>,
    /// The environment `env_var()` reads. Hosts pass a snapshot.
    pub env: BTreeMap<String, String>,
    /// `--target`, else `$MBT_TARGET`.
    pub target: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// The `[project] name` of pyproject.toml, used to pick a profile.
    pub project_name: Option<String>,
    /// `true` when `--profiles-dir` or `$MBT_PROFILES_DIR` named a place (a missing file is then an error).
    pub profiles_required: bool,
}

/// The database trait queries run against.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The project input. There is one project per database.
    fn project(&self) -> Project;
}

/// The concrete database shared by the CLI and the language server.
#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    project: Option<Project>,
    /// Files by id, for rendering diagnostics. Shared by clones.
    by_id: Arc<Mutex<Vec<SourceFile>>>,
    /// Names of queries that executed, when logging is on (incrementality tests, benchmarks).
    log: Option<Arc<Mutex<Vec<String>>>>,
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn project(&self) -> Project {
        self.project
            .expect("the project input is created in Database::new")
    }
}

impl Database {
    pub fn new(settings: Settings) -> Database {
        Database::build(settings, None)
    }

    /// A database that records which queries execute (see [`Database::take_executed`]).
    pub fn with_query_log(settings: Settings) -> Database {
        Database::build(settings, Some(Arc::default()))
    }

    fn build(settings: Settings, log: Option<Arc<Mutex<Vec<String>>>>) -> Database {
        let storage = match &log {
            Some(log) => {
                let log = log.clone();
                salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
                    if let salsa::EventKind::WillExecute { database_key } = event.kind {
                        if let Ok(mut log) = log.lock() {
                            log.push(format!("{database_key:?}"));
                        }
                    }
                })))
            }
            None => salsa::Storage::default(),
        };
        let mut database = Database {
            storage,
            project: None,
            by_id: Arc::default(),
            log,
        };
        let project = Project::new(
            &database,
            Arc::default(),
            None,
            Arc::new(settings),
            Arc::default(),
            Arc::default(),
        );
        database.project = Some(project);
        database
    }

    /// Names of the queries executed since the last call (empty without a query log).
    pub fn take_executed(&self) -> Vec<String> {
        self.log
            .as_ref()
            .and_then(|log| log.lock().ok().map(|mut log| std::mem::take(&mut *log)))
            .unwrap_or_default()
    }

    fn new_source(&mut self, path: &str, text: Arc<str>) -> SourceFile {
        let mut by_id = self.by_id.lock().expect("file table");
        let id = FileId(by_id.len() as u32);
        let file = SourceFile::new(self, path.to_string(), text, id);
        by_id.push(file);
        file
    }

    /// Sets the text of a project file, creating it if new. Returns its handle.
    pub fn set_file(&mut self, path: &str, text: impl Into<Arc<str>>) -> SourceFile {
        use salsa::Setter;
        let text = text.into();
        let project = self.project();
        if let Some(file) = project.files(self).get(path).copied() {
            if **file.text(self) != *text {
                file.set_text(self).to(text);
            }
            return file;
        }
        let file = self.new_source(path, text);
        let mut files = (**project.files(self)).clone();
        files.insert(path.to_string(), file);
        project.set_files(self).to(Arc::new(files));
        file
    }

    /// Loads many files at once (one project revision instead of one per file).
    pub fn set_files(&mut self, files: impl IntoIterator<Item = (String, Arc<str>)>) {
        use salsa::Setter;
        let project = self.project();
        let mut map = (**project.files(self)).clone();
        let mut changed = false;
        for (path, text) in files {
            match map.get(&path).copied() {
                Some(file) => {
                    if **file.text(self) != *text {
                        file.set_text(self).to(text);
                    }
                }
                None => {
                    let file = self.new_source(&path, text);
                    map.insert(path, file);
                    changed = true;
                }
            }
        }
        if changed {
            project.set_files(self).to(Arc::new(map));
        }
    }

    /// Removes a file from the project (it no longer exists).
    pub fn remove_file(&mut self, path: &str) {
        use salsa::Setter;
        let project = self.project();
        if project.files(self).contains_key(path) {
            let mut files = (**project.files(self)).clone();
            files.remove(path);
            project.set_files(self).to(Arc::new(files));
        }
    }

    /// Sets (or clears) the profiles file; `path` is how it is shown in diagnostics.
    pub fn set_profiles(&mut self, profiles: Option<(&str, Arc<str>)>) {
        use salsa::Setter;
        let project = self.project();
        let file = profiles.map(|(path, text)| match project.profiles(self) {
            Some(existing) if existing.path(self) == path => {
                if **existing.text(self) != *text {
                    existing.set_text(self).to(text);
                }
                existing
            }
            _ => match project.files(self).get(path).copied() {
                Some(file) => {
                    if **file.text(self) != *text {
                        file.set_text(self).to(text);
                    }
                    file
                }
                None => self.new_source(path, text),
            },
        });
        if project.profiles(self) != file {
            project.set_profiles(self).to(file);
        }
    }

    pub fn set_settings(&mut self, settings: Settings) {
        use salsa::Setter;
        let project = self.project();
        if **project.settings(self) != settings {
            project.set_settings(self).to(Arc::new(settings));
        }
    }

    /// Sets the data catalog: how it was read and its tables. Only tables whose schema changed
    /// are set again, so only the pipelines that read them are checked again.
    pub fn set_catalog(
        &mut self,
        state: CatalogState,
        tables: BTreeMap<String, Result<TableSchema, String>>,
    ) {
        use salsa::Setter;
        let project = self.project();
        let current = project.tables(self).clone();
        let mut map = BTreeMap::new();
        for (name, schema) in tables {
            let table = match current.get(&name).copied() {
                Some(table) => {
                    if **table.schema(self) != schema {
                        table.set_schema(self).to(Arc::new(schema));
                    }
                    table
                }
                None => DataTable::new(self, name.clone(), Arc::new(schema)),
            };
            map.insert(name, table);
        }
        if *current != map {
            project.set_tables(self).to(Arc::new(map));
        }
        if **project.catalog(self) != state {
            project.set_catalog(self).to(Arc::new(state));
        }
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.project().settings(self).clone()
    }

    pub fn file(&self, path: &str) -> Option<SourceFile> {
        self.project().files(self).get(path).copied()
    }

    /// The profiles file in use, if any.
    pub fn profiles_file(&self) -> Option<SourceFile> {
        self.project().profiles(self)
    }

    pub fn source(&self, id: FileId) -> Option<SourceFile> {
        self.by_id.lock().ok()?.get(id.0 as usize).copied()
    }
}

impl Sources for Database {
    fn path(&self, file: FileId) -> &str {
        match self.source(file) {
            Some(source) => source.path(self),
            None => "<unknown>",
        }
    }

    fn text(&self, file: FileId) -> &str {
        match self.source(file) {
            Some(source) => source.text(self),
            None => "",
        }
    }
}
