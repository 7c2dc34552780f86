//! The embedded defaults: local files, local artifact storage, a file-based run registry and
//! environment-variable secrets. Nothing here needs a server.

use std::path::{Path, PathBuf};

use anyhow::Context;
use polars::prelude::*;
use serde_json::Value;

use super::{
    DataConnector, Executor, Job, ModelRegistry, OutputWriter, RunRecord, SecretsProvider, Storage,
    TableRequest, Writing,
};
use crate::error::{coded, Code, Coded};
use crate::run::StepOutcome;

/// Writes `bytes` to `path` atomically (a temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, &mut |file| Ok(file.write_all(bytes)?))
}

/// Writes what `write` produces to `path` atomically, streaming it to a temporary file in the
/// same folder (no copy in memory), then renaming that file.
pub fn write_atomic_with(path: &Path, write: &mut Writing<'_>) -> anyhow::Result<()> {
    let folder = path.parent().context("path has no folder")?;
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary)
        .map_err(anyhow::Error::from)
        .and_then(|file| {
            let mut file = std::io::BufWriter::new(file);
            write(&mut file)?;
            file.into_inner().map_err(|error| error.into_error())?;
            Ok(())
        })
        .and_then(|()| Ok(std::fs::rename(&temporary, path)?));
    written
        .with_context(|| format!("cannot write {}", path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
}

fn path_setting(config: &Value, key: &str, default: &str, project: &Path) -> PathBuf {
    let value = config.get(key).and_then(Value::as_str).unwrap_or(default);
    project.join(value)
}

struct LocalStorage {
    base: PathBuf,
}

pub fn storage(config: &Value, project: &Path) -> anyhow::Result<Box<dyn Storage>> {
    Ok(Box::new(LocalStorage {
        base: path_setting(config, "base_path", "local_artifacts", project),
    }))
}

impl Storage for LocalStorage {
    fn uri(&self, run_id: &str, step: &str, name: &str) -> String {
        format!(
            "file://{}",
            self.base.join(run_id).join(step).join(name).display()
        )
    }

    fn put(&self, run_id: &str, step: &str, name: &str, data: &[u8]) -> anyhow::Result<String> {
        self.put_with(run_id, step, name, &mut |file| Ok(file.write_all(data)?))
    }

    fn put_with(
        &self,
        run_id: &str,
        step: &str,
        name: &str,
        write: &mut Writing<'_>,
    ) -> anyhow::Result<String> {
        let uri = self.uri(run_id, step, name);
        write_atomic_with(Path::new(uri.trim_start_matches("file://")), write).code(
            Code::StorageFailed,
            "check that the storage base_path is writable and the disk has space",
        )?;
        Ok(uri)
    }

    fn get(&self, uri: &str) -> anyhow::Result<Vec<u8>> {
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        std::fs::read(path)
            .with_context(|| format!("cannot read artifact {uri}"))
            .code(
                Code::StorageFailed,
                "the artifact was moved or deleted: run the pipeline again",
            )
    }

    fn exists(&self, uri: &str) -> bool {
        Path::new(uri.strip_prefix("file://").unwrap_or(uri)).is_file()
    }
}

struct LocalFiles {
    data_path: PathBuf,
    /// `column_types`: CSV columns read as the given type instead of the inferred one.
    overrides: Option<SchemaRef>,
}

/// `local_file`: `<data_path>/<table>.parquet` or `.csv`; CSV types are inferred, and
/// `column_types: {column: string|integer|float|boolean}` overrides them (e.g. ids with leading
/// zeros that must stay text).
pub fn connector(config: &Value, project: &Path) -> anyhow::Result<Box<dyn DataConnector>> {
    let mut overrides = Vec::new();
    for (column, kind) in config
        .get("column_types")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let dtype = match kind.as_str().unwrap_or_default() {
            "string" => DataType::String,
            "integer" => DataType::Int64,
            "float" => DataType::Float64,
            "boolean" => DataType::Boolean,
            other => {
                return Err(coded(
                    Code::CorruptData,
                    format!("local_file column_types: `{column}` has type `{other}`"),
                    "use string, integer, float or boolean",
                ))
            }
        };
        overrides.push(Field::new(column.as_str().into(), dtype));
    }
    Ok(Box::new(LocalFiles {
        data_path: path_setting(config, "data_path", "sample_data", project),
        overrides: (!overrides.is_empty())
            .then(|| std::sync::Arc::new(Schema::from_iter(overrides))),
    }))
}

