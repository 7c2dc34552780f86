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
//!
//! This module holds the server's state (`Server`, one `ProjectState` per project) and the
//! loop that hands each message to its child module; it decides nothing about documents,
//! diagnostics or requests itself. The children each add an `impl Server` block:
//! - `sync`: notifications (document sync, watched files, workspace folders) and the projects
//!   by root;
//! - `publish`: generations, diagnostics passes in workers, publication and messages;
//! - `dispatch`: request routing and the worker boundary of request handlers;
//! - `capabilities`: what the server announces and the file-watch registration;
//! - `snapshot`: [`Snapshot`], what a request handler sees.
//!
//! Dependencies among the children go one way: `dispatch` → `sync` → `publish`, `sync` →
//! `capabilities`, `dispatch` → `snapshot`; `publish`, `capabilities` and `snapshot` use no
//! sibling. Children may use this module's state and helpers; this module only calls the
//! children's entry points.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use anyhow::Context;
use crossbeam_channel::{select, Receiver, Sender};
use lsp_server::{Connection, Message};
use lsp_types::notification::{self, Notification as _};
use lsp_types::{InitializeParams, InitializeResult, ServerInfo};

use crate::workspace::{CompileOptions, ProjectHost};

mod capabilities;
mod dispatch;
mod publish;
mod snapshot;
mod stdio;
mod sync;

pub use snapshot::Snapshot;

use publish::Internal;

/// How `mbt lsp` was started.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: CompileOptions,
    /// Project roots to load besides the client's workspace folders (`--project-dir`).
    pub roots: Vec<PathBuf>,
    /// Answer the `mbt/debugPanic` request by panicking (tests of the panic boundary).
    pub debug_requests: bool,
}

/// Serves LSP over stdin/stdout until the client says `exit`.
pub fn run_stdio(config: Config) -> anyhow::Result<()> {
    let (connection, io_threads) = stdio::connection();
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
        capabilities: capabilities::capabilities(),
        server_info: Some(ServerInfo {
            name: "mbt".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    connection
        .initialize_finish(id, serde_json::to_value(result)?)
        .context("initialize failed")?;
    let mut server = Server::new(connection.sender.clone(), config, &params);
    // `initialize_finish` consumed the client's `initialized`: the client is ready for requests.
    server.register_watchers();
    server.main_loop(&connection)
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
    /// The query results of the last two passes ([`crate::diagnostics::Retained`]).
    retained: std::collections::VecDeque<crate::diagnostics::Retained>,
}

impl ProjectState {
    /// A freshly loaded project: everything is to be checked and nothing is published yet.
    fn new(host: ProjectHost) -> ProjectState {
        ProjectState {
            host,
            generation: 1,
            dirty: true,
            changed: BTreeSet::new(),
            published: HashMap::new(),
            unlocated: Vec::new(),
            checked: false,
            early: BTreeSet::new(),
            retained: Default::default(),
        }
    }
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
            dynamic_watch: capabilities::dynamic_watch(&params.capabilities),
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
}

/// The text of an internal error (`MBT9001`) caught at a boundary; `context` follows
/// "internal error" (e.g. `": <panic message>"` or `" while handling `method`"`).
fn internal_error(context: &str) -> String {
    format!(
        "MBT9001: internal error{context}; this is a bug in mbt {}, please report it at https://github.com/mbt-dev/mbt/issues",
        env!("CARGO_PKG_VERSION")
    )
}

/// The message of a caught panic.
fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}
