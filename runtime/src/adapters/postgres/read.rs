//! Reading a table or view: the columns and the date range a step asks for pushed down as SQL,
//! the rows streamed with binary `COPY` straight into polars columns.
//!
//! Rows of a table come in storage order (`ORDER BY tableoid, ctid`: the order a load wrote them, as in
//! a CSV export), so the same table gives the same split whatever plan the server picks.
//!
//! Types follow what `local_file` infers from a CSV export of the same table, so a pipeline
//! gives the same features on either connector: integers as Int64, floating point and
//! `numeric` as Float64, booleans as Boolean, and everything else (text, dates, timestamps,
//! UUIDs...) as text, dates in ISO 8601.

use mbt_contract::suggest::did_you_mean;
use polars::prelude::*;
use postgres::binary_copy::BinaryCopyOutIter;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;

use super::{literal, quote, Database};
use crate::adapters::TableRequest;
use crate::error::{coded, Code};

/// How a column travels: the SQL cast that puts it in one of four wire types.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
}

impl Kind {
    fn of(sql_type: &Type) -> Kind {
        match *sql_type {
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => Kind::Int,
            Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => Kind::Float,
            Type::BOOL => Kind::Bool,
            _ => Kind::Text,
        }
    }

    fn cast(self) -> (&'static str, Type) {
        match self {
            Kind::Int => ("int8", Type::INT8),
            Kind::Float => ("float8", Type::FLOAT8),
            Kind::Bool => ("bool", Type::BOOL),
            Kind::Text => ("text", Type::TEXT),
        }
    }
}

/// One column being filled from the rows.
enum Builder {
    Int(PrimitiveChunkedBuilder<Int64Type>),
    Float(PrimitiveChunkedBuilder<Float64Type>),
    Bool(BooleanChunkedBuilder),
    Text(StringChunkedBuilder),
}

impl Builder {
    fn new(kind: Kind, name: &str) -> Builder {
        let name = PlSmallStr::from(name);
        match kind {
            Kind::Int => Builder::Int(PrimitiveChunkedBuilder::new(name, 0)),
            Kind::Float => Builder::Float(PrimitiveChunkedBuilder::new(name, 0)),
            Kind::Bool => Builder::Bool(BooleanChunkedBuilder::new(name, 0)),
            Kind::Text => Builder::Text(StringChunkedBuilder::new(name, 0)),
        }
    }

    fn push(
        &mut self,
        row: &postgres::binary_copy::BinaryCopyOutRow,
        index: usize,
    ) -> Result<(), postgres::Error> {
        match self {
            Builder::Int(builder) => builder.append_option(row.try_get(index)?),
            Builder::Float(builder) => builder.append_option(row.try_get(index)?),
            Builder::Bool(builder) => builder.append_option(row.try_get(index)?),
            Builder::Text(builder) => builder.append_option(row.try_get::<Option<&str>>(index)?),
        }
        Ok(())
    }

    fn finish(self) -> Column {
        match self {
            Builder::Int(builder) => builder.finish().into_column(),
            Builder::Float(builder) => builder.finish().into_column(),
            Builder::Bool(builder) => builder.finish().into_column(),
            Builder::Text(builder) => builder.finish().into_column(),
        }
    }
}

