//! `postgres`: tables and views of a PostgreSQL database as a data connector ([`read`]), and a
//! table of published predictions as an output writer ([`write`]).
//!
//! Both hold one connection per run, opened on first use (a training run that never publishes
//! never connects its writer) and closed in teardown. Data moves with binary `COPY` both ways,
//! never as text rows. The password comes from the target's secrets provider and lives only in
//! the connection's configuration; no error or URI carries it.

mod read;
mod write;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use mbt_contract::adapters::{
    ConnectorSettings, PostgresConfig, PostgresSslMode, PublishMode, WriterSettings,
};
use postgres::error::SqlState;
use postgres::{Client, NoTls};

use super::{Adapter, BuildContext, DataConnector, OutputWriter, TableRequest};
use crate::error::{coded, Code, Coded};
use polars::prelude::DataFrame;

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One database of a target: where it is and how to log in, and the run's connection.
struct Database {
    config: postgres::Config,
    /// `host:port/database`, for messages and URIs (never the password).
    address: String,
    schema: String,
    tls: Option<PathBuf>,
    sslmode: PostgresSslMode,
    client: Mutex<Option<Client>>,
}

impl Database {
    fn new(config: &PostgresConfig, context: &BuildContext<'_>) -> anyhow::Result<Database> {
        let port = config.port.unwrap_or(5432);
        let user = config.user.as_deref().unwrap_or("postgres");
        let mut connection = postgres::Config::new();
        connection
            .host(&config.host)
            .port(port)
            .dbname(&config.database)
            .user(user)
            .application_name("mbt")
            .connect_timeout(CONNECT_TIMEOUT);
        if let Some(password) = &config.password {
            connection.password(context.secret(password)?);
        }
        let sslmode = config.sslmode.unwrap_or_default();
        if sslmode == PostgresSslMode::Require {
            connection.ssl_mode(postgres::config::SslMode::Require);
        }
        Ok(Database {
            config: connection,
            address: format!("{}:{port}/{}", config.host, config.database),
            schema: config.schema.clone().unwrap_or_else(|| "public".into()),
            tls: config
                .sslrootcert
                .as_ref()
                .map(|path| context.project.join(path)),
            sslmode,
            client: Mutex::new(None),
        })
    }

