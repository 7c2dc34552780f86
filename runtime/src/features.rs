//! Turning frames into model matrices with a fitted, serializable feature layout.
//!
//! The layout is fitted on the train set and stored with the model, so serving builds exactly
//! the training columns in the training order. Text columns still present at training time get
//! ordinal codes (unseen values become missing, which gradient boosting handles).

use anyhow::{bail, Context};
use mbt_contract::pipeline::ClassLabel;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::frame;

/// The fitted layout of the model's input matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureLayout {
    pub columns: Vec<FeatureColumn>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureColumn {
    Numeric {
        name: String,
    },
    /// Codes are positions in `categories`.
    Ordinal {
        name: String,
        categories: Vec<String>,
    },
}

impl FeatureColumn {
    pub fn name(&self) -> &str {
        match self {
            FeatureColumn::Numeric { name } | FeatureColumn::Ordinal { name, .. } => name,
        }
    }
}

impl FeatureLayout {
    /// Every column of `frame` except `excluded`, in frame order.
    pub fn fit(frame: &DataFrame, excluded: &[String]) -> anyhow::Result<FeatureLayout> {
        let mut columns = Vec::new();
        for column in frame.columns() {
            let name = column.name().to_string();
            // An all-null column carries nothing to learn (train warns about it).
            if excluded.contains(&name) || column.null_count() == frame.height() {
                continue;
            }
            if frame::is_numeric(column.dtype()) {
                columns.push(FeatureColumn::Numeric { name });
            } else {
                let categories = frame::distinct_texts(frame, &name)?;
                columns.push(FeatureColumn::Ordinal { name, categories });
            }
        }
        if columns.is_empty() {
            bail!(
                "no feature columns left after excluding {}",
                excluded.join(", ")
            );
        }
        Ok(FeatureLayout { columns })
    }

    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name().to_string()).collect()
    }

    /// The matrix of `frame` in column-major order (one column after another), NaN for missing.
    pub fn matrix(&self, frame: &DataFrame) -> anyhow::Result<Matrix> {
        Matrix::gather(&self.columns_of(frame)).map(std::borrow::Cow::into_owned)
    }

    /// The feature columns of `frame`, built one at a time when a framework reads them.
    pub fn columns_of<'a>(&'a self, frame: &'a DataFrame) -> FrameColumns<'a> {
        FrameColumns {
            layout: self,
            frame,
        }
    }
}

/// A model's input read column by column, NaN for missing. A framework that bins its input
/// (gbm) reads one column at a time and never holds the whole f64 matrix; one that needs the
/// matrix builds it with [`Matrix::gather`].
pub trait Columns: Sync {
    fn rows(&self) -> usize;
    fn width(&self) -> usize;
    fn column(&self, index: usize) -> anyhow::Result<std::borrow::Cow<'_, [f64]>>;
    /// The input as a matrix, when it already is one.
    fn as_matrix(&self) -> Option<&Matrix> {
        None
    }
    /// Column `index`'s place in the fitted layout (its name, and whether it holds category
    /// codes), when the input comes from a frame.
    fn feature(&self, _index: usize) -> Option<&FeatureColumn> {
        None
    }
}

/// The feature columns of a frame under a fitted layout.
pub struct FrameColumns<'a> {
    layout: &'a FeatureLayout,
    frame: &'a DataFrame,
}

impl Columns for FrameColumns<'_> {
    fn rows(&self) -> usize {
        self.frame.height()
    }

    fn width(&self) -> usize {
        self.layout.columns.len()
    }

    fn column(&self, index: usize) -> anyhow::Result<std::borrow::Cow<'_, [f64]>> {
        let values = match &self.layout.columns[index] {
            FeatureColumn::Numeric { name } => frame::numbers(self.frame, name)?,
            FeatureColumn::Ordinal { name, categories } => frame::text_view(self.frame, name)?
                .iter()
                .map(|value| {
                    let code =
                        value.and_then(|v| categories.binary_search_by(|c| c.as_str().cmp(v)).ok());
                    code.map_or(f64::NAN, |code| code as f64)
                })
                .collect(),
        };
        Ok(std::borrow::Cow::Owned(values))
    }

    fn feature(&self, index: usize) -> Option<&FeatureColumn> {
        self.layout.columns.get(index)
    }
}

