//! The data catalog: each table's columns and statistics, read from the target's data
//! connector and cached in `target/catalog.json` with each table's fingerprint. Stale entries
//! (a changed file) are read again; unreachable data falls back to the cache with a note, or
//! to no column checks with one warning. The compiler gets the result as salsa inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use mbt_compiler::contract::adapters::{ConnectorSettings, CsvColumnType};
use mbt_compiler::contract::catalog::{
    infer_csv, CatalogFile, ColumnSchema, DataType, TableSchema, TargetCatalog, CATALOG_VERSION,
};
use mbt_compiler::contract::parquet;
use mbt_compiler::db::{CatalogState, Db};
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_compiler::Database;

/// Where the cached catalog lives in a project.
pub fn catalog_path(root: &Path) -> PathBuf {
    root.join("target").join("catalog.json")
}

/// A catalog read for one target.
#[derive(Debug)]
pub struct CatalogRead {
    pub state: CatalogState,
    pub tables: BTreeMap<String, Result<TableSchema, String>>,
    /// Tables read from the data now (new or stale in the cache).
    pub refreshed: Vec<String>,
    /// The cache to write when it changed ([`CatalogRead::save`]). Reading writes nothing, so
    /// that a command that fails leaves no `target/` behind.
    pub pending: Option<CatalogFile>,
}

impl CatalogRead {
    /// Writes the changed cache to `target/catalog.json` (atomically); nothing when unchanged.
    pub fn save(&self, root: &Path) -> Result<(), String> {
        let Some(cache) = &self.pending else {
            return Ok(());
        };
        let path = catalog_path(root);
        let text = serde_json::to_string_pretty(cache).expect("the catalog serializes") + "\n";
        std::fs::create_dir_all(root.join("target"))
            .and_then(|()| mbt_compiler::contract::fs::write_atomic(&path, text.as_bytes()))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    }
}

/// Reads the catalog of the database's resolved target and sets it into the database. A
/// target that did not resolve (profile errors, reported elsewhere) gets no catalog.
pub fn load_catalog(db: &mut Database, root: &Path, refresh_all: bool) -> Option<CatalogRead> {
    let profile = resolved_profile(db, db.project());
    let settings = profile.settings.clone()?;
    let read = read_catalog(root, &profile.target, &settings.data_connector, refresh_all);
    db.set_catalog(read.state.clone(), read.tables.clone());
    Some(read)
}

