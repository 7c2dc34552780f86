//! What this adapter reads of smartcore's private state, through the models' serde form: the
//! nodes of a fitted `DecisionTreeClassifier` and the trees and bootstrap samples of a fitted
//! `RandomForestClassifier`.
//!
//! smartcore exposes neither the leaves' training rows nor the forest's samples, and its own
//! `predict_proba` for trees is one-hot; the class shares the classifiers return are rebuilt here
//! from the fitted nodes. This is the one module that depends on smartcore's field names and
//! layout, which are not part of its API: the version is pinned (`=0.7.0` in runtime/Cargo.toml),
//! [`read`] fails with a message naming the version if the form no longer matches, and the tests
//! fail too. Upgrading smartcore starts here.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;

use super::{ClassTree, Dense, TreeNode};

/// The parts of smartcore 0.7.0's serialized `DecisionTreeClassifier` that we read.
#[derive(Deserialize)]
pub(super) struct FittedTree {
    nodes: Vec<FittedNode>,
    classes: Vec<i32>,
}

#[derive(Deserialize)]
struct FittedNode {
    output: usize,
    n_node_samples: usize,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
    impurity: Option<f64>,
}

/// The parts of smartcore 0.7.0's serialized `RandomForestClassifier` that we read.
#[derive(Deserialize)]
pub(super) struct FittedForest {
    pub(super) trees: Option<Vec<FittedTree>>,
    /// Per tree, whether each train row was in its bootstrap sample (kept only when the forest
    /// was fitted with `keep_samples`).
    pub(super) samples: Option<Vec<Vec<bool>>>,
}

/// Reads a fitted smartcore model's private fields through its serde form.
pub(super) fn read<T: Serialize, U: serde::de::DeserializeOwned>(model: &T) -> anyhow::Result<U> {
    serde_json::to_value(model)
        .and_then(serde_json::from_value)
        .context("unexpected serialized form of a smartcore model (is smartcore still 0.7.0?)")
}

/// Our tree from smartcore's: leaves get the class shares of the (in-bag) train rows reaching
/// them; also the impurity decrease per column.
pub(super) fn class_tree(
    fitted: &FittedTree,
    data: &Dense,
    labels: &[usize],
    in_bag: Option<&[bool]>,
    classes: usize,
) -> (ClassTree, Vec<f64>) {
    let columns = data.shape().1;
    let is_split = |node: &FittedNode| node.true_child.is_some() && node.false_child.is_some();
    let mut counts = vec![vec![0usize; classes]; fitted.nodes.len()];
    for (row, label) in labels.iter().enumerate() {
        if in_bag.is_some_and(|in_bag| !in_bag[row]) {
            continue;
        }
        let mut node = 0;
        while is_split(&fitted.nodes[node]) {
            let current = &fitted.nodes[node];
            let threshold = current.split_value.unwrap_or(f64::NAN);
            node = if *data.get((row, current.split_feature)) <= threshold {
                current.true_child.unwrap()
            } else {
                current.false_child.unwrap()
            };
        }
        counts[node][*label] += 1;
    }
    let nodes = fitted
        .nodes
        .iter()
        .zip(&counts)
        .map(|(node, counts)| {
            if is_split(node) {
                return TreeNode::Split {
                    feature: node.split_feature,
                    threshold: node.split_value.unwrap_or(f64::NAN),
                    left: node.true_child.unwrap(),
                    right: node.false_child.unwrap(),
                };
            }
            let total: usize = counts.iter().sum();
            let mut shares = vec![0.0; classes];
            if total == 0 {
                // No row reached it (cannot happen for a fitted leaf): smartcore's own answer.
                shares[fitted.classes[node.output] as usize] = 1.0;
            } else {
                for (share, count) in shares.iter_mut().zip(counts) {
                    *share = *count as f64 / total as f64;
                }
            }
            TreeNode::Leaf(shares)
        })
        .collect();
    let mut importance = vec![0.0; columns];
    let weighted = |node: &FittedNode| node.n_node_samples as f64 * node.impurity.unwrap_or(0.0);
    for node in &fitted.nodes {
        if let (Some(left), Some(right)) = (node.true_child, node.false_child) {
            let decrease =
                weighted(node) - weighted(&fitted.nodes[left]) - weighted(&fitted.nodes[right]);
            importance[node.split_feature] += decrease.max(0.0);
        }
    }
    (ClassTree { nodes }, importance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartcore::ensemble::random_forest_classifier::{
        RandomForestClassifier, RandomForestClassifierParameters,
    };
    use smartcore::linalg::basic::matrix::DenseMatrix;
    use smartcore::tree::decision_tree_classifier::{
        DecisionTreeClassifier, DecisionTreeClassifierParameters,
    };

    /// Eight rows, one column: the label is whether the value exceeds 3.5.
    fn data() -> (Dense, Vec<i32>) {
        let values: Vec<f64> = (0..8).map(f64::from).collect();
        let data = DenseMatrix::new(8, 1, values, false).unwrap();
        (data, vec![0, 0, 0, 0, 1, 1, 1, 1])
    }

    /// The fields read here are still where smartcore 0.7.0 put them; a smartcore upgrade that
    /// moves them fails here first, with the reason.
    #[test]
    fn reads_smartcore_0_7_0_trees_and_forests() {
        let (data, targets) = data();
        let labels: Vec<usize> = targets.iter().map(|t| *t as usize).collect();
        let tree = DecisionTreeClassifier::<f64, i32, Dense, Vec<i32>>::fit(
            &data,
            &targets,
            DecisionTreeClassifierParameters::default(),
        )
        .unwrap();
        let fitted: FittedTree = read(&tree).unwrap();
        assert_eq!(fitted.classes, [0, 1]);
        assert_eq!(fitted.nodes.len(), 3, "one split, two leaves");
        assert_eq!(fitted.nodes[0].n_node_samples, 8);
        let (ours, importance) = class_tree(&fitted, &data, &labels, None, 2);
        assert_eq!(importance.len(), 1);
        assert!(importance[0] > 0.0);
        match &ours.nodes[0] {
            TreeNode::Split {
                feature, threshold, ..
            } => {
                assert_eq!(*feature, 0);
                assert!((3.0..4.0).contains(threshold), "{threshold}");
            }
            TreeNode::Leaf(_) => panic!("the root splits"),
        }

        let parameters = RandomForestClassifierParameters::default()
            .with_n_trees(3)
            .with_keep_samples(true)
            .with_seed(1);
        let forest =
            RandomForestClassifier::<f64, i32, Dense, Vec<i32>>::fit(&data, &targets, parameters)
                .unwrap();
        let fitted: FittedForest = read(&forest).unwrap();
        assert_eq!(fitted.trees.unwrap().len(), 3);
        let samples = fitted.samples.unwrap();
        assert_eq!(samples.len(), 3, "one bootstrap mask per tree");
        assert!(samples.iter().all(|in_bag| in_bag.len() == 8));
    }

    #[test]
    fn another_form_is_an_error_naming_the_version() {
        let error = read::<_, FittedTree>(&serde_json::json!({"nodes": 3}))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("is smartcore still 0.7.0?"), "{error}");
    }
}
