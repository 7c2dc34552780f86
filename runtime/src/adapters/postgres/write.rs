//! Publishing a run's predictions into a table, in one transaction: the rows go with binary
//! `COPY` into a temporary table, then into the target table (created when absent) with the
//! run's id in `mbt_run_id`. `append` first deletes the rows an earlier attempt of the same run
//! left (so a retried publish does not duplicate them); `replace` drops and recreates the table.
//! Readers see the old table or the new rows, never a part; a failed publish leaves the table
//! as it was.

use polars::prelude::*;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::{quote, Database};
use crate::error::{coded, Code};
use mbt_contract::adapters::PublishMode;

/// The column that records which run published a row.
pub const RUN_COLUMN: &str = "mbt_run_id";

/// One output column's values, in the wire type it is sent as.
enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
}

impl Values {
    fn of(column: &Column) -> anyhow::Result<Values> {
        let dtype = column.dtype();
        Ok(if dtype.is_integer() {
            Values::Int(column.cast(&DataType::Int64)?.i64()?.iter().collect())
        } else if dtype.is_float() {
            Values::Float(column.cast(&DataType::Float64)?.f64()?.iter().collect())
        } else if dtype == &DataType::Boolean {
            Values::Bool(column.bool()?.iter().collect())
        } else {
            Values::Text(
                column
                    .cast(&DataType::String)?
                    .str()?
                    .iter()
                    .map(|text| text.map(str::to_string))
                    .collect(),
            )
        })
    }

    fn sql_type(&self) -> (&'static str, Type) {
        match self {
            Values::Int(_) => ("bigint", Type::INT8),
            Values::Float(_) => ("double precision", Type::FLOAT8),
            Values::Bool(_) => ("boolean", Type::BOOL),
            Values::Text(_) => ("text", Type::TEXT),
        }
    }

    fn get(&self, row: usize) -> &(dyn ToSql + Sync) {
        match self {
            Values::Int(values) => &values[row],
            Values::Float(values) => &values[row],
            Values::Bool(values) => &values[row],
            Values::Text(values) => &values[row],
        }
    }
}

pub(super) fn publish(
    database: &Database,
    table: &str,
    frame: &DataFrame,
    run_id: &str,
    mode: PublishMode,
) -> anyhow::Result<String> {
    let (schema, name) = database.qualify(table);
    let target = format!("{}.{}", quote(schema), quote(name));
    let uri = format!("postgresql://{}?table={schema}.{name}", database.address);
    if frame.column(RUN_COLUMN).is_ok() {
        return Err(coded(
            Code::PublishFailed,
            format!("the predictions have a column `{RUN_COLUMN}`, which the postgres writer fills itself"),
            "rename the column in the serving pipeline's output",
        ));
    }
    let values: Vec<(&str, Values)> = frame
        .columns()
        .iter()
        .map(|column| Ok((column.name().as_str(), Values::of(column)?)))
        .collect::<anyhow::Result<_>>()?;
    let definitions: Vec<String> = values
        .iter()
        .map(|(name, values)| format!("{} {}", quote(name), values.sql_type().0))
        .chain([format!("{} text NOT NULL", quote(RUN_COLUMN))])
        .collect();
    let names: Vec<String> = values.iter().map(|(name, _)| quote(name)).collect();
    let types: Vec<Type> = values
        .iter()
        .map(|(_, values)| values.sql_type().1)
        .collect();

    let mut guard = database.client()?;
    let client = guard.as_mut().expect("connected");
    let published: Result<u64, postgres::Error> = (|| {
        let mut transaction = client.transaction()?;
        let create = format!("CREATE TABLE {target} ({})", definitions.join(", "));
        match mode {
            PublishMode::Replace => {
                transaction.batch_execute(&format!("DROP TABLE IF EXISTS {target}; {create}"))?
            }
            PublishMode::Append => {
                transaction.batch_execute(&create.replacen(
                    "CREATE TABLE",
                    "CREATE TABLE IF NOT EXISTS",
                    1,
                ))?;
                transaction.execute(
                    &format!("DELETE FROM {target} WHERE {} = $1", quote(RUN_COLUMN)),
                    &[&run_id],
                )?;
            }
        }
        // The rows arrive in our types; the insert converts them to the table's (an existing
        // table may have narrower ones) and fails, changing nothing, where they do not fit.
        transaction.batch_execute(&format!(
            "CREATE TEMPORARY TABLE mbt_publish ({}) ON COMMIT DROP",
            definitions[..values.len()].join(", ")
        ))?;
        let copy = transaction.copy_in(&format!(
            "COPY mbt_publish ({}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ))?;
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(values.len());
        for index in 0..frame.height() {
            row.clear();
            row.extend(values.iter().map(|(_, values)| values.get(index)));
            writer.write(&row)?;
        }
        writer.finish()?;
        let inserted = transaction.execute(
            &format!(
                "INSERT INTO {target} ({}, {}) SELECT {}, $1 FROM mbt_publish",
                names.join(", "),
                quote(RUN_COLUMN),
                names.join(", ")
            ),
            &[&run_id],
        )?;
        transaction.commit()?;
        Ok(inserted)
    })();
    match published {
        Ok(_) => Ok(uri),
        Err(error) if super::lost(&error) => Err(database.classify(error, "publish to")),
        Err(error) => Err(coded(
            Code::PublishFailed,
            format!(
                "cannot publish {} rows into {schema}.{name} of PostgreSQL at {}: {}; the table is unchanged",
                frame.height(),
                database.address,
                super::describe(&error)
            ),
            format!(
                "make the table's columns fit the predictions' ({}), or publish with `mode: replace`; then `mbt retry PIPELINE`",
                values
                    .iter()
                    .map(|(name, values)| format!("{name} {}", values.sql_type().0))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
