//! The `.pre-commit-hooks.yaml` of this repository, run by the real pre-commit.
//!
//! pre-commit comes from `$MBT_PRE_COMMIT` (a path; `.ci/run` installs it) or from PATH. Without
//! it the test is skipped with a printed reason, except in CI (`$CI` set), where it fails.
//!
//! `pre_commit_hook_checks_the_project` uses the `mbt-check-system` hook (the `mbt` under test,
//! put first on PATH). `mbt_check_hook_installs_from_a_clone` takes the path a user takes: the
//! `mbt-check` hook from a clone of this repository, which pre-commit installs by building `mbt`
//! (pyproject.toml: maturin, the compile side only) in a cold target directory; it prints how
//! long that first run took (`scripts/test.sh` shows it). Both hooks share `entry`, `files` and
//! `pass_filenames`, which a third test asserts.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::{clean_env, copy_tree, env_flag, repo_root, Sandbox};

/// The pre-commit executable, or why there is none.
fn find_pre_commit() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("MBT_PRE_COMMIT").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("MBT_PRE_COMMIT={} does not exist", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join("pre-commit"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "no pre-commit on PATH and MBT_PRE_COMMIT is not set".to_string())
}

/// A command with a clean environment: PATH starts with the directory of the `mbt` under test,
/// HOME and PRE_COMMIT_HOME are in the sandbox, git needs no user configuration.
fn command(sandbox: &Sandbox, program: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(program);
    clean_env(&mut command, &sandbox.home());
    let mbt_dir = util::mbt_bin().parent().unwrap().to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(mbt_dir).chain(std::env::split_paths(&path))).unwrap();
    command
        .current_dir(cwd)
        .env("PATH", path)
        .env("LANG", "C.UTF-8")
        .env("PRE_COMMIT_HOME", sandbox.path().join("pre-commit-home"))
        .env("PRE_COMMIT_COLOR", "never")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "mbt tests")
        .env("GIT_AUTHOR_EMAIL", "tests@mbt.invalid")
        .env("GIT_COMMITTER_NAME", "mbt tests")
        .env("GIT_COMMITTER_EMAIL", "tests@mbt.invalid");
    command
}

/// Runs `command`, returning (success, stdout + stderr).
fn run(mut command: Command) -> (bool, String) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn git(sandbox: &Sandbox, cwd: &Path, args: &[&str]) {
    let mut command = command(sandbox, Path::new("git"), cwd);
    command.args(args);
    let (ok, text) = run(command);
    assert!(ok, "git {args:?} failed:\n{text}");
}

/// A git repository holding `files`, committed.
fn init_repo(sandbox: &Sandbox, directory: &Path) {
    git(
        sandbox,
        directory,
        &["init", "--quiet", "--initial-branch=main"],
    );
    git(sandbox, directory, &["add", "--all"]);
    git(
        sandbox,
        directory,
        &[
            "-c",
            "user.name=mbt tests",
            "-c",
            "user.email=tests@mbt.invalid",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "initial",
        ],
    );
}

