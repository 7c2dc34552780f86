//! Fixture-driven diagnostics corpus.
//!
//! Every `fixtures/invalid/<area>/<case>.yaml` is a small project written as one multi-file text:
//!
//! ```text
//! # expect: MBT2001 pipelines/p.yaml:7:3     (code, file, 1-based line and column of the primary span)
//! # expect: MBT2202 -                        (a diagnostic without a source location)
//! # vars: k=v,k2=v2                          (optional: --vars)
//! # env: K=V,K2=V2                           (optional: the environment env_var() reads)
//! # target: staging                          (optional: --target)
//! # profile: name                            (optional: --profile)
//! # profiles-required: true                  (optional: --profiles-dir was given)
//! # allow: MBT2102                           (valid fixtures only: warnings that may appear)
//! # never-shown: s3cr3t                      (a value no diagnostic may print, e.g. a password)
//! # catalog: cached|unavailable               (optional: how the host read the data catalog)
//! #--- pipelines/p.yaml
//! schema_version: 1
//! ...
//! #--- includes/s.yaml
//! ...
//! ```
//!
//! Lines of a file are numbered from the line after its `#---` marker. `profiles.yaml` becomes the
//! project's profiles file and `pyproject.toml` only supplies the project name; `data/<t>.csv`
//! becomes table `t` of the data catalog (read as the host reads it); every other file is a
//! project file. Each `# expect:` must match a diagnostic of `check_project`, and the
//! rendered diagnostics of every fixture are snapshot-tested (`snapshots/diagnostics__*.snap`).
//! Every fixture under `fixtures/valid/` must check without errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mbt_compiler::contract::catalog::{infer_csv, TableSchema};
use mbt_compiler::db::CatalogState;
use mbt_compiler::diagnostics::render::{render_all, RenderConfig};
use mbt_compiler::diagnostics::{sort_and_dedup, Sources};
use mbt_compiler::queries::check::check_project;
use mbt_compiler::{Code, Database, Diagnostic, Settings, Severity};

/// Codes no fixture here can trigger, and where they are tested instead.
const COVERED_ELSEWHERE: &[(&str, &str)] = &[
    ("MBT4001", "runtime: a missing table; tests/run.rs"),
    ("MBT4002", "runtime: a corrupt CSV; tests/run.rs"),
    ("MBT4003", "runtime: a missing column; tests/run.rs"),
    ("MBT4004", "runtime: a failed validation; tests/run.rs"),
    ("MBT4005", "runtime: a join fan-out; tests/run.rs"),
    ("MBT4006", "runtime: a single-class label; tests/run.rs"),
    ("MBT4007", "runtime: a missing Python; tests/run.rs"),
    ("MBT4008", "runtime: a raising Python hook; tests/run.rs"),
    ("MBT4009", "runtime: bad SQL; tests/run.rs"),
    ("MBT4010", "runtime: an empty time window; tests/run.rs"),
    ("MBT4011", "runtime: an unknown run id; tests/run.rs"),
    (
        "MBT4012",
        "runtime: scoring data without a training column; tests/run.rs",
    ),
    ("MBT4013", "runtime: unwritable storage; tests/run.rs"),
    (
        "MBT9002",
        "runtime: an uncoded step error (a bug); runtime/src/run.rs unit test",
    ),
    ("MBT4014", "runtime: an unbound run_id; tests/run.rs"),
    (
        "MBT4015",
        "runtime: serving a model of a framework the runtime lacks; runtime/tests/steps.rs",
    ),
    (
        "MBT4016",
        "runtime: retrying from a manifest of another version; tests/run.rs",
    ),
    (
        "MBT4017",
        "runtime: a secret the provider does not have; runtime/src/adapters/registry.rs",
    ),
    (
        "MBT4018",
        "runtime: a connector that cannot start; runtime/tests/steps.rs",
    ),
    (
        "MBT4019",
        "runtime: a stopped MLflow server or H2O cluster; tests/mlflow.rs, tests/h2o.rs, runtime/src/adapters/rest.rs",
    ),
    (
        "MBT4020",
        "runtime: a server refusing a request; runtime/src/adapters/rest.rs",
    ),
    (
        "MBT4021",
        "runtime: a changed snapshot artifact; tests/mlflow.rs, runtime/src/snapshot.rs",
    ),
    (
        "MBT4022",
        "runtime: an empty leaderboard (H2O) or no candidate left (automl); runtime/src/adapters/h2o/mod.rs, runtime/src/adapters/automl/mod.rs",
    ),
    (
        "MBT4023",
        "runtime: h2o_automl without h2o.jar; tests/h2o.rs",
    ),
    (
        "MBT4025",
        "runtime: `mbt run` on a kubernetes target; tests/airflow.rs",
    ),
    (
        "MBT4024",
        "runtime: a publish the PostgreSQL table refuses; tests/postgres.rs, runtime/tests/postgres.rs",
    ),
    (
        "MBT1011",
        "compiling a base pipeline is a CLI argument error; tests/cli.rs",
    ),
    (
        "MBT0007",
        "invalid UTF-8 is detected by the host; tests/cli.rs",
    ),
    (
        "MBT1008",
        "pipeline-not-found is a CLI argument error; tests/cli.rs",
    ),
    ("MBT9001", "internal errors are bugs"),
];

