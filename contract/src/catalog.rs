//! The data catalog: the columns of each table a target's data connector holds, with cheap
//! statistics, so that the compiler can check column references before anything runs.
//!
//! The host reads it from the connector (CSV headers and a scan of local files) and caches it in
//! `target/catalog.json` ([`CatalogFile`], JSON Schema `schemas/catalog.schema.json`), one entry
//! per target, each table with the fingerprint it was read at. The compiler gets the tables as
//! salsa inputs and never reads data itself.
//!
//! Changelog of `catalog_version`:
//! - 1: first version.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The catalog format version this build writes and reads.
pub const CATALOG_VERSION: u32 = 1;

/// Distinct values are kept for a column with at most this many (labels, categories).
pub const MAX_DISTINCT_VALUES: usize = 20;

/// `target/catalog.json`: the cached catalog of every target it was read for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Always [`CATALOG_VERSION`]; another version is ignored and read again.
    pub catalog_version: u32,
    /// Catalogs by target name.
    pub targets: BTreeMap<String, TargetCatalog>,
}

/// The tables of one target's data connector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetCatalog {
    /// The connector's adapter name, e.g. `local_file`.
    pub connector: String,
    /// Where the tables were read: the data folder as the target writes it.
    pub location: String,
    /// Tables by the name pipelines use (`label_table`, `scoring_table`, ...).
    pub tables: BTreeMap<String, TableSchema>,
}

/// One table: its columns and, where they are cheap, statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// The file (relative to the data folder) or object the table was read from.
    pub source: String,
    /// What the table looked like when read (size and modification time of a file, or the
    /// database's schema hash): a different fingerprint means the entry is stale.
    pub fingerprint: String,
    /// Number of rows, when counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The columns in table order; `None` when the format's columns cannot be read by this
    /// build (column references into the table are then not checked).
    pub columns: Option<Vec<ColumnSchema>>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.as_ref()?.iter().find(|c| c.name == name)
    }
}

/// One column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: DataType,
    /// Number of missing values (empty cells), when counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls: Option<u64>,
    /// The distinct non-missing values, sorted, when there are at most
    /// [`MAX_DISTINCT_VALUES`] of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl ColumnSchema {
    /// Share of missing values (0 to 1), when rows and nulls were counted.
    pub fn null_share(&self, rows: Option<u64>) -> Option<f64> {
        let (nulls, rows) = (self.nulls?, rows?);
        Some(if rows == 0 {
            0.0
        } else {
            nulls as f64 / rows as f64
        })
    }
}

/// A column's type as the runtime reads it (CSV types are inferred like polars does; `date`
/// and `datetime` are text columns whose every value parses as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Integer,
    Float,
    Boolean,
    String,
    Date,
    Datetime,
    /// No value to infer a type from (an empty column), or a type this build does not name.
    Unknown,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Integer => "integer",
            DataType::Float => "float",
            DataType::Boolean => "boolean",
            DataType::String => "string",
            DataType::Date => "date",
            DataType::Datetime => "datetime",
            DataType::Unknown => "unknown",
        }
    }

    /// Read as numbers by the runtime (booleans as 0/1).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DataType::Integer | DataType::Float | DataType::Boolean
        )
    }

    /// The type two values (or two inferences) share: integers widen to floats, anything else
    /// mixed is text.
    fn merge(self, other: DataType) -> DataType {
        use DataType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Unknown, b) => b,
            (a, Unknown) => a,
            (Integer, Float) | (Float, Integer) => Float,
            (Date, Datetime) | (Datetime, Date) => Datetime,
            _ => String,
        }
    }

    /// The type of one CSV field (non-empty).
    fn of_field(field: &str) -> DataType {
        if field.parse::<i64>().is_ok() {
            DataType::Integer
        } else if is_float(field) {
            DataType::Float
        } else if field.eq_ignore_ascii_case("true") || field.eq_ignore_ascii_case("false") {
            DataType::Boolean
        } else if is_date(field) {
            DataType::Date
        } else if is_datetime(field) {
            DataType::Datetime
        } else {
            DataType::String
        }
    }
}

/// A float as polars' CSV inference reads one (`NaN` and `inf` included).
fn is_float(field: &str) -> bool {
    field.parse::<f64>().is_ok()
}