impl DataConnector for LocalFiles {
    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame> {
        let mut frame = self.read_file(request.table)?;
        if let Some((key, range)) = request.date_range {
            let dates = crate::windows::partition_dates(&frame, key)?;
            let keep = BooleanChunked::from_iter(
                dates
                    .iter()
                    .map(|date| Some(date.is_some_and(|d| range.contains(d)))),
            );
            frame = frame.filter(&keep)?;
        }
        if let Some(columns) = request.columns {
            for column in columns {
                crate::frame::column(&frame, column)?;
            }
            frame = frame.select(columns.iter().map(String::as_str))?;
        }
        Ok(frame)
    }
}

impl LocalFiles {
    fn read_file(&self, table: &str) -> anyhow::Result<DataFrame> {
        let parquet = self.data_path.join(format!("{table}.parquet"));
        if parquet.is_file() {
            let file = std::fs::File::open(&parquet)
                .with_context(|| format!("cannot open {}", parquet.display()))?;
            return ParquetReader::new(file)
                .finish()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot read {}", parquet.display()))
                .code(Code::CorruptData, "repair or re-export the Parquet file");
        }
        let csv = if table.ends_with(".csv") {
            self.data_path.join(table)
        } else {
            self.data_path.join(format!("{table}.csv"))
        };
        if !csv.is_file() {
            let tables = tables_in(&self.data_path);
            let names: Vec<&str> = tables.iter().map(String::as_str).collect();
            return Err(coded(
                Code::TableNotFound,
                format!(
                    "table `{table}` not found: no {} or {}",
                    csv.display(),
                    parquet.display()
                ),
                if names.is_empty() {
                    format!(
                        "{} holds no .csv or .parquet files; check the target's data_path",
                        self.data_path.display()
                    )
                } else {
                    mbt_compiler::diagnostics::did_you_mean(table, &names)
                },
            ));
        }
        CsvReadOptions::default()
            .with_schema_overwrite(self.overrides.clone())
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .try_into_reader_with_file_path(Some(csv.clone()))
            .and_then(|reader| reader.finish())
            .and_then(own_strings)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot read {} as CSV", csv.display()))
            .code(
                Code::CorruptData,
                "repair or re-export the CSV: every row needs the header's number of fields",
            )
    }
}

/// Copies the text columns into memory of their own, and makes every column one chunk.
/// polars' CSV reader leaves long strings pointing into the memory-mapped file, which then
/// stays resident as long as the frame lives (117 MB for the benchmark's million rows), and
/// returns columns in many chunks, which every Parquet write of the frame would copy whole to
/// align them (150 MB more at the peak).
fn own_strings(mut frame: DataFrame) -> PolarsResult<DataFrame> {
    let texts: Vec<PlSmallStr> = frame
        .columns()
        .iter()
        .filter(|column| column.dtype() == &DataType::String)
        .map(|column| column.name().clone())
        .collect();
    for name in texts {
        let owned: StringChunked = frame.column(&name)?.str()?.iter().collect();
        frame.with_column(Column::from(owned.into_series().with_name(name)))?;
    }
    frame.rechunk_mut_par();
    Ok(frame)
}

