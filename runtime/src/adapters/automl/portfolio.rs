//! The candidates AutoML tries, in order: a fixed portfolio (gradient boosting configurations
//! that complement each other, not random search), regularized linear models, random forests and
//! extremely randomized trees on gbm's histograms and, on tables small enough for it to be cheap,
//! k-NN; a first stage, then a second for budgets the first leaves unused. The order matters:
//! under a small budget the first candidates are the ones that usually win.

use mbt_contract::frameworks::{
    AutomlConfig, FrameworkConfig, GbmConfig, H2oAlgo, KnnWeights, SmartcoreConfig,
};
use serde_json::{json, Value};

use super::prepare::Encoding;
use crate::adapters::Task;

/// k-NN predicts by scanning every training row: only on tables small enough for that to be
/// cheap (its cross-validation time grows with the square of the rows).
const KNN_MAX_ROWS: usize = 2_000;

/// One model to cross-validate.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: String,
    /// The leaderboard's algorithm (`GBM`, `GLM`, `KNN`).
    pub algorithm: &'static str,
    /// Its H2O family, for include/exclude_algos (k-NN has none: only run when no
    /// `include_algos` is given).
    pub family: Option<H2oAlgo>,
    pub config: FrameworkConfig,
    /// How its categorical columns are encoded.
    pub encoding: Encoding,
    /// Standardize the features first (linear and k-NN models).
    pub scaled: bool,
    /// Its cross-validation time relative to a gbm candidate's (the budget's estimate).
    pub cost: f64,
}

impl Candidate {
    /// The candidate's parameters as the leaderboard shows them.
    pub fn params(&self) -> Value {
        match serde_json::to_value(&self.config) {
            Ok(value) => value["config"].clone(),
            Err(_) => Value::Null,
        }
    }
}

/// Whether a model of `family` may run under `config`'s include/exclude lists.
pub fn allowed(config: &AutomlConfig, family: Option<H2oAlgo>) -> bool {
    let matches = |list: &[H2oAlgo]| {
        family.is_some_and(|family| {
            list.iter().any(|listed| {
                *listed == family
                    // XGBoost's place is taken by MBT's gradient boosting.
                    || (*listed == H2oAlgo::XgBoost && family == H2oAlgo::Gbm)
            })
        })
    };
    config.include_algos.as_deref().is_none_or(matches)
        && !config.exclude_algos.as_deref().is_some_and(matches)
}

/// A gradient boosting shape: (learning_rate, max_leaves, max_depth, min_samples_leaf, l2,
/// subsample, colsample_bynode, rounds, patience).
type Shape = (f64, u32, u32, u32, f64, f64, f64, u32, u32);

/// The first stage: six shapes that complement each other, tried first under any budget.
const FIRST: [Shape; 6] = [
    (0.1, 31, 8, 20, 1.0, 1.0, 1.0, 1000, 30),
    (0.05, 15, 6, 40, 5.0, 0.8, 1.0, 2000, 50),
    (0.1, 63, 10, 10, 1.0, 0.8, 1.0, 1000, 30),
    (0.05, 7, 3, 50, 1.0, 1.0, 1.0, 2000, 50),
    (0.03, 31, 8, 30, 10.0, 0.7, 1.0, 3000, 80),
    (0.2, 127, 12, 5, 0.1, 1.0, 1.0, 500, 20),
];

/// The second stage, for budgets the first leaves unused (small and medium tables): slower
/// learning rates, feature sampling per split, very small and very large leaves.
const SECOND: [Shape; 12] = [
    (0.05, 31, 8, 10, 1.0, 0.8, 0.7, 2000, 50),
    (0.02, 15, 6, 20, 3.0, 0.8, 0.8, 4000, 100),
    (0.1, 15, 5, 5, 0.0, 0.9, 0.5, 1000, 30),
    (0.05, 255, 16, 5, 10.0, 0.7, 0.6, 2000, 50),
    (0.03, 7, 4, 10, 1.0, 0.8, 0.8, 4000, 100),
    (0.1, 4, 2, 20, 1.0, 1.0, 1.0, 2000, 50),
    (0.01, 31, 8, 20, 1.0, 0.8, 0.8, 6000, 150),
    (0.05, 63, 10, 50, 30.0, 0.6, 0.5, 2000, 50),
    (0.08, 31, 12, 3, 3.0, 0.7, 0.7, 1500, 40),
    (0.15, 15, 6, 30, 10.0, 0.9, 0.9, 800, 25),
    (0.03, 127, 12, 15, 5.0, 0.6, 0.4, 3000, 80),
    (0.05, 31, 6, 100, 1.0, 0.8, 1.0, 2000, 50),
];