/// `YYYY-MM-DD`.
pub fn is_date(field: &str) -> bool {
    let b = field.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month: u32 = field[5..7].parse().unwrap_or(0);
    let day: u32 = field[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// `YYYY-MM-DD` followed by `T` or a space and a time.
fn is_datetime(field: &str) -> bool {
    field.len() > 11
        && field.is_char_boundary(10)
        && is_date(&field[..10])
        && matches!(field.as_bytes()[10], b'T' | b' ')
        && field.as_bytes()[11].is_ascii_digit()
}

/// The columns and statistics of a CSV file with a header row: every row is read (types,
/// missing values and distinct values need them all).
pub fn infer_csv(bytes: &[u8]) -> Result<(u64, Vec<ColumnSchema>), String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut records = CsvRecords::new(text);
    let Some(header) = records.next() else {
        return Err("the file is empty: a CSV table needs a header row".into());
    };
    let header = header?;
    let mut columns: Vec<ColumnStats> = header
        .iter()
        .map(|name| ColumnStats::new(name.trim().to_string()))
        .collect();
    let mut rows = 0u64;
    for (index, record) in records.enumerate() {
        let record = record?;
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        if record.len() != columns.len() {
            return Err(format!(
                "row {} has {} fields, the header {}",
                index + 2,
                record.len(),
                columns.len()
            ));
        }
        rows += 1;
        for (column, field) in columns.iter_mut().zip(record) {
            column.add(&field);
        }
    }
    Ok((rows, columns.into_iter().map(ColumnStats::finish).collect()))
}

struct ColumnStats {
    name: String,
    dtype: DataType,
    nulls: u64,
    values: Option<std::collections::BTreeSet<String>>,
}

impl ColumnStats {
    fn new(name: String) -> ColumnStats {
        ColumnStats {
            name,
            dtype: DataType::Unknown,
            nulls: 0,
            values: Some(Default::default()),
        }
    }

    fn add(&mut self, field: &str) {
        if field.is_empty() {
            self.nulls += 1;
            return;
        }
        if self.dtype != DataType::String {
            self.dtype = self.dtype.merge(DataType::of_field(field));
        }
        if let Some(values) = &mut self.values {
            if !values.contains(field) {
                values.insert(field.to_string());
                if values.len() > MAX_DISTINCT_VALUES {
                    self.values = None;
                }
            }
        }
    }

    fn finish(self) -> ColumnSchema {
        ColumnSchema {
            name: self.name,
            dtype: self.dtype,
            nulls: Some(self.nulls),
            values: self.values.map(|values| values.into_iter().collect()),
        }
    }
}

/// RFC 4180 records: quoted fields may hold commas, newlines and doubled quotes.
struct CsvRecords<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a str) -> CsvRecords<'a> {
        CsvRecords { text, at: 0 }
    }
}

impl Iterator for CsvRecords<'_> {
    type Item = Result<Vec<String>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        if self.at >= bytes.len() {
            return None;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut i = self.at;
        loop {
            if i < bytes.len() && bytes[i] == b'"' && field.is_empty() {
                // A quoted field: up to the closing quote.
                i += 1;
                let start = i;
                loop {
                    let Some(offset) = self.text[i..].find('"') else {
                        self.at = bytes.len();
                        return Some(Err(format!(
                            "a quoted field opened at byte {} is never closed",
                            start - 1
                        )));
                    };
                    field.push_str(&self.text[i..i + offset]);
                    i += offset + 1;
                    if bytes.get(i) == Some(&b'"') {
                        field.push('"');
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            let rest = &self.text[i..];
            let end = rest.find([',', '\n', '\r']).unwrap_or(rest.len());
            field.push_str(&rest[..end]);
            i += end;
            fields.push(std::mem::take(&mut field));
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b'\r') => {
                    i += 1;
                    if bytes.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    break;
                }
                Some(b'\n') => {
                    i += 1;
                    break;
                }
                _ => break,
            }
        }
        self.at = i;
        Some(Ok(fields))
    }
}

/// Whether a value written in a pipeline (a class label) and a value observed in the data are
/// the same: compared as numbers when both are, else as text.
pub fn same_value(written: &str, observed: &str) -> bool {
    match (written.parse::<f64>(), observed.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => written == observed || written.eq_ignore_ascii_case(observed) && is_bool(written),
    }
}

fn is_bool(text: &str) -> bool {
    text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_nulls_and_values() {
        let csv = "id,amount,when,flag,name,label\r\n\
                   1,2.5,2024-01-01,true,\"Smith, J\",0\r\n\
                   2,,2024-02-01,false,\"say \"\"hi\"\"\",1\r\n\
                   3,7,2024-03-01,true,\"multi\nline\",1\r\n";
        let (rows, columns) = infer_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows, 3);
        let types: Vec<(&str, DataType)> =
            columns.iter().map(|c| (c.name.as_str(), c.dtype)).collect();
        assert_eq!(
            types,
            [
                ("id", DataType::Integer),
                ("amount", DataType::Float),
                ("when", DataType::Date),
                ("flag", DataType::Boolean),
                ("name", DataType::String),
                ("label", DataType::Integer),
            ]
        );
        assert_eq!(columns[1].nulls, Some(1));
        assert_eq!(columns[1].null_share(Some(rows)), Some(1.0 / 3.0));
        assert_eq!(
            columns[4].values.as_deref(),
            Some(
                &[
                    "Smith, J".to_string(),
                    "multi\nline".into(),
                    "say \"hi\"".into()
                ][..]
            )
        );
        assert_eq!(
            columns[5].values.as_deref(),
            Some(&["0".to_string(), "1".into()][..])
        );
    }

    #[test]
    fn many_distinct_values_are_not_kept_and_bad_rows_are_errors() {
        let mut csv = String::from("id\n");
        for i in 0..=MAX_DISTINCT_VALUES {
            csv.push_str(&format!("{i}\n"));
        }
        let (_, columns) = infer_csv(csv.as_bytes()).unwrap();
        assert_eq!(columns[0].values, None);
        assert!(infer_csv(b"a,b\n1\n")
            .unwrap_err()
            .contains("row 2 has 1 fields"));
        assert!(infer_csv(b"").is_err());
        assert!(infer_csv(b"a\n\"open\n")
            .unwrap_err()
            .contains("never closed"));
    }

    #[test]
    fn class_labels_compare_as_numbers_or_text() {
        assert!(same_value("1", "1.0"));
        assert!(same_value("yes", "yes"));
        assert!(same_value("true", "True"));
        assert!(!same_value("Yes", "yes"));
        assert!(!same_value("2", "1"));
    }
}