    /// The run's connection, opened on first use (and again after the server closed it).
    fn client(&self) -> anyhow::Result<MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().expect("postgres connection lock");
        if guard.as_ref().is_none_or(Client::is_closed) {
            let client = self.connect()?;
            *guard = Some(client);
        }
        Ok(guard)
    }

    fn connect(&self) -> anyhow::Result<Client> {
        let connected = match self.sslmode {
            PostgresSslMode::Disable => self.config.connect(NoTls),
            PostgresSslMode::Require => self.config.connect(self.rustls()?),
        };
        let mut client = connected.map_err(|error| self.classify(error, "connect to"))?;
        // Dates and timestamps read as text come out as ISO 8601, as in a CSV export.
        client
            .batch_execute("SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'")
            .map_err(|error| self.classify(error, "set up a session on"))?;
        Ok(client)
    }

    /// TLS through rustls: webpki's roots, or the target's `sslrootcert` alone.
    fn rustls(&self) -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        match &self.tls {
            Some(path) => {
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .with_context(|| format!("cannot read sslrootcert {}", path.display()))
                    .code(
                        Code::AdapterFailed,
                        "point `sslrootcert` at the PEM file of the CA that signed the server's certificate",
                    )?;
                for certificate in certificates {
                    roots.add(certificate).with_context(|| {
                        format!("{} holds an invalid certificate", path.display())
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        // ring (ureq's too) builds without a C toolchain. rustls 0.23.48 deprecates its provider
        // for lacking post-quantum key exchange only; its classic ECDHE groups suit any server.
        #[allow(deprecated)]
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// A database error as a coded one: a server that does not answer is MBT4019, one that
    /// refuses the login or the database MBT4020, the rest `otherwise`'s code.
    fn classify(&self, error: postgres::Error, doing: &str) -> anyhow::Error {
        let address = &self.address;
        let message = format!(
            "cannot {doing} PostgreSQL at {address}: {}",
            describe(&error)
        );
        if tls_refused(&error) {
            return coded(
                Code::ServiceRejected,
                message,
                "the server's TLS certificate is not trusted for this host: set the target's `sslrootcert` to the PEM file of the CA that signed it",
            );
        }
        match error.code() {
            Some(state)
                if [
                    SqlState::INVALID_PASSWORD,
                    SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                    SqlState::INVALID_CATALOG_NAME,
                    SqlState::INSUFFICIENT_PRIVILEGE,
                ]
                .contains(state) =>
            {
                coded(
                    Code::ServiceRejected,
                    message,
                    "check the target's `database`, `user` and password secret (and the server's pg_hba.conf)",
                )
            }
            Some(_) => coded(
                Code::AdapterFailed,
                message,
                "check the server's log; `mbt retry PIPELINE` resumes once it is fixed",
            ),
            None if !lost(&error) => coded(
                Code::AdapterFailed,
                message,
                "report it with the table's definition; `mbt retry PIPELINE` resumes once it is fixed",
            ),
            None => coded(
                Code::ServiceUnreachable,
                message,
                "start the server or correct `host`/`port` in profiles.yaml (`mbt debug` checks it), then `mbt retry PIPELINE`",
            ),
        }
    }

    /// The schema and table a step names: `schema.table`, or the target's schema.
    fn qualify<'a>(&'a self, table: &'a str) -> (&'a str, &'a str) {
        table
            .split_once('.')
            .unwrap_or((self.schema.as_str(), table))
    }

    /// The server's version and the tables of the schema, for `mbt debug`.
    fn health(&self) -> anyhow::Result<String> {
        let mut guard = self.client()?;
        let client = guard.as_mut().expect("connected");
        let answer = client
            .query_one(
                "SELECT current_setting('server_version'), count(*) FROM information_schema.tables WHERE table_schema = $1",
                &[&self.schema],
            )
            .map_err(|error| self.classify(error, "query"))?;
        let (version, tables): (String, i64) = (answer.get(0), answer.get(1));
        Ok(format!(
            "PostgreSQL {version} at {}, {tables} table(s) in schema `{}`",
            self.address, self.schema
        ))
    }

    fn close(&self) {
        // Dropping the client ends the session (the server rolls back anything open).
        self.client.lock().expect("postgres connection lock").take();
    }
}

/// Whether TLS refused the server (its certificate, its protocol).
fn tls_refused(error: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// Whether the connection failed or broke (rather than the server refusing a statement).
fn lost(error: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    error.is_closed() || error.to_string().contains("timed out")
}

/// The server's own message (and detail) of an error, or its cause for a lost connection.
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    }
}

/// An identifier quoted for SQL (`"name"`, inner quotes doubled): names from pipelines never
/// reach SQL unquoted.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A text literal for SQL (`'text'`, inner quotes doubled; standard strings, so backslashes are
/// plain characters).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

struct Connector {
    database: Database,
}

/// The `postgres` data connector of a target.
pub fn connector(
    settings: &ConnectorSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn DataConnector>> {
    let ConnectorSettings::Postgres(config) = settings else {
        anyhow::bail!("the postgres factory got another connector's settings");
    };
    Ok(Box::new(Connector {
        database: Database::new(config, context)?,
    }))
}

impl Adapter for Connector {
    fn teardown(&self) -> anyhow::Result<()> {
        self.database.close();
        Ok(())
    }
}

impl DataConnector for Connector {
    fn health(&self) -> anyhow::Result<String> {
        self.database.health()
    }

    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame> {
        read::read(&self.database, request)
    }
}

struct Writer {
    database: Database,
    mode: PublishMode,
}

/// The `postgres` output writer of a target.
pub fn output_writer(
    settings: &WriterSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn OutputWriter>> {
    let WriterSettings::Postgres(config) = settings else {
        anyhow::bail!("the postgres factory got another writer's settings");
    };
    Ok(Box::new(Writer {
        database: Database::new(config, context)?,
        mode: config.mode.unwrap_or_default(),
    }))
}

impl Adapter for Writer {
    fn teardown(&self) -> anyhow::Result<()> {
        self.database.close();
        Ok(())
    }
}

impl OutputWriter for Writer {
    fn health(&self) -> anyhow::Result<String> {
        self.database.health()
    }

    fn write(&self, table: &str, frame: &DataFrame, run_id: &str) -> anyhow::Result<String> {
        write::publish(&self.database, table, frame, run_id, self.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::{literal, quote};

    #[test]
    fn names_and_values_are_quoted_so_nothing_escapes_into_sql() {
        assert_eq!(quote("churn"), "\"churn\"");
        assert_eq!(
            quote("x\"; DROP TABLE t; --"),
            "\"x\"\"; DROP TABLE t; --\""
        );
        assert_eq!(literal("2025-01-01"), "'2025-01-01'");
        assert_eq!(literal("a'); DROP TABLE t; --"), "'a''); DROP TABLE t; --'");
    }
}
