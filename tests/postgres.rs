//! The example's `staging` target on a real PostgreSQL server (started by the test on
//! 127.0.0.1, stopped when it ends; `$MBT_POSTGRES_BIN`, which scripts/test.sh sets): the
//! tables loaded by the example's own `scripts/load_staging.sql`, training reading them from the
//! database, serving publishing into `churn_predictions`.
//!
//! What it proves: staging gives the dev target's metrics and predictions exactly; the
//! published rows carry the serving run's id; a publish the table refuses fails with MBT4024
//! and leaves the table as it was, and `mbt retry` publishes once fixed; a server that is down
//! at the start fails the first step with MBT4019 and `mbt retry` resumes; `mbt debug` sees the
//! server; the password never reaches a manifest, a record or the output.

mod util;

use std::path::Path;

use util::postgres::{self, Postgres};
use util::{Output, Sandbox};

fn results(project: &Path, pipeline: &str) -> serde_json::Value {
    let path = project
        .join("target")
        .join(pipeline)
        .join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `mbt ARGS` in `project` with the staging target's environment.
fn mbt(sandbox: &Sandbox, project: &Path, server: &Postgres, args: &[&str]) -> Output {
    sandbox
        .mbt(project)
        .env("MBT_PYTHON", util::python())
        // `mbt debug` checks every framework the example uses (churn_h2o_v1's too).
        .env("MBT_H2O_JAR", util::h2o_jar())
        .env("MBT_PG_PORT", server.port.to_string())
        .env("MBT_PG_PASSWORD", postgres::PASSWORD)
        .args(args)
        .run()
}

/// `customer_id,probability,label` rows, sorted by id.
fn rows(text: &str, separator: char) -> Vec<(String, f64, i64)> {
    let mut rows: Vec<(String, f64, i64)> = text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(separator).collect();
            (
                fields[0].to_string(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// Every file under `folder`, concatenated (manifests, records, artifacts' JSON).
fn text_under(folder: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&text_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[test]
fn staging_on_postgres_trains_and_serves_as_dev_does() {
    let Some(bin) = postgres::bin_or_skip("staging on postgres") else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    let mut server = Postgres::start(&bin);
    server.psql_file(&project, "scripts/load_staging.sql");
    let sql = |query: &str| server.psql(query, postgres::DATABASE);
    assert_eq!(
        sql("SELECT count(*) FROM customer_churn_features"),
        "7043\n"
    );

    // Dev: files.
    let training = [
        "run",
        "--select",
        "churn_training_v1",
        "--vars",
        "execution_date=2026-03-01",
    ];
    mbt(&sandbox, &project, &server, &training).expect_code(0);
    let dev = results(&project, "churn_training_v1");
    let dev_run = dev["run_id"].as_str().unwrap().to_string();
    mbt(
        &sandbox,
        &project,
        &server,
        &[
            "run",
            "--select",
            "churn_serving_v1",
            "--vars",
            &format!("run_id={dev_run}"),
        ],
    )
    .expect_code(0);
    let csv = std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap();
    let dev_predictions = rows(csv.split_once('\n').unwrap().1, ',');
    assert_eq!(dev_predictions.len(), 500);

    // Staging: the same pipelines on the database.
    let staging_training = [&training[..], &["--target", "staging"]].concat();
    let output = mbt(&sandbox, &project, &server, &staging_training);
    output.expect_code(0);
    let staging = results(&project, "churn_training_v1");
    assert_eq!(staging["target"], "staging", "{staging:#}");
    assert_eq!(
        staging["metrics"], dev["metrics"],
        "staging's metrics differ from dev's"
    );
    let log = server.log();
    assert!(
        log.contains(r#"WHERE "snapshot_date" >= '2025-02-01' AND "snapshot_date" < '2026-02-01'"#)
            || log.contains(r#"FROM "public"."customer_churn_features""#),
        "training did not read from the database:\n{log}"
    );
    let staging_run = staging["run_id"].as_str().unwrap().to_string();
    let serving = [
        "run",
        "--select",
        "churn_serving_v1",
        "--target",
        "staging",
        "--vars",
        &format!("run_id={staging_run}"),
    ];
    mbt(&sandbox, &project, &server, &serving).expect_code(0);
    let serving_run = results(&project, "churn_serving_v1")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let published =
        sql("SELECT customer_id, churn_probability, churn_predicted FROM churn_predictions");
    assert_eq!(rows(&published, '|'), dev_predictions);
    assert_eq!(
        sql("SELECT DISTINCT mbt_run_id FROM churn_predictions"),
        format!("{serving_run}\n")
    );

    // A publish the table refuses changes nothing; once fixed, `mbt retry` publishes.
    sql("ALTER TABLE churn_predictions ADD CONSTRAINT capped CHECK (churn_probability < 0.5) NOT VALID");
    let output = mbt(&sandbox, &project, &server, &serving);
    output.expect_code(1);
    let failed = results(&project, "churn_serving_v1");
    assert_eq!(failed["steps"]["publish"]["code"], "MBT4024", "{failed:#}");
    assert!(
        failed["steps"]["publish"]["error"]
            .as_str()
            .unwrap()
            .contains("the table is unchanged"),
        "{failed:#}"
    );
    assert_eq!(sql("SELECT count(*) FROM churn_predictions"), "500\n");
    sql("ALTER TABLE churn_predictions DROP CONSTRAINT capped");
    let output = mbt(
        &sandbox,
        &project,
        &server,
        &["retry", "churn_serving_v1", "--target", "staging"],
    );
    output.expect_code(0);
    let retried = results(&project, "churn_serving_v1");
    assert_eq!(retried["run_id"], failed["run_id"]);
    assert_eq!(
        retried["steps"]["load_model"]["status"], "skipped",
        "{retried:#}"
    );
    assert_eq!(
        retried["steps"]["publish"]["status"], "success",
        "{retried:#}"
    );
    assert_eq!(sql("SELECT count(*) FROM churn_predictions"), "1000\n");
    assert_eq!(
        sql("SELECT count(DISTINCT mbt_run_id) FROM churn_predictions"),
        "2\n"
    );

    // `mbt debug` asks the server.
    let output = mbt(
        &sandbox,
        &project,
        &server,
        &["debug", "--target", "staging"],
    );
    output.expect_code(0);
    assert!(
        output.stdout.contains("postgres: PostgreSQL 15"),
        "{output}"
    );
    assert!(
        output.stdout.contains(&format!(
            "127.0.0.1:{}/analytics, 5 table(s) in schema `public`",
            server.port
        )),
        "{output}"
    );

    // The server down at the start: the first step fails, coded, and `mbt retry` resumes.
    server.stop();
    let output = mbt(&sandbox, &project, &server, &staging_training);
    output.expect_code(1);
    let failed = results(&project, "churn_training_v1");
    assert_eq!(
        failed["steps"]["load_data"]["code"], "MBT4019",
        "{failed:#}"
    );
    assert!(
        output.stderr.contains(&format!(
            "PostgreSQL at 127.0.0.1:{}/analytics",
            server.port
        )),
        "{output}"
    );
    server.start_again();
    let output = mbt(
        &sandbox,
        &project,
        &server,
        &["retry", "churn_training_v1", "--target", "staging"],
    );
    output.expect_code(0);
    assert_eq!(
        results(&project, "churn_training_v1")["metrics"],
        dev["metrics"]
    );

    // The password is a secret: in no manifest, record, artifact or output.
    let everything = text_under(&project);
    assert!(!everything.contains(postgres::PASSWORD));
    assert!(
        !output.stdout.contains(postgres::PASSWORD) && !output.stderr.contains(postgres::PASSWORD)
    );
}
