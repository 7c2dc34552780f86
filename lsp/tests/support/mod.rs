//! An in-process LSP client for tests: the real server on an in-memory connection.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    notification, request, ClientCapabilities, DidChangeTextDocumentParams,
    DidOpenTextDocumentParams, InitializeParams, InitializedParams, Position,
    PublishDiagnosticsParams, Range, TextDocumentContentChangeEvent, TextDocumentIdentifier,
    TextDocumentItem, TextDocumentPositionParams, Uri, VersionedTextDocumentIdentifier,
    WorkspaceFolder,
};
use mbt_lsp::workspace::CompileOptions;
use serde_json::Value;

pub struct Client {
    connection: Connection,
    server: Option<std::thread::JoinHandle<()>>,
    next_id: i32,
    pub notifications: Vec<Notification>,
    /// Requests the server sent to the client (e.g. `client/registerCapability`).
    pub requests: Vec<Request>,
    pub root: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// A copy of `examples/telecom-churn` (sources and sample data only).
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/telecom-churn");
    copy_tree(&source, dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') || name == "local_artifacts" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&*name));
        } else {
            std::fs::copy(&path, to.join(&*name)).unwrap();
        }
    }
}

pub fn options() -> CompileOptions {
    CompileOptions {
        vars: [("run_id".to_string(), "abc123".to_string())].into(),
        ..CompileOptions::default()
    }
}

impl Client {
    /// Starts the server on a copy of the example project.
    pub fn example() -> Client {
        let dir = example_copy();
        let root = dir.path().canonicalize().unwrap();
        let mut client = Client::start(&root);
        client._dir = Some(dir);
        client
    }

    pub fn start(root: &Path) -> Client {
        Client::start_with(root, ClientCapabilities::default())
    }

    /// Starts the server on `root` for a client with `capabilities`.
    pub fn start_with(root: &Path, capabilities: ClientCapabilities) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || {
            mbt_lsp::run(
                server_side,
                mbt_lsp::Config {
                    options: options(),
                    roots: Vec::new(),
                    debug_requests: true,
                },
            )
            .unwrap();
        });
        let mut client = Client {
            connection: client_side,
            server: Some(server),
            next_id: 0,
            notifications: Vec::new(),
            requests: Vec::new(),
            root: root.to_path_buf(),
            _dir: None,
        };
        #[allow(deprecated)]
        let params = InitializeParams {
            capabilities,
            workspace_folders: Some(vec![WorkspaceFolder {
                uri: mbt_lsp::uri::from_path(root),
                name: "project".into(),
            }]),
            ..InitializeParams::default()
        };
        client.request_value(
            request::Initialize::METHOD,
            serde_json::to_value(params).unwrap(),
        );
        client.notify(notification::Initialized::METHOD, InitializedParams {});
        client
    }

    pub fn uri(&self, relative: &str) -> Uri {
        mbt_lsp::uri::from_path(&self.root.join(relative))
    }

    pub fn text(&self, relative: &str) -> String {
        std::fs::read_to_string(self.root.join(relative)).unwrap()
    }

    pub fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )))
            .unwrap();
    }

    /// Sends a request and waits for its response: `Ok(result)` or `Err(error)`.
    pub fn request_raw(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.connection
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.to_string(),
                params,
            )))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = self
                .connection
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no response to {method}"));
            match message {
                Message::Response(response) if response.id == id => {
                    return response
                        .response_result
                        .map_err(|error| serde_json::to_value(error).unwrap())
                }
                Message::Notification(notification) => self.notifications.push(notification),
                Message::Request(request) => self.requests.push(request),
                _ => {}
            }
        }
    }

    pub fn request_value(&mut self, method: &str, params: Value) -> Value {
        self.request_raw(method, params)
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    pub fn request<R: lsp_types::request::Request>(&mut self, params: R::Params) -> Value {
        self.request_value(R::METHOD, serde_json::to_value(params).unwrap())
    }

    pub fn open(&mut self, relative: &str) -> String {
        let text = self.text(relative);
        self.open_text(relative, &text, 1);
        text
    }

    pub fn open_text(&mut self, relative: &str, text: &str, version: i32) {
        let params = DidOpenTextDocumentParams {
            text_document: TextDocumentItem {
                uri: self.uri(relative),
                language_id: "yaml".into(),
                version,
                text: text.to_string(),
            },
        };
        self.notify(notification::DidOpenTextDocument::METHOD, params);
    }

    /// Replaces the whole text of an open document.
    pub fn change(&mut self, relative: &str, text: &str, version: i32) {
        self.change_range(relative, None, text, version);
    }

    pub fn change_range(&mut self, relative: &str, range: Option<Range>, text: &str, version: i32) {
        let params = DidChangeTextDocumentParams {
            text_document: VersionedTextDocumentIdentifier {
                uri: self.uri(relative),
                version,
            },
            content_changes: vec![TextDocumentContentChangeEvent {
                range,
                range_length: None,
                text: text.to_string(),
            }],
        };
        self.notify(notification::DidChangeTextDocument::METHOD, params);
    }

    /// Waits for diagnostics of `relative` that satisfy `accept`; returns them.
    pub fn diagnostics_where(
        &mut self,
        relative: &str,
        accept: impl Fn(&PublishDiagnosticsParams) -> bool,
    ) -> PublishDiagnosticsParams {
        let uri = self.uri(relative);
        let matches = |n: &Notification| -> Option<PublishDiagnosticsParams> {
            if n.method != notification::PublishDiagnostics::METHOD {
                return None;
            }
            let params: PublishDiagnosticsParams = serde_json::from_value(n.params.clone()).ok()?;
            (params.uri == uri && accept(&params)).then_some(params)
        };
        // The latest already-received publication for this file counts.
        if let Some(latest) = self
            .notifications
            .iter()
            .rev()
            .find(|n| {
                n.method == notification::PublishDiagnostics::METHOD
                    && n.params.get("uri").and_then(Value::as_str) == Some(uri.as_str())
            })
            .and_then(&matches)
        {
            return latest;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = self
                .connection
                .receiver
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no matching diagnostics for {relative}"));
            match message {
                Message::Notification(notification) => {
                    let found = matches(&notification);
                    self.notifications.push(notification);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Message::Request(request) => self.requests.push(request),
                Message::Response(_) => {}
            }
        }
    }

    pub fn position_params(
        &self,
        relative: &str,
        line: u32,
        character: u32,
    ) -> TextDocumentPositionParams {
        TextDocumentPositionParams {
            text_document: TextDocumentIdentifier {
                uri: self.uri(relative),
            },
            position: Position::new(line, character),
        }
    }

    /// Position (line, UTF-16 column) of the first occurrence of `needle` in a file on disk
    /// plus `shift` characters.
    pub fn find(&self, relative: &str, needle: &str, shift: u32) -> (u32, u32) {
        find_in(&self.text(relative), needle, shift)
    }

    /// Replaces the root path in JSON for snapshots.
    pub fn redact(&self, value: &Value) -> Value {
        let text = value.to_string();
        let root = mbt_lsp::uri::from_path(&self.root);
        let text = text.replace(root.as_str(), "file://$ROOT");
        serde_json::from_str(&text).unwrap()
    }

    pub fn shutdown(mut self) {
        self.request_value(request::Shutdown::METHOD, Value::Null);
        self.notify(notification::Exit::METHOD, ());
        if let Some(server) = self.server.take() {
            server.join().unwrap();
        }
    }
}

pub fn find_in(text: &str, needle: &str, shift: u32) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not found"));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text[line_start..offset].encode_utf16().count() as u32;
    (line, column + shift)
}