pub(super) fn read(database: &Database, request: &TableRequest<'_>) -> anyhow::Result<DataFrame> {
    let mut guard = database.client()?;
    let client = guard.as_mut().expect("connected");
    let (schema, table) = database.qualify(request.table);
    let source = format!("{}.{}", quote(schema), quote(table));

    // The table's columns and types, from the statement's description (no rows are read).
    let statement = match client.prepare(&format!("SELECT * FROM {source} LIMIT 0")) {
        Ok(statement) => statement,
        Err(error)
            if matches!(
                error.code(),
                Some(&SqlState::UNDEFINED_TABLE | &SqlState::INVALID_SCHEMA_NAME)
            ) =>
        {
            let tables = tables_in(client, schema).unwrap_or_default();
            let names: Vec<&str> = tables.iter().map(String::as_str).collect();
            return Err(coded(
                Code::TableNotFound,
                format!(
                    "table `{}` not found in schema `{schema}` of PostgreSQL at {}",
                    request.table, database.address
                ),
                if names.is_empty() {
                    format!("schema `{schema}` has no tables or views; check the target's `database` and `schema`")
                } else {
                    did_you_mean(table, &names)
                },
            ));
        }
        Err(error) => return Err(database.classify(error, "read from")),
    };
    let available: Vec<(&str, Kind)> = statement
        .columns()
        .iter()
        .map(|column| (column.name(), Kind::of(column.type_())))
        .collect();
    let names: Vec<&str> = available.iter().map(|(name, _)| *name).collect();
    let find = |name: &str| {
        available
            .iter()
            .find(|(column, _)| *column == name)
            .copied()
            .ok_or_else(|| {
                coded(
                    Code::ColumnNotFound,
                    format!("column `{name}` not found in table `{}`", request.table),
                    did_you_mean(name, &names),
                )
            })
    };
    let columns: Vec<(&str, Kind)> = match request.columns {
        Some(wanted) => wanted
            .iter()
            .map(|name| find(name))
            .collect::<anyhow::Result<_>>()?,
        None => available.clone(),
    };

    let mut query = columns
        .iter()
        .map(|(name, kind)| format!("{}::{}", quote(name), kind.cast().0))
        .collect::<Vec<_>>()
        .join(", ");
    query = format!("SELECT {query} FROM {source}");
    if let Some((key, range)) = request.date_range {
        find(key)?;
        let key = quote(key);
        let mut conditions = Vec::new();
        if let Some(start) = range.start {
            conditions.push(format!("{key} >= {}", literal(&start.to_string())));
        }
        // An inclusive end keeps the whole of its day, also for timestamps.
        let end = if range.inclusive_end {
            range.end.succ_opt().unwrap_or(range.end)
        } else {
            range.end
        };
        conditions.push(format!("{key} < {}", literal(&end.to_string())));
        query = format!("{query} WHERE {}", conditions.join(" AND "));
    }

    // Rows in storage order, as a CSV export of the table lists them: the split and the folds
    // that follow depend on row order, and a plan the server is free to choose must not change
    // them. Views and foreign tables have no storage order and come as the server sends them.
    // `tableoid` first: the rows of a partitioned or inherited table come from several
    // tables, whose ctids repeat.
    if stored(client, schema, table).map_err(|error| database.classify(error, "read from"))? {
        query = format!("{query} ORDER BY tableoid, ctid");
    }

    let types: Vec<Type> = columns.iter().map(|(_, kind)| kind.cast().1).collect();
    let mut builders: Vec<Builder> = columns
        .iter()
        .map(|(name, kind)| Builder::new(*kind, name))
        .collect();
    let mut height = 0;
    let streamed: Result<(), postgres::Error> = (|| {
        let reader = client.copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))?;
        let mut rows = BinaryCopyOutIter::new(reader, &types);
        while let Some(row) = rows.next()? {
            for (index, builder) in builders.iter_mut().enumerate() {
                builder.push(&row, index)?;
            }
            height += 1;
        }
        Ok(())
    })();
    streamed.map_err(|error| database.classify(error, "read from"))?;
    let columns: Vec<Column> = builders.into_iter().map(Builder::finish).collect();
    Ok(DataFrame::new(height, columns)?)
}

/// Whether `schema.table` is a table, partitioned table or materialized view (rows with a
/// storage order).
fn stored(
    client: &mut postgres::Client,
    schema: &str,
    table: &str,
) -> Result<bool, postgres::Error> {
    let kind = client.query_opt(
        "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
        &[&schema, &table],
    )?;
    Ok(kind.is_some_and(|row| matches!(row.get::<_, &str>(0), "r" | "p" | "m")))
}

/// The tables and views of `schema`, for "did you mean".
fn tables_in(client: &mut postgres::Client, schema: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            &[&schema],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect())
}
