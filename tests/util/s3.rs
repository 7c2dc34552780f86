//! A real S3-compatible server for one test: the `s3s-fs` server of the s3s project (crates.io;
//! scripts/test.sh builds it once into ~/.cache/mbt/s3s-fs and sets `$MBT_S3_SERVER`), storing
//! objects as files in a temporary folder, with SigV4 authentication on, listening on 127.0.0.1
//! at a free port; killed when dropped, also when the test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "mbt-test-access";
/// The secret key (tests pass it to MBT as a secret and check that it never shows).
pub const SECRET_KEY: &str = "s3-secret-8315";

pub struct S3Server {
    child: Child,
    folder: tempfile::TempDir,
    pub endpoint: String,
    pub port: u16,
}

/// The server's program, or `None` with the reason printed (a failure in CI).
pub fn bin_or_skip(test: &str) -> Option<PathBuf> {
    let why = match std::env::var_os("MBT_S3_SERVER").filter(|p| !p.is_empty()) {
        Some(path) if Path::new(&path).is_file() => return Some(PathBuf::from(path)),
        Some(path) => format!("MBT_S3_SERVER={} does not exist", path.to_string_lossy()),
        None => "MBT_S3_SERVER is not set".to_string(),
    };
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0");
    assert!(!ci, "{test}: {why} (scripts/test.sh builds s3s-fs)");
    eprintln!("skipping {test}: {why}");
    None
}

impl S3Server {
    /// A server with the buckets `buckets` (folders of its root).
    pub fn start(bin: &Path, buckets: &[&str]) -> S3Server {
        let folder = tempfile::Builder::new()
            .prefix("mbt-s3-")
            .tempdir()
            .expect("temporary folder");
        std::fs::create_dir_all(folder.path().join("data")).unwrap();
        for bucket in buckets {
            std::fs::create_dir_all(folder.path().join("data").join(bucket)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(folder.path().join("server.log")).unwrap();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(folder.path().join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start s3s-fs");
        let mut server = S3Server {
            child,
            folder,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("s3s-fs exited ({status}):\n{}", server.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("s3s-fs did not listen within 30 s:\n{}", server.log());
    }

    /// The folder holding bucket `bucket`'s objects (each key a file path).
    pub fn bucket_folder(&self, bucket: &str) -> PathBuf {
        self.folder.path().join("data").join(bucket)
    }

    /// Every object key of `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        fn walk(root: &Path, folder: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        let root = self.bucket_folder(bucket);
        let mut keys = Vec::new();
        walk(&root, &root, &mut keys);
        keys.retain(|key| !key.starts_with(".") && !key.contains("/."));
        keys.sort();
        keys
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