/// Where a diagnostic is expected: a file position, or no location at all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Location {
    At {
        path: String,
        line: u32,
        column: u32,
    },
    Nowhere,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::At { path, line, column } => write!(f, "{path}:{line}:{column}"),
            Location::Nowhere => f.write_str("-"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Expectation {
    code: String,
    location: Location,
}

#[derive(Debug, Default)]
struct Fixture {
    expectations: Vec<Expectation>,
    allow: BTreeSet<String>,
    /// Values no rendered diagnostic may contain (credentials).
    never_shown: Vec<String>,
    settings: Settings,
    /// `# catalog:` (absent: fresh when the fixture has data files).
    catalog: Option<String>,
    /// Project files in the order written.
    files: Vec<(String, String)>,
}

fn parse_pairs(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("expected k=v, found `{pair}`"));
            (key.trim().to_string(), value.trim().to_string())
        })
        .collect()
}

fn parse_location(text: &str) -> Location {
    if text == "-" {
        return Location::Nowhere;
    }
    let mut parts = text.rsplitn(3, ':');
    let column = parts.next().and_then(|c| c.parse().ok());
    let line = parts.next().and_then(|l| l.parse().ok());
    let path = parts.next();
    match (path, line, column) {
        (Some(path), Some(line), Some(column)) => Location::At {
            path: path.to_string(),
            line,
            column,
        },
        _ => panic!("bad location `{text}`: expected path:line:column or -"),
    }
}

fn parse_fixture(text: &str) -> Fixture {
    let mut fixture = Fixture::default();
    let mut current: Option<(String, Vec<&str>)> = None;
    let finish = |current: Option<(String, Vec<&str>)>, files: &mut Vec<(String, String)>| {
        if let Some((path, mut lines)) = current {
            while lines.last().is_some_and(|line| line.trim().is_empty()) {
                lines.pop();
            }
            let mut body = lines.join("\n");
            if !body.is_empty() {
                body.push('\n');
            }
            files.push((path, body));
        }
    };
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("#--- ") {
            finish(current.take(), &mut fixture.files);
            current = Some((path.trim().to_string(), Vec::new()));
            continue;
        }
        if let Some((_, lines)) = &mut current {
            lines.push(line);
            continue;
        }
        let Some(header) = line.strip_prefix('#') else {
            assert!(
                line.trim().is_empty(),
                "text before the first file: `{line}`"
            );
            continue;
        };
        let header = header.trim();
        let Some((key, value)) = header.split_once(':') else {
            continue; // a comment describing the case
        };
        let value = value.trim();
        match key.trim() {
            "expect" => {
                let (code, location) = value
                    .split_once(' ')
                    .unwrap_or_else(|| panic!("bad expect line `{line}`"));
                assert!(
                    Code::parse(code).is_some_and(|c| c.as_str() == code),
                    "unknown code `{code}` in `{line}`"
                );
                fixture.expectations.push(Expectation {
                    code: code.to_string(),
                    location: parse_location(location.trim()),
                });
            }
            "vars" => fixture.settings.vars = parse_pairs(value),
            "env" => fixture.settings.env = parse_pairs(value),
            "target" => fixture.settings.target = Some(value.to_string()),
            "profile" => fixture.settings.profile = Some(value.to_string()),
            "profiles-required" => fixture.settings.profiles_required = value == "true",
            "allow" => fixture
                .allow
                .extend(value.split(',').map(|c| c.trim().to_string())),
            "never-shown" => fixture.never_shown.push(value.to_string()),
            "catalog" => fixture.catalog = Some(value.to_string()),
            _ => {} // a comment that happens to contain a colon
        }
    }
    finish(current.take(), &mut fixture.files);
    assert!(
        !fixture.files.is_empty(),
        "a fixture needs at least one file"
    );
    fixture
}

