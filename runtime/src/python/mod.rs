//! The Python bridge: runs a project's `lib.module.function` hooks (custom transforms,
//! validators and metrics) in a Python subprocess.
//!
//! Frames travel as Parquet files in a private temporary directory, the run context as JSON
//! (the manifest never holds secret values, so neither does the context). One subprocess runs
//! a whole chain of transforms, so pandas is imported once per step, not once per function.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use polars::prelude::DataFrame;
use serde_json::{json, Value};

use crate::error::{coded, Code};
use crate::frame;

const BRIDGE: &str = include_str!("bridge.py");

/// The interpreter and the project whose modules it imports.
pub struct PythonBridge {
    interpreter: OsString,
    project: PathBuf,
}

/// What a custom validator decided.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub message: String,
}

impl PythonBridge {
    /// The interpreter is `$MBT_PYTHON`, else the project's `.venv`, else `python3` on PATH.
    pub fn new(project: &Path) -> PythonBridge {
        let venv = project.join(".venv").join("bin").join("python");
        let interpreter = std::env::var_os("MBT_PYTHON")
            .filter(|value| !value.is_empty())
            .or_else(|| venv.is_file().then(|| venv.into_os_string()))
            .unwrap_or_else(|| "python3".into());
        PythonBridge {
            interpreter,
            project: project.to_path_buf(),
        }
    }

