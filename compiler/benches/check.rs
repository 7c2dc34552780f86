//! Benchmark: `check_project` on a generated project of 1,000 pipelines (a shared base, an
//! include, ~60 lines each), cold and incremental.
//!
//! Run with `cargo bench -p mbt-compiler --bench check`. Environment:
//! - `MBT_BENCH_PIPELINES` (default 1000): number of derived pipelines;
//! - `MBT_BENCH_RUNS` (default 10): timed runs per scenario (median and min are reported);
//! - `MBT_BENCH_DUMP=DIR`: also write the generated project to DIR (compare it with
//!   `bench/generate_project.py`, of which the generator below is a byte-for-byte port).
//!
//! Nothing here asserts on time; the benchmark fails only if the generated project (or an
//! edited one) has errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mbt_compiler::queries::check::{check_project, CheckReport};
use mbt_compiler::{Database, Settings};

// ---------------------------------------------------------------------------------------------
// The project generator (keep in sync with bench/generate_project.py).

const PYPROJECT: &str = r#"[project]
name = "bench_project"
version = "0.1.0"
description = "A generated MBT project for benchmarks"
"#;

const PROFILES: &str = "# Where pipelines run.
bench_project:
  target: dev
  outputs:
    dev:
      executor:
        type: local
      storage:
        type: local
        config:
          base_path: ./local_artifacts
      data_connector:
        type: local_file
        config:
          data_path: ./sample_data
      model_registry:
        type: local
        config:
          base_path: ./local_registry
";

const SCHEMA: &str = "# Shared schema, included by the base pipeline.
target:
  label_column: churned
  classes: [0, 1]
  positive_class: 1
identifiers:
  primary_key: customer_id
  partition_key: snapshot_date
ignored_columns: [notes]
";

const VALIDATORS: &str = r#""""Custom validators, transforms and metrics used by the generated pipelines."""


def check_label_rate(df, context):
    label = context["schema"]["target"]["label_column"]
    rate = float(df[label].mean())
    if rate < 0.01 or rate > 0.99:
        return False, f"label rate is extreme: {rate:.4f}"
    return True, f"label rate: {rate:.4f}"


def add_tenure_ratio(df, context):
    df["tenure_ratio"] = df["tenure_months"] / (df["tenure_months"].max() + 1)
    return df


