//! The embedded defaults: local files, local artifact storage, a file-based run registry,
//! environment-variable secrets and the in-process executor. Nothing here needs a server.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mbt_contract::adapters::{
    ConnectorSettings, CsvColumnType, ExecutorSettings, RegistrySettings, SecretsSettings,
    StorageSettings, WriterSettings,
};
use mbt_contract::fs::{write_atomic, write_atomic_with};
use polars::prelude::*;

use super::{
    Adapter, BuildContext, DataConnector, Executor, Job, ModelRegistry, OutputWriter, RunFilter,
    RunRecord, SecretsProvider, Storage, TableRequest, Writing,
};
use crate::error::{coded, Code, Coded};

struct LocalStorage {
    base: PathBuf,
}

pub fn storage(
    settings: &StorageSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn Storage>> {
    let StorageSettings::Local(config) = settings else {
        anyhow::bail!("the local factory got another storage's settings");
    };
    Ok(Box::new(LocalStorage {
        base: context.project.join(&config.base_path),
    }))
}

impl Adapter for LocalStorage {}

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
        write_atomic_with(Path::new(uri.trim_start_matches("file://")), |out| {
            write(out)
        })
        .with_context(|| format!("cannot write {uri}"))
        .code(
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
pub fn connector(
    settings: &ConnectorSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn DataConnector>> {
    let ConnectorSettings::LocalFile(config) = settings else {
        anyhow::bail!("the local_file factory got another connector's settings");
    };
    let overrides: Vec<Field> = config
        .column_types
        .iter()
        .map(|(column, kind)| {
            let dtype = match kind {
                CsvColumnType::String => DataType::String,
                CsvColumnType::Integer => DataType::Int64,
                CsvColumnType::Float => DataType::Float64,
                CsvColumnType::Boolean => DataType::Boolean,
            };
            Field::new(column.as_str().into(), dtype)
        })
        .collect();
    Ok(Box::new(LocalFiles {
        data_path: context.project.join(&config.data_path),
        overrides: (!overrides.is_empty())
            .then(|| std::sync::Arc::new(Schema::from_iter(overrides))),
    }))
}

impl Adapter for LocalFiles {}

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
                    mbt_contract::suggest::did_you_mean(table, &names)
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

pub fn model_registry(
    settings: &RegistrySettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn ModelRegistry>> {
    let RegistrySettings::Local(config) = settings else {
        anyhow::bail!("the local registry factory got {settings:?}");
    };
    Ok(Box::new(LocalRegistry {
        base: context.project.join(&config.base_path),
    }))
}

impl Adapter for LocalRegistry {}

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
            write_atomic(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))
                .code(
                    Code::StorageFailed,
                    "check that the registry's base_path is writable",
                )?;
            record
                .artifacts
                .insert(name.clone(), format!("file://{}", path.display()));
        }
        let text = serde_json::to_string_pretty(&record)? + "\n";
        let path = folder.join("run.json");
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
            .code(
                Code::StorageFailed,
                "check that the registry's base_path is writable",
            )?;
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

    fn latest_run(&self, filter: RunFilter<'_>) -> anyhow::Result<RunRecord> {
        // Every `<run>/run.json` under the registry; a folder without a record is not a run.
        let records: Vec<RunRecord> = std::fs::read_dir(&self.base)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let text = std::fs::read_to_string(entry.path().join("run.json")).ok()?;
                serde_json::from_str(&text).ok()
            })
            .collect();
        super::latest(&records, filter, &self.base.display().to_string()).cloned()
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.base.join(run_id).join("artifacts").join(name);
        std::fs::read(&path)
            .with_context(|| format!("run `{run_id}` has no artifact `{name}`"))
            .code(Code::RunNotFound, "the run is incomplete: train it again")
    }

    /// `models/<name>/versions/<n>` holds the run id of version n, `models/<name>/aliases/<a>`
    /// the version an alias points at (each written atomically; `models/` is not a run).
    fn register_model(
        &self,
        record: &RunRecord,
        name: &str,
        alias: Option<&str>,
    ) -> anyhow::Result<String> {
        let model = self.base.join("models").join(name);
        let versions = model.join("versions");
        let writable = "check that the registry's base_path is writable";
        let version = claim_version(&versions, &record.run_id)
            .with_context(|| format!("cannot register model `{name}`"))
            .code(Code::StorageFailed, writable)?;
        if let Some(alias) = alias {
            write_atomic(&model.join("aliases").join(alias), version.as_bytes())
                .with_context(|| format!("cannot set alias `{alias}` of model `{name}`"))
                .code(Code::StorageFailed, writable)?;
        }
        Ok(version)
    }

    fn resolve_alias(&self, name: &str, alias: &str) -> anyhow::Result<String> {
        let model = self.base.join("models").join(name);
        let place = self.base.display().to_string();
        let not_found = |what: String| super::alias_not_found(what, &place, name, alias);
        let version = std::fs::read_to_string(model.join("aliases").join(alias))
            .map_err(|_| not_found(format!("model `{name}` has no alias `{alias}`")))?;
        std::fs::read_to_string(model.join("versions").join(version.trim()))
            .map(|run| run.trim().to_string())
            .map_err(|_| not_found(format!("model `{name}` has no version {}", version.trim())))
    }
}

