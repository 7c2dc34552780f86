//! A server an adapter starts for one run (a local `mlflow server`, a local H2O node): spawned
//! on loopback in its own process group with its output in a log file, polled until ready, and
//! stopped as a whole group (workers and child JVMs included) when the run ends or the value is
//! dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running server process; stopped when dropped.
pub struct ServerProcess {
    child: Child,
    log: PathBuf,
}

impl ServerProcess {
    /// Spawns `command` in its own process group, its output in a temporary log named after
    /// `name`. The error is the spawn's (the caller codes it).
    pub fn spawn(mut command: Command, name: &str) -> anyhow::Result<ServerProcess> {
        let log = std::env::temp_dir().join(format!(
            "mbt-{name}-{}-{}.log",
            std::process::id(),
            free_port().unwrap_or(0)
        ));
        let output = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn()?;
        Ok(ServerProcess { child, log })
    }

    /// Polls `ready` every 250 ms until it answers true; the error says why not (the process
    /// exited, or `within` passed).
    pub fn wait_ready(
        &mut self,
        within: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status})"));
            }
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!("it did not answer within {} s", within.as_secs()))
    }

    /// The last `lines` lines of the server's log, for an error message.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Stops the whole process group: TERM, then KILL after 10 s (and KILL for whatever the
    /// leader left behind).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            let _ = std::fs::remove_file(&self.log);
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
                let _ = signal("-KILL");
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port free on 127.0.0.1 now (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}