    /// The interpreter and the versions of Python, pandas and pyarrow (`mbt debug`), or the
    /// coded error a hook would meet.
    pub fn probe(&self) -> anyhow::Result<String> {
        const PROBE: &str = "import sys, pandas, pyarrow; print(sys.version.split()[0], pandas.__version__, pyarrow.__version__)";
        let shown = self.interpreter.to_string_lossy().into_owned();
        let output = self.run(
            PROBE,
            &[],
            "`lib` hooks",
            "install Python 3 with `pip install pandas pyarrow`, or set MBT_PYTHON to an interpreter that has them",
        )?;
        let text = String::from_utf8_lossy(&output.stdout);
        match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [python, pandas, pyarrow] if output.status.success() => Ok(format!(
                "{shown}: Python {python}, pandas {pandas}, pyarrow {pyarrow}"
            )),
            _ => Err(coded(
                Code::PythonUnavailable,
                format!("`{shown}` cannot import pandas and pyarrow"),
                "install pandas and pyarrow for that interpreter, or set MBT_PYTHON",
            )),
        }
    }

    /// The interpreter hooks run in.
    pub fn interpreter(&self) -> &OsStr {
        &self.interpreter
    }

    /// Runs `python -c script args...` in the project folder, the project on `PYTHONPATH`,
    /// hashing deterministic and no bytecode written. An interpreter that does not exist is
    /// MBT4007 saying that `needed_by` needs it, with `install` as the help.
    pub fn run(
        &self,
        script: &str,
        args: &[&OsStr],
        needed_by: &str,
        install: &str,
    ) -> anyhow::Result<std::process::Output> {
        let mut path = OsString::from(self.project.as_os_str());
        if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path.push(":");
            path.push(existing);
        }
        let shown = self.interpreter.to_string_lossy();
        match Command::new(&self.interpreter)
            .arg("-c")
            .arg(script)
            .args(args)
            .current_dir(&self.project)
            .env("PYTHONPATH", path)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONHASHSEED", "0")
            .output()
        {
            Ok(output) => Ok(output),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(coded(
                Code::PythonUnavailable,
                format!("Python interpreter `{shown}` not found: {needed_by} needs Python 3"),
                install,
            )),
            Err(error) => Err(error).with_context(|| format!("cannot start `{shown}`")),
        }
    }

    /// Runs `functions` in order, each `fn(df, context) -> DataFrame`.
    pub fn transform(
        &self,
        functions: &[String],
        input: &DataFrame,
        context: &Value,
    ) -> anyhow::Result<DataFrame> {
        let dir = self.workdir(context)?;
        std::fs::write(dir.path().join("input.parquet"), frame::to_parquet(input)?)?;
        self.call("transform", functions, dir.path())?;
        let bytes = std::fs::read(dir.path().join("output.parquet"))
            .context("the Python bridge wrote no output")?;
        frame::from_parquet(bytes).with_context(|| {
            format!(
                "the frame returned by {} cannot be read back",
                functions.join(", ")
            )
        })
    }

    /// Runs `fn(df, context) -> (passed, message)`.
    pub fn validate(
        &self,
        function: &str,
        input: &DataFrame,
        context: &Value,
    ) -> anyhow::Result<Verdict> {
        let dir = self.workdir(context)?;
        std::fs::write(dir.path().join("input.parquet"), frame::to_parquet(input)?)?;
        self.call("validate", &[function.to_string()], dir.path())?;
        let output = read_json(dir.path())?;
        Ok(Verdict {
            passed: output["passed"].as_bool().unwrap_or(false),
            message: output["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Runs `fn(y_true, y_score) -> float` on plain lists (no pandas needed).
    pub fn metric(&self, function: &str, y_true: &[f64], y_score: &[f64]) -> anyhow::Result<f64> {
        let dir = self.workdir(&json!({}))?;
        let input = json!({"y_true": y_true, "y_score": y_score});
        std::fs::write(dir.path().join("input.json"), serde_json::to_vec(&input)?)?;
        self.call("metric", &[function.to_string()], dir.path())?;
        read_json(dir.path())?["value"]
            .as_f64()
            .with_context(|| format!("`{function}` returned a value that is not a finite number"))
    }

    fn workdir(&self, context: &Value) -> anyhow::Result<tempfile::TempDir> {
        let dir = tempfile::Builder::new()
            .prefix("mbt-python-")
            .tempdir()
            .context("cannot create a temporary directory for the Python bridge")?;
        std::fs::write(
            dir.path().join("context.json"),
            serde_json::to_vec(context)?,
        )?;
        Ok(dir)
    }

    fn call(&self, mode: &str, functions: &[String], dir: &Path) -> anyhow::Result<()> {
        let mut args: Vec<&OsStr> = vec![OsStr::new(mode), dir.as_os_str()];
        args.extend(functions.iter().map(OsStr::new));
        let output = self.run(
            BRIDGE,
            &args,
            &functions.join(", "),
            "install Python 3 with `pip install pandas pyarrow`, or set MBT_PYTHON to an interpreter that has them",
        )?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(message) = stderr
            .lines()
            .find_map(|line| line.strip_prefix("MBT-BRIDGE: "))
        {
            return Err(if output.status.code() == Some(3) {
                coded(
                    Code::PythonUnavailable,
                    message,
                    "install pandas and pyarrow for that interpreter, or set MBT_PYTHON",
                )
            } else {
                coded(
                    Code::PythonFunctionFailed,
                    message,
                    "check the function's name and what it returns: a transform returns a DataFrame, a validator (passed, message), a metric a number",
                )
            });
        }
        Err(coded(
            Code::PythonFunctionFailed,
            raised(functions, &stderr, &self.project),
            "fix the function; the traceback above shows where it raised",
        ))
    }
}

/// "lib.x.f raised KeyError: 'tenure' (lib/x.py:38)", then the traceback's tail.
fn raised(functions: &[String], stderr: &str, project: &Path) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let last = lines
        .iter()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or("no message", |line| line.trim());
    let prefix = format!("File \"{}/", project.display());
    // The deepest frame inside the project: where the user's code failed.
    let location = lines
        .iter()
        .rev()
        .filter_map(|line| line.trim().strip_prefix(&prefix))
        .find_map(|rest| {
            let (file, rest) = rest.split_once("\", line ")?;
            let line = rest.split(',').next()?;
            Some(format!(" ({file}:{line})"))
        })
        .unwrap_or_default();
    let tail: Vec<&str> = lines.iter().rev().take(12).rev().copied().collect();
    format!(
        "{} raised {last}{location}\n{}",
        functions.join(" → "),
        tail.join("\n")
    )
}

fn read_json(dir: &Path) -> anyhow::Result<Value> {
    let bytes =
        std::fs::read(dir.join("output.json")).context("the Python bridge wrote no output")?;
    serde_json::from_slice(&bytes).context("the Python bridge wrote invalid JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_exception_names_the_function_and_the_user_line() {
        let project = Path::new("/p");
        let stderr = "Traceback (most recent call last):\n  File \"<string>\", line 9, in <module>\n  File \"/p/lib/t.py\", line 38, in compute\n    x = df['tenure']\nKeyError: 'tenure'\n";
        let message = raised(&["lib.t.compute".into()], stderr, project);
        assert!(
            message.starts_with("lib.t.compute raised KeyError: 'tenure' (lib/t.py:38)"),
            "{message}"
        );
    }
}