/// Loads the fixture into a database and checks the whole project.
fn check(fixture: &Fixture) -> (Database, Vec<Diagnostic>) {
    let mut settings = fixture.settings.clone();
    for (path, text) in &fixture.files {
        if path == "pyproject.toml" {
            settings.project_name = mbt_compiler::project::pyproject_name(text);
        }
    }
    let mut db = Database::new(settings);
    let mut files: Vec<(String, Arc<str>)> = Vec::new();
    let mut tables = BTreeMap::new();
    for (path, text) in &fixture.files {
        if let Some(table) = path
            .strip_prefix("data/")
            .and_then(|name| name.strip_suffix(".csv"))
        {
            let schema = infer_csv(text.as_bytes())
                .map(|(rows, columns)| TableSchema {
                    source: format!("{table}.csv"),
                    fingerprint: String::new(),
                    rows: Some(rows),
                    columns: Some(columns),
                })
                .map_err(|error| format!("{table}.csv: {error}"));
            tables.insert(table.to_string(), schema);
            continue;
        }
        match path.as_str() {
            "profiles.yaml" => db.set_profiles(Some(("profiles.yaml", text.as_str().into()))),
            "pyproject.toml" => {}
            _ => files.push((path.clone(), text.as_str().into())),
        }
    }
    db.set_files(files);
    let location = "./data".to_string();
    let reason = "./data does not exist".to_string();
    match fixture.catalog.as_deref() {
        Some("cached") => db.set_catalog(CatalogState::Cached { location, reason }, tables),
        Some("unavailable") => db.set_catalog(
            CatalogState::Unavailable { location, reason },
            BTreeMap::new(),
        ),
        Some(other) => panic!("unknown `# catalog: {other}`"),
        None if !tables.is_empty() => db.set_catalog(CatalogState::Fresh { location }, tables),
        None => {}
    }
    let mut diagnostics = check_project(&db, None).diagnostics;
    sort_and_dedup(&mut diagnostics, &db);
    (db, diagnostics)
}

fn location(db: &Database, diagnostic: &Diagnostic) -> Location {
    match diagnostic.span {
        Some(span) => {
            let position = db.line_column(span.file, span.start);
            Location::At {
                path: db.path(span.file).to_string(),
                line: position.line,
                column: position.column,
            }
        }
        None => Location::Nowhere,
    }
}

/// One line per diagnostic, for failure messages.
fn summary(db: &Database, diagnostics: &[Diagnostic]) -> String {
    let mut text = String::new();
    for diagnostic in diagnostics {
        let _ = writeln!(
            text,
            "  # expect: {} {}    ({:?}: {})",
            diagnostic.code,
            location(db, diagnostic),
            diagnostic.severity,
            diagnostic.message
        );
    }
    if text.is_empty() {
        text.push_str("  (no diagnostics)\n");
    }
    text
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    out
}

