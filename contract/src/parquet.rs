//! The columns of a Parquet file from its footer alone: the file metadata (Thrift compact
//! protocol) holds the schema, the row count and each column chunk's null count, so the catalog
//! reads only the last bytes of a file, never its data pages.
//!
//! Only the fields the catalog needs are decoded (`FileMetaData.schema`, `num_rows`,
//! `row_groups[].columns[].meta_data.{path_in_schema, statistics.null_count}`); every other
//! field is skipped by type, so files from any writer version read.

use crate::catalog::{ColumnSchema, DataType};

/// The magic number at both ends of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// The length of the footer's metadata from the file's last 8 bytes (length + `PAR1`).
pub fn metadata_length(tail: &[u8; 8]) -> Result<u32, String> {
    if &tail[4..] != MAGIC {
        return Err("not a Parquet file (no PAR1 at its end)".into());
    }
    Ok(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]))
}

/// Row count and top-level columns (type and null count) of a file's metadata block.
pub fn read_metadata(bytes: &[u8]) -> Result<(u64, Vec<ColumnSchema>), String> {
    let mut reader = Reader {
        bytes,
        at: 0,
        depth: 0,
    };
    let mut schema: Vec<Element> = Vec::new();
    let mut rows = 0i64;
    let mut nulls: Vec<(String, Option<i64>)> = Vec::new();
    reader.read_struct(&mut |r, id, kind| match (id, kind) {
        (2, LIST) => r.read_list(&mut |r, kind| {
            expect(kind, STRUCT)?;
            schema.push(r.element()?);
            Ok(())
        }),
        (3, I64) => {
            rows = r.zigzag()?;
            Ok(())
        }
        (4, LIST) => r.read_list(&mut |r, kind| {
            expect(kind, STRUCT)?;
            r.row_group(&mut nulls)
        }),
        _ => r.skip(kind),
    })?;
    let columns = top_level(&schema, &nulls)?;
    Ok((rows.max(0) as u64, columns))
}

struct Element {
    name: String,
    physical: Option<i32>,
    converted: Option<i32>,
    /// The `LogicalType` union's field id (1 STRING, 6 DATE, 8 TIMESTAMP, ...).
    logical: Option<i16>,
    children: i32,
}

/// The root's children, each a column; nested groups are columns of unknown type.
fn top_level(
    schema: &[Element],
    nulls: &[(String, Option<i64>)],
) -> Result<Vec<ColumnSchema>, String> {
    let Some((root, rest)) = schema.split_first() else {
        return Err("the Parquet schema is empty".into());
    };
    let mut columns = Vec::new();
    let mut index = 0;
    for _ in 0..root.children.max(0) {
        let Some(element) = rest.get(index) else {
            return Err("the Parquet schema has fewer elements than its root says".into());
        };
        let dtype = if element.children > 0 {
            DataType::Unknown
        } else {
            dtype_of(element)
        };
        let chunks: Vec<Option<i64>> = nulls
            .iter()
            .filter(|(path, _)| *path == element.name)
            .map(|(_, count)| *count)
            .collect();
        let null_count = if element.children == 0 && !chunks.is_empty() {
            chunks.iter().try_fold(0u64, |sum, count| {
                Some(sum.saturating_add((*count)?.max(0) as u64))
            })
        } else {
            None
        };
        columns.push(ColumnSchema {
            name: element.name.clone(),
            dtype,
            nulls: null_count,
            values: None,
        });
        index += 1 + descendants(&rest[index..]);
    }
    Ok(columns)
}

/// How many elements below the first one belong to it (depth-first order), without recursion.
fn descendants(elements: &[Element]) -> usize {
    let Some(first) = elements.first() else {
        return 0;
    };
    let mut pending = first.children.max(0) as usize;
    let mut count = 0;
    while pending > 0 && count + 1 < elements.len() {
        count += 1;
        pending = pending - 1 + elements[count].children.max(0) as usize;
    }
    count
}

fn dtype_of(element: &Element) -> DataType {
    // Logical types first (newer writers), then converted types, then the physical type.
    match element.logical {
        Some(1 | 4 | 12 | 14) => return DataType::String,
        Some(6) => return DataType::Date,
        Some(8) => return DataType::Datetime,
        Some(10) => return DataType::Integer,
        Some(5 | 15) => return DataType::Float,
        _ => {}
    }
    match element.converted {
        Some(0 | 4 | 19) => return DataType::String,
        Some(6) => return DataType::Date,
        Some(9 | 10) => return DataType::Datetime,
        Some(5) => return DataType::Float,
        Some(11..=18) => return DataType::Integer,
        _ => {}
    }
    match element.physical {
        Some(0) => DataType::Boolean,
        Some(1 | 2) => DataType::Integer,
        Some(3) => DataType::Datetime,
        Some(4 | 5) => DataType::Float,
        Some(6 | 7) => DataType::String,
        _ => DataType::Unknown,
    }
}