/// Reads the tables of `connector` for `target`, reusing fresh entries of the cache; the
/// changed cache is `pending` for [`CatalogRead::save`]. `refresh_all` reads every table again.
pub fn read_catalog(
    root: &Path,
    target: &str,
    connector: &ConnectorSettings,
    refresh_all: bool,
) -> CatalogRead {
    let config = match connector {
        ConnectorSettings::LocalFile(config) => config,
        // A database's tables are not read at compile time (the host opens no connections):
        // its pipelines are checked without column references.
        ConnectorSettings::Postgres(_) => {
            return CatalogRead {
                state: CatalogState::NotLoaded,
                tables: BTreeMap::new(),
                refreshed: Vec::new(),
                pending: None,
            }
        }
    };
    let location = config.data_path.clone();
    let mut cache = read_cache(&catalog_path(root));
    let cached = cache.targets.get(target).cloned();
    let folder = root.join(&config.data_path);
    let files = match data_files(&folder, &location) {
        // An empty folder (data not fetched yet, a mount not mounted) is no catalog either.
        Ok(files) if files.is_empty() => Err(format!("{location} holds no .csv or .parquet file")),
        other => other,
    };
    let files = match files {
        Ok(files) => files,
        Err(reason) => {
            return match cached {
                Some(cached) if cached.location == location => CatalogRead {
                    state: CatalogState::Cached { location, reason },
                    tables: cached
                        .tables
                        .into_iter()
                        .map(|(name, mut table)| {
                            apply_column_types(&mut table, &config.column_types);
                            (name, Ok(table))
                        })
                        .collect(),
                    refreshed: Vec::new(),
                    pending: None,
                },
                _ => CatalogRead {
                    state: CatalogState::Unavailable { location, reason },
                    tables: BTreeMap::new(),
                    refreshed: Vec::new(),
                    pending: None,
                },
            };
        }
    };
    let mut tables = BTreeMap::new();
    let mut entries = BTreeMap::new();
    let mut refreshed = Vec::new();
    for (name, file) in files {
        let source = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fingerprint = fingerprint(&file);
        let fresh = cached
            .as_ref()
            .filter(|c| c.location == location && !refresh_all)
            .and_then(|c| c.tables.get(&name))
            .filter(|t| t.fingerprint == fingerprint && t.source == source)
            .cloned();
        let schema = match fresh {
            Some(schema) => Ok(schema),
            None => {
                refreshed.push(name.clone());
                read_table(&file, source, fingerprint)
            }
        };
        // The cache keeps the file's own types; the target's overrides apply on top.
        if let Ok(schema) = &schema {
            entries.insert(name.clone(), schema.clone());
        }
        let schema = schema.map(|mut schema| {
            apply_column_types(&mut schema, &config.column_types);
            schema
        });
        tables.insert(name, schema);
    }
    let entry = TargetCatalog {
        connector: "local_file".into(),
        location: location.clone(),
        tables: entries,
    };
    let mut pending = None;
    if cached.as_ref() != Some(&entry) {
        cache.catalog_version = CATALOG_VERSION;
        cache.targets.insert(target.to_string(), entry);
        pending = Some(cache);
    }
    CatalogRead {
        state: CatalogState::Fresh { location },
        tables,
        refreshed,
        pending,
    }
}

/// The cached catalog; missing, unreadable or of another version reads as empty.
fn read_cache(path: &Path) -> CatalogFile {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CatalogFile>(&bytes).ok())
        .filter(|file| file.catalog_version == CATALOG_VERSION)
        .unwrap_or_default()
}

/// `<table>.csv` and `<table>.parquet` files of the data folder by table name (Parquet first,
/// as the runtime reads it).
fn data_files(folder: &Path, shown: &str) -> Result<BTreeMap<String, PathBuf>, String> {
    let entries = std::fs::read_dir(folder).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
        _ => format!("cannot list {shown}: {error}"),
    })?;
    let mut files = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(extension)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if !path.is_file() {
            continue;
        }
        match extension {
            "parquet" => {
                files.insert(stem.to_string(), path.clone());
            }
            "csv" => {
                files.entry(stem.to_string()).or_insert(path.clone());
            }
            _ => {}
        }
    }
    Ok(files)
}

/// Size and modification time: a changed file gets a new fingerprint.
fn fingerprint(path: &Path) -> String {
    let Ok(metadata) = std::fs::metadata(path) else {
        return String::new();
    };
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{}:{modified}", metadata.len())
}