fn fixture_name(root: &str, path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(root);
    path.strip_prefix(&root)
        .expect("under the fixture root")
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks one invalid fixture: every expectation matches and the rendering is as snapshotted.
fn check_invalid(name: &str, path: &Path) -> Result<(), String> {
    let fixture = parse_fixture(&read(path));
    if fixture.expectations.is_empty() {
        return Err(format!("{name}: no `# expect:` line"));
    }
    let (db, diagnostics) = check(&fixture);
    let rendered = render_all(&diagnostics, &db, RenderConfig { color: false });
    let messages: String = diagnostics
        .iter()
        .map(|d| format!("{} {:?} {:?}\n", d.message, d.label, d.help))
        .collect();
    for value in &fixture.never_shown {
        // The source line itself may hold it (a literal the user wrote); no message may.
        if messages.contains(value.as_str()) {
            return Err(format!("{name}: a diagnostic shows `{value}`:\n{rendered}"));
        }
    }
    let found: Vec<Expectation> = diagnostics
        .iter()
        .map(|diagnostic| Expectation {
            code: diagnostic.code.as_str().to_string(),
            location: location(&db, diagnostic),
        })
        .collect();
    let missing: Vec<&Expectation> = fixture
        .expectations
        .iter()
        .filter(|expected| !found.contains(expected))
        .collect();
    if !missing.is_empty() {
        let mut message = format!("{name}: expected diagnostics not found:\n");
        for expected in missing {
            let _ = writeln!(message, "  {} {}", expected.code, expected.location);
        }
        let _ = write!(
            message,
            "found:\n{}rendered:\n{rendered}",
            summary(&db, &diagnostics)
        );
        return Err(message);
    }
    let snapshot = catch_unwind(AssertUnwindSafe(|| {
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(path);
        settings.set_omit_expression(true);
        settings.set_description(format!("fixtures/invalid/{name}.yaml"));
        settings.bind(|| {
            insta::assert_snapshot!(name.replace('/', "__"), rendered);
        });
    }));
    snapshot.map_err(|_| format!("{name}: snapshot mismatch (see above)"))
}

#[test]
fn invalid_fixtures() {
    let paths = fixtures("tests/fixtures/invalid");
    assert!(
        paths.len() >= 70,
        "expected at least 70 invalid fixtures, found {}",
        paths.len()
    );
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|path| check_invalid(&fixture_name("tests/fixtures/invalid", path), path).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}

#[test]
fn valid_fixtures() {
    let paths = fixtures("tests/fixtures/valid");
    assert!(!paths.is_empty(), "no valid fixtures");
    let mut failures = Vec::new();
    for path in &paths {
        let name = fixture_name("tests/fixtures/valid", path);
        let fixture = parse_fixture(&read(path));
        assert!(
            fixture.expectations.is_empty(),
            "{name}: a valid fixture has no `# expect:`"
        );
        let (db, diagnostics) = check(&fixture);
        let unexpected: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error || !fixture.allow.contains(d.code.as_str()))
            .collect();
        if !unexpected.is_empty() {
            failures.push(format!(
                "{name}:\n{}{}",
                summary(&db, &unexpected),
                render_all(&unexpected, &db, RenderConfig { color: false })
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "valid fixtures with diagnostics:\n\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_code_is_covered() {
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for path in fixtures("tests/fixtures/invalid") {
        for expected in parse_fixture(&read(&path)).expectations {
            covered.insert(expected.code);
        }
    }
    let elsewhere: BTreeSet<String> = COVERED_ELSEWHERE
        .iter()
        .map(|(code, _)| code.to_string())
        .collect();
    let overlap: Vec<&String> = covered.intersection(&elsewhere).collect();
    assert!(
        overlap.is_empty(),
        "codes both covered by fixtures and listed in COVERED_ELSEWHERE: {overlap:?}"
    );
    let all: BTreeSet<String> = Code::ALL
        .iter()
        .map(|code| code.as_str().to_string())
        .collect();
    let claimed: BTreeSet<String> = covered.union(&elsewhere).cloned().collect();
    let uncovered: Vec<&String> = all.difference(&claimed).collect();
    let unknown: Vec<&String> = claimed.difference(&all).collect();
    assert!(
        uncovered.is_empty() && unknown.is_empty(),
        "codes without a fixture: {uncovered:?}; unknown codes claimed: {unknown:?}"
    );
}

#[test]
fn fixture_format_parses() {
    let fixture = parse_fixture(
        "# a case\n# expect: MBT2001 pipelines/p.yaml:2:3\n# expect: MBT2202 -\n# vars: a=1, b=2\n# env: K=V\n# target: prod\n# profile: x\n# profiles-required: true\n#--- pipelines/p.yaml\na: 1\n\n#--- pyproject.toml\n[project]\nname = \"demo\"\n#--- includes/empty.yaml\n",
    );
    assert_eq!(fixture.expectations.len(), 2);
    assert_eq!(
        fixture.expectations[0].location,
        Location::At {
            path: "pipelines/p.yaml".into(),
            line: 2,
            column: 3
        }
    );
    assert_eq!(fixture.expectations[1].location, Location::Nowhere);
    assert_eq!(
        fixture.settings.vars.get("b").map(String::as_str),
        Some("2")
    );
    assert_eq!(fixture.settings.env.get("K").map(String::as_str), Some("V"));
    assert_eq!(fixture.settings.target.as_deref(), Some("prod"));
    assert_eq!(fixture.settings.profile.as_deref(), Some("x"));
    assert!(fixture.settings.profiles_required);
    assert_eq!(
        fixture.files,
        vec![
            ("pipelines/p.yaml".to_string(), "a: 1\n".to_string()),
            (
                "pyproject.toml".to_string(),
                "[project]\nname = \"demo\"\n".to_string()
            ),
            ("includes/empty.yaml".to_string(), String::new()),
        ]
    );
    assert_eq!(
        mbt_compiler::project::pyproject_name(&fixture.files[1].1).as_deref(),
        Some("demo")
    );
}
