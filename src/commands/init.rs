//! `mbt init NAME`: scaffold a project that compiles, tests and runs as created.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::args::InitArgs;
use crate::outln;
use crate::output::write_atomic;

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let root = &args.name;
    if root.exists()
        && std::fs::read_dir(root)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", root.display());
    }
    let name = root
        .file_name()
        .and_then(|n| n.to_str())
        .context("the project name must be a directory name")?
        .to_string();
    for (path, contents) in files(&name) {
        write_atomic(&root.join(path), contents.as_bytes())?;
    }
    outln!("created project `{name}` in {}", root.display());
    outln!(
        "next: cd {} && mbt check && mbt test && mbt run",
        display(root)
    );
    Ok(ExitCode::SUCCESS)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The scaffold's files (path, contents).
pub fn files(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("pyproject.toml", format!("[project]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"An MBT project\"\n")),
        (".gitignore", "target/\nlocal_artifacts/\nlocal_registry/\npredictions/\n".to_string()),
        (
            "profiles.yaml",
            format!(
                "# Where pipelines run. Data engineers own this file.\n{name}:\n  target: dev\n  outputs:\n    dev:\n      executor:\n        type: local\n      storage:\n        type: local\n        config:\n          base_path: ./local_artifacts\n      data_connector:\n        type: local_file\n        config:\n          data_path: ./sample_data\n      model_registry:\n        type: local\n        config:\n          base_path: ./local_registry\n"
            ),
        ),
        (
            "includes/schema.yaml",
            "# Shared schema, included by pipelines with `schema: !include ../includes/schema.yaml`.\ntarget:\n  label_column: churned\n  classes: [0, 1]\n  positive_class: 1\nidentifiers:\n  primary_key: customer_id\n".to_string(),
        ),
        (
            "pipelines/_base.yaml",
            "# A base pipeline: derived pipelines inherit these sections (`base_pipeline: _base`).\nschema_version: 1\n\nproject:\n  owner: data_science\n  problem_type: binary_classification\n  tags: [example]\n\ntraining:\n  data_source:\n    label_table: customers\n  schema: !include ../includes/schema.yaml\n  evaluation:\n    primary_metric: roc_auc\n    additional_metrics: [accuracy, f1]\n".to_string(),
        ),
        (
            "pipelines/training_v1.yaml",
            "schema_version: 1\nbase_pipeline: _base\n\nproject:\n  name: training_v1\n\ntraining:\n  validation:\n    on_failure: fail\n    checks:\n      - type: null_threshold\n        columns: [churned]\n        max_null_pct: 0.0\n      - type: value_range\n        column: tenure\n        min: 0\n        max: 100\n      # Python hooks are opt-in: they need Python 3 with pandas and pyarrow ($MBT_PYTHON,\n      # the project's .venv, or python3). Uncomment to run lib/custom_validators.py:\n      # - type: custom\n      #   function: lib.custom_validators.check_label_rate\n  split:\n    test_size: 0.2\n    stratify: true\n    seed: 42\n  transformations:\n    normalization:\n      enabled: true\n      method: standard_scaler\n  model_training:\n    framework: gbm\n    config:\n      n_estimators: 100\n      learning_rate: 0.1\n      seed: 42\n".to_string(),
        ),
        (
            "pipelines/serving_v1.yaml",
            "schema_version: 1\n\nproject:\n  name: serving_v1\n  problem_type: binary_classification\n\ndeployment:\n  mode: batch\n  cadence: daily\n\nserving:\n  model_source:\n    registry: local\n    # The most recent training_v1 run, unless `mbt run --vars run_id=RUN_ID` names one.\n    run_id: \"{{ var('run_id', 'latest') }}\"\n    training_pipeline: training_v1\n  data_source:\n    scoring_table: customers\n  output:\n    destination: local_file\n    table: predictions.csv\n    columns:\n      prediction: churn_probability\n      label: churn_predicted\n      threshold: 0.5\n".to_string(),
        ),
        (
            "tests/training_v1.test.yaml",
            "pipeline: training_v1\n\nassertions:\n  - type: step_exists\n    step: validate_data\n  - type: step_order\n    before: normalize\n    after: train_model\n  - type: step_count\n    min: 6\n    max: 10\n".to_string(),
        ),
        ("lib/__init__.py", String::new()),
        (
            "lib/custom_validators.py",
            "\"\"\"Custom validators: `def name(df, context) -> tuple[bool, str]`.\"\"\"\n\n\ndef check_label_rate(df, context):\n    label = context[\"schema\"][\"target\"][\"label_column\"]\n    rate = float(df[label].mean())\n    if rate < 0.01 or rate > 0.99:\n        return False, f\"label rate is extreme: {rate:.4f}\"\n    return True, f\"label rate: {rate:.4f}\"\n".to_string(),
        ),
        ("sample_data/customers.csv", sample_data()),
    ]
}

/// 400 synthetic customers, the same on every machine (a fixed linear congruential generator).
fn sample_data() -> String {
    let mut state: u64 = 42;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut csv =
        String::from("customer_id,tenure,monthly_charges,total_charges,contract,churned\n");
    for index in 1..=400 {
        let tenure = (next() * 72.0).floor() as u32 + 1;
        let monthly = 20.0 + next() * 100.0;
        let contract = ["month-to-month", "one_year", "two_year"][(next() * 3.0) as usize % 3];
        let risk = 0.6 - tenure as f64 / 120.0
            + (monthly - 70.0) / 200.0
            + if contract == "month-to-month" {
                0.2
            } else {
                -0.2
            };
        let churned = u8::from(next() < risk.clamp(0.02, 0.95));
        csv.push_str(&format!(
            "C{index:04},{tenure},{monthly:.2},{:.2},{contract},{churned}\n",
            monthly * tenure as f64
        ));
    }
    csv
}
