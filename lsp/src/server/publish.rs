//! Diagnostics, from an edit to the client: generations, diagnostics passes on database clones
//! in worker threads, and the publication of their results (only while their generation is
//! current), plus messages shown to the user.
//!
//! The main loop calls [`Server::schedule_diagnostics`] after each burst of messages and
//! [`Server::on_internal`] with a worker's result. This module must not compute diagnostics
//! itself (that is `crate::diagnostics`, exactly `mbt check`), must not change a project's
//! inputs, and uses no sibling module: `sync` calls into it, never the reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use lsp_server::Notification;
use lsp_types::notification::{self, Notification as _};
use lsp_types::{MessageType, PublishDiagnosticsParams, ShowMessageParams};

use super::{internal_error, panic_message, Server};
use crate::diagnostics::{self, Published, Retained};

/// A worker's result, sent back to the main loop.
pub(super) enum Internal {
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
        retained: Retained,
    },
    Crashed(String),
}

/// Drops query results on a thread of their own (freeing a thousand trees takes milliseconds).
fn release(retained: Retained) {
    if !retained.is_empty() {
        std::thread::spawn(move || drop(retained));
    }
}

impl Server {
    /// Records an input change of `relative` in project `index`: a new generation, to be checked.
    pub(super) fn mark_changed(&mut self, index: usize, relative: &str) {
        let state = &mut self.projects[index];
        state.generation += 1;
        state.dirty = true;
        state.changed.insert(relative.to_string());
    }

    /// Starts a diagnostics pass on a clone of every project changed since the last one.
    pub(super) fn schedule_diagnostics(&mut self) {
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
                    let published = diagnostics::compute(&db, &root, &invalid, &changed);
                    (published, diagnostics::retain(&db))
                }));
                drop(db);
                match result {
                    Ok((published, retained)) => {
                        let _ = sender.send(Internal::Diagnostics {
                            root,
                            generation,
                            published,
                            retained,
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

    /// A worker's result: published if its generation is still current.
    pub(super) fn on_internal(&mut self, event: Internal) {
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
                retained,
            } => {
                let Some(index) = self.projects.iter().position(|p| p.host.root == root) else {
                    release(retained);
                    return;
                };
                // The results of the pass before the previous one are no longer salsa's: after
                // the next input change, these references are their last.
                let state = &mut self.projects[index];
                state.retained.push_back(retained);
                while state.retained.len() > 2 {
                    release(state.retained.pop_front().expect("not empty"));
                }
                if state.generation != generation {
                    return; // Outdated: a newer pass is scheduled.
                }
                self.publish_all(index, published);
            }
            Internal::Crashed(message) => self.show(
                MessageType::ERROR,
                internal_error(&format!(" while checking the project: {message}")),
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

    /// Sends `textDocument/publishDiagnostics` for a path of the project at `root`.
    pub(super) fn publish(
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

    /// Shows a message to the user (`window/showMessage`).
    pub(super) fn show(&self, typ: MessageType, message: String) {
        let notification = Notification::new(
            notification::ShowMessage::METHOD.to_string(),
            ShowMessageParams { typ, message },
        );
        let _ = self.sender.send(notification.into());
    }
}
