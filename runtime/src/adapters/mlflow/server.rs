//! A local `mlflow server` for a `sqlite:///FILE` tracking URI: MLflow's own code owns the
//! store's schema, MBT talks to it over REST like to any server. Started on loopback for one run
//! in its own process group, and stopped (the whole group) when the run ends or the adapter is
//! dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::rest::{Auth, Rest};
use crate::error::{coded, Code};

/// How long MLflow may take to answer `/health` (mostly Python imports: 30-50 s is typical).
const READY_WITHIN: Duration = Duration::from_secs(180);

/// The `mlflow` executable: `$MBT_MLFLOW`, the project's `.venv`, or `mlflow` on PATH.
pub fn find_mlflow(project: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MBT_MLFLOW").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let venv = project.join(".venv/bin/mlflow");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join("mlflow"))
        .find(|candidate| candidate.is_file())
}

/// The store file of `sqlite:///FILE` (relative to the project unless absolute: `sqlite:////abs`).
pub fn sqlite_file(tracking_uri: &str, project: &Path) -> Option<PathBuf> {
    let file = tracking_uri.strip_prefix("sqlite:///")?;
    Some(if file.starts_with('/') {
        PathBuf::from(file)
    } else {
        project.join(file)
    })
}

/// A running `mlflow server`; stopped when dropped.
pub struct LocalServer {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl LocalServer {
    /// Starts `mlflow` on `store` with artifacts under `artifacts` (MLflow's default
    /// `./mlartifacts` of the project, where `mlflow ui` run there finds them), and waits until
    /// it answers.
    pub fn start(mlflow: &Path, store: &Path, artifacts: &Path) -> anyhow::Result<LocalServer> {
        let port = free_port()?;
        let log =
            std::env::temp_dir().join(format!("mbt-mlflow-{}-{port}.log", std::process::id()));
        let output = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(mlflow);
        command
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", store.display()))
            .arg("--artifacts-destination")
            .arg(artifacts)
            .args(["--workers", "1"])
            // Without it MLflow 3 starts job workers: seven more processes and 2 GB.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|error| {
            coded(
                Code::AdapterFailed,
                format!("cannot start {}: {error}", mlflow.display()),
                "install MLflow (`pip install mlflow`) or set MBT_MLFLOW to its `mlflow` executable",
            )
        })?;
        let mut server = LocalServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready(store)?;
        Ok(server)
    }

    fn wait_ready(&mut self, store: &Path) -> anyhow::Result<()> {
        let rest = Rest::new(&self.url, Auth::None).once();
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failed(store, &format!("it exited ({status})")));
            }
            if rest.get_bytes("/health").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(self.failed(
            store,
            &format!("it did not answer within {} s", READY_WITHIN.as_secs()),
        ))
    }

    fn failed(&self, store: &Path, why: &str) -> anyhow::Error {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        coded(
            Code::AdapterFailed,
            format!(
                "the local MLflow server for {} did not start: {why}\n{}",
                store.display(),
                tail.join("\n")
            ),
            "check that MLflow runs (`mlflow server --help`) and the store file is writable",
        )
    }

    /// Stops the server's whole process group (gunicorn/uvicorn workers included).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| {
            Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status()
        };
        let _ = signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = signal("-KILL"); // workers the parent left behind
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = signal("-KILL");
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_uris_name_a_file_relative_to_the_project() {
        let project = Path::new("/p");
        assert_eq!(
            sqlite_file("sqlite:///mlruns.db", project),
            Some(PathBuf::from("/p/mlruns.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:////var/mlflow.db", project),
            Some(PathBuf::from("/var/mlflow.db"))
        );
        assert_eq!(sqlite_file("http://127.0.0.1:5000", project), None);
    }
}