/// The candidates for `task` on `rows` rows of `columns` features, filtered by the config and
/// capped by `max_models`: the first stage (six boosting shapes, a linear model, a random
/// forest, extremely randomized trees, k-NN on small tables), then the second (more boosting
/// shapes, forests and linear models for the ensemble to choose from).
pub fn candidates(
    config: &AutomlConfig,
    task: Task,
    rows: usize,
    columns: usize,
) -> Vec<Candidate> {
    let seed = config.seed.unwrap_or(42);
    let gbm = |index: usize, shape: Shape| gbm(index, shape, seed, rows, config.stopping_rounds);
    let mut out = Vec::new();
    for (index, shape) in FIRST.into_iter().enumerate() {
        out.push(gbm(index, shape));
        match index {
            // The linear model second: cheap, and the best on some tables.
            0 => out.push(linear(task, 1, 1.0)),
            // A random forest fourth: deep bagged trees win where boosting overfits.
            1 => out.push(forest(1, seed, task, rows, columns, false, 2)),
            // Extremely randomized trees: smoother than the forest, another ensemble member.
            3 => out.push(forest(1, seed, task, rows, columns, true, 1)),
            _ => {}
        }
    }
    if rows <= KNN_MAX_ROWS {
        out.push(knn(1, task, rows, 1.0));
    }
    for (index, shape) in SECOND.into_iter().enumerate() {
        out.push(gbm(FIRST.len() + index, shape));
        match index {
            1 => out.push(linear(task, 2, 0.05)),
            3 => out.push(forest(2, seed, task, rows, columns, false, 1)),
            5 => out.push(linear(task, 3, 20.0)),
            7 => out.push(forest(2, seed, task, rows, columns, true, 5)),
            _ => {}
        }
    }
    if rows <= KNN_MAX_ROWS {
        out.push(knn(2, task, rows, 0.5));
    }
    out.retain(|candidate| allowed(config, candidate.family));
    if let Some(max) = config.max_models {
        out.truncate(max as usize);
    }
    out
}

fn gbm(index: usize, shape: Shape, seed: u64, rows: usize, patience: Option<u32>) -> Candidate {
    let (rate, leaves, depth, leaf, l2, subsample, colsample, rounds, stop) = shape;
    // A table too small for the leaf size gets a smaller one.
    let leaf = leaf.min((rows / 20).max(1) as u32);
    let gbm = GbmConfig {
        n_estimators: Some(rounds),
        learning_rate: Some(rate),
        max_depth: Some(depth),
        max_leaves: Some(leaves),
        min_samples_leaf: Some(leaf),
        l2: Some(l2),
        subsample: Some(subsample),
        colsample_bynode: (colsample < 1.0).then_some(colsample),
        early_stopping_rounds: Some(patience.unwrap_or(stop)),
        validation_fraction: Some(0.1),
        seed: Some(seed.wrapping_add(index as u64)),
        ..GbmConfig::default()
    };
    Candidate {
        id: format!("GBM_{}", index + 1),
        algorithm: "GBM",
        family: Some(H2oAlgo::Gbm),
        config: FrameworkConfig::Gbm(gbm),
        encoding: Encoding::Trees,
        scaled: false,
        // Early stopping ends a slow learner later: cost grows as the rate falls.
        cost: (0.1 / rate).sqrt().clamp(0.7, 3.0),
    }
}

