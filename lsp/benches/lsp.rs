//! Benchmark of the language server on a generated project (not a timed test): cold start
//! (initialize + didOpen) to the opened pipeline's first diagnostics and to the whole project
//! published, didChange on one pipeline → its diagnostics published, didChange on the
//! shared base → every dependent's diagnostics published, completion and hover latency.
//!
//! Run with `cargo bench -p mbt-lsp --bench lsp`, or `bash bench/lsp_client.sh` for the figures
//! a user's editor sees: the same client, talking to a release `mbt lsp` over stdio. The project
//! comes from `bench/generate_project.py DIR N` (python3). Environment: `MBT_BENCH_PIPELINES`
//! (default 1000), `MBT_BENCH_RUNS` (default 20), `MBT_BENCH_SERVER` (an `mbt` binary: run
//! `mbt lsp` as a child process over stdio; without it the server runs in process on an
//! in-memory connection, the same main loop without the stdio framing).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::io::BufReader;
use std::process::{Child, Stdio};

struct Client {
    connection: Connection,
    next_id: i32,
}

impl Client {
    fn send_request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.connection
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .unwrap();
        loop {
            match self.recv() {
                Message::Response(response) if response.id == id => {
                    return response.response_result.unwrap_or(Value::Null)
                }
                _ => {}
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    fn recv(&self) -> Message {
        self.connection
            .receiver
            .recv_timeout(Duration::from_secs(120))
            .expect("the server answers")
    }

    /// Waits for publications until `done(uri, diagnostics, version)` returns true.
    fn wait(&self, mut done: impl FnMut(&str, &[Value], Option<i64>) -> bool) {
        loop {
            if let Message::Notification(n) = self.recv() {
                if n.method == "textDocument/publishDiagnostics" {
                    let uri = n.params["uri"].as_str().unwrap_or_default();
                    let diagnostics = n.params["diagnostics"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if done(uri, &diagnostics, n.params["version"].as_i64()) {
                        return;
                    }
                }
            }
        }
    }
}

/// The server under measurement: `mbt lsp` as a child process (stdio, as an editor runs it)
/// or the same main loop in a thread on an in-memory connection.
struct Server {
    child: Option<Child>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(binary: Option<PathBuf>) -> (Server, Connection) {
        let Some(binary) = binary else {
            let (server_side, client_side) = Connection::memory();
            let thread = std::thread::spawn(move || {
                mbt_lsp::run(
                    server_side,
                    mbt_lsp::Config {
                        options: mbt_lsp::workspace::CompileOptions::default(),
                        roots: Vec::new(),
                        debug_requests: false,
                    },
                )
                .unwrap()
            });
            let server = Server {
                child: None,
                thread: Some(thread),
            };
            return (server, client_side);
        };
        let mut child = Command::new(&binary)
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {} lsp: {error}", binary.display()));
        // Two pump threads frame messages on the child's stdio (the editor's side of the pipe).
        let (to_server, outgoing) = crossbeam_channel::unbounded::<Message>();
        let (incoming, from_server) = crossbeam_channel::unbounded::<Message>();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            for message in outgoing {
                if message.write(&mut stdin).is_err() {
                    break;
                }
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            while let Ok(Some(message)) = Message::read(&mut stdout) {
                if incoming.send(message).is_err() {
                    break;
                }
            }
        });
        let server = Server {
            child: Some(child),
            thread: None,
        };
        let connection = Connection {
            sender: to_server,
            receiver: from_server,
        };
        (server, connection)
    }

    /// Waits for the server to exit; says how it ran.
    fn stop(mut self) -> String {
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
            return "in process".to_string();
        }
        let status = self.child.as_mut().unwrap().wait().unwrap();
        assert!(status.success(), "mbt lsp exited with {status}");
        "client over stdio (mbt lsp child process)".to_string()
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn position(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).expect("needle in text");
    let line = text[..offset].matches('\n').count();
    let start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    json!({"line": line, "character": offset - start + shift})
}

fn main() {
    let pipelines: usize = std::env::var("MBT_BENCH_PIPELINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let runs: usize = std::env::var("MBT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().canonicalize().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/generate_project.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(&root)
        .arg(pipelines.to_string())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "generate_project.py failed");
    let uri = |relative: &str| {
        mbt_lsp::uri::from_path(&root.join(relative))
            .as_str()
            .to_string()
    };
    let one = "pipelines/p0001.yaml";
    let base = "pipelines/_base.yaml";
    let one_text = std::fs::read_to_string(root.join(one)).unwrap();
    let base_text = std::fs::read_to_string(root.join(base)).unwrap();

    // Cold start: initialize (loads the project) → open a pipeline and the shared base → the
    // pipeline's first diagnostics (published before the whole project is checked), then the
    // base's (published by the whole-project pass: a base's problems come from its dependents).
    let start = Instant::now();
    let (server, client_side) =
        Server::start(std::env::var_os("MBT_BENCH_SERVER").map(PathBuf::from));
    let mut client = Client {
        connection: client_side,
        next_id: 0,
    };
    client.send_request(
        "initialize",
        json!({"capabilities": {}, "workspaceFolders": [{"uri": mbt_lsp::uri::from_path(&root), "name": "bench"}]}),
    );
    client.notify("initialized", json!({}));
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(one), "languageId": "yaml", "version": 1, "text": one_text}}),
    );
    let one_uri = uri(one);
    let base_uri = uri(base);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": base_uri, "languageId": "yaml", "version": 1, "text": base_text}}),
    );
    let mut cold = None;
    client.wait(|u, _, version| {
        if u == one_uri && version == Some(1) && cold.is_none() {
            cold = Some(start.elapsed());
        }
        u == base_uri && version == Some(1)
    });
    let cold_full = start.elapsed();
    let cold = cold.unwrap_or(cold_full);

    // didOpen of another derived pipeline once the project is loaded and checked (what an
    // editor does when the user opens a second file) → its first diagnostics.
    let mut opens = Vec::new();
    for run in 0..runs {
        let other = format!(
            "pipelines/p{:04}.yaml",
            2 + run * (pipelines - 2) / runs.max(1)
        );
        let other_uri = uri(&other);
        let text = std::fs::read_to_string(root.join(&other)).unwrap();
        let started = Instant::now();
        client.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": other_uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        client.wait(|u, _, v| u == other_uri && v == Some(1));
        opens.push(started.elapsed());
        client.notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": other_uri}}),
        );
    }

    // didChange on one pipeline → its diagnostics: a typo (an error to show) and its fix,
    // alternating.
    let mut version = 1;
    let mut single = Vec::new();
    for run in 0..runs {
        version += 1;
        let typo = run % 2 == 0;
        let text = if typo {
            one_text.replacen("test_size:", "test_sise:", 1)
        } else {
            one_text.clone()
        };
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": one_uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
        let wanted = version;
        client.wait(|u, diagnostics, v| {
            u == one_uri && v == Some(wanted) && diagnostics.is_empty() != typo
        });
        single.push(started.elapsed());
    }
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": one_uri, "version": version + 1}, "contentChanges": [{"text": one_text}]}),
    );
    version += 1;
    let wanted = version;
    client.wait(|u, _, v| u == one_uri && v == Some(wanted));

    // didChange on the shared base: break it (every dependent shows the error), then fix it
    // (every dependent clears).
    let mut base_version = 1;
    let mut broken_times = Vec::new();
    let mut fixed_times = Vec::new();
    for _ in 0..runs.clamp(1, 5) {
        for broken in [true, false] {
            base_version += 1;
            let text = if broken {
                base_text.replace("primary_metric: roc_auc", "primary_metric: roc_aucc")
            } else {
                base_text.clone()
            };
            let started = Instant::now();
            client.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": base_uri, "version": base_version}, "contentChanges": [{"text": text}]}),
            );
            let mut seen: BTreeSet<String> = BTreeSet::new();
            client.wait(|u, diagnostics, _| {
                if u.contains("/pipelines/p") && diagnostics.is_empty() != broken {
                    seen.insert(u.to_string());
                }
                seen.len() == pipelines
            });
            if broken {
                broken_times.push(started.elapsed())
            } else {
                fixed_times.push(started.elapsed())
            }
        }
    }

    // Completion (framework value) and hover (a key) on the open pipeline.
    let completion_at = position(&one_text, "framework: ", 11);
    let hover_at = position(&one_text, "test_size", 2);
    let mut completions = Vec::new();
    let mut hovers = Vec::new();
    for _ in 0..runs.max(50) {
        let started = Instant::now();
        let items = client.send_request(
            "textDocument/completion",
            json!({"textDocument": {"uri": one_uri}, "position": completion_at}),
        );
        completions.push(started.elapsed());
        assert!(items.as_array().is_some_and(|i| !i.is_empty()), "{items}");
        let started = Instant::now();
        let hover = client.send_request(
            "textDocument/hover",
            json!({"textDocument": {"uri": one_uri}, "position": hover_at}),
        );
        hovers.push(started.elapsed());
        assert!(hover.get("contents").is_some(), "{hover}");
    }
    client.send_request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    let how = server.stop();

    println!("mbt lsp on {pipelines} generated pipelines, {how} ({runs} runs; medians):");
    println!("  cold start to first diagnostics:            {}", ms(cold));
    println!(
        "  cold start to whole project published:      {}",
        ms(cold_full)
    );
    println!(
        "  didOpen another derived pipeline -> diags:  {} (min {})",
        ms(median(opens.clone())),
        ms(*opens.iter().min().unwrap())
    );
    println!(
        "  didChange one pipeline (typo/fix) -> diags: {} (min {})",
        ms(median(single.clone())),
        ms(*single.iter().min().unwrap())
    );
    println!(
        "  didChange base (error) -> all dependents:   {} (min {})",
        ms(median(broken_times.clone())),
        ms(*broken_times.iter().min().unwrap())
    );
    println!(
        "  didChange base (fix) -> all dependents:     {} (min {})",
        ms(median(fixed_times.clone())),
        ms(*fixed_times.iter().min().unwrap())
    );
    println!(
        "  completion:                                 {}",
        ms(median(completions))
    );
    println!(
        "  hover:                                      {}",
        ms(median(hovers))
    );
}
