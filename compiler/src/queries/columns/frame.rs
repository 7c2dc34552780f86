//! The columns of the data frame at one point of a pipeline, as the catalog and the steps before
//! it determine them.

use std::sync::Arc;

use mbt_contract::catalog::{ColumnSchema, DataType, TableSchema};

/// The frame's columns, or why they are not known (later references are then not checked).
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Known(Vec<FrameColumn>),
    Unknown(String),
}

/// One column of a frame and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameColumn {
    /// Shared, so the frames every pipeline copies through its steps cost no allocations.
    pub name: Arc<str>,
    /// The table it was read from, or the transform that added it.
    pub origin: Arc<str>,
    /// Its catalog entry (type, statistics); `None` for a column a transform adds.
    pub schema: Option<Arc<ColumnSchema>>,
    /// Rows of the table it was read from, when counted.
    pub rows: Option<u64>,
}

impl FrameColumn {
    pub fn dtype(&self) -> DataType {
        self.schema
            .as_ref()
            .map_or(DataType::Unknown, |schema| schema.dtype)
    }

    /// One line for hovers and completions: `integer · 2.1% missing · customer_churn_features`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.dtype().as_str().to_string()];
        if let Some(share) = self
            .schema
            .as_ref()
            .and_then(|schema| schema.null_share(self.rows))
        {
            parts.push(format!("{:.1}% missing", share * 100.0));
        }
        if let Some(values) = self.schema.as_ref().and_then(|s| s.values.as_ref()) {
            if values.len() <= 6 {
                parts.push(format!("values {}", values.join(", ")));
            }
        }
        parts.push(self.origin.to_string());
        parts.join(" · ")
    }
}

impl Frame {
    /// The columns of a table as read (unknown when the catalog cannot read its format).
    pub fn of_table(name: &str, table: &TableSchema) -> Frame {
        let origin: Arc<str> = Arc::from(format!("table `{name}`"));
        match &table.columns {
            Some(columns) => Frame::Known(
                columns
                    .iter()
                    .map(|column| FrameColumn {
                        name: Arc::from(column.name.as_str()),
                        origin: origin.clone(),
                        schema: Some(Arc::new(column.clone())),
                        rows: table.rows,
                    })
                    .collect(),
            ),
            None => Frame::Unknown(format!(
                "the columns of `{name}` ({}) cannot be read by this build",
                table.source
            )),
        }
    }

    pub fn columns(&self) -> Option<&[FrameColumn]> {
        match self {
            Frame::Known(columns) => Some(columns),
            Frame::Unknown(_) => None,
        }
    }

    pub fn get(&self, name: &str) -> Option<&FrameColumn> {
        self.columns()?.iter().find(|column| &*column.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.columns()
            .unwrap_or(&[])
            .iter()
            .map(|column| &*column.name)
            .collect()
    }
}