impl Columns for Matrix {
    fn rows(&self) -> usize {
        self.rows
    }

    fn width(&self) -> usize {
        self.columns
    }

    fn column(&self, index: usize) -> anyhow::Result<std::borrow::Cow<'_, [f64]>> {
        Ok(std::borrow::Cow::Borrowed(Matrix::column(self, index)))
    }

    fn as_matrix(&self) -> Option<&Matrix> {
        Some(self)
    }
}

/// A dense column-major matrix.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub values: Vec<f64>,
    pub rows: usize,
    pub columns: usize,
}

impl Matrix {
    /// `x` as a matrix (borrowed when it is one).
    pub fn gather(x: &dyn Columns) -> anyhow::Result<std::borrow::Cow<'_, Matrix>> {
        if let Some(matrix) = x.as_matrix() {
            return Ok(std::borrow::Cow::Borrowed(matrix));
        }
        let mut values = Vec::with_capacity(x.rows() * x.width());
        for index in 0..x.width() {
            values.extend_from_slice(&x.column(index)?);
        }
        Ok(std::borrow::Cow::Owned(Matrix {
            values,
            rows: x.rows(),
            columns: x.width(),
        }))
    }

    pub fn column(&self, index: usize) -> &[f64] {
        &self.values[index * self.rows..(index + 1) * self.rows]
    }

    /// Row-major copy with missing values replaced by `fill[column]`.
    pub fn row_major_filled(&self, fill: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.rows * self.columns];
        for column in 0..self.columns {
            for (row, value) in self.column(column).iter().enumerate() {
                out[row * self.columns + column] =
                    if value.is_nan() { fill[column] } else { *value };
            }
        }
        out
    }
}

/// The classes of a multiclass label: the configured `classes` (as text), else the distinct
/// values of the train set, sorted.
pub fn class_names(
    frame: &DataFrame,
    label: &str,
    configured: Option<&[ClassLabel]>,
) -> anyhow::Result<Vec<String>> {
    if let Some(list) = configured.filter(|l| !l.is_empty()) {
        return Ok(list.iter().map(ClassLabel::text).collect());
    }
    frame::distinct_texts(frame, label)
}

/// Multiclass labels as indices into `classes`; a value outside them is an error.
pub fn class_indices(
    frame: &DataFrame,
    label: &str,
    classes: &[String],
) -> anyhow::Result<Vec<usize>> {
    frame::texts(frame, label)?
        .into_iter()
        .enumerate()
        .map(|(row, value)| {
            let value = value.with_context(|| {
                format!("label column `{label}` has a null at row {row}; add a null_threshold check on it")
            })?;
            classes.iter().position(|c| *c == value).with_context(|| {
                format!("label `{label}` is `{value}` at row {row}, which is not one of the classes {}", classes.join(", "))
            })
        })
        .collect()
}

/// Labels as 0/1 (binary: 1 for the positive class) or numbers (regression).
pub fn labels(frame: &DataFrame, label: &str, positive: Option<&str>) -> anyhow::Result<Vec<f64>> {
    let texts = frame::text_view(frame, label)?;
    if let Some(missing) = texts.iter().position(|value| value.is_none()) {
        bail!(
            "label column `{label}` has a null at row {missing}; add a null_threshold check on it"
        );
    }
    match positive {
        Some(positive) => Ok(texts
            .iter()
            .map(|v| f64::from(u8::from(v == Some(positive))))
            .collect()),
        None => frame::numbers(frame, label),
    }
}
