//! [`Snapshot`]: what a request handler sees, a database clone of one project and the document
//! asked about.
//!
//! A snapshot is read-only and short-lived: it is dropped as soon as its handler returns, because
//! an edit waits for every clone to drop before it sets an input. It must not hold anything of
//! the main loop (senders, project state) and must not outlive its request.

use std::path::{Path, PathBuf};

use lsp_types::Uri;
use mbt_compiler::{Database, SourceFile};

/// What a request handler sees: a snapshot of one project and the document asked about.
pub struct Snapshot {
    pub db: Database,
    pub root: PathBuf,
    /// The document's project-relative path.
    pub path: String,
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
