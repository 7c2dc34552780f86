//! `mbt/describeFile`: where a file sits in an MBT project (its root, project-relative path,
//! kind and pipeline name), so an editor's commands pick the project and pipeline `mbt` would
//! without re-implementing the rules.
//!
//! Every answer comes from the code the CLI and the server use: the root from
//! [`root_of_file`] (`mbt_host::find_root` from the file's folder), the skip rules from
//! `mbt_compiler::project::is_source_path`, the pipeline name from the compiler's
//! `pipeline_name`/`is_base_name`, the kind from [`schema_nav::file_kind`]. It only locates the
//! project: it must not load, read or check it (the file need not be open or even exist).

use std::path::Path;

use lsp_types::{TextDocumentIdentifier, Uri};
use mbt_compiler::project::is_source_path;
use mbt_compiler::queries::parse::{is_base_name, pipeline_name};
use serde::{Deserialize, Serialize};

use crate::schema_nav::{self, FileKind};
use crate::workspace::{document_path, root_of_file};

/// The request's method.
pub const METHOD: &str = "mbt/describeFile";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeFileParams {
    pub text_document: TextDocumentIdentifier,
}

/// The answer for a file inside a project (a file in no project is answered with `null`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct FileDescription {
    /// The project root, absolute.
    pub root: String,
    /// The file's path relative to the root, `/`-separated (the compiler's file paths).
    pub relative: String,
    pub kind: DescribedKind,
    /// The pipeline name of a `pipeline` or `base` file (the name `mbt` commands take).
    pub pipeline: Option<String>,
}

/// What the compiler makes of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DescribedKind {
    /// A pipeline under `pipelines/`, compiled on its own.
    Pipeline,
    /// A pipeline whose name starts with `_`: merged into others, not compiled alone.
    Base,
    /// Any other YAML source: a fragment that `!include` places into a pipeline.
    Include,
    /// The project's `profiles.yaml`.
    Profiles,
    /// A `tests/*.test.yaml` file.
    Test,
    /// Not a YAML source the compiler reads: Python, pyproject.toml, data, or anything the skip
    /// rules leave out (`target/`, hidden entries...).
    Other,
}

/// The request handler: the document's description, or `None` outside any project.
pub fn describe_file(params: DescribeFileParams) -> Option<FileDescription> {
    describe_uri(&params.text_document.uri)
}

pub fn describe_uri(uri: &Uri) -> Option<FileDescription> {
    describe_path(&document_path(uri)?)
}

/// The description of an absolute path (its folder canonicalized as [`document_path`] does).
pub fn describe_path(path: &Path) -> Option<FileDescription> {
    let root = root_of_file(path)?;
    let relative = mbt_host::relative_path(&root, path);
    let (kind, pipeline) = classify(&relative);
    let pipeline = pipeline.map(str::to_string);
    Some(FileDescription {
        root: root.to_string_lossy().into_owned(),
        relative,
        kind,
        pipeline,
    })
}

/// The kind and pipeline name of a project-relative path.
fn classify(relative: &str) -> (DescribedKind, Option<&str>) {
    if !is_source_path(relative) {
        return (DescribedKind::Other, None);
    }
    match schema_nav::file_kind(relative) {
        FileKind::Pipeline => match pipeline_name(relative) {
            Some(name) if is_base_name(name) => (DescribedKind::Base, Some(name)),
            Some(name) => (DescribedKind::Pipeline, Some(name)),
            None => (DescribedKind::Other, None),
        },
        FileKind::Fragment => (DescribedKind::Include, None),
        FileKind::Profiles => (DescribedKind::Profiles, None),
        FileKind::Tests => (DescribedKind::Test, None),
        FileKind::Other => (DescribedKind::Other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_compiler() {
        let cases = [
            (
                "pipelines/churn.yaml",
                DescribedKind::Pipeline,
                Some("churn"),
            ),
            (
                "pipelines/team/churn.yml",
                DescribedKind::Pipeline,
                Some("churn"),
            ),
            (
                "pipelines/my.model.yaml",
                DescribedKind::Pipeline,
                Some("my.model"),
            ),
            ("pipelines/_base.yaml", DescribedKind::Base, Some("_base")),
            ("includes/schema.yaml", DescribedKind::Include, None),
            ("profiles.yaml", DescribedKind::Profiles, None),
            ("tests/a.test.yaml", DescribedKind::Test, None),
            ("lib/x.py", DescribedKind::Other, None),
            ("pyproject.toml", DescribedKind::Other, None),
            ("pipelines/readme.md", DescribedKind::Other, None),
            ("pipelines/.draft.yaml", DescribedKind::Other, None),
            ("pipelines/.old/a.yaml", DescribedKind::Other, None),
            ("pipelines/target/a.yaml", DescribedKind::Other, None),
            ("target/churn/manifest.yaml", DescribedKind::Other, None),
            ("node_modules/x/a.yaml", DescribedKind::Other, None),
        ];
        for (relative, kind, pipeline) in cases {
            assert_eq!(classify(relative), (kind, pipeline), "{relative}");
        }
    }
}
