//! A local `mlflow server` for a `sqlite:///FILE` tracking URI: MLflow's own code owns the
//! store's schema, MBT talks to it over REST like to any server. Started on loopback for one run
//! in its own process group, and stopped (the whole group) when the run ends or the adapter is
//! dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::adapters::process::{free_port, ServerProcess};
use crate::adapters::rest::{Auth, Rest, MLFLOW};
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
    process: ServerProcess,
    pub url: String,
}

impl LocalServer {
    /// Starts `mlflow` on `store` with artifacts under `artifacts` (MLflow's default
    /// `./mlartifacts` of the project, where `mlflow ui` run there finds them), and waits until
    /// it answers.
    pub fn start(mlflow: &Path, store: &Path, artifacts: &Path) -> anyhow::Result<LocalServer> {
        let port = free_port()?;
        let mut command = Command::new(mlflow);
        command
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", store.display()))
            .arg("--artifacts-destination")
            .arg(artifacts)
            .args(["--workers", "1"])
            // Without it MLflow 3 starts job workers: seven more processes and 2 GB.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false");
        let process = ServerProcess::spawn(command, "mlflow").map_err(|error| {
            coded(
                Code::AdapterFailed,
                format!("cannot start {}: {error}", mlflow.display()),
                "install MLflow (`pip install mlflow`) or set MBT_MLFLOW to its `mlflow` executable",
            )
        })?;
        let mut server = LocalServer {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        let rest = Rest::new(&MLFLOW, &server.url, Auth::None).once();
        if let Err(why) = server
            .process
            .wait_ready(READY_WITHIN, || rest.get_bytes("/health").is_ok())
        {
            return Err(coded(
                Code::AdapterFailed,
                format!(
                    "the local MLflow server for {} did not start: {why}\n{}",
                    store.display(),
                    server.process.log_tail(15)
                ),
                "check that MLflow runs (`mlflow server --help`) and the store file is writable",
            ));
        }
        Ok(server)
    }

    /// Stops the server's whole process group (gunicorn/uvicorn workers included).
    pub fn stop(&mut self) {
        self.process.stop();
    }
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
