//! The main loop: one thread owns the databases and applies every notification in order;
//! diagnostics and requests run on snapshots (database clones) in worker threads.
//!
//! Ordering and staleness: an edit bumps the project's generation before anything else runs.
//! Setting a salsa input waits until every snapshot is dropped, and the snapshots' queries
//! unwind with `salsa::Cancelled`: a cancelled request answers `ContentModified`, a cancelled
//! diagnostics pass is dropped. A finished pass is published only if its generation is still
//! the current one, so a diagnostic computed for an outdated document version is never sent.
//! Cold start: before a project's first whole-project pass is published, a second worker checks
//! only the opened documents that nothing else can contribute to and publishes them first.
//! Every worker runs under `catch_unwind`: a panic answers `MBT9001` instead of ending the server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use crossbeam_channel::{select, Receiver, Sender};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    notification, request, ClientCapabilities, CodeActionKind, CodeActionOptions,
    CodeActionProviderCapability, CompletionOptions, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, FileSystemWatcher, FoldingRangeProviderCapability, GlobPattern,
    HoverProviderCapability, InitializeParams, InitializeResult, MessageType, OneOf,
    PublishDiagnosticsParams, Registration, RegistrationParams, SaveOptions, ServerCapabilities,
    ServerInfo, ShowMessageParams, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri, WorkspaceFoldersServerCapabilities,
    WorkspaceServerCapabilities,
};
use mbt_compiler::{Database, SourceFile};

use crate::diagnostics::{self, Published};
use crate::position::apply_change;
use crate::workspace::{find_root, CompileOptions, DataCatalog, ProjectHost};

/// How `mbt lsp` was started.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: CompileOptions,
    /// Project roots to load besides the client's workspace folders (`--project-dir`).
    pub roots: Vec<PathBuf>,
    /// Answer the `mbt/debugPanic` request by panicking (tests of the panic boundary).
    pub debug_requests: bool,
}

/// What a request handler sees: a snapshot of one project and the document asked about.
pub struct Snapshot {
    pub db: Database,
    pub root: PathBuf,
    /// The document's project-relative path.
    pub path: String,
    pub data: Arc<DataCatalog>,
}

impl Snapshot {
    pub fn file(&self) -> Option<SourceFile> {
        self.db.file(&self.path)
    }

    pub fn uri(&self, relative: &str) -> Uri {
        let path = Path::new(relative);
        if path.is_absolute() {
            crate::uri::from_path(path)
        } else {
            crate::uri::from_path(&self.root.join(relative))
        }
    }
}

/// Serves LSP over stdin/stdout until the client says `exit`.
pub fn run_stdio(config: Config) -> anyhow::Result<()> {
    let (connection, io_threads) = Connection::stdio();
    run(connection, config)?;
    io_threads.join().context("language server i/o failed")?;
    Ok(())
}

/// Serves LSP over `connection` (stdio, or in memory for tests).
pub fn run(connection: Connection, config: Config) -> anyhow::Result<()> {
    let (id, params) = connection
        .initialize_start()
        .context("no initialize request")?;
    let params: InitializeParams =
        serde_json::from_value(params).context("invalid initialize params")?;
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "mbt".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    connection
        .initialize_finish(id, serde_json::to_value(result)?)
        .context("initialize failed")?;
    let mut server = Server::new(connection.sender.clone(), config, &params);
    server.main_loop(&connection)
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".into(), " ".into(), "/".into()]),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..ServerCapabilities::default()
    }
}

/// One loaded project and what was last published for it.
struct ProjectState {
    host: ProjectHost,
    /// Bumped by every input change.
    generation: u64,
    /// Inputs changed since the last diagnostics pass was scheduled.
    dirty: bool,
    /// Files changed since the last publication.
    changed: BTreeSet<String>,
    /// Last published diagnostics per path, with the document version they were sent for.
    published: HashMap<String, (Option<i32>, Vec<lsp_types::Diagnostic>)>,
    unlocated: Vec<String>,
    /// A whole-project pass has been published. Until then, opened documents that only their
    /// own check can reach are published first, from a pass over them alone.
    checked: bool,
    /// Paths published by such a pass since the last whole-project one.
    early: BTreeSet<String>,
}

enum Internal {
    /// Diagnostics of opened documents, before the first whole-project pass.
    Early {
        root: PathBuf,
        generation: u64,
        files: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
    },
    Diagnostics {
        root: PathBuf,
        generation: u64,
        published: Published,
    },
    Crashed(String),
}

