//! Shared helpers for the end-to-end tests: run the real `mbt` binary in a temporary directory
//! with a clean environment, and copy example projects there.
//!
//! Nothing here knows about compiler internals; tests only see exit codes and printed text.

#![allow(dead_code)] // Each test binary uses a different subset.

pub mod postgres;
pub mod s3;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The root of the workspace (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mbt` binary under test.
pub fn mbt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mbt"))
}

/// A temporary workspace: `home/` (an empty `$HOME`, so `~/.mbt` does not exist) and room for
/// projects. Everything is deleted on drop.
pub struct Sandbox {
    dir: tempfile::TempDir,
    /// The canonical path of `dir` (temp dirs can sit behind symlinks), used for filtering.
    root: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("mbt-cli-test")
            .tempdir()
            .expect("create a temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        std::fs::create_dir(root.join("home")).expect("create home");
        Sandbox { dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// Copies `examples/<name>` into the sandbox (without build outputs) and returns its path.
    pub fn copy_example(&self, name: &str) -> PathBuf {
        let source = repo_root().join("examples").join(name);
        let destination = self.root.join(name);
        copy_tree(&source, &destination);
        destination
    }

    /// Starts an `mbt` command (with `--color never`) run in `cwd`.
    pub fn mbt(&self, cwd: &Path) -> Mbt {
        let mut command = Command::new(mbt_bin());
        clean_env(&mut command, &self.home());
        command.current_dir(cwd).arg("--color").arg("never");
        Mbt {
            command,
            sandbox_root: self.root.clone(),
            keep: self.dir.path().to_path_buf(),
        }
    }
}

/// Empties the environment of `command`, keeping only `PATH`, and points `HOME` at `home`.
pub fn clean_env(command: &mut Command, home: &Path) {
    command.env_clear();
    command.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("HOME", home);
}

/// A pending `mbt` invocation.
pub struct Mbt {
    command: Command,
    sandbox_root: PathBuf,
    keep: PathBuf,
}

impl Mbt {
    pub fn args<I, S>(mut self, args: I) -> Mbt
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        for arg in args {
            self.command.arg(arg.into());
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Mbt {
        self.command.env(key, value.into());
        self
    }

    /// Runs the command to completion. Paths of the sandbox in the output become `[TMP]`.
    pub fn run(mut self) -> Output {
        // `mbt explain` prints the docs of every code, the bug codes included.
        let explains = self.command.get_args().any(|arg| arg == "explain");
        let output = self.command.output().expect("run mbt");
        let filter = |bytes: &[u8]| {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for root in [&self.sandbox_root, &self.keep] {
                text = text.replace(&root.display().to_string(), "[TMP]");
            }
            text
        };
        let output = Output {
            code: output.status.code(),
            stdout: filter(&output.stdout),
            stderr: filter(&output.stderr),
        };
        // Every expected failure has its own code; MBT9001/MBT9002 mean a bug in MBT, and no
        // test's run may show one.
        for bug in ["MBT9001", "MBT9002"] {
            assert!(
                explains || !(output.stdout.contains(bug) || output.stderr.contains(bug)),
                "a run reported {bug} (a bug in MBT):\n{output}"
            );
        }
        output
    }
}

/// What a finished command printed, with sandbox paths filtered.
#[derive(Debug)]
pub struct Output {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with the whole output unless the command exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}, got {:?}\n{self}",
            self.code
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Output {
        self.expect_code(0)
    }
}

/// Exit code, stdout and stderr in one text, the form snapshots take.
impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => writeln!(f, "exit code: {code}")?,
            None => writeln!(f, "exit code: killed by a signal")?,
        }
        writeln!(f, "----- stdout -----")?;
        write!(f, "{}", self.stdout)?;
        writeln!(f, "----- stderr -----")?;
        write!(f, "{}", self.stderr)
    }
}

/// Directories of an example that are build outputs, never copied.
const SKIPPED: &[&str] = &["target", "local_artifacts", "local_registry", "mlruns"];

/// Copies a directory tree, leaving out build outputs and hidden directories.
pub fn copy_tree(source: &Path, destination: &Path) {
    std::fs::create_dir_all(destination).expect("create destination");
    let mut entries: Vec<_> = std::fs::read_dir(source)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", source.display()))
        .map(|entry| entry.expect("directory entry"))
        .collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        let file_type = entry.file_type().expect("file type");
        let target = destination.join(&name);
        if file_type.is_dir() {
            if SKIPPED.contains(&name_text.as_ref()) || name_text.starts_with('.') {
                continue;
            }
            copy_tree(&entry.path(), &target);
        } else if file_type.is_file() {
            if name_text == "mlruns.db" {
                continue;
            }
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Replaces `from` by `to` in the file at `path`; panics if `from` is not there exactly once.
#[track_caller]
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read file to edit");
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected `{from}` exactly once in {}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).expect("write edited file");
}

/// Reads `target/<pipeline>/manifest.json` of `project` as JSON.
#[track_caller]
pub fn read_manifest(project: &Path, pipeline: &str) -> serde_json::Value {
    let path = project.join("target").join(pipeline).join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// The step names of a manifest, in execution order.
pub fn execution_order(manifest: &serde_json::Value) -> Vec<String> {
    manifest["dag"]["execution_order"]
        .as_array()
        .expect("dag.execution_order is an array")
        .iter()
        .map(|step| step.as_str().expect("step name").to_string())
        .collect()
}

/// Whether the env var is set to a non-empty value.
pub fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| !value.is_empty() && value != "0")
}

/// An external tool the test drives, from the environment variable `var` (a path; scripts/test.sh
/// installs each and sets it). `None` with a printed reason when it is not there, except in CI
/// (`$CI` set), where the test fails instead: a test skipped in CI never runs.
pub fn tool_or_skip(var: &str, test: &str) -> Option<PathBuf> {
    let why = match std::env::var_os(var).filter(|p| !p.is_empty()) {
        Some(path) if Path::new(&path).is_file() => return Some(PathBuf::from(path)),
        Some(path) => format!("{var}={} does not exist", path.to_string_lossy()),
        None => format!("{var} is not set"),
    };
    assert!(
        !env_flag("CI"),
        "{test}: {why} (scripts/test.sh installs it)"
    );
    eprintln!("skipping {test}: {why}");
    None
}

/// A Python with pandas and pyarrow for the custom-function bridge: `$MBT_TEST_PYTHON`, which
/// scripts/test.sh sets up. Tests that need it fail (not skip) without it.
pub fn python() -> OsString {
    std::env::var_os("MBT_TEST_PYTHON")
        .filter(|value| !value.is_empty())
        .expect("set MBT_TEST_PYTHON to a python with pandas and pyarrow (scripts/test.sh does)")
}

/// H2O-3's jar for the example's `churn_h2o_v1` (`mbt debug` checks it): `$MBT_H2O_JAR`, which
/// scripts/test.sh sets up. Tests that need it fail (not skip) without it.
pub fn h2o_jar() -> OsString {
    std::env::var_os("MBT_H2O_JAR")
        .filter(|value| !value.is_empty())
        .expect("set MBT_H2O_JAR to H2O-3's h2o.jar (scripts/test.sh does)")
}