def top_decile_lift(y_true, y_score):
    order = sorted(range(len(y_score)), key=lambda i: -y_score[i])
    top = order[: max(1, len(order) // 10)]
    base = sum(y_true) / max(1, len(y_true))
    return (sum(y_true[i] for i in top) / len(top)) / base if base else 0.0
"#;

const BASE: &str = "# The shared base: every generated pipeline derives from it.
schema_version: 1

project:
  owner: data_science
  problem_type: binary_classification
  tags: [bench]

training:
  data_source:
    label_table: customers
  schema: !include ../includes/schema.yaml
  split:
    test_size: 0.2
    stratify: true
    seed: 42
  evaluation:
    primary_metric: roc_auc
    additional_metrics: [accuracy, f1]
";

/// Model families of the generated pipelines (all run by this build).
const FRAMEWORKS: [&str; 3] = ["gbm", "smartcore", "linear"];
const ON_FAILURE: [&str; 3] = ["fail", "warn", "skip_row"];
const SCALERS: [&str; 3] = ["standard_scaler", "min_max_scaler", "robust_scaler"];
const ENCODINGS: [&str; 2] = ["one_hot", "ordinal"];
const JOINS: [&str; 2] = ["left", "inner"];
const TEST_SIZES: [&str; 4] = ["0.2", "0.25", "0.3", "0.15"];
const CADENCES: [&str; 4] = ["daily", "weekly", "monthly", "hourly"];

fn model_config(i: usize) -> Vec<String> {
    match FRAMEWORKS[i % 3] {
        "gbm" => vec![
            "    framework: gbm".into(),
            "    config:".into(),
            format!("      n_estimators: {}", 50 + (i % 20) * 25),
            format!("      learning_rate: 0.0{}", 1 + i % 9),
            format!("      max_depth: {}", 3 + i % 8),
            format!("      subsample: 0.{}", 6 + i % 4),
            format!("      early_stopping_rounds: {}", 10 + i % 20),
            "      validation_fraction: 0.1".into(),
            format!("      seed: {i}"),
        ],
        "smartcore" => vec![
            "    framework: smartcore".into(),
            "    config:".into(),
            "      model: RandomForestClassifier".into(),
            format!("      n_estimators: {}", 100 + (i % 10) * 50),
            format!("      max_depth: {}", 4 + i % 12),
            format!("      min_samples_split: {}", 2 + i % 5),
            format!("      min_samples_leaf: {}", 1 + i % 4),
            format!("      seed: {i}"),
        ],
        _ => vec![
            "    framework: smartcore".into(),
            "    config:".into(),
            "      model: LogisticRegression".into(),
            format!("      alpha: 0.{}", 1 + i % 9),
        ],
    }
}

fn pipeline(i: usize, n: usize) -> (String, String) {
    let name = format!("p{i:04}");
    let mut lines: Vec<String> = vec![
        format!("# Generated pipeline {i} of {n}."),
        "schema_version: 1".into(),
        "base_pipeline: _base".into(),
        "".into(),
        "project:".into(),
        format!("  name: {name}"),
        format!("  tags: [bench, group_{}, {}]", i % 10, FRAMEWORKS[i % 3]),
        "".into(),
        "deployment:".into(),
        format!("  cadence: {}", CADENCES[i % 4]),
        "".into(),
        "training:".into(),
        "  data_source:".into(),
        "    feature_tables:".into(),
        "      - table: customers".into(),
        format!("      - table: usage_{}", i % 7),
        "        join_key: customer_id".into(),
        format!("        join_type: {}", JOINS[i % 2]),
        "  validation:".into(),
        format!("    on_failure: {}", ON_FAILURE[i % 3]),
        "    checks:".into(),
        "      - type: null_threshold".into(),
        "        columns: [churned, tenure_months]".into(),
        format!("        max_null_pct: {}.{}", (i * 7) % 5, (i * 3) % 10),
        "      - type: value_range".into(),
        "        column: tenure_months".into(),
        "        min: 0".into(),
        format!("        max: {}", 60 + i % 100),
        "      - type: type_check".into(),
        "        columns:".into(),
        "          tenure_months: integer".into(),
        "          monthly_charges: float".into(),
        "      - type: custom".into(),
        "        function: lib.custom_validators.check_label_rate".into(),
        "  split:".into(),
        format!("    test_size: {}", TEST_SIZES[i % 4]),
        format!("    seed: {}", 1000 + i),
        "  transformations:".into(),
        "    normalization:".into(),
        format!("      method: {}", SCALERS[i % 3]),
        "    encoding:".into(),
        format!("      method: {}", ENCODINGS[i % 2]),
        "    custom_transforms:".into(),
        "      - lib.custom_validators.add_tenure_ratio".into(),
        "  feature_selection:".into(),
        "    methods:".into(),
        "      - name: correlation".into(),
        format!("        threshold: 0.{}", 80 + i % 19),
        "      - name: gbm_importance".into(),
        format!("        threshold: 0.{}", 90 + i % 9),
        "  model_training:".into(),
    ];
    lines.extend(model_config(i));
    lines.extend([
        "  evaluation:".into(),
        format!(
            "    generate_plots: {}",
            if i.is_multiple_of(2) { "true" } else { "false" }
        ),
        "    custom_metrics: [lib.custom_validators.top_decile_lift]".into(),
    ]);
    (name, lines.join("\n") + "\n")
}

/// All files of the project as (relative path, text), in the generator's order.
fn project_files(n: usize) -> Vec<(String, Arc<str>)> {
    let mut files: Vec<(String, Arc<str>)> = [
        ("pyproject.toml", PYPROJECT),
        ("profiles.yaml", PROFILES),
        ("includes/schema.yaml", SCHEMA),
        ("lib/__init__.py", ""),
        ("lib/custom_validators.py", VALIDATORS),
        ("pipelines/_base.yaml", BASE),
    ]
    .into_iter()
    .map(|(path, text)| (path.to_string(), Arc::from(text)))
    .collect();
    for i in 1..=n {
        let (name, text) = pipeline(i, n);
        files.push((format!("pipelines/{name}.yaml"), text.into()));
    }
    files
}

// ---------------------------------------------------------------------------------------------
// Measuring.

fn settings() -> Settings {
    Settings {
        project_name: Some("bench_project".into()),
        ..Settings::default()
    }
}

/// What the CLI does after reading the files: fill a database and check everything.
fn load(db: &mut Database, files: &[(String, Arc<str>)]) {
    db.set_files(files.iter().cloned());
    let profiles = files
        .iter()
        .find(|(path, _)| path == "profiles.yaml")
        .map(|(_, text)| text.clone())
        .expect("profiles.yaml");
    db.set_profiles(Some(("profiles.yaml", profiles)));
}

fn errors(report: &CheckReport) -> usize {
    report.diagnostics.iter().filter(|d| d.is_error()).count()
}

#[track_caller]
fn assert_clean(report: &CheckReport, n: usize, what: &str) {
    let errors: Vec<_> = report.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errors.is_empty(),
        "{what}: the generated project has {} error(s), e.g. {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(report.pipelines.len(), n, "{what}: pipelines checked");
}

/// Replaces the (single) line starting with `prefix` (after indentation) by `line`, keeping
/// the indentation.
fn replace_line(text: &str, prefix: &str, line: &str) -> String {
    let mut found = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let content = l.trim_start();
            if content.starts_with(prefix) {
                found += 1;
                format!("{}{line}", &l[..l.len() - content.len()])
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(found, 1, "`{prefix}` must occur exactly once");
    out.join("\n") + "\n"
}

struct Stats {
    median: Duration,
    min: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let len = samples.len();
    let median = if len % 2 == 1 {
        samples[len / 2]
    } else {
        (samples[len / 2 - 1] + samples[len / 2]) / 2
    };
    Stats {
        median,
        min: samples[0],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Returns the memory freed by the previous run to the system (glibc: `malloc_trim`), untimed.
/// Without it the next run's first large allocation (salsa's tables in `Database::new`) pays
/// for consolidating the ~10^6 small blocks the previous database freed (~40 ms), a cost a
/// fresh `mbt check` process never has.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: glibc's malloc_trim has no preconditions.
        unsafe {
            malloc_trim(0);
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An edit applied as run `run`: (path, new text). Every run yields a text different from the
/// previous run's, so every timed check is a genuine re-check.
type Edit<'a> = &'a dyn Fn(usize) -> (String, String);

/// Timed: `set_file` + `check_project` on a warm database.
fn time_edit(db: &mut Database, runs: usize, n: usize, name: &str, edit: Edit) -> Vec<Duration> {
    (0..runs)
        .map(|run| {
            let (path, text) = edit(run);
            let start = Instant::now();
            db.set_file(&path, text);
            let report = check_project(db, None);
            let elapsed = start.elapsed();
            assert_clean(&report, n, name);
            elapsed
        })
        .collect()
}

/// Salsa queries executed by one edit + check, on a warm logging database.
fn count_edit(
    db: &mut Database,
    n: usize,
    name: &str,
    edit: Edit,
) -> (usize, BTreeMap<String, usize>) {
    let (path, text) = edit(0);
    db.take_executed();
    db.set_file(&path, text);
    assert_clean(&check_project(db, None), n, name);
    let executed = db.take_executed();
    (executed.len(), by_query(&executed))
}

/// Query names without their keys (`pipeline_diagnostics(Id(12))` -> `pipeline_diagnostics`).
fn by_query(executed: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for key in executed {
        let name = key.split('(').next().unwrap_or(key).to_string();
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn main() {
    let n = env_usize("MBT_BENCH_PIPELINES", 1000);
    let runs = env_usize("MBT_BENCH_RUNS", 10).max(1);

    let generated = Instant::now();
    let files = project_files(n);
    let generated = generated.elapsed();
    if let Ok(dir) = std::env::var("MBT_BENCH_DUMP") {
        for (path, text) in &files {
            let full = std::path::Path::new(&dir).join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("create dir");
            std::fs::write(&full, text.as_bytes()).expect("write file");
        }
        eprintln!("wrote the project to {dir}");
    }
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let lines: usize = files.iter().map(|(_, t)| t.lines().count()).sum();
    println!(
        "project: {n} pipelines + base + include, {} files, {lines} lines, {:.1} KiB (generated in {} ms); {runs} runs per scenario",
        files.len(),
        bytes as f64 / 1024.0,
        ms(generated)
    );

    let text_of = |path: &str| -> String {
        files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| panic!("{path} generated"))
    };
    let edited = format!("pipelines/p{:04}.yaml", (n / 2).max(1));
    let pipeline_text = text_of(&edited);
    let base_text = text_of("pipelines/_base.yaml");
    let include_text = text_of("includes/schema.yaml");
    let edit_pipeline = |run: usize| {
        let line = format!("max_null_pct: {}.{}", run % 10, (run / 10) % 10 + 1);
        (
            edited.clone(),
            replace_line(&pipeline_text, "max_null_pct:", &line),
        )
    };
    let edit_base = |run: usize| {
        let metrics = ["[accuracy, f1, precision]", "[accuracy, f1, recall]"][run % 2];
        let line = format!("additional_metrics: {metrics}");
        (
            "pipelines/_base.yaml".to_string(),
            replace_line(&base_text, "additional_metrics:", &line),
        )
    };
    let edit_include = |run: usize| {
        let line = format!("ignored_columns: [notes, notes_{run}]");
        (
            "includes/schema.yaml".to_string(),
            replace_line(&include_text, "ignored_columns:", &line),
        )
    };

    let mut rows: Vec<(String, Stats, String)> = Vec::new();

    // (a) Cold: a fresh database each run. The first run of the process also pays for
    // process-wide lazies (JSON Schemas built once per process), like every CLI invocation.
    let mut first = None;
    let mut new_samples = Vec::new();
    let mut load_samples = Vec::new();
    let mut cold_samples = Vec::new();
    let mut drop_samples = Vec::new();
    for run in 0..=runs {
        let start = Instant::now();
        let mut db = Database::new(settings());
        let created = start.elapsed();
        load(&mut db, &files);
        let loaded = start.elapsed();
        let report = check_project(&db, None);
        let elapsed = start.elapsed();
        assert_clean(&report, n, "cold check");
        assert_eq!(errors(&report), 0);
        if run == 0 {
            first = Some(elapsed);
        }
        // Dropping the database is not part of the cold figure, but the CLI pays it on exit.
        let dropped = Instant::now();
        drop(db);
        let dropped = dropped.elapsed();
        release_freed_memory();
        if run > 0 {
            new_samples.push(created);
            load_samples.push(loaded);
            cold_samples.push(elapsed);
            drop_samples.push(dropped);
        }
    }
    let first = first.expect("one run");

    // Query counts, on a separate logging database (the log costs time).
    let mut logged = Database::with_query_log(settings());
    load(&mut logged, &files);
    assert_clean(&check_project(&logged, None), n, "cold check (logged)");
    let cold_queries = logged.take_executed().len();
    assert_clean(&check_project(&logged, None), n, "no-op re-check (logged)");
    let noop_queries = logged.take_executed().len();
    let (pipeline_queries, pipeline_kinds) =
        count_edit(&mut logged, n, "edit one pipeline", &edit_pipeline);
    let (base_queries, base_kinds) = count_edit(&mut logged, n, "edit the base", &edit_base);
    let (include_queries, include_kinds) =
        count_edit(&mut logged, n, "edit the include", &edit_include);

    rows.push((
        "cold, first in process (new db + set_files + check)".into(),
        Stats {
            median: first,
            min: first,
        },
        cold_queries.to_string(),
    ));
    rows.push((
        "cold (new db + set_files + check)".into(),
        stats(cold_samples),
        cold_queries.to_string(),
    ));
    rows.push((
        "  of which Database::new".into(),
        stats(new_samples),
        "0".into(),
    ));
    rows.push((
        "  of which Database::new + set_files + set_profiles".into(),
        stats(load_samples),
        "0".into(),
    ));
    rows.push((
        "drop of the checked database (not in cold; the CLI pays it)".into(),
        stats(drop_samples),
        "0".into(),
    ));

    // Incremental: one warm database, edited in place.
    let mut db = Database::new(settings());
    load(&mut db, &files);
    assert_clean(&check_project(&db, None), n, "warm-up");
    let noop: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let report = check_project(&db, None);
            let elapsed = start.elapsed();
            assert_clean(&report, n, "no-op re-check");
            elapsed
        })
        .collect();
    rows.push((
        "re-check, nothing changed".into(),
        stats(noop),
        noop_queries.to_string(),
    ));
    let samples = time_edit(&mut db, runs, n, "edit one pipeline", &edit_pipeline);
    rows.push((
        format!("(b) edit one pipeline ({edited}: max_null_pct)"),
        stats(samples),
        pipeline_queries.to_string(),
    ));
    let samples = time_edit(&mut db, runs, n, "edit the base", &edit_base);
    rows.push((
        "(c) edit the shared base (_base.yaml: additional_metrics)".into(),
        stats(samples),
        base_queries.to_string(),
    ));
    let samples = time_edit(&mut db, runs, n, "edit the include", &edit_include);
    rows.push((
        "(d) edit the include (schema.yaml: ignored_columns)".into(),
        stats(samples),
        include_queries.to_string(),
    ));

    println!();
    println!("| scenario | median ms | min ms | queries executed |");
    println!("|---|---:|---:|---:|");
    for (name, stats, queries) in &rows {
        println!(
            "| {name} | {} | {} | {queries} |",
            ms(stats.median),
            ms(stats.min)
        );
    }
    println!();
    for (name, kinds) in [
        ("(b) edit one pipeline", &pipeline_kinds),
        ("(c) edit the base", &base_kinds),
        ("(d) edit the include", &include_kinds),
    ] {
        let list: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} x{v}")).collect();
        println!("queries executed by {name}: {}", list.join(", "));
    }
}