struct Server {
    sender: Sender<Message>,
    internal_sender: Sender<Internal>,
    internal: Receiver<Internal>,
    options: CompileOptions,
    projects: Vec<ProjectState>,
    debug_requests: bool,
    dynamic_watch: bool,
    next_request: i32,
}

impl Server {
    fn new(sender: Sender<Message>, config: Config, params: &InitializeParams) -> Server {
        let (internal_sender, internal) = crossbeam_channel::unbounded();
        let mut server = Server {
            sender,
            internal_sender,
            internal,
            options: config.options,
            projects: Vec::new(),
            debug_requests: config.debug_requests,
            dynamic_watch: dynamic_watch(&params.capabilities),
            next_request: 0,
        };
        let mut folders: Vec<PathBuf> = config.roots;
        #[allow(deprecated)]
        let root_uri = params.root_uri.clone();
        match &params.workspace_folders {
            Some(list) if !list.is_empty() => {
                folders.extend(list.iter().filter_map(|f| crate::uri::to_path(&f.uri)))
            }
            _ => folders.extend(root_uri.as_ref().and_then(crate::uri::to_path)),
        }
        for folder in folders {
            server.add_folder(&folder);
        }
        server
    }

    fn main_loop(&mut self, connection: &Connection) -> anyhow::Result<()> {
        loop {
            select! {
                recv(connection.receiver) -> message => {
                    let Ok(message) = message else { return Ok(()) };
                    match message {
                        Message::Request(request) => {
                            if connection.handle_shutdown(&request)? {
                                return Ok(());
                            }
                            self.on_request(request);
                        }
                        Message::Notification(notification) => {
                            if notification.method == notification::Exit::METHOD {
                                return Ok(());
                            }
                            self.on_notification(notification);
                        }
                        Message::Response(_) => {}
                    }
                }
                recv(self.internal) -> event => {
                    if let Ok(event) = event {
                        self.on_internal(event);
                    }
                }
            }
            // Edits that arrive together are applied together: one diagnostics pass after them.
            if connection.receiver.is_empty() {
                self.schedule_diagnostics();
            }
        }
    }

    fn add_folder(&mut self, folder: &Path) {
        let root =
            if folder.join("profiles.yaml").is_file() || folder.join("pyproject.toml").is_file() {
                Some(folder.to_path_buf())
            } else {
                find_root(folder)
            };
        if let Some(root) = root {
            self.add_project(root);
        }
    }

    fn add_project(&mut self, root: PathBuf) -> usize {
        let root = root.canonicalize().unwrap_or(root);
        if let Some(index) = self.projects.iter().position(|p| p.host.root == root) {
            return index;
        }
        let host = ProjectHost::load(root, self.options.clone());
        self.projects.push(ProjectState {
            host,
            generation: 1,
            dirty: true,
            changed: BTreeSet::new(),
            published: HashMap::new(),
            unlocated: Vec::new(),
            checked: false,
            early: BTreeSet::new(),
        });
        self.projects.len() - 1
    }

    /// The project holding `path` (the deepest root), loading it on first sight.
    fn project_of(&mut self, path: &Path, load: bool) -> Option<usize> {
        let found = self
            .projects
            .iter()
            .enumerate()
            .filter(|(_, p)| path.starts_with(&p.host.root))
            .max_by_key(|(_, p)| p.host.root.as_os_str().len())
            .map(|(index, _)| index);
        if found.is_some() || !load {
            return found;
        }
        let root = find_root(path.parent()?)?;
        Some(self.add_project(root))
    }

    fn locate(&mut self, uri: &Uri, load: bool) -> Option<(usize, String)> {
        let path = crate::uri::to_path(uri)?;
        let path = match path.parent().and_then(|p| p.canonicalize().ok()) {
            Some(parent) => parent.join(path.file_name()?),
            None => path,
        };
        let index = self.project_of(&path, load)?;
        let relative = self.projects[index].host.relative(&path)?;
        Some((index, relative))
    }

    fn mark_changed(&mut self, index: usize, relative: &str) {
        let state = &mut self.projects[index];
        state.generation += 1;
        state.dirty = true;
        state.changed.insert(relative.to_string());
    }

