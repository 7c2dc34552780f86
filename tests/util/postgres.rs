//! A real PostgreSQL server for one test: a fresh cluster (`initdb`, SCRAM passwords) in a
//! temporary folder, listening on 127.0.0.1 at a free port, stopped (immediately) when dropped,
//! also when the test fails.
//!
//! The server's programs come from `$MBT_POSTGRES_BIN` (scripts/test.sh installs Debian's
//! `postgresql-15` and sets it to `/usr/lib/postgresql/15/bin`). `initdb` refuses to run as
//! root, so as root the cluster belongs to the `postgres` user the package creates.
//! Shared by the root package's tests and the runtime's (through `#[path]`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The login every test cluster has.
pub const USER: &str = "mbt";
/// Its password (tests pass it to MBT as a secret and check that it never shows).
pub const PASSWORD: &str = "pg-secret-4711";
pub const DATABASE: &str = "analytics";

pub struct Postgres {
    bin: PathBuf,
    folder: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
    running: bool,
    /// More `-c name=value` settings of the server.
    settings: Vec<String>,
}

/// The server's programs, or `None` with the reason printed (a failure in CI, where a test that
/// skips never runs).
pub fn bin_or_skip(test: &str) -> Option<PathBuf> {
    let why = match std::env::var_os("MBT_POSTGRES_BIN").filter(|p| !p.is_empty()) {
        Some(path) if Path::new(&path).join("initdb").is_file() => {
            return Some(PathBuf::from(path))
        }
        Some(path) => format!("MBT_POSTGRES_BIN={} has no initdb", path.to_string_lossy()),
        None => "MBT_POSTGRES_BIN is not set".to_string(),
    };
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0");
    assert!(!ci, "{test}: {why} (scripts/test.sh installs PostgreSQL)");
    eprintln!("skipping {test}: {why}");
    None
}

impl Postgres {
    /// A new cluster with the database [`DATABASE`], owned by [`USER`], started.
    pub fn start(bin: &Path) -> Postgres {
        Postgres::start_with(bin, |_| Vec::new())
    }

    /// Like [`Postgres::start`], with server settings made from the cluster's folder (for files
    /// placed there, e.g. TLS keys: `ssl=on`, `ssl_cert_file=...`).
    pub fn start_with(bin: &Path, settings: impl FnOnce(&Path) -> Vec<String>) -> Postgres {
        let folder = tempfile::Builder::new()
            .prefix("mbt-pg-")
            .tempdir()
            .expect("temporary folder");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(folder.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster folder failed");
        }
        let port = free_port();
        let mut server = Postgres {
            bin: bin.to_path_buf(),
            folder,
            port,
            as_postgres,
            running: false,
            settings: Vec::new(),
        };
        server.settings = settings(server.folder.path());
        if as_postgres {
            // Files the settings name (keys) belong to the server's user too.
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.folder.path())
                .status()
                .unwrap();
        }
        let pwfile = server.folder.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if as_postgres {
            Command::new("chown")
                .arg("postgres:postgres")
                .arg(&pwfile)
                .status()
                .unwrap();
        }
        let data = server.data();
        server.check(
            server
                .tool("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "--auth=scram-sha-256",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        server.start_again();
        server.psql(&format!("CREATE DATABASE {DATABASE}"), "postgres");
        server
    }

    /// Starts the (stopped) server on its port again.
    pub fn start_again(&mut self) {
        let mut options = format!(
            // Every statement logged: tests read what MBT sent (`log`).
            "-h 127.0.0.1 -p {} -k {} -c fsync=off -c log_statement=all",
            self.port,
            self.folder.path().display()
        );
        for setting in &self.settings {
            options.push_str(&format!(" -c {setting}"));
        }
        let log = self.folder.path().join("server.log");
        let data = self.data();
        self.check(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(&log)
                .args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        self.running = true;
    }

    /// Stops the server at once (connections are cut).
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.running = false;
        }
    }

    /// Runs `sql` with psql in `database` (stops at the first error) and returns its output
    /// (unaligned, tuples only: `a|b` per row).
    pub fn psql(&self, sql: &str, database: &str) -> String {
        let output = self.try_psql(sql, database);
        assert!(
            output.status.success(),
            "psql failed on:\n{sql}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    pub fn try_psql(&self, sql: &str, database: &str) -> Output {
        self.psql_command(database)
            .args(["-c", sql])
            .output()
            .expect("run psql")
    }

    /// Runs the SQL file `file` (relative to `cwd`, where its `\copy` paths start) in
    /// [`DATABASE`].
    pub fn psql_file(&self, cwd: &Path, file: &str) {
        let output = self
            .psql_command(DATABASE)
            .current_dir(cwd)
            .args(["-f", file])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql -f {file} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn psql_command(&self, database: &str) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args([
                "-d",
                database,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .env("PGPASSWORD", PASSWORD);
        command
    }

    /// The cluster's folder (files for settings go here).
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn check(&self, command: &mut Command, what: &str) {
        let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            output.status.success(),
            "{what} failed:\n{}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