#[test]
fn pre_commit_hook_checks_the_project() {
    let Some(pre_commit) = pre_commit_or_skip("pre_commit_hook_checks_the_project") else {
        return;
    };
    let sandbox = Sandbox::new();

    // The hook repository: this repository's hook definitions, committed. (try-repo on the
    // working tree itself would miss an uncommitted, untracked `.pre-commit-hooks.yaml`.)
    let hooks_repo = sandbox.path().join("hooks-repo");
    std::fs::create_dir(&hooks_repo).unwrap();
    std::fs::copy(
        repo_root().join(".pre-commit-hooks.yaml"),
        hooks_repo.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    init_repo(&sandbox, &hooks_repo);

    // The user's repository: the example project at its root.
    let project = sandbox.path().join("project");
    copy_tree(&repo_root().join("examples/telecom-churn"), &project);
    std::fs::write(project.join(".gitignore"), "target/\nlocal_artifacts/\n").unwrap();
    init_repo(&sandbox, &project);

    let try_repo = || {
        let mut command = command(&sandbox, &pre_commit, &project);
        command.arg("try-repo").arg(&hooks_repo).args([
            "mbt-check-system",
            "--all-files",
            "--verbose",
        ]);
        run(command)
    };

    let (ok, text) = try_repo();
    assert!(ok, "pre-commit failed on a valid project:\n{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("mbt check") && line.ends_with("Passed")),
        "{text}"
    );
    // --verbose shows what `mbt check` printed: every pipeline was checked.
    assert!(
        text.contains("checked 7 pipeline(s) and 2 test file(s): 0 errors"),
        "{text}"
    );

    // Break the base pipeline: the derived pipelines fail.
    let base = project.join("pipelines/_base_churn.yaml");
    util::edit(&base, "primary_metric: roc_auc", "primary_metric: roc_aucc");
    git(&sandbox, &project, &["add", "pipelines/_base_churn.yaml"]);
    let (ok, text) = try_repo();
    assert!(!ok, "pre-commit passed on a broken project:\n{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("mbt check") && line.ends_with("Failed")),
        "{text}"
    );
    assert!(text.contains("[MBT2003] Error"), "{text}");
    assert!(text.contains("pipelines/_base_churn.yaml:"), "{text}");
}

/// pre-commit, or `None` (with the reason printed) outside CI when it is not installed.
fn pre_commit_or_skip(test: &str) -> Option<PathBuf> {
    match find_pre_commit() {
        Ok(path) => Some(path),
        Err(reason) if env_flag("CI") => {
            panic!("pre-commit is required in CI (.ci/run installs it): {reason}")
        }
        Err(reason) => {
            eprintln!("skipped {test}: {reason}");
            None
        }
    }
}

/// The user's path: `pre-commit try-repo CLONE mbt-check` on a project, where CLONE holds this
/// repository's tracked files. It installs the hook (maturin builds `mbt` in the clone's own,
/// empty target directory), then checks.
#[test]
fn mbt_check_hook_installs_from_a_clone() {
    let Some(pre_commit) = pre_commit_or_skip("mbt_check_hook_installs_from_a_clone") else {
        return;
    };
    let sandbox = Sandbox::new();
    let clone = sandbox.path().join("mbt-clone");
    copy_tracked_files(&repo_root(), &clone);
    init_repo(&sandbox, &clone);

    let project = sandbox.path().join("project");
    copy_tree(&repo_root().join("examples/telecom-churn"), &project);
    std::fs::write(project.join(".gitignore"), "target/\nlocal_artifacts/\n").unwrap();
    init_repo(&sandbox, &project);

    // One pipeline broken, one valid. try-repo installs into a temporary store every time, so
    // one run covers both: the install, then `mbt check` on the two files.
    util::edit(
        &project.join("pipelines/churn_gbm_v1.yaml"),
        "framework: gbm",
        "framework: gmb",
    );
    let mut try_repo = command(&sandbox, &pre_commit, &project);
    // The toolchain and the crate registry of this machine (a user has them) and pip's settings
    // (an index mirror, certificates). No CARGO_TARGET_DIR: the build is cold.
    for (key, value) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("PIP_") || name.starts_with("SSL_CERT") {
            try_repo.env(&key, value);
        }
    }
    let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home.join(".rustup"));
    try_repo
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .arg("try-repo")
        .arg(&clone)
        .args(["mbt-check", "--verbose", "--files"])
        .args([
            "pipelines/churn_gbm_v1.yaml",
            "pipelines/churn_forest_v1.yaml",
        ]);
    let started = std::time::Instant::now();
    let (ok, text) = run(try_repo);
    let seconds = started.elapsed().as_secs_f64();

    assert!(
        text.contains("[INFO] Installing environment for"),
        "the hook was not installed:\n{text}"
    );
    assert!(!ok, "the mbt-check hook passed a broken pipeline:\n{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("mbt check") && line.ends_with("Failed")),
        "{text}"
    );
    // The hook's `mbt` checked both files and found the one error, with its fix.
    assert!(
        text.contains("checked 2 pipeline(s) and 0 test file(s): 1 error, 0 warnings"),
        "{text}"
    );
    assert!(
        text.contains("[MBT2015] Error: unknown framework `gmb`"),
        "{text}"
    );
    assert!(text.contains("pipelines/churn_gbm_v1.yaml:14:16"), "{text}");
    assert!(text.contains("did you mean `gbm`?"), "{text}");
    println!("pre-commit try-repo mbt-check, first run on a cold build: {seconds:.1} s (install + check)");
}

/// Copies the files git tracks in `source` (with their working-tree contents) to `destination`.
fn copy_tracked_files(source: &Path, destination: &Path) {
    let output = Command::new("git")
        .current_dir(source)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git ls-files");
    assert!(output.status.success(), "git ls-files failed");
    for name in output.stdout.split(|byte| *byte == 0) {
        let name = std::str::from_utf8(name).expect("UTF-8 path");
        let from = source.join(name);
        // Deleted in the working tree, or a directory: nothing to copy.
        if name.is_empty() || !from.is_file() {
            continue;
        }
        let to = destination.join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
}

/// `mbt-check` (built by pre-commit) and `mbt-check-system` differ only in how `mbt` is found.
#[test]
fn both_hooks_agree() {
    let text = std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<&str> = text
        .split("\n- id: ")
        .skip(1)
        .map(|hook| hook.trim_end())
        .collect();
    assert_eq!(hooks.len(), 2, "{text}");
    let (built, system) = (hooks[0], hooks[1]);
    assert!(built.starts_with("mbt-check\n"), "{built}");
    assert!(system.starts_with("mbt-check-system\n"), "{system}");
    assert!(built.contains("\n  language: python\n"), "{built}");
    assert!(system.contains("\n  language: system\n"), "{system}");
    let shared = |hook: &str| -> Vec<String> {
        hook.lines()
            .filter(|line| {
                [
                    "  entry:",
                    "  files:",
                    "  pass_filenames:",
                    "  require_serial:",
                    "  name:",
                ]
                .iter()
                .any(|key| line.starts_with(key))
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(shared(built).len(), 5, "{built}");
    assert_eq!(shared(built), shared(system));
}
