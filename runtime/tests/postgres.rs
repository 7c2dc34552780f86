//! The `postgres` data connector and output writer against a real PostgreSQL server (a fresh
//! cluster per test on 127.0.0.1, stopped when the test ends; `$MBT_POSTGRES_BIN`, which
//! scripts/test.sh sets). The adapters are built the way a run builds them: by the registry from
//! a target's typed settings, the password through the `env` secrets provider.
//!
//! What they prove: every column type arrives as the CSV connector would type it; the columns
//! and the date range a step asks for are pushed into the SQL the server runs (its statement
//! log shows it); missing tables and columns are coded with did-you-mean; publishing creates,
//! appends (a retried run replaces its own rows), replaces, quotes hostile names, and a failed
//! publish leaves the table as it was; a stopped server and a wrong password are coded errors
//! that never show the password.

#[path = "../../tests/util/postgres.rs"]
mod server;

use mbt_contract::adapters::{
    ConnectorSettings, PostgresConfig, PublishMode, TargetSettings, WriterSettings,
};
use mbt_contract::secret::SecretRef;
use mbt_runtime::adapters::{Adapters, Registry, TableRequest};
use mbt_runtime::error::{code_of, Code};
use mbt_runtime::windows::Range;
use polars::prelude::*;
use server::Postgres;

/// The environment variable the tests' secrets provider reads the password from.
const PASSWORD_VAR: &str = "MBT_TEST_PG_PASSWORD";

fn config(server: &Postgres, mode: Option<PublishMode>) -> PostgresConfig {
    PostgresConfig {
        host: "127.0.0.1".into(),
        port: Some(server.port),
        database: server::DATABASE.into(),
        user: Some(server::USER.into()),
        password: Some(SecretRef::new(PASSWORD_VAR)),
        schema: None,
        sslmode: None,
        sslrootcert: None,
        mode,
    }
}

fn adapters(config: PostgresConfig) -> Adapters {
    // Every test sets the same value; the variable is the secrets provider's source.
    std::env::set_var(PASSWORD_VAR, server::PASSWORD);
    let mut settings = TargetSettings::embedded();
    settings.data_connector = ConnectorSettings::Postgres(config.clone());
    settings.output_writer = WriterSettings::Postgres(config);
    let adapters = Registry::builtin()
        .build(&settings, std::path::Path::new("."))
        .expect("adapters build");
    adapters.setup().expect("setup");
    adapters
}

fn start(test: &str) -> Option<Postgres> {
    let bin = server::bin_or_skip(test)?;
    Some(Postgres::start(&bin))
}

fn code(error: &anyhow::Error) -> Code {
    code_of(error).expect("a coded error").0
}