fn read_table(path: &Path, source: String, fingerprint: String) -> Result<TableSchema, String> {
    if path.extension().is_some_and(|e| e == "parquet") {
        let (rows, columns) =
            read_parquet_footer(path).map_err(|error| format!("{source}: {error}"))?;
        return Ok(TableSchema {
            source,
            fingerprint,
            rows: Some(rows),
            columns: Some(columns),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (rows, columns) = infer_csv(&bytes).map_err(|e| format!("{source}: {e}"))?;
    Ok(TableSchema {
        source,
        fingerprint,
        rows: Some(rows),
        columns: Some(columns),
    })
}

/// The columns of a Parquet file from its footer: only the last bytes are read.
fn read_parquet_footer(path: &Path) -> Result<(u64, Vec<ColumnSchema>), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size < 12 {
        return Err("too short for a Parquet file".into());
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|e| e.to_string())?;
    let length = u64::from(parquet::metadata_length(&tail)?);
    if length + 12 > size {
        return Err("its footer is longer than the file".into());
    }
    let mut metadata = vec![0u8; length as usize];
    file.seek(SeekFrom::End(-8 - length as i64))
        .and_then(|_| file.read_exact(&mut metadata))
        .map_err(|e| e.to_string())?;
    parquet::read_metadata(&metadata)
}

/// The connector's `column_types` overrides, as the runtime applies them when reading.
fn apply_column_types(schema: &mut TableSchema, overrides: &BTreeMap<String, CsvColumnType>) {
    if !schema.source.ends_with(".csv") {
        return; // Parquet columns are typed in the file
    }
    for column in schema.columns.iter_mut().flatten() {
        if let Some(kind) = overrides.get(&column.name) {
            column.dtype = match kind {
                CsvColumnType::String => DataType::String,
                CsvColumnType::Integer => DataType::Integer,
                CsvColumnType::Float => DataType::Float,
                CsvColumnType::Boolean => DataType::Boolean,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt_compiler::contract::adapters::LocalFileConfig;

    fn connector(data_path: &str) -> ConnectorSettings {
        ConnectorSettings::LocalFile(LocalFileConfig {
            data_path: data_path.into(),
            column_types: BTreeMap::new(),
        })
    }

    #[test]
    fn reads_caches_refreshes_stale_tables_and_falls_back_to_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/a.csv"), "id,x\n1,2.5\n2,\n").unwrap();
        std::fs::write(root.join("data/b.csv"), "id,y\n1,u\n").unwrap();
        std::fs::write(root.join("data/notes.txt"), "not a table").unwrap();

        let first = read_catalog(root, "dev", &connector("data"), false);
        assert!(!catalog_path(root).exists(), "reading writes nothing");
        first.save(root).unwrap();
        assert_eq!(first.refreshed, ["a", "b"]);
        assert!(matches!(first.state, CatalogState::Fresh { .. }));
        let a = first.tables["a"].as_ref().unwrap();
        assert_eq!(a.rows, Some(2));
        assert_eq!(a.column("x").unwrap().nulls, Some(1));
        let cache = read_cache(&catalog_path(root));
        assert_eq!(cache.targets["dev"].tables.len(), 2);

        // Nothing changed: nothing is read again.
        let second = read_catalog(root, "dev", &connector("data"), false);
        assert!(second.refreshed.is_empty() && second.pending.is_none());
        assert_eq!(second.tables, first.tables);

        // A changed header is read again (a different size is a different fingerprint).
        std::fs::write(root.join("data/b.csv"), "id,yy\n1,u\n").unwrap();
        let third = read_catalog(root, "dev", &connector("data"), false);
        assert_eq!(third.refreshed, ["b"]);
        third.save(root).unwrap();
        assert!(third.tables["b"].as_ref().unwrap().column("yy").is_some());

        // Unreachable data: the cache with a note; no cache: unavailable.
        std::fs::rename(root.join("data"), root.join("moved")).unwrap();
        let offline = read_catalog(root, "dev", &connector("data"), false);
        assert!(matches!(offline.state, CatalogState::Cached { .. }));
        assert!(offline.tables["b"].as_ref().unwrap().column("yy").is_some());
        let other = read_catalog(root, "prod", &connector("data"), false);
        assert!(matches!(other.state, CatalogState::Unavailable { .. }));
        assert!(other.tables.is_empty());
    }

    #[test]
    fn unreadable_tables_and_column_type_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(root.join("data/bad.csv"), "a,b\n1\n").unwrap();
        std::fs::write(root.join("data/ids.csv"), "id\n007\n").unwrap();
        let mut config = LocalFileConfig {
            data_path: "data".into(),
            column_types: BTreeMap::new(),
        };
        config
            .column_types
            .insert("id".into(), CsvColumnType::String);
        let read = read_catalog(root, "dev", &ConnectorSettings::LocalFile(config), false);
        assert!(read.tables["bad"].as_ref().unwrap_err().contains("row 2"));
        let ids = read.tables["ids"].as_ref().unwrap();
        assert_eq!(ids.column("id").unwrap().dtype, DataType::String);
    }
}
