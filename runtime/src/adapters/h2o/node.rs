//! Finding Java and `h2o.jar`, and a local H2O node started for one run: on loopback only (the
//! REST port too), in its own process group with its own `-ice_root`, stopped with the run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mbt_contract::adapters::H2oClusterConfig;

use crate::adapters::process::{free_port, ServerProcess};
use crate::adapters::rest::{Auth, Rest};
use crate::error::{coded, Code};

/// A fresh node answers `/3/Cloud` in 12-20 s; a loaded machine may take longer.
const READY_WITHIN: Duration = Duration::from_secs(180);

const JAR_HELP: &str = "`pip install h2o==3.46.0.11` into the project's .venv, or set `h2o: {jar: PATH}` in the target (or MBT_H2O_JAR) to its `h2o/backend/bin/h2o.jar`; or point `h2o: {url: ...}` at a running cluster";

/// The `java` executable: `$JAVA_HOME/bin/java`, else `java` on PATH.
pub fn find_java() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("JAVA_HOME").filter(|home| !home.is_empty()) {
        let java = PathBuf::from(home).join("bin/java");
        if java.is_file() {
            return Ok(java);
        }
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|directory| directory.join("java"))
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| {
            coded(
                Code::JavaUnavailable,
                "framework `h2o_automl` needs Java, and there is no `java` on PATH (nor in JAVA_HOME)",
                "install Java 17 (Debian: `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME",
            )
        })
}

/// `h2o.jar`: the target's `h2o.jar` (relative to the project), `$MBT_H2O_JAR`, or the `h2o`
/// package in the project's `.venv`.
pub fn find_jar(config: &H2oClusterConfig, project: &Path) -> anyhow::Result<PathBuf> {
    let missing = |path: &Path, from: &str| {
        coded(
            Code::JavaUnavailable,
            format!("{from} names {}, which does not exist", path.display()),
            JAR_HELP,
        )
    };
    if let Some(jar) = &config.jar {
        let path = project.join(jar);
        return path
            .is_file()
            .then_some(path.clone())
            .ok_or_else(|| missing(&path, "the target's `h2o: {jar}`"));
    }
    if let Some(jar) = std::env::var_os("MBT_H2O_JAR").filter(|jar| !jar.is_empty()) {
        let path = PathBuf::from(jar);
        return path
            .is_file()
            .then_some(path.clone())
            .ok_or_else(|| missing(&path, "MBT_H2O_JAR"));
    }
    let lib = project.join(".venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|entry| entry.path().join("site-packages/h2o/backend/bin/h2o.jar"))
            .find(|jar| jar.is_file())
    });
    found.ok_or_else(|| {
        coded(
            Code::JavaUnavailable,
            "framework `h2o_automl` found no `h2o.jar` to start a local H2O node or score a MOJO with",
            JAR_HELP,
        )
    })
}

/// A local H2O node; stopped (the JVM and its `-ice_root`) when dropped.
pub struct LocalNode {
    process: ServerProcess,
    pub url: String,
    /// Removed when dropped, after the process (fields drop in order).
    _ice_root: tempfile::TempDir,
}

impl LocalNode {
    pub fn start(config: &H2oClusterConfig, project: &Path) -> anyhow::Result<LocalNode> {
        let java = find_java()?;
        let jar = find_jar(config, project)?;
        let port = free_port()?;
        let ice_root = tempfile::Builder::new()
            .prefix("mbt-h2o-")
            .tempdir()
            .map_err(|error| {
                coded(
                    Code::AdapterFailed,
                    format!("cannot create a folder for the local H2O node: {error}"),
                    "check that the temporary folder (TMPDIR) is writable",
                )
            })?;
        let mut command = Command::new(&java);
        command.arg(format!("-Xmx{}", config.max_mem.as_deref().unwrap_or("2g")));
        command
            .arg("-jar")
            .arg(&jar)
            .args(["-ip", "127.0.0.1", "-web_ip", "127.0.0.1"])
            .args(["-port", &port.to_string()])
            .args(["-name", &format!("mbt-{}-{port}", std::process::id())])
            .arg("-ice_root")
            .arg(ice_root.path());
        if let Some(threads) = config.nthreads {
            command.args(["-nthreads", &threads.to_string()]);
        }
        let process = ServerProcess::spawn(command, "h2o").map_err(|error| {
            coded(
                Code::JavaUnavailable,
                format!("cannot start {}: {error}", java.display()),
                "install Java 17 or set JAVA_HOME",
            )
        })?;
        let mut node = LocalNode {
            process,
            url: format!("http://127.0.0.1:{port}"),
            _ice_root: ice_root,
        };
        let rest = Rest::new(&super::cluster::H2O, &node.url, Auth::None).once();
        let healthy = || {
            rest.get_json("/3/Cloud", &[])
                .is_ok_and(|cloud| cloud["cloud_healthy"] == true && cloud["consensus"] == true)
        };
        if let Err(why) = node.process.wait_ready(READY_WITHIN, healthy) {
            return Err(coded(
                Code::AdapterFailed,
                format!(
                    "the local H2O node ({}) did not start: {why}\n{}",
                    jar.display(),
                    node.process.log_tail(15)
                ),
                "check that `java -jar h2o.jar` runs and that `h2o: {max_mem}` fits the machine",
            ));
        }
        Ok(node)
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }
}
