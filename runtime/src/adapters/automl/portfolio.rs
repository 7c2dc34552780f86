//! The candidates AutoML tries, in order: a fixed portfolio (gradient boosting configurations
//! that complement each other, chosen offline, not random search), a regularized linear model
//! and, on tables small enough for it to be cheap, k-NN. The order matters: under a small budget
//! the first candidates are the ones that usually win.

use mbt_contract::frameworks::{
    AutomlConfig, FrameworkConfig, GbmConfig, H2oAlgo, KnnWeights, SmartcoreConfig,
};
use serde_json::{json, Value};

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

/// The candidates for `task` on `rows` rows, filtered by the config and capped by `max_models`.
pub fn candidates(config: &AutomlConfig, task: Task, rows: usize) -> Vec<Candidate> {
    let seed = config.seed.unwrap_or(42);
    let patience = config.stopping_rounds;
    // (learning_rate, max_leaves, max_depth, min_samples_leaf, l2, subsample, rounds, patience)
    type Shape = (f64, u32, u32, u32, f64, f64, u32, u32);
    let shapes: [Shape; 6] = [
        (0.1, 31, 8, 20, 1.0, 1.0, 1000, 30),
        (0.05, 15, 6, 40, 5.0, 0.8, 2000, 50),
        (0.1, 63, 10, 10, 1.0, 0.8, 1000, 30),
        (0.05, 7, 3, 50, 1.0, 1.0, 2000, 50),
        (0.03, 31, 8, 30, 10.0, 0.7, 3000, 80),
        (0.2, 127, 12, 5, 0.1, 1.0, 500, 20),
    ];
    let mut out = Vec::new();
    for (index, (rate, leaves, depth, leaf, l2, subsample, rounds, stop)) in
        shapes.into_iter().enumerate()
    {
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
            early_stopping_rounds: Some(patience.unwrap_or(stop)),
            validation_fraction: Some(0.1),
            seed: Some(seed.wrapping_add(index as u64)),
            ..GbmConfig::default()
        };
        out.push(Candidate {
            id: format!("GBM_{}", index + 1),
            algorithm: "GBM",
            family: Some(H2oAlgo::Gbm),
            config: FrameworkConfig::Gbm(gbm),
            scaled: false,
            cost: 1.0,
        });
        if index == 0 {
            // The linear model second: cheap, and the best on some tables.
            out.push(linear(task));
        }
        if index == 1 {
            // A random forest fourth: deep bagged trees win where boosting overfits.
            out.push(forest(seed, rows));
        }
    }
    if rows <= KNN_MAX_ROWS {
        out.push(knn(task, rows));
    }
    out.retain(|candidate| allowed(config, candidate.family));
    if let Some(max) = config.max_models {
        out.truncate(max as usize);
    }
    out
}

fn forest(seed: u64, rows: usize) -> Candidate {
    let gbm = GbmConfig {
        n_estimators: Some(if rows > 50_000 { 50 } else { 100 }),
        max_depth: Some(20),
        max_leaves: Some(4096),
        min_samples_leaf: Some(2),
        l2: Some(0.0),
        subsample: Some(0.632),
        random_forest: Some(true),
        seed: Some(seed.wrapping_add(100)),
        ..GbmConfig::default()
    };
    Candidate {
        id: "DRF_1".into(),
        algorithm: "DRF",
        family: Some(H2oAlgo::Drf),
        config: FrameworkConfig::Gbm(gbm),
        scaled: false,
        // Deep trees on every feature: about four gbm candidates (measured on the example).
        cost: 4.0,
    }
}

fn linear(task: Task) -> Candidate {
    let config: SmartcoreConfig = match task {
        Task::Regression => serde_json::from_value(json!({"model": "Ridge", "alpha": 1.0})),
        _ => serde_json::from_value(json!({"model": "LogisticRegression", "alpha": 1.0})),
    }
    .expect("a valid smartcore config");
    Candidate {
        id: "GLM_1".into(),
        algorithm: "GLM",
        family: Some(H2oAlgo::Glm),
        config: FrameworkConfig::Smartcore(config),
        scaled: true,
        cost: 1.0,
    }
}

fn knn(task: Task, rows: usize) -> Candidate {
    // About the square root of the rows, within [5, 50].
    let k = ((rows as f64).sqrt() as u32).clamp(5, 50);
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
        id: "KNN_1".into(),
        algorithm: "KNN",
        family: None,
        config: FrameworkConfig::Smartcore(config),
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
        let ids: Vec<String> = candidates(&config, Task::Binary, 5000)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(
            ids,
            ["GBM_1", "GLM_1", "GBM_2", "DRF_1", "GBM_3", "GBM_4", "GBM_5", "GBM_6"]
        );
        let only_glm = AutomlConfig {
            include_algos: Some(vec![H2oAlgo::Glm]),
            ..AutomlConfig::default()
        };
        let ids: Vec<String> = candidates(&only_glm, Task::Regression, 100)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["GLM_1"]);
        let no_boosting = AutomlConfig {
            exclude_algos: Some(vec![H2oAlgo::XgBoost]),
            max_models: Some(1),
            ..AutomlConfig::default()
        };
        let ids: Vec<String> = candidates(&no_boosting, Task::Binary, 50_000)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["GLM_1"]);
    }
}
