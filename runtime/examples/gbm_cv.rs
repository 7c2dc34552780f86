//! The small-table training benchmark's MBT side (bench/small_fits.sh): 5-fold cross-validation
//! of 50 gbm configurations on one CSV table, one fit after another, as AutoML spends its time.
//! Prints one JSON line: fits, seconds, mean validation RMSE.
//!
//! Usage: cargo run --release -p mbt-runtime --example gbm_cv -- TABLE.csv LABEL [ROWS]
//! (numeric columns only; the first ROWS rows, default 5,000; the configurations are the ones
//! bench/small_fits/lightgbm_cv.py fits).

mod common;

use std::time::Instant;

use mbt_contract::frameworks::{FrameworkConfig, GbmConfig};
use mbt_runtime::adapters::{Registry, Task};
use mbt_runtime::features::Matrix;

const FOLDS: usize = 5;

/// The 50 configurations: (leaves, min rows per leaf, learning rate), 100 rounds each, depth 8.
fn configs() -> Vec<GbmConfig> {
    let mut out = Vec::new();
    for leaves in [7, 15, 31, 63, 127] {
        for min_leaf in [5, 10, 20, 50, 100] {
            for rate in [0.05, 0.1] {
                out.push(GbmConfig {
                    n_estimators: Some(100),
                    learning_rate: Some(rate),
                    max_depth: Some(8),
                    max_leaves: Some(leaves),
                    min_samples_leaf: Some(min_leaf),
                    l2: Some(1.0),
                    max_bins: Some(255),
                    seed: Some(1),
                    ..GbmConfig::default()
                });
            }
        }
    }
    out
}

fn take(x: &Matrix, y: &[f64], rows: &[usize]) -> (Matrix, Vec<f64>) {
    let mut values = Vec::with_capacity(rows.len() * x.columns);
    for column in 0..x.columns {
        let source = x.column(column);
        values.extend(rows.iter().map(|row| source[*row]));
    }
    let matrix = Matrix {
        values,
        rows: rows.len(),
        columns: x.columns,
    };
    (matrix, rows.iter().map(|row| y[*row]).collect())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: gbm_cv TABLE.csv LABEL [ROWS]");
    let rows = args.get(3).map_or(Ok(5_000), |rows| rows.parse())?;
    let (x, y) = common::read_numeric_csv(&args[1], &args[2], rows)?;
    let gbm = Registry::builtin().frameworks().get("gbm")?;
    // Folds by row number, as the Python side splits them.
    let folds: Vec<(Vec<usize>, Vec<usize>)> = (0..FOLDS)
        .map(|fold| (0..x.rows).partition(|row| row % FOLDS != fold))
        .collect();
    let started = Instant::now();
    let (mut fits, mut squared, mut scored) = (0, 0.0, 0);
    for config in configs() {
        let config = FrameworkConfig::Gbm(config);
        for (train, valid) in &folds {
            let (train_x, train_y) = take(&x, &y, train);
            let (valid_x, valid_y) = take(&x, &y, valid);
            let model = gbm.train(&train_x, &train_y, Task::Regression, &config)?;
            let predictions = gbm.predict(&model, &valid_x)?;
            for (p, truth) in predictions.iter().zip(&valid_y) {
                squared += (p - truth).powi(2);
                scored += 1;
            }
            fits += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "system": "mbt gbm",
            "rows": x.rows,
            "fits": fits,
            "seconds": seconds,
            "rmse": (squared / scored.max(1) as f64).sqrt(),
        })
    );
    Ok(())
}