    fn on_notification(&mut self, notification: Notification) {
        let method = notification.method.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.dispatch_notification(notification)
        }));
        if outcome.is_err() {
            self.show(
                MessageType::ERROR,
                format!("MBT9001: internal error while handling `{method}`; this is a bug in mbt {}, please report it at https://github.com/mbt-dev/mbt/issues", env!("CARGO_PKG_VERSION")),
            );
        }
    }

    fn dispatch_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
            notification::Initialized::METHOD => self.register_watchers(),
            notification::DidOpenTextDocument::METHOD => {
                let Ok(params) = notification.extract::<DidOpenTextDocumentParams>(
                    notification::DidOpenTextDocument::METHOD,
                ) else {
                    return;
                };
                let Some((index, relative)) = self.locate(&params.text_document.uri, true) else {
                    return;
                };
                let host = &mut self.projects[index].host;
                host.open
                    .insert(relative.clone(), params.text_document.version);
                if mbt_compiler::project::is_source_path(&relative) {
                    host.set_text(&relative, params.text_document.text);
                }
                self.mark_changed(index, &relative);
            }
            notification::DidChangeTextDocument::METHOD => {
                let Ok(params) = notification.extract::<DidChangeTextDocumentParams>(
                    notification::DidChangeTextDocument::METHOD,
                ) else {
                    return;
                };
                let Some((index, relative)) = self.locate(&params.text_document.uri, false) else {
                    return;
                };
                let host = &mut self.projects[index].host;
                if !mbt_compiler::project::is_source_path(&relative) {
                    return;
                }
                let mut text = host
                    .db
                    .file(&relative)
                    .map(|file| file.text(&host.db).to_string())
                    .unwrap_or_default();
                for change in &params.content_changes {
                    apply_change(&mut text, change);
                }
                host.open
                    .insert(relative.clone(), params.text_document.version);
                host.set_text(&relative, text);
                self.mark_changed(index, &relative);
            }
            notification::DidSaveTextDocument::METHOD => {
                let Ok(params) = notification.extract::<DidSaveTextDocumentParams>(
                    notification::DidSaveTextDocument::METHOD,
                ) else {
                    return;
                };
                let Some((index, relative)) = self.locate(&params.text_document.uri, false) else {
                    return;
                };
                if let Some(text) = params.text {
                    self.projects[index].host.set_text(&relative, text);
                }
                self.mark_changed(index, &relative);
            }
            notification::DidCloseTextDocument::METHOD => {
                let Ok(params) = notification.extract::<DidCloseTextDocumentParams>(
                    notification::DidCloseTextDocument::METHOD,
                ) else {
                    return;
                };
                let Some((index, relative)) = self.locate(&params.text_document.uri, false) else {
                    return;
                };
                let host = &mut self.projects[index].host;
                host.open.remove(&relative);
                let path = host.root.join(&relative);
                host.reload(&path);
                self.mark_changed(index, &relative);
            }
            notification::DidChangeWatchedFiles::METHOD => {
                let Ok(params) = notification.extract::<DidChangeWatchedFilesParams>(
                    notification::DidChangeWatchedFiles::METHOD,
                ) else {
                    return;
                };
                for event in params.changes {
                    let Some((index, relative)) = self.locate(&event.uri, false) else {
                        continue;
                    };
                    let host = &mut self.projects[index].host;
                    let path = host.root.join(&relative);
                    host.reload(&path);
                    self.mark_changed(index, &relative);
                }
            }
            notification::DidChangeWorkspaceFolders::METHOD => {
                let Ok(params) = notification.extract::<DidChangeWorkspaceFoldersParams>(
                    notification::DidChangeWorkspaceFolders::METHOD,
                ) else {
                    return;
                };
                for removed in params.event.removed {
                    if let Some(path) = crate::uri::to_path(&removed.uri) {
                        let path = path.canonicalize().unwrap_or(path);
                        self.remove_projects_under(&path);
                    }
                }
                for added in params.event.added {
                    if let Some(path) = crate::uri::to_path(&added.uri) {
                        self.add_folder(&path);
                    }
                }
            }
            _ => {}
        }
    }

    fn remove_projects_under(&mut self, folder: &Path) {
        let (removed, kept): (Vec<ProjectState>, Vec<ProjectState>) =
            std::mem::take(&mut self.projects)
                .into_iter()
                .partition(|p| p.host.root.starts_with(folder));
        self.projects = kept;
        for state in removed {
            for path in state.published.keys() {
                self.publish(&state.host.root, path, None, Vec::new());
            }
        }
    }

    fn register_watchers(&mut self) {
        if !self.dynamic_watch {
            return;
        }
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: [
                "**/*.yaml",
                "**/*.yml",
                "**/*.py",
                "**/pyproject.toml",
                "**/*.csv",
            ]
            .into_iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob.to_string()),
                kind: None,
            })
            .collect(),
        };
        let registration = Registration {
            id: "mbt-watched-files".to_string(),
            method: notification::DidChangeWatchedFiles::METHOD.to_string(),
            register_options: serde_json::to_value(options).ok(),
        };
        self.next_request += 1;
        let request = Request::new(
            RequestId::from(format!("mbt-{}", self.next_request)),
            request::RegisterCapability::METHOD.to_string(),
            RegistrationParams {
                registrations: vec![registration],
            },
        );
        let _ = self.sender.send(request.into());
    }

    fn schedule_diagnostics(&mut self) {
        for state in &mut self.projects {
            if !state.dirty {
                continue;
            }
            state.dirty = false;
            let db = state.host.db.clone();
            let root = state.host.root.clone();
            let invalid = state.host.invalid_utf8.clone();
            let changed = state.changed.clone();
            let generation = state.generation;
            let sender = self.internal_sender.clone();
            let opened: BTreeSet<String> = changed
                .iter()
                .filter(|path| state.host.open.contains_key(*path))
                .cloned()
                .collect();
            if !state.checked && !opened.is_empty() {
                let (db, root, invalid) = (db.clone(), root.clone(), invalid.clone());
                let sender = sender.clone();
                std::thread::spawn(move || {
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        diagnostics::compute_standalone(&db, &root, &invalid, &opened)
                    }));
                    drop(db);
                    // A panic or cancellation here is left to the whole-project pass.
                    if let Ok(files) = result {
                        if !files.is_empty() {
                            let _ = sender.send(Internal::Early {
                                root,
                                generation,
                                files,
                            });
                        }
                    }
                });
            }
            std::thread::spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    diagnostics::compute(&db, &root, &invalid, &changed)
                }));
                drop(db);
                match result {
                    Ok(published) => {
                        let _ = sender.send(Internal::Diagnostics {
                            root,
                            generation,
                            published,
                        });
                    }
                    Err(payload) if payload.is::<salsa::Cancelled>() => {}
                    Err(payload) => {
                        let _ = sender.send(Internal::Crashed(panic_message(&payload)));
                    }
                }
            });
        }
    }

    fn on_internal(&mut self, event: Internal) {
        match event {
            Internal::Early {
                root,
                generation,
                files,
            } => {
                let Some(index) = self.projects.iter().position(|p| p.host.root == root) else {
                    return;
                };
                let state = &mut self.projects[index];
                if state.generation != generation || state.checked {
                    return;
                }
                let mut sends = Vec::new();
                for (path, diagnostics) in files {
                    let version = state.host.open.get(&path).copied();
                    state
                        .published
                        .insert(path.clone(), (version, diagnostics.clone()));
                    state.early.insert(path.clone());
                    sends.push((path, version, diagnostics));
                }
                let root = state.host.root.clone();
                for (path, version, diagnostics) in sends {
                    self.publish(&root, &path, version, diagnostics);
                }
            }
            Internal::Diagnostics {
                root,
                generation,
                published,
            } => {
                let Some(index) = self.projects.iter().position(|p| p.host.root == root) else {
                    return;
                };
                if self.projects[index].generation != generation {
                    return; // Outdated: a newer pass is scheduled.
                }
                self.publish_all(index, published);
            }
            Internal::Crashed(message) => self.show(
                MessageType::ERROR,
                format!("MBT9001: internal error while checking the project: {message}; this is a bug in mbt {}, please report it at https://github.com/mbt-dev/mbt/issues", env!("CARGO_PKG_VERSION")),
            ),
        }
    }

    fn publish_all(&mut self, index: usize, mut published: Published) {
        let state = &mut self.projects[index];
        state.changed.clear();
        state.checked = true;
        let early = std::mem::take(&mut state.early);
        let mut paths: BTreeSet<String> = published.files.keys().cloned().collect();
        paths.extend(state.published.keys().cloned());
        paths.extend(state.host.open.keys().cloned());
        let mut sends = Vec::new();
        for path in paths {
            let diagnostics = published.files.remove(&path).unwrap_or_default();
            let version = state.host.open.get(&path).copied();
            let previous = state.published.get(&path);
            let changed = previous.is_none_or(|(v, d)| *v != version || *d != diagnostics);
            // Published early with the same version and list: already re-published.
            let forced = published.affected.contains(&path)
                && !early.contains(&path)
                && (version.is_some() || !diagnostics.is_empty());
            if !(changed || forced) {
                continue;
            }
            if previous.is_none() && version.is_none() && diagnostics.is_empty() {
                continue;
            }
            if diagnostics.is_empty() && version.is_none() {
                state.published.remove(&path);
            } else {
                state
                    .published
                    .insert(path.clone(), (version, diagnostics.clone()));
            }
            sends.push((path, version, diagnostics));
        }
        let unlocated_changed = state.unlocated != published.unlocated;
        state.unlocated = published.unlocated.clone();
        let root = state.host.root.clone();
        for (path, version, diagnostics) in sends {
            self.publish(&root, &path, version, diagnostics);
        }
        if unlocated_changed {
            for message in published.unlocated {
                self.show(MessageType::WARNING, message);
            }
        }
    }

    fn publish(
        &self,
        root: &Path,
        path: &str,
        version: Option<i32>,
        diagnostics: Vec<lsp_types::Diagnostic>,
    ) {
        let absolute = if Path::new(path).is_absolute() {
            PathBuf::from(path)
        } else {
            root.join(path)
        };
        let params = PublishDiagnosticsParams {
            uri: crate::uri::from_path(&absolute),
            diagnostics,
            version,
        };
        let notification =
            Notification::new(notification::PublishDiagnostics::METHOD.to_string(), params);
        let _ = self.sender.send(notification.into());
    }

    fn show(&self, typ: MessageType, message: String) {
        let notification = Notification::new(
            notification::ShowMessage::METHOD.to_string(),
            ShowMessageParams { typ, message },
        );
        let _ = self.sender.send(notification.into());
    }

    fn on_request(&mut self, request: Request) {
        use crate::{actions, completion, definition, format, hover, inlay, symbols};
        match request.method.as_str() {
            request::Completion::METHOD => self.spawn(request, completion::complete),
            request::HoverRequest::METHOD => self.spawn(request, hover::hover),
            request::GotoDefinition::METHOD => self.spawn(request, definition::definition),
            request::References::METHOD => self.spawn(request, definition::references),
            request::InlayHintRequest::METHOD => self.spawn(request, inlay::inlay_hints),
            request::CodeActionRequest::METHOD => self.spawn(request, actions::code_actions),
            request::DocumentSymbolRequest::METHOD => {
                self.spawn(request, symbols::document_symbols)
            }
            request::FoldingRangeRequest::METHOD => self.spawn(request, symbols::folding_ranges),
            request::Formatting::METHOD => self.spawn(request, format::formatting),
            "mbt/debugPanic" if self.debug_requests => self.spawn(
                request,
                |_: &Snapshot, _: serde_json::Value| -> Option<()> {
                    panic!("mbt/debugPanic was requested")
                },
            ),
            _ => {
                let response = Response::new_err(
                    request.id,
                    ErrorCode::MethodNotFound as i32,
                    format!("unknown method `{}`", request.method),
                );
                let _ = self.sender.send(response.into());
            }
        }
    }

    /// Runs a handler on a snapshot of the document's project in a worker thread.
    fn spawn<P, R>(&mut self, request: Request, handler: fn(&Snapshot, P) -> R)
    where
        P: serde::de::DeserializeOwned + Send + 'static,
        R: serde::Serialize + 'static,
    {
        let uri = request
            .params
            .pointer("/textDocument/uri")
            .and_then(|uri| serde_json::from_value::<Uri>(uri.clone()).ok());
        let located = uri.and_then(|uri| self.locate(&uri, true));
        let Some((index, path)) = located else {
            let _ = self
                .sender
                .send(Response::new_ok(request.id, serde_json::Value::Null).into());
            return;
        };
        let host = &self.projects[index].host;
        let snapshot = Snapshot {
            db: host.db.clone(),
            root: host.root.clone(),
            path,
            data: host.data.clone(),
        };
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            let id = request.id.clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                serde_json::from_value::<P>(request.params).map(|params| handler(&snapshot, params))
            }));
            drop(snapshot);
            let response = match outcome {
                Ok(Ok(result)) => Response::new_ok(id, result),
                Ok(Err(error)) => Response::new_err(
                    id,
                    ErrorCode::InvalidParams as i32,
                    format!("invalid params: {error}"),
                ),
                Err(payload) if payload.is::<salsa::Cancelled>() => Response::new_err(
                    id,
                    ErrorCode::ContentModified as i32,
                    "the document changed".to_string(),
                ),
                Err(payload) => Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!(
                        "MBT9001: internal error: {}; this is a bug in mbt {}, please report it at https://github.com/mbt-dev/mbt/issues",
                        panic_message(&payload),
                        env!("CARGO_PKG_VERSION")
                    ),
                ),
            };
            let _ = sender.send(response.into());
        });
    }
}

fn dynamic_watch(capabilities: &ClientCapabilities) -> bool {
    capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false)
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}
