//! Keeping the projects in step with the editor and the disk: the projects by root (found and
//! loaded on first sight), and every notification in order: didOpen/didChange (incremental
//! UTF-16 edits)/didSave/didClose, watched files and workspace folders.
//!
//! Each change sets the project's inputs and marks it changed (`publish` schedules the pass).
//! This module must not run compiler queries, answer requests or publish diagnostics other than
//! clearing those of a removed project; it uses `publish` and `capabilities`, never `dispatch`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use lsp_server::Notification;
use lsp_types::notification::{self, Notification as _};
use lsp_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidChangeWorkspaceFoldersParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams, MessageType,
    Uri,
};

use super::{internal_error, ProjectState, Server};
use crate::position::apply_change;
use crate::workspace::{document_path, find_root, root_of_file, ProjectHost};

impl Server {
    /// Loads the project of a workspace folder (or `--project-dir`): the folder itself when it
    /// is a project root, else the project above it.
    pub(super) fn add_folder(&mut self, folder: &Path) {
        if let Some(root) = find_root(folder) {
            self.add_project(root);
        }
    }

    fn add_project(&mut self, root: PathBuf) -> usize {
        let root = root.canonicalize().unwrap_or(root);
        if let Some(index) = self.projects.iter().position(|p| p.host.root == root) {
            return index;
        }
        let host = ProjectHost::load(root, self.options.clone());
        self.projects.push(ProjectState::new(host));
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
        let root = root_of_file(path)?;
        Some(self.add_project(root))
    }

    /// The project of a document and its project-relative path; with `load`, a project seen for
    /// the first time is loaded.
    pub(super) fn locate(&mut self, uri: &Uri, load: bool) -> Option<(usize, String)> {
        let path = document_path(uri)?;
        let index = self.project_of(&path, load)?;
        let relative = self.projects[index].host.relative(&path)?;
        Some((index, relative))
    }

    /// Applies a notification; a panic shows `MBT9001` and the server goes on.
    pub(super) fn on_notification(&mut self, notification: Notification) {
        let method = notification.method.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.dispatch_notification(notification)
        }));
        if outcome.is_err() {
            self.show(
                MessageType::ERROR,
                internal_error(&format!(" while handling `{method}`")),
            );
        }
    }

    fn dispatch_notification(&mut self, notification: Notification) {
        match notification.method.as_str() {
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

    /// Forgets the projects under a removed folder and clears what was published for them.
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
}
