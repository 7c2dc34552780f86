//! The offline portfolio learner's measurement (bench/portfolio/): cross-validates gradient
//! boosting shapes on one table exactly as `framework: automl` cross-validates its candidates
//! (screening, folds, early stopping, metric), and prints their leaderboard rows as JSON.
//!
//! Usage: cargo run --release -p mbt-runtime --example portfolio_cv -- TABLE.csv TASK SHAPES.json
//! TABLE.csv holds numeric columns and a `label` column (0/1, class index 0..k-1, or a value);
//! TASK is `binary`, `multiclass:K` or `regression`; SHAPES.json is a list of shapes, each
//! `[learning_rate, max_leaves, max_depth, min_samples_leaf, l2, subsample, colsample_bynode,
//! rounds, patience]`. Prints one JSON list: per shape, its CV metric, std and fit seconds.

mod common;

use mbt_contract::frameworks::AutomlConfig;
use mbt_runtime::adapters::automl::{cross_validate_shapes, Shape};
use mbt_runtime::adapters::Task;

fn task(text: &str) -> anyhow::Result<Task> {
    Ok(match text.split_once(':') {
        Some(("multiclass", classes)) => Task::Multiclass(classes.parse()?),
        _ if text == "binary" => Task::Binary,
        _ if text == "regression" => Task::Regression,
        _ => anyhow::bail!("TASK is binary, multiclass:K or regression, not {text}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 4,
        "usage: portfolio_cv TABLE.csv TASK SHAPES.json"
    );
    let (x, y) = common::read_numeric_csv(&args[1], "label", usize::MAX)?;
    let shapes: Vec<Shape> = serde_json::from_str(&std::fs::read_to_string(&args[3])?)?;
    let config = AutomlConfig {
        seed: Some(1),
        ..AutomlConfig::default()
    };
    let rows = cross_validate_shapes(&x, &y, task(&args[2])?, &config, &shapes)?;
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "metric": row.metric, "score": row.score, "std": row.std,
                "fit_seconds": row.fit_seconds,
            })
        })
        .collect();
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