// Thrift compact protocol types.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

fn expect(kind: u8, wanted: u8) -> Result<(), String> {
    if kind == wanted {
        Ok(())
    } else {
        Err(format!(
            "unexpected Thrift type {kind} in the Parquet footer (expected {wanted})"
        ))
    }
}

type FieldFn<'f, 'a> = dyn FnMut(&mut Reader<'a>, i16, u8) -> Result<(), String> + 'f;
type ItemFn<'f, 'a> = dyn FnMut(&mut Reader<'a>, u8) -> Result<(), String> + 'f;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Nesting of structs and lists, bounded so a corrupt footer is an error, not a stack
    /// overflow.
    depth: usize,
}

/// Deeper than any Parquet writer nests its metadata.
const MAX_DEPTH: usize = 64;

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or("the Parquet footer ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint in the Parquet footer is too long".into())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let value = self.varint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    fn binary(&mut self) -> Result<&'a [u8], String> {
        let length = self.varint()? as usize;
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("a string in the Parquet footer runs past its end")?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.binary()?).into_owned())
    }

    /// Calls `field` with each field's id and type until the struct's stop byte.
    fn read_struct(&mut self, field: &mut FieldFn<'_, 'a>) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the Parquet footer nests too deeply".into());
        }
        let mut last = 0i16;
        loop {
            let header = self.byte()?;
            if header == 0 {
                self.depth -= 1;
                return Ok(());
            }
            let kind = header & 0x0f;
            let delta = (header >> 4) as i16;
            let id = if delta == 0 {
                self.zigzag()? as i16
            } else {
                last.wrapping_add(delta)
            };
            last = id;
            field(self, id, kind)?;
        }
    }

    fn read_list(&mut self, item: &mut ItemFn<'_, 'a>) -> Result<(), String> {
        let header = self.byte()?;
        let kind = header & 0x0f;
        let size = match header >> 4 {
            15 => self.varint()? as usize,
            size => size as usize,
        };
        if size > self.bytes.len() {
            return Err("a list in the Parquet footer is longer than the footer".into());
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the Parquet footer nests too deeply".into());
        }
        for _ in 0..size {
            item(self, kind)?;
        }
        self.depth -= 1;
        Ok(())
    }

    fn skip(&mut self, kind: u8) -> Result<(), String> {
        match kind {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.byte().map(drop),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => {
                for _ in 0..8 {
                    self.byte()?;
                }
                Ok(())
            }
            BINARY => self.binary().map(drop),
            LIST | SET => self.read_list(&mut |r, kind| r.skip_item(kind)),
            MAP => {
                let size = self.varint()? as usize;
                if size == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..size {
                    self.skip_item(types >> 4)?;
                    self.skip_item(types & 0x0f)?;
                }
                Ok(())
            }
            STRUCT => self.read_struct(&mut |r, _, kind| r.skip(kind)),
            other => Err(format!("unknown Thrift type {other} in the Parquet footer")),
        }
    }

    /// A collection's element: booleans take a byte there.
    fn skip_item(&mut self, kind: u8) -> Result<(), String> {
        match kind {
            BOOL_TRUE | BOOL_FALSE => self.byte().map(drop),
            other => self.skip(other),
        }
    }

    fn element(&mut self) -> Result<Element, String> {
        let mut element = Element {
            name: String::new(),
            physical: None,
            converted: None,
            logical: None,
            children: 0,
        };
        self.read_struct(&mut |r, id, kind| {
            match (id, kind) {
                (1, I32) => element.physical = Some(r.zigzag()? as i32),
                (4, BINARY) => element.name = r.string()?,
                (5, I32) => element.children = r.zigzag()? as i32,
                (6, I32) => element.converted = Some(r.zigzag()? as i32),
                (10, STRUCT) => {
                    // A union: the one field present names the logical type.
                    r.read_struct(&mut |r, id, kind| {
                        element.logical = Some(id);
                        r.skip(kind)
                    })?;
                }
                _ => r.skip(kind)?,
            }
            Ok(())
        })?;
        Ok(element)
    }

    /// A row group's column chunks: (top-level column name, null count).
    fn row_group(&mut self, nulls: &mut Vec<(String, Option<i64>)>) -> Result<(), String> {
        self.read_struct(&mut |r, id, kind| match (id, kind) {
            (1, LIST) => r.read_list(&mut |r, kind| {
                expect(kind, STRUCT)?;
                let mut path: Vec<String> = Vec::new();
                let mut count = None;
                r.read_struct(&mut |r, id, kind| match (id, kind) {
                    (3, STRUCT) => r.read_struct(&mut |r, id, kind| match (id, kind) {
                        (3, LIST) => r.read_list(&mut |r, kind| {
                            expect(kind, BINARY)?;
                            path.push(r.string()?);
                            Ok(())
                        }),
                        (12, STRUCT) => r.read_struct(&mut |r, id, kind| match (id, kind) {
                            (3, I64) => {
                                count = Some(r.zigzag()?);
                                Ok(())
                            }
                            _ => r.skip(kind),
                        }),
                        _ => r.skip(kind),
                    }),
                    _ => r.skip(kind),
                })?;
                if let [name] = path.as_slice() {
                    nulls.push((name.clone(), count));
                }
                Ok(())
            }),
            _ => r.skip(kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact-protocol writer for just what the tests need.
    struct Writer(Vec<u8>, Vec<i16>);

    impl Writer {
        fn field(&mut self, id: i16, kind: u8) {
            let last = *self.1.last().unwrap();
            let delta = id - last;
            assert!((1..=15).contains(&delta));
            self.0.push(((delta as u8) << 4) | kind);
            *self.1.last_mut().unwrap() = id;
        }
        fn varint(&mut self, mut v: u64) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    self.0.push(byte);
                    return;
                }
                self.0.push(byte | 0x80);
            }
        }
        fn int(&mut self, id: i16, kind: u8, v: i64) {
            self.field(id, kind);
            self.varint(((v << 1) ^ (v >> 63)) as u64);
        }
        fn string(&mut self, id: i16, s: &str) {
            self.field(id, BINARY);
            self.varint(s.len() as u64);
            self.0.extend_from_slice(s.as_bytes());
        }
        fn begin(&mut self, id: i16) {
            self.field(id, STRUCT);
            self.1.push(0);
        }
        fn end(&mut self) {
            self.0.push(0);
            self.1.pop();
        }
        fn list(&mut self, id: i16, kind: u8, size: u8) {
            self.field(id, LIST);
            self.0.push((size << 4) | kind);
        }
        fn item(&mut self) {
            self.1.push(0);
        }
    }

    #[test]
    fn reads_schema_rows_and_null_counts_skipping_the_rest() {
        let mut w = Writer(Vec::new(), vec![0]);
        w.int(1, I32, 2); // version
        w.list(2, STRUCT, 4);
        for (name, physical, converted, logical, children) in [
            ("schema", None, None, None, 3),
            ("id", Some(6), Some(0), Some(1), 0),
            ("when", Some(1), Some(6), None, 0),
            ("amount", Some(5), None, None, 0),
        ] {
            w.item();
            if let Some(p) = physical {
                w.int(1, I32, p);
            }
            w.string(4, name);
            if children > 0 {
                w.int(5, I32, children);
            }
            if let Some(c) = converted {
                w.int(6, I32, c);
            }
            if let Some(l) = logical {
                w.begin(10);
                w.begin(l);
                w.end();
                w.end();
            }
            w.end();
        }
        w.int(3, I64, 1000);
        w.list(4, STRUCT, 2); // two row groups
        for nulls in [3, 4] {
            w.item();
            w.list(1, STRUCT, 1); // one chunk each, for `amount`
            w.item();
            w.int(2, I64, 4); // file_offset
            w.begin(3);
            w.int(1, I32, 5);
            w.list(3, BINARY, 1);
            w.varint(6);
            w.0.extend_from_slice(b"amount");
            w.begin(12);
            w.string(1, "max");
            w.int(3, I64, nulls);
            w.end();
            w.end();
            w.end(); // chunk
            w.int(2, I64, 10); // total_byte_size
            w.end(); // row group
        }
        w.string(6, "test writer");
        w.0.push(0);
        let (rows, columns) = read_metadata(&w.0).unwrap();
        assert_eq!(rows, 1000);
        let summary: Vec<(&str, DataType, Option<u64>)> = columns
            .iter()
            .map(|c| (c.name.as_str(), c.dtype, c.nulls))
            .collect();
        assert_eq!(
            summary,
            [
                ("id", DataType::String, None),
                ("when", DataType::Date, None),
                ("amount", DataType::Float, Some(7)),
            ]
        );
        assert!(read_metadata(&w.0[..w.0.len() / 2]).is_err());
        // Garbage and absurd nesting are errors, never a panic or a stack overflow.
        assert!(read_metadata(&[0x1c; 10_000]).is_err());
        assert!(read_metadata(&[0x19, 0xfc, 0xff, 0xff, 0x0f]).is_err());
        assert!(metadata_length(b"\x10\0\0\0PAR1").is_ok());
        assert!(metadata_length(b"\x10\0\0\0PAR2").is_err());
    }
}
