//! Small helpers over polars data frames: typed column access, row selection, Parquet bytes.

use anyhow::{bail, Context};
use polars::prelude::*;

use crate::error::{coded, Code};

/// A column as `f64`, nulls as NaN. Fails with the column's type when it is not numeric.
pub fn numbers(frame: &DataFrame, name: &str) -> anyhow::Result<Vec<f64>> {
    let column = column(frame, name)?;
    if !is_numeric(column.dtype()) {
        bail!("column `{name}` is {}, expected a number", column.dtype());
    }
    let cast = column.cast(&DataType::Float64)?;
    Ok(cast
        .f64()?
        .iter()
        .map(|value| value.unwrap_or(f64::NAN))
        .collect())
}

/// A column as text (numbers are formatted), nulls as `None`.
pub fn texts(frame: &DataFrame, name: &str) -> anyhow::Result<Vec<Option<String>>> {
    Ok(text_view(frame, name)?
        .iter()
        .map(|value| value.map(str::to_string))
        .collect())
}

/// A column as text without a `String` per value: `.iter()` yields `Option<&str>` (hot paths
/// over every row of a large table use this).
pub fn text_view(frame: &DataFrame, name: &str) -> anyhow::Result<StringChunked> {
    let column = column(frame, name)?;
    Ok(column.cast(&DataType::String)?.str()?.clone())
}

/// The distinct non-null values of a column as text, sorted (fitted categories, classes).
pub fn distinct_texts(frame: &DataFrame, name: &str) -> anyhow::Result<Vec<String>> {
    let values = text_view(frame, name)?;
    // Hashed, then sorted: a tree compares every row's text with several others.
    let distinct: std::collections::HashSet<&str> = values.iter().flatten().collect();
    let mut sorted: Vec<String> = distinct.into_iter().map(str::to_string).collect();
    sorted.sort_unstable();
    Ok(sorted)
}

pub fn column<'a>(frame: &'a DataFrame, name: &str) -> anyhow::Result<&'a Column> {
    frame.column(name).map_err(|_| {
        let available: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        coded(
            Code::ColumnNotFound,
            format!(
                "column `{name}` not found (columns: {})",
                available.join(", ")
            ),
            mbt_contract::suggest::did_you_mean(name, &names),
        )
    })
}

pub fn is_numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean)
}

pub fn names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .iter()
        .map(|name| name.to_string())
        .collect()
}

/// The rows at `indices`, in that order.
pub fn take(frame: &DataFrame, indices: &[usize]) -> anyhow::Result<DataFrame> {
    let indices: Vec<IdxSize> = indices.iter().map(|i| *i as IdxSize).collect();
    let indices = IdxCa::from_vec("index".into(), indices);
    Ok(frame.take(&indices)?)
}

/// A frame as Parquet. LZ4: artifacts are written by every step and read back only by
/// `retry`/`exec`, so speed beats size. Row groups of 16,384 rows: with larger ones polars
/// buffers the encoded frame, which cost 150 MB per million rows here.
pub fn to_parquet(frame: &DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_parquet(frame, &mut bytes)?;
    Ok(bytes)
}

/// Writes `frame` as Parquet (see [`to_parquet`]) into `out`.
pub fn write_parquet(frame: &DataFrame, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut frame = frame.clone();
    ParquetWriter::new(out)
        .with_compression(ParquetCompression::Lz4Raw)
        .with_row_group_size(Some(16_384))
        .finish(&mut frame)
        .map_err(anyhow::Error::from)
        .context("cannot encode Parquet")?;
    Ok(())
}

pub fn from_parquet(bytes: Vec<u8>) -> anyhow::Result<DataFrame> {
    ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(anyhow::Error::from)
        .context("cannot decode Parquet")
}

/// Replaces (or adds) a column.
pub fn with_column(frame: &mut DataFrame, name: &str, values: Vec<f64>) -> anyhow::Result<()> {
    let series = Series::new(name.into(), values);
    frame.with_column(Column::from(series))?;
    Ok(())
}