/// Writes `run_id` as the next free version in `versions`: the file is written beside and then
/// hard-linked to its number, which fails if another run took that number first (concurrent
/// runs each get their own version, and a reader never sees a half-written file).
fn claim_version(versions: &Path, run_id: &str) -> anyhow::Result<String> {
    std::fs::create_dir_all(versions)?;
    let pending = versions.join(format!(".{run_id}.{}", std::process::id()));
    std::fs::write(&pending, run_id)?;
    let claimed = (|| loop {
        let newest = std::fs::read_dir(versions)?
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let version = (newest + 1).to_string();
        match std::fs::hard_link(&pending, versions.join(&version)) {
            Ok(()) => return Ok(version),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    })();
    let _ = std::fs::remove_file(&pending);
    Ok(claimed?)
}

struct LocalFileWriter {
    output_path: PathBuf,
}

/// `local_file`: CSV or Parquet (by the table's extension) under `output_path` (default
/// `predictions/`), written atomically.
pub fn output_writer(
    settings: &WriterSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn OutputWriter>> {
    let WriterSettings::LocalFile(config) = settings else {
        anyhow::bail!("the local_file factory got another writer's settings");
    };
    Ok(Box::new(LocalFileWriter {
        output_path: context.project.join(&config.output_path),
    }))
}

impl Adapter for LocalFileWriter {}

/// A published table's bytes: Parquet for a `.parquet` name, else CSV.
pub(crate) fn encode_table(table: &str, frame: &DataFrame) -> anyhow::Result<Vec<u8>> {
    if table.ends_with(".parquet") {
        return crate::frame::to_parquet(frame);
    }
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .finish(&mut frame.clone())
        .map_err(anyhow::Error::from)
        .context("cannot write the table as CSV")?;
    Ok(bytes)
}

impl OutputWriter for LocalFileWriter {
    fn write(&self, table: &str, frame: &DataFrame, _run_id: &str) -> anyhow::Result<String> {
        let path = self.output_path.join(table);
        let bytes = encode_table(table, frame)?;
        write_atomic(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))
            .code(
                Code::StorageFailed,
                "check that the output_path is writable and the disk has space",
            )?;
        Ok(format!("file://{}", path.display()))
    }
}

/// `local`: the steps of a batch on parallel threads of this process.
pub struct LocalExecutor;

pub fn executor(
    settings: &ExecutorSettings,
    _context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn Executor>> {
    // `resources` are recorded in the manifest for orchestrators; threads do not limit them.
    let ExecutorSettings::Local(_) = settings else {
        anyhow::bail!("the local factory got another executor's settings");
    };
    Ok(Box::new(LocalExecutor))
}

impl Adapter for LocalExecutor {}

impl Executor for LocalExecutor {
    fn run_batch<'a>(&self, jobs: Vec<Job<'a>>) {
        if jobs.len() == 1 {
            jobs.into_iter().for_each(|job| job());
            return;
        }
        std::thread::scope(|scope| {
            for job in jobs {
                scope.spawn(job);
            }
        });
    }
}

struct EnvSecrets;

pub fn secrets(
    settings: &SecretsSettings,
    _project: &Path,
) -> anyhow::Result<Box<dyn SecretsProvider>> {
    let SecretsSettings::Env(_) = settings;
    Ok(Box::new(EnvSecrets))
}

impl SecretsProvider for EnvSecrets {
    fn get_secret(&self, name: &str) -> anyhow::Result<String> {
        std::env::var(name).ok().filter(|value| !value.is_empty()).with_context(|| {
            format!("secret `{name}` is not set (the env provider reads the environment variable `{name}`)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt_contract::adapters::LocalFileConfig;

    struct NoSecrets;

    impl SecretsProvider for NoSecrets {
        fn get_secret(&self, name: &str) -> anyhow::Result<String> {
            anyhow::bail!("no secret {name}")
        }
    }

    #[test]
    fn column_types_override_inference_and_requests_select_columns_and_dates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.csv"),
            "id,day,x\n007,2026-03-01,1\n008,2026-03-02,2\n009,2026-03-05,3\n",
        )
        .unwrap();
        let settings = ConnectorSettings::LocalFile(LocalFileConfig {
            data_path: ".".into(),
            column_types: [("id".to_string(), CsvColumnType::String)].into(),
        });
        let context = BuildContext::new(dir.path(), &NoSecrets);
        let connector = connector(&settings, &context).unwrap();
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
    }
}
