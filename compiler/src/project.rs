//! Which paths of a project directory are sources: the skip rules every host shares.
//!
//! Pure predicates over names and project-relative paths; no I/O. The CLI's directory walk and
//! the language server's scan and file-watch events use the same rules, so both load the same
//! files.

/// Directories never scanned for sources (build output, artifacts, tool caches).
pub const SKIPPED_DIRS: &[&str] = &[
    "target",
    "local_artifacts",
    "local_registry",
    "node_modules",
    "__pycache__",
    "predictions",
    "dags",
];

/// Is a directory entry (below the project root) skipped, with everything under it?
/// Hidden entries (`.git`, `.venv`, `.env`...) are skipped, and so are [`SKIPPED_DIRS`].
pub fn is_skipped_entry(name: &str, is_dir: bool) -> bool {
    name.starts_with('.') || (is_dir && SKIPPED_DIRS.contains(&name))
}

/// Is a file name one the compiler reads (`*.yaml`, `*.yml`, `*.py`, `pyproject.toml`)?
pub fn is_source_file_name(name: &str) -> bool {
    name == "pyproject.toml"
        || [".yaml", ".yml", ".py"]
            .iter()
            .any(|extension| name.len() > extension.len() && name.ends_with(extension))
}

/// Is a project-relative, `/`-separated path a source file the host loads?
pub fn is_source_path(relative: &str) -> bool {
    let mut components: Vec<&str> = relative.split('/').collect();
    let Some(file_name) = components.pop() else {
        return false;
    };
    !file_name.is_empty()
        && !is_skipped_entry(file_name, false)
        && is_source_file_name(file_name)
        && components
            .iter()
            .all(|directory| !directory.is_empty() && !is_skipped_entry(directory, true))
}

/// The `name` under `[project]` in pyproject.toml (just enough TOML for that one key).
pub fn pyproject_name(text: &str) -> Option<String> {
    let mut in_project = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_project = line == "[project]";
            continue;
        }
        if in_project {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
            {
                return Some(
                    value
                        .trim()
                        .trim_matches(|c| c == '"' || c == '\'')
                        .to_string(),
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_project_name() {
        let text = "[build-system]\nname = \"x\"\n[project]\nversion = \"1\"\nname = \"telecom-churn-example\"\n";
        assert_eq!(
            pyproject_name(text).as_deref(),
            Some("telecom-churn-example")
        );
    }

    #[test]
    fn source_paths() {
        assert!(is_source_path("pipelines/a.yaml"));
        assert!(is_source_path("includes/deep/s.yml"));
        assert!(is_source_path("lib/custom.py"));
        assert!(is_source_path("pyproject.toml"));
        assert!(is_source_path("profiles.yaml"));
        assert!(!is_source_path("target/a/manifest.yaml"));
        assert!(!is_source_path("sub/node_modules/x.yaml"));
        assert!(!is_source_path(".github/workflows/ci.yaml"));
        assert!(!is_source_path("pipelines/.a.yaml"));
        assert!(!is_source_path("sample_data/customers.csv"));
        assert!(!is_source_path("lib/__pycache__/x.py"));
        assert!(!is_source_path("pipelines/"));
        assert!(!is_source_path(""));
        // A file (not a directory) may be named like a skipped directory.
        assert!(is_source_path("pipelines/target.yaml"));
    }
}