/// A random forest (bootstrap rows, a share of the features per split: the square root of the
/// features for classification, a third for regression, as scikit-learn and H2O do), or with
/// `extra` extremely randomized trees (every row, one random threshold per feature).
fn forest(
    number: usize,
    seed: u64,
    task: Task,
    rows: usize,
    columns: usize,
    extra: bool,
    min_leaf: u32,
) -> Candidate {
    let columns = columns.max(1) as f64;
    let share = match task {
        Task::Regression => (columns / 3.0).max(1.0) / columns,
        _ => columns.sqrt().max(1.0) / columns,
    };
    let gbm = GbmConfig {
        n_estimators: Some(if rows > 50_000 { 50 } else { 100 }),
        max_depth: Some(20),
        max_leaves: Some(4096),
        min_samples_leaf: Some(min_leaf),
        l2: Some(0.0),
        subsample: Some(if extra { 1.0 } else { 0.632 }),
        random_forest: Some(true),
        colsample_bynode: (share < 1.0).then_some(share),
        extra_trees: extra.then_some(true),
        seed: Some(seed.wrapping_add(if extra { 200 } else { 100 } + number as u64)),
        ..GbmConfig::default()
    };
    Candidate {
        id: format!("{}_{number}", if extra { "XRT" } else { "DRF" }),
        algorithm: if extra { "XRT" } else { "DRF" },
        // H2O's XRT is a DRF with random thresholds: one family for include/exclude_algos.
        family: Some(H2oAlgo::Drf),
        config: FrameworkConfig::Gbm(gbm),
        encoding: Encoding::Trees,
        scaled: false,
        // Deep trees: a few gbm candidates (measured on the example).
        cost: if extra { 2.0 } else { 3.0 },
    }
}

fn linear(task: Task, number: usize, alpha: f64) -> Candidate {
    let config: SmartcoreConfig = match task {
        Task::Regression => serde_json::from_value(json!({"model": "Ridge", "alpha": alpha})),
        _ => serde_json::from_value(json!({"model": "LogisticRegression", "alpha": alpha})),
    }
    .expect("a valid smartcore config");
    Candidate {
        id: format!("GLM_{number}"),
        algorithm: "GLM",
        family: Some(H2oAlgo::Glm),
        config: FrameworkConfig::Smartcore(config),
        encoding: Encoding::Linear,
        scaled: true,
        // L-BFGS on the one-hot columns: a few gbm candidates on tables with text columns.
        cost: 3.0,
    }
}

/// k-NN with k about `share` times the square root of the rows, within [5, 50].
fn knn(number: usize, task: Task, rows: usize, share: f64) -> Candidate {
    let k = ((rows as f64).sqrt() * share).clamp(5.0, 50.0) as u32;
    let config = match task {
        Task::Regression => SmartcoreConfig::KNeighborsRegressor {
            k: Some(k),
            weights: Some(KnnWeights::Distance),
        },
        _ => SmartcoreConfig::KNeighborsClassifier {
            k: Some(k),
            weights: Some(KnnWeights::Distance),
        },
    };
    Candidate {
        id: format!("KNN_{number}"),
        algorithm: "KNN",
        family: None,
        config: FrameworkConfig::Smartcore(config),
        encoding: Encoding::Linear,
        scaled: true,
        cost: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portfolio_starts_with_boosting_then_linear_and_honours_the_lists() {
        let config = AutomlConfig::default();
        let ids: Vec<String> = candidates(&config, Task::Binary, 5000, 10)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(
            ids[..10],
            [
                "GBM_1", "GLM_1", "GBM_2", "DRF_1", "GBM_3", "GBM_4", "XRT_1", "GBM_5", "GBM_6",
                "GBM_7"
            ]
        );
        assert_eq!(ids.len(), 9 + 12 + 4);
        // Every id once; k-NN only on small tables.
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(!ids.iter().any(|id| id.starts_with("KNN")));
        let small = candidates(&config, Task::Binary, 500, 10);
        assert_eq!(small.len(), ids.len() + 2);
        let only_glm = AutomlConfig {
            include_algos: Some(vec![H2oAlgo::Glm]),
            ..AutomlConfig::default()
        };
        let ids: Vec<String> = candidates(&only_glm, Task::Regression, 100, 10)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["GLM_1", "GLM_2", "GLM_3"]);
        let no_boosting = AutomlConfig {
            exclude_algos: Some(vec![H2oAlgo::XgBoost]),
            max_models: Some(1),
            ..AutomlConfig::default()
        };
        let ids: Vec<String> = candidates(&no_boosting, Task::Binary, 50_000, 10)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["GLM_1"]);
    }
}
