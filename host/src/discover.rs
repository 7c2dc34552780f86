//! Finding a project and its files: the root marker search and the directory walk with the
//! compiler's shared skip rules (`mbt_compiler::project`).

use std::path::{Path, PathBuf};

use mbt_compiler::project::{is_skipped_entry, is_source_file_name};

/// The project root holding `start` (a directory): the nearest ancestor that is one
/// ([`is_project_root`]).
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|directory| is_project_root(directory))
        .map(Path::to_path_buf)
}

/// An MBT project's root holds profiles.yaml, or a pyproject.toml beside `pipelines/` (a Python
/// project that is not an MBT project, such as a library's repository, is not one).
pub fn is_project_root(directory: &Path) -> bool {
    directory.join("profiles.yaml").is_file()
        || (directory.join("pyproject.toml").is_file() && directory.join("pipelines").is_dir())
}

/// Every entry under `root` in name order, skipping what the compiler's rules skip (hidden
/// entries, target/, local_artifacts/...).
pub fn project_walk(root: &Path) -> ProjectWalk {
    ProjectWalk(walkdir::WalkDir::new(root).sort_by_file_name())
}

/// A directory walk with the project's skip rules ([`project_walk`]).
pub struct ProjectWalk(walkdir::WalkDir);

impl ProjectWalk {
    pub fn max_depth(self, depth: usize) -> ProjectWalk {
        ProjectWalk(self.0.max_depth(depth))
    }
}

impl IntoIterator for ProjectWalk {
    type Item = walkdir::Result<walkdir::DirEntry>;
    type IntoIter = Box<dyn Iterator<Item = Self::Item>>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.0.into_iter().filter_entry(|entry| {
            entry.depth() == 0
                || !is_skipped_entry(
                    &entry.file_name().to_string_lossy(),
                    entry.file_type().is_dir(),
                )
        }))
    }
}

/// Every source file under `root` (`*.yaml`, `*.yml`, `*.py`, `pyproject.toml`), in name order.
pub fn source_files(root: &Path) -> Vec<PathBuf> {
    project_walk(root)
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry.file_type().is_file()
                && entry.file_name().to_str().is_some_and(is_source_file_name)
        })
        .map(|entry| entry.into_path())
        .collect()
}

/// `path` relative to `root`, `/`-separated (the compiler's file paths); `path` itself when it
/// is outside.
pub fn relative_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) => relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_the_walk_follow_the_skip_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "profiles.yaml",
            "pipelines/a.yaml",
            "lib/x.py",
            "target/a/manifest.yaml",
            ".git/config.yaml",
            "sample_data/t.csv",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        assert_eq!(find_root(&root.join("pipelines")).as_deref(), Some(root));
        let found: Vec<String> = source_files(root)
            .iter()
            .map(|path| relative_path(root, path))
            .collect();
        assert_eq!(found, ["lib/x.py", "pipelines/a.yaml", "profiles.yaml"]);
    }

    #[test]
    fn a_pyproject_makes_a_root_only_beside_pipelines() {
        let dir = tempfile::tempdir().unwrap();
        // A Python repository (pyproject.toml, no pipelines/) holding an MBT project below it.
        let repo = dir.path();
        let project = repo.join("analytics");
        std::fs::write(repo.join("pyproject.toml"), "").unwrap();
        std::fs::create_dir_all(project.join("pipelines")).unwrap();
        std::fs::create_dir_all(repo.join("docs")).unwrap();
        assert!(!is_project_root(repo));
        assert_eq!(find_root(&repo.join("docs")), None);
        // The project is a root once its pyproject.toml sits beside its pipelines/.
        assert_eq!(find_root(&project.join("pipelines")), None);
        std::fs::write(project.join("pyproject.toml"), "").unwrap();
        assert_eq!(
            find_root(&project.join("pipelines")).as_deref(),
            Some(&*project)
        );
    }
}
