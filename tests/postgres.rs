//! The example's `staging` target on a real PostgreSQL server and a real S3-compatible store
//! (both started by the test on 127.0.0.1, stopped when it ends; `$MBT_POSTGRES_BIN` and
//! `$MBT_S3_SERVER`, which scripts/test.sh sets): the tables loaded by the example's own
//! `scripts/load_staging.sql`, training reading them from the database and storing its
//! artifacts in the bucket, serving publishing into `churn_predictions`.
//!
//! What it proves: a missing bucket fails the first step with MBT4013 and `mbt retry` resumes
//! once it exists; staging gives the dev target's metrics and predictions exactly; the
//! artifacts are objects of the bucket; the published rows carry the serving run's id; a publish the table refuses fails with MBT4024
//! and leaves the table as it was, and `mbt retry` publishes once fixed; a server that is down
//! at the start fails the first step with MBT4019 and `mbt retry` resumes; `mbt debug` sees the
//! server; the password never reaches a manifest, a record or the output.

mod util;

use std::path::Path;

use util::postgres::{self, Postgres};
use util::s3::{self, S3Server};
use util::{Output, Sandbox};

fn results(project: &Path, pipeline: &str) -> serde_json::Value {
    let path = project
        .join("target")
        .join(pipeline)
        .join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The staging target's servers.
struct Servers {
    postgres: Postgres,
    s3: S3Server,
}

/// `mbt ARGS` in `project` with the staging target's environment.
fn mbt(sandbox: &Sandbox, project: &Path, servers: &Servers, args: &[&str]) -> Output {
    sandbox
        .mbt(project)
        .env("MBT_S3_ENDPOINT", &servers.s3.endpoint)
        .env("MBT_S3_ACCESS_KEY", s3::ACCESS_KEY)
        .env("MBT_S3_SECRET_KEY", s3::SECRET_KEY)
        .env("MBT_PYTHON", util::python())
        // `mbt debug` checks every framework the example uses (churn_h2o_v1's too).
        .env("MBT_H2O_JAR", util::h2o_jar())
        .env("MBT_PG_PORT", servers.postgres.port.to_string())
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
    let (Some(bin), Some(s3_bin)) = (
        postgres::bin_or_skip("staging on postgres"),
        s3::bin_or_skip("staging on s3"),
    ) else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    // The bucket does not exist yet.
    let mut servers = Servers {
        postgres: Postgres::start(&bin),
        s3: S3Server::start(&s3_bin, &[]),
    };
    servers
        .postgres
        .psql_file(&project, "scripts/load_staging.sql");
    let sql = |query: &str| servers.postgres.psql(query, postgres::DATABASE);
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
    mbt(&sandbox, &project, &servers, &training).expect_code(0);
    let dev = results(&project, "churn_training_v1");
    let dev_run = dev["run_id"].as_str().unwrap().to_string();
    mbt(
        &sandbox,
        &project,
        &servers,
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

    // Staging: the same pipelines on the database and the bucket, which is missing at first:
    // the first step's output cannot be stored; once the bucket exists, `mbt retry` resumes.
    let staging_training = [&training[..], &["--target", "staging"]].concat();
    let output = mbt(&sandbox, &project, &servers, &staging_training);
    output.expect_code(1);
    let failed = results(&project, "churn_training_v1");
    assert_eq!(
        failed["steps"]["load_data"]["code"], "MBT4013",
        "{failed:#}"
    );
    assert!(
        failed["steps"]["load_data"]["help"]
            .as_str()
            .unwrap()
            .contains("create the bucket `mbt-staging`"),
        "{failed:#}"
    );
    std::fs::create_dir_all(servers.s3.bucket_folder("mbt-staging")).unwrap();
    let output = mbt(
        &sandbox,
        &project,
        &servers,
        &["retry", "churn_training_v1", "--target", "staging"],
    );
    output.expect_code(0);
    let staging = results(&project, "churn_training_v1");
    assert_eq!(staging["run_id"], failed["run_id"]);
    // Every output is an object of the bucket, under the target's prefix.
    let run = staging["run_id"].as_str().unwrap();
    let keys = servers.s3.keys("mbt-staging");
    for (step, result) in staging["steps"].as_object().unwrap() {
        for uri in result["outputs"].as_object().unwrap().values() {
            let uri = uri.as_str().unwrap();
            let key = uri
                .strip_prefix("s3://mbt-staging/")
                .unwrap_or_else(|| panic!("{step}: {uri} is not in the bucket"));
            assert!(
                key.starts_with(&format!("artifacts/{run}/{step}/")),
                "{uri}"
            );
            assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
        }
    }
    // The run is recorded in the bucket's registry, where serving finds it.
    assert!(
        keys.iter()
            .any(|k| *k == format!("registry/{run}/run.json")),
        "{keys:?}"
    );
    assert_eq!(staging["target"], "staging", "{staging:#}");
    assert_eq!(
        staging["metrics"], dev["metrics"],
        "staging's metrics differ from dev's"
    );
    let log = servers.postgres.log();
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
    mbt(&sandbox, &project, &servers, &serving).expect_code(0);
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
    let output = mbt(&sandbox, &project, &servers, &serving);
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
        &servers,
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
        &servers,
        &["debug", "--target", "staging"],
    );
    output.expect_code(0);
    assert!(
        output.stdout.contains("postgres: PostgreSQL 15"),
        "{output}"
    );
    assert!(
        output.stdout.contains(&format!(
            "s3: s3://mbt-staging/artifacts at {}: the bucket answers",
            servers.s3.endpoint
        )),
        "{output}"
    );
    assert!(
        output.stdout.contains("statsd udp://127.0.0.1:8125"),
        "{output}"
    );
    assert!(
        output.stdout.contains(&format!(
            "127.0.0.1:{}/analytics, 5 table(s) in schema `public`",
            servers.postgres.port
        )),
        "{output}"
    );

    // The server down at the start: the first step fails, coded, and `mbt retry` resumes.
    servers.postgres.stop();
    let output = mbt(&sandbox, &project, &servers, &staging_training);
    output.expect_code(1);
    let failed = results(&project, "churn_training_v1");
    assert_eq!(
        failed["steps"]["load_data"]["code"], "MBT4019",
        "{failed:#}"
    );
    assert!(
        output.stderr.contains(&format!(
            "PostgreSQL at 127.0.0.1:{}/analytics",
            servers.postgres.port
        )),
        "{output}"
    );
    servers.postgres.start_again();
    let output = mbt(
        &sandbox,
        &project,
        &servers,
        &["retry", "churn_training_v1", "--target", "staging"],
    );
    output.expect_code(0);
    assert_eq!(
        results(&project, "churn_training_v1")["metrics"],
        dev["metrics"]
    );

    // The password and the S3 key are secrets: in no manifest, record, artifact or output.
    let everything = text_under(&project);
    assert!(!everything.contains(postgres::PASSWORD));
    assert!(!everything.contains(s3::SECRET_KEY));
    assert!(
        !output.stdout.contains(postgres::PASSWORD) && !output.stderr.contains(postgres::PASSWORD)
    );
}