/// The table names (file stems) in a data folder.
fn tables_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            matches!(path.extension()?.to_str()?, "csv" | "parquet")
                .then(|| path.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

struct LocalRegistry {
    base: PathBuf,
}

pub fn model_registry(config: &Value, project: &Path) -> anyhow::Result<Box<dyn ModelRegistry>> {
    Ok(Box::new(LocalRegistry {
        base: path_setting(config, "base_path", "local_registry", project),
    }))
}

impl ModelRegistry for LocalRegistry {
    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord> {
        let folder = self.base.join(&record.run_id);
        let mut record = record.clone();
        for (name, bytes) in artifacts {
            let path = folder.join("artifacts").join(name);
            write_atomic(&path, bytes)?;
            record
                .artifacts
                .insert(name.clone(), format!("file://{}", path.display()));
        }
        let text = serde_json::to_string_pretty(&record)? + "\n";
        write_atomic(&folder.join("run.json"), text.as_bytes())?;
        Ok(record)
    }

    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord> {
        let path = self.base.join(run_id).join("run.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("run `{run_id}` not found in {}", self.base.display()))
            .code(
                Code::RunNotFound,
                "pass the run id a training run printed (target/<pipeline>/run_results.json)",
            )?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run record", path.display()))
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.base.join(run_id).join("artifacts").join(name);
        std::fs::read(&path)
            .with_context(|| format!("run `{run_id}` has no artifact `{name}`"))
            .code(Code::RunNotFound, "the run is incomplete: train it again")
    }
}

struct LocalFileWriter {
    output_path: PathBuf,
}

/// `local_file`: CSV or Parquet (by the table's extension) under `output_path` (default
/// `predictions/`), written atomically.
pub fn output_writer(config: &Value, project: &Path) -> anyhow::Result<Box<dyn OutputWriter>> {
    Ok(Box::new(LocalFileWriter {
        output_path: path_setting(config, "output_path", "predictions", project),
    }))
}

impl OutputWriter for LocalFileWriter {
    fn write(&self, table: &str, frame: &DataFrame) -> anyhow::Result<String> {
        let path = self.output_path.join(table);
        let bytes = if table.ends_with(".parquet") {
            crate::frame::to_parquet(frame)?
        } else {
            let mut bytes = Vec::new();
            CsvWriter::new(&mut bytes)
                .finish(&mut frame.clone())
                .map_err(anyhow::Error::from)
                .context("cannot write the table as CSV")?;
            bytes
        };
        write_atomic(&path, &bytes).code(
            Code::StorageFailed,
            "check that the output_path is writable and the disk has space",
        )?;
        Ok(format!("file://{}", path.display()))
    }
}

/// `local`: the steps of a batch on parallel threads of this process.
struct LocalExecutor;

pub fn executor(_config: &Value, _project: &Path) -> anyhow::Result<Box<dyn Executor>> {
    Ok(Box::new(LocalExecutor))
}

impl Executor for LocalExecutor {
    fn run_batch<'a>(&self, jobs: Vec<Job<'a, StepOutcome>>) -> Vec<StepOutcome> {
        if jobs.len() == 1 {
            return jobs.into_iter().map(|job| job()).collect();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = jobs.into_iter().map(|job| scope.spawn(job)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap_or_else(|_| crate::run::panicked()))
                .collect()
        })
    }
}

struct EnvSecrets;

pub fn secrets(_config: &Value, _project: &Path) -> anyhow::Result<Box<dyn SecretsProvider>> {
    Ok(Box::new(EnvSecrets))
}

impl SecretsProvider for EnvSecrets {
    fn get_secret(&self, name: &str) -> anyhow::Result<String> {
        std::env::var(name).with_context(|| format!("secret `{name}` is not set (the env provider reads the environment variable `{name}`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn column_types_override_inference_and_requests_select_columns_and_dates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.csv"),
            "id,day,x\n007,2026-03-01,1\n008,2026-03-02,2\n009,2026-03-05,3\n",
        )
        .unwrap();
        let config =
            json!({"data_path": dir.path().to_str().unwrap(), "column_types": {"id": "string"}});
        let connector = connector(&config, Path::new(".")).unwrap();
        let all = connector.read_table("t").unwrap();
        assert_eq!(
            crate::frame::texts(&all, "id").unwrap(),
            vec![Some("007".into()), Some("008".into()), Some("009".into())]
        );
        let columns = ["id".to_string(), "x".to_string()];
        let range = crate::windows::Range {
            start: crate::windows::parse_date("2026-03-01"),
            end: crate::windows::parse_date("2026-03-02").unwrap(),
            inclusive_end: true,
        };
        let some = connector
            .read(&TableRequest {
                table: "t",
                columns: Some(&columns),
                date_range: Some(("day", range)),
            })
            .unwrap();
        assert_eq!(crate::frame::names(&some), columns);
        assert_eq!(some.height(), 2);
        let bad = json!({"column_types": {"id": "uuid"}});
        let error = connector_error(&bad);
        assert!(error.contains("`id` has type `uuid`"), "{error}");
    }

    fn connector_error(config: &Value) -> String {
        match connector(config, Path::new(".")) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.to_string(),
        }
    }
}
