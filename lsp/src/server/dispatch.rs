//! Requests: routing each method to its handler, and running the handler on a [`Snapshot`] of
//! the document's project in a worker thread behind the panic/cancellation boundary (a panic
//! answers `MBT9001`, a cancelled query answers `ContentModified`).
//!
//! Handlers are the feature modules' functions of a snapshot (`crate::completion`, ...), or of
//! the params alone for requests that need no project loaded (`mbt/describeFile`). This
//! module must not change a project's inputs or publish anything; it uses `sync` (to locate
//! the document's project) and `snapshot`, and no sibling uses it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lsp_server::{ErrorCode, Request, RequestId, Response};
use lsp_types::request::{self, Request as _};
use lsp_types::Uri;

use super::snapshot::Snapshot;
use super::{internal_error, panic_message, Server};

impl Server {
    /// Answers a request (other than `shutdown`, which the main loop handles).
    pub(super) fn on_request(&mut self, request: Request) {
        use crate::{actions, completion, definition, describe, format, hover, inlay, symbols};
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
            describe::METHOD => self.spawn_without_snapshot(request, describe::describe_file),
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
        };
        let Request { id, params, .. } = request;
        self.in_worker(id, move || {
            let result =
                serde_json::from_value::<P>(params).map(|params| handler(&snapshot, params));
            drop(snapshot);
            result
        });
    }

    /// Runs a handler that needs no project snapshot (it loads nothing) in a worker thread.
    fn spawn_without_snapshot<P, R>(&self, request: Request, handler: fn(P) -> R)
    where
        P: serde::de::DeserializeOwned + Send + 'static,
        R: serde::Serialize + 'static,
    {
        let Request { id, params, .. } = request;
        self.in_worker(id, move || serde_json::from_value::<P>(params).map(handler));
    }

    /// The boundary of every request: runs `work` in a worker thread and answers its result,
    /// `InvalidParams` when the params do not parse, `ContentModified` when an edit cancelled
    /// its queries, and `MBT9001` (`InternalError`) when it panicked.
    fn in_worker<R>(
        &self,
        id: RequestId,
        work: impl FnOnce() -> Result<R, serde_json::Error> + Send + 'static,
    ) where
        R: serde::Serialize + 'static,
    {
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            let response = match catch_unwind(AssertUnwindSafe(work)) {
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
                    internal_error(&format!(": {}", panic_message(&payload))),
                ),
            };
            let _ = sender.send(response.into());
        });
    }
}
