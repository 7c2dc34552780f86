//! Hundreds of random edits (half-typed YAML, multibyte characters, positions inside surrogate
//! pairs and past line ends) with requests in between: the server never fails a request with
//! an internal error, and its final diagnostics equal a cold check of the final texts.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{Position, PublishDiagnosticsParams, Range, TextDocumentContentChangeEvent};
use serde_json::{json, Value};
use support::Client;

/// xorshift64*: deterministic and dependency-free.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&str] = &[
    "a",
    "x: ",
    ":",
    " ",
    "  ",
    "\n",
    "\n  ",
    "- ",
    "-",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "!include ",
    "!include ../includes/telecom_schema.yaml",
    "base_pipeline: _base_churn\n",
    "{{ var('x') }}",
    "framework: gbm",
    "primary_metric: roc_aucc",
    "ä",
    "😀",
    "名前",
    "\t",
    "\r\n",
    "training:\n  model_training:\n    fram",
    "schema_version: 1\n",
    "&a ",
    "*a",
    "---\n",
    "|",
    ">",
    "?",
    "%",
    "@",
    "`",
];

fn last_publications(client: &Client) -> BTreeMap<String, Vec<Value>> {
    let root = mbt_lsp::uri::from_path(&client.root);
    let mut out = BTreeMap::new();
    for notification in &client.notifications {
        if notification.method != PublishDiagnostics::METHOD {
            continue;
        }
        let params: PublishDiagnosticsParams =
            serde_json::from_value(notification.params.clone()).unwrap();
        let relative = params
            .uri
            .as_str()
            .trim_start_matches(root.as_str())
            .trim_start_matches('/')
            .to_string();
        let text = serde_json::to_string(&params.diagnostics)
            .unwrap()
            .replace(root.as_str(), "$ROOT");
        out.insert(relative, serde_json::from_str(&text).unwrap());
    }
    out.retain(|_, diagnostics: &mut Vec<Value>| !diagnostics.is_empty());
    out
}

#[test]
fn random_edits_never_break_the_server() {
    for seed in [
        0x5eed_1234_abcd_9876,
        0x0123_4567_89ab_cdef,
        0xdead_beef_f00d_cafe,
    ] {
        run(seed);
    }
}

fn run(seed: u64) {
    let mut client = Client::example();
    let files = [
        "pipelines/_base_churn.yaml",
        "pipelines/churn_gbm_v1.yaml",
        "includes/telecom_schema.yaml",
    ];
    let mut texts: Vec<String> = files.iter().map(|f| client.open(f)).collect();
    let mut versions = vec![1; files.len()];
    let mut random = Random(seed);
    for step in 0..400 {
        let which = random.below(files.len());
        let text = &mut texts[which];
        let lines = text.split('\n').count() as u32;
        let mut position = || {
            Position::new(
                random.below(lines as usize + 1) as u32,
                random.below(40) as u32,
            )
        };
        let (start, end) = (position(), position());
        let snippet = match random.below(3) {
            0 => String::new(),
            _ => SNIPPETS[random.below(SNIPPETS.len())].to_string(),
        };
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(start.min(end), start.max(end))),
            range_length: None,
            text: snippet.clone(),
        };
        mbt_lsp::position::apply_change(text, &change);
        versions[which] += 1;
        client.change_range(files[which], change.range, &snippet, versions[which]);
        if step % 7 == 0 {
            let (line, character) = (random.below(lines as usize) as u32, random.below(30) as u32);
            let uri = client.uri(files[which]);
            let position = json!({"line": line, "character": character});
            let document = json!({"uri": uri});
            let requests = [
                (
                    "textDocument/completion",
                    json!({"textDocument": document, "position": position}),
                ),
                (
                    "textDocument/hover",
                    json!({"textDocument": document, "position": position}),
                ),
                (
                    "textDocument/definition",
                    json!({"textDocument": document, "position": position}),
                ),
                (
                    "textDocument/references",
                    json!({"textDocument": document, "position": position, "context": {"includeDeclaration": true}}),
                ),
                (
                    "textDocument/documentSymbol",
                    json!({"textDocument": document}),
                ),
                (
                    "textDocument/foldingRange",
                    json!({"textDocument": document}),
                ),
                (
                    "textDocument/formatting",
                    json!({"textDocument": document, "options": {"tabSize": 2, "insertSpaces": true}}),
                ),
                (
                    "textDocument/inlayHint",
                    json!({"textDocument": document, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 200, "character": 0}}}),
                ),
            ];
            let (method, params) = requests[random.below(requests.len())].clone();
            if let Err(error) = client.request_raw(method, params) {
                // Only "the document changed" is an acceptable failure.
                assert_eq!(error["code"], -32801, "{method} at step {step}: {error}");
            }
        }
    }
    // The final state of every open document has been published...
    for (index, file) in files.iter().enumerate() {
        let version = versions[index];
        client.diagnostics_where(file, |p| p.version == Some(version));
    }
    // A round trip: every publication of the final pass was sent before this answer.
    let document = json!({"textDocument": {"uri": client.uri(files[0])}});
    let _ = client.request_raw("textDocument/documentSymbol", document);
    let published = last_publications(&client);

    // ...and equals a cold check of the final texts.
    let cold_dir = support::example_copy();
    let cold_root = cold_dir.path().canonicalize().unwrap();
    for (file, text) in files.iter().zip(&texts) {
        std::fs::write(cold_root.join(file), text).unwrap();
    }
    let host = mbt_lsp::workspace::ProjectHost::load(cold_root.clone(), support::options());
    let cold =
        mbt_lsp::diagnostics::compute(&host.db, &cold_root, &host.invalid_utf8, &BTreeSet::new());
    let cold_uri = mbt_lsp::uri::from_path(&cold_root);
    let cold: BTreeMap<String, Vec<Value>> = cold
        .files
        .into_iter()
        .map(|(path, diagnostics)| {
            let text = serde_json::to_string(&diagnostics)
                .unwrap()
                .replace(cold_uri.as_str(), "$ROOT");
            (path, serde_json::from_str(&text).unwrap())
        })
        .collect();
    assert_eq!(published, cold, "seed {seed:#x}");
    assert!(
        !cold.is_empty(),
        "the random edits should leave some errors"
    );
    client.shutdown();
}