#[test]
fn reads_every_type_as_a_csv_export_would_and_pushes_columns_and_dates_down() {
    let Some(server) = start("postgres read") else {
        return;
    };
    server.psql(
        "CREATE TABLE features (
            id varchar(10), small int2, count int4, big int8, price numeric(10,2), ratio float4,
            score float8, active boolean, note text, snapshot date, seen timestamp,
            seen_tz timestamptz, code char(3), key uuid);
         INSERT INTO features VALUES
          ('C1', 1, 10, 10000000000, 12.50, 0.5, 0.25, true, 'it''s', '2025-01-01',
           '2025-01-01 08:30:00', '2025-01-01 08:30:00+00', 'abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
          ('C2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2025-02-01', NULL, NULL, NULL, NULL),
          ('C3', 3, 30, 3, 0.10, 1.5, -1, false, 'ü', '2025-03-01', '2025-03-01 23:59:59', NULL, 'x', NULL);
         CREATE VIEW recent AS SELECT id, snapshot FROM features WHERE snapshot >= '2025-02-01';",
        server::DATABASE,
    );
    let adapters = adapters(config(&server, None));
    let frame = adapters
        .connector
        .read(&TableRequest::table("features"))
        .unwrap();
    let types: Vec<(String, DataType)> = frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().clone()))
        .collect();
    let expected = [
        ("id", DataType::String),
        ("small", DataType::Int64),
        ("count", DataType::Int64),
        ("big", DataType::Int64),
        ("price", DataType::Float64),
        ("ratio", DataType::Float64),
        ("score", DataType::Float64),
        ("active", DataType::Boolean),
        ("note", DataType::String),
        ("snapshot", DataType::String),
        ("seen", DataType::String),
        ("seen_tz", DataType::String),
        ("code", DataType::String),
        ("key", DataType::String),
    ];
    assert_eq!(
        types,
        expected
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(frame.height(), 3);
    let text = |name: &str| -> Vec<Option<String>> {
        frame
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    assert_eq!(
        text("snapshot"),
        [Some("2025-01-01"), Some("2025-02-01"), Some("2025-03-01")].map(|s| s.map(String::from))
    );
    assert_eq!(text("seen")[0].as_deref(), Some("2025-01-01 08:30:00"));
    assert_eq!(
        text("seen_tz")[0].as_deref(),
        Some("2025-01-01 08:30:00+00")
    );
    assert_eq!(text("note"), [Some("it's".into()), None, Some("ü".into())]);
    let big: Vec<Option<i64>> = frame.column("big").unwrap().i64().unwrap().iter().collect();
    assert_eq!(big, [Some(10_000_000_000), None, Some(3)]);
    let price: Vec<Option<f64>> = frame
        .column("price")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(price, [Some(12.5), None, Some(0.1)]);
    assert_eq!(flags(&frame, "active"), [Some(true), None, Some(false)]);

    // Two columns of the rows in [2025-02-01, 2025-03-01], for a date and for a timestamp
    // column (an inclusive end keeps its whole day).
    let columns = ["id".to_string(), "score".to_string()];
    let range = |start: &str, end: &str, inclusive_end| Range {
        start: Some(start.parse().unwrap()),
        end: end.parse().unwrap(),
        inclusive_end,
    };
    for key in ["snapshot", "seen"] {
        let frame = adapters
            .connector
            .read(&TableRequest {
                table: "features",
                columns: Some(&columns),
                date_range: Some((key, range("2025-01-02", "2025-03-01", true))),
            })
            .unwrap();
        assert_eq!(frame.get_column_names(), ["id", "score"]);
        let ids: Vec<Option<&str>> = frame.column("id").unwrap().str().unwrap().iter().collect();
        let expected: &[Option<&str>] = if key == "snapshot" {
            &[Some("C2"), Some("C3")]
        } else {
            &[Some("C3")] // C2 has no `seen`
        };
        assert_eq!(ids, expected, "rows by {key}");
    }
    let exclusive = adapters
        .connector
        .read(&TableRequest {
            table: "features",
            columns: Some(&columns),
            date_range: Some(("snapshot", range("2025-01-01", "2025-03-01", false))),
        })
        .unwrap();
    assert_eq!(exclusive.height(), 2);
    // Views read like tables.
    assert_eq!(
        adapters
            .connector
            .read(&TableRequest::table("recent"))
            .unwrap()
            .height(),
        2
    );
    // The server ran the projection and the filter: nothing else was sent over.
    let log = server.log();
    assert!(
        log.contains(
            r#"COPY (SELECT "id"::text, "score"::float8 FROM "public"."features" WHERE "snapshot" >= '2025-01-02' AND "snapshot" < '2025-03-02' ORDER BY tableoid, ctid) TO STDOUT (FORMAT binary)"#
        ),
        "pushed-down statement not in the server log:\n{log}"
    );
    adapters.teardown();
}

#[test]
fn missing_tables_and_columns_are_coded_with_suggestions() {
    let Some(server) = start("postgres missing") else {
        return;
    };
    server.psql(
        "CREATE TABLE customers (customer_id text, tenure int4)",
        server::DATABASE,
    );
    let adapters = adapters(config(&server, None));
    let error = adapters
        .connector
        .read(&TableRequest::table("customer"))
        .unwrap_err();
    assert_eq!(code(&error), Code::TableNotFound);
    assert!(format!("{error}").contains("table `customer` not found in schema `public`"));
    assert_eq!(code_of(&error).unwrap().1, "did you mean `customers`?");
    let columns = ["tenur".to_string()];
    let error = adapters
        .connector
        .read(&TableRequest {
            table: "customers",
            columns: Some(&columns),
            date_range: None,
        })
        .unwrap_err();
    assert_eq!(code(&error), Code::ColumnNotFound);
    assert_eq!(code_of(&error).unwrap().1, "did you mean `tenure`?");
    adapters.teardown();
}

fn predictions(ids: &[&str], scores: &[f64]) -> DataFrame {
    df!(
        "customer_id" => ids,
        "churn_probability" => scores,
        "will_churn" => scores.iter().map(|s| i64::from(*s >= 0.5)).collect::<Vec<_>>(),
    )
    .unwrap()
}

#[test]
fn publishing_appends_replaces_retries_and_fails_without_changing_the_table() {
    let Some(server) = start("postgres publish") else {
        return;
    };
    let rows = |sql: &str| server.psql(sql, server::DATABASE);
    let append = adapters(config(&server, None));
    let writer = &append.output_writer;

    // Created on first publish, with the run's id per row.
    let uri = writer
        .write(
            "churn_predictions",
            &predictions(&["C1", "C2"], &[0.9, 0.1]),
            "run_a",
        )
        .unwrap();
    assert_eq!(
        uri,
        format!(
            "postgresql://127.0.0.1:{}/analytics?table=public.churn_predictions",
            server.port
        )
    );
    assert_eq!(
        rows("SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'churn_predictions' ORDER BY ordinal_position"),
        "customer_id text\nchurn_probability double precision\nwill_churn bigint\nmbt_run_id text\n"
    );
    // Another run appends; the same run again replaces its own rows (a retried publish).
    writer
        .write("churn_predictions", &predictions(&["C3"], &[0.7]), "run_b")
        .unwrap();
    writer
        .write(
            "churn_predictions",
            &predictions(&["C1", "C2"], &[0.8, 0.2]),
            "run_a",
        )
        .unwrap();
    assert_eq!(
        rows("SELECT customer_id, churn_probability, will_churn, mbt_run_id FROM churn_predictions ORDER BY 1"),
        "C1|0.8|1|run_a\nC2|0.2|0|run_a\nC3|0.7|1|run_b\n"
    );

    // A table the predictions do not fit: the publish fails whole and changes nothing.
    rows("CREATE TABLE narrow (customer_id text, churn_probability int4, will_churn int8, mbt_run_id text); INSERT INTO narrow VALUES ('old', 1, 1, 'run_0')");
    let error = writer
        .write("narrow", &predictions(&["C1", "C2"], &[0.5, 1e12]), "run_c")
        .unwrap_err();
    assert_eq!(code(&error), Code::PublishFailed, "{error:#}");
    assert!(
        format!("{error}").contains("the table is unchanged"),
        "{error}"
    );
    assert_eq!(rows("SELECT * FROM narrow"), "old|1|1|run_0\n");

    // Replace: the table holds this run's rows only, with the predictions' columns.
    let replace = adapters(config(&server, Some(PublishMode::Replace)));
    replace
        .output_writer
        .write("narrow", &predictions(&["C9"], &[0.25]), "run_d")
        .unwrap();
    assert_eq!(rows("SELECT * FROM narrow"), "C9|0.25|0|run_d\n");

    // Names from pipelines are identifiers, never SQL.
    let hostile = "x\"; DROP TABLE churn_predictions; --";
    replace
        .output_writer
        .write(
            hostile,
            &predictions(&["C1"], &[0.5]),
            "run'; DROP TABLE narrow; --",
        )
        .unwrap();
    assert_eq!(rows("SELECT count(*) FROM churn_predictions"), "3\n");
    assert_eq!(
        rows(r#"SELECT mbt_run_id FROM "x""; DROP TABLE churn_predictions; --""#),
        "run'; DROP TABLE narrow; --\n"
    );
    append.teardown();
    replace.teardown();
}

#[test]
fn a_stopped_server_and_a_wrong_password_are_coded_and_never_show_the_password() {
    let Some(mut server) = start("postgres failures") else {
        return;
    };
    server.psql("CREATE TABLE t (a int4)", server::DATABASE);

    let mut wrong = config(&server, None);
    wrong.password = Some(SecretRef::new("MBT_TEST_PG_WRONG"));
    std::env::set_var("MBT_TEST_PG_WRONG", "not-the-password");
    let adapters_wrong = adapters(wrong);
    let error = adapters_wrong
        .connector
        .read(&TableRequest::table("t"))
        .unwrap_err();
    assert_eq!(code(&error), Code::ServiceRejected, "{error:#}");
    assert!(!format!("{error:#}").contains("not-the-password"));

    let adapters = adapters(config(&server, None));
    assert_eq!(
        adapters
            .connector
            .read(&TableRequest::table("t"))
            .unwrap()
            .height(),
        0
    );
    let health = adapters.connector.health().unwrap();
    assert!(
        health.starts_with("PostgreSQL 15") && health.contains("1 table(s) in schema `public`"),
        "{health}"
    );
    server.stop();
    for error in [
        adapters
            .connector
            .read(&TableRequest::table("t"))
            .unwrap_err(),
        adapters
            .output_writer
            .write("t2", &predictions(&["C1"], &[0.5]), "run")
            .unwrap_err(),
    ] {
        let text = format!("{error:#}");
        assert_eq!(code(&error), Code::ServiceUnreachable, "{text}");
        assert!(
            text.contains(&format!(
                "PostgreSQL at 127.0.0.1:{}/analytics",
                server.port
            )),
            "{text}"
        );
        assert!(!text.contains(server::PASSWORD), "{text}");
    }
    // The same adapters connect again once the server is back (`mbt retry` after an outage).
    server.start_again();
    assert_eq!(
        adapters
            .connector
            .read(&TableRequest::table("t"))
            .unwrap()
            .width(),
        1
    );
    adapters.teardown();
}

/// A boolean column's values.
fn flags(frame: &DataFrame, name: &str) -> Vec<Option<bool>> {
    frame.column(name).unwrap().bool().unwrap().iter().collect()
}

/// Runs openssl with `args` in `folder`.
fn openssl(folder: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .current_dir(folder)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sslmode_require_encrypts_and_verifies_the_server() {
    let Some(bin) = server::bin_or_skip("postgres tls") else {
        return;
    };
    // A private CA and a server certificate for 127.0.0.1 signed by it.
    let server = Postgres::start_with(&bin, |folder| {
        std::fs::write(
            folder.join("san.cnf"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(
            folder,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=mbt-test-ca",
            ],
        );
        openssl(
            folder,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        openssl(
            folder,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "san.cnf",
            ],
        );
        let mut permissions = std::fs::metadata(folder.join("server.key"))
            .unwrap()
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
        std::fs::set_permissions(folder.join("server.key"), permissions).unwrap();
        vec![
            "ssl=on".into(),
            format!("ssl_cert_file={}", folder.join("server.crt").display()),
            format!("ssl_key_file={}", folder.join("server.key").display()),
        ]
    });
    // What the connection reading it uses, seen by the server.
    server.psql(
        "CREATE VIEW connection AS SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        server::DATABASE,
    );
    let mut tls = config(&server, None);
    tls.sslmode = Some(mbt_contract::adapters::PostgresSslMode::Require);
    tls.sslrootcert = Some(server.folder().join("ca.pem").display().to_string());
    let adapters_tls = adapters(tls.clone());
    let frame = adapters_tls
        .connector
        .read(&TableRequest::table("connection"))
        .unwrap();
    let ssl = flags(&frame, "ssl");
    assert_eq!(ssl, [Some(true)]);
    let version = frame
        .column("version")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .map(str::to_string);
    assert!(
        version.as_deref().is_some_and(|v| v.starts_with("TLSv1.")),
        "{version:?}"
    );
    // Without TLS the same view says so.
    let plain = adapters(config(&server, None));
    let frame = plain
        .connector
        .read(&TableRequest::table("connection"))
        .unwrap();
    let ssl = flags(&frame, "ssl");
    assert_eq!(ssl, [Some(false)]);
    // A server whose certificate no trusted root signed is refused, coded.
    tls.sslrootcert = None;
    let untrusted = adapters(tls);
    let error = untrusted
        .connector
        .read(&TableRequest::table("connection"))
        .unwrap_err();
    assert_eq!(code(&error), Code::ServiceRejected, "{error:#}");
    assert!(format!("{error:#}").contains("certificate"), "{error:#}");
    assert!(
        code_of(&error).unwrap().1.contains("sslrootcert"),
        "{error:#}"
    );
    adapters_tls.teardown();
    plain.teardown();
}
