//! `tests/*.test.yaml`: assertions about a pipeline's compiled DAG, run by `mbt test`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The pipeline under test.
    pub pipeline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The assertions, checked in order.
    pub assertions: Vec<Assertion>,
}

/// One assertion about the DAG, chosen by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Assertion {
    /// The step is in the DAG.
    StepExists { step: String },
    /// The step is not in the DAG.
    StepAbsent { step: String },
    /// `before` runs before `after` (both must exist).
    StepOrder { before: String, after: String },
    /// The number of steps lies within `[min, max]`.
    StepCount {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
    },
    /// The step requests no more than these resources.
    ResourceLimit {
        step: String,
        /// e.g. `64Gi`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_max: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        cpu_max: Option<f64>,
    },
}
