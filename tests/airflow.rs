//! `mbt generate-dags` against real Airflow 3: the generated DAG files load in a DagBag with no
//! import errors, each DAG's task graph is the manifest's, user text cannot inject code, and
//! `airflow dags test` runs the training DAG and then the serving DAG (every task an `mbt exec`
//! of the pinned manifest).
//!
//! Airflow's Python comes from `$MBT_AIRFLOW_PYTHON` (scripts/test.sh installs the pinned 3.3.2
//! into `~/.cache/mbt/venv-airflow`). Without it the test is skipped with a printed reason,
//! except in CI (`$CI` set), where it fails.

mod util;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use util::Sandbox;

/// The DAG folder in Airflow's home: a name that Jinja or a shell would change.
const DAGS: &str = "dags {{ 7 * 7 }} $(touch pwned_path)";

/// Airflow in a home of its own in the sandbox (no examples, SQLite database).
fn airflow(python: &Path, home: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(python);
    command
        .current_dir(cwd)
        .env("AIRFLOW_HOME", home)
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .env("AIRFLOW__CORE__DAGS_FOLDER", home.join(DAGS))
        // The tasks' `mbt exec` needs the Python of the example's hooks.
        .env("MBT_PYTHON", util::python());
    command
}

/// Every DAG in the folder: its import errors, and each DAG's tags, description, schedule and
/// tasks with their upstream task ids.
const DAGBAG: &str = r#"
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
print(json.dumps({
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "tags": sorted(dag.tags),
            "description": dag.description,
            "schedule": str(dag.schedule) if dag.schedule is not None else None,
            "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"#;

#[test]
fn generated_dags_load_in_airflow_match_the_manifests_and_run() {
    let Some(python) = util::tool_or_skip("MBT_AIRFLOW_PYTHON", "airflow") else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    // Text that would be code if it reached Python or a shell unescaped.
    let injected_tag = r#"x"]); open("pwned_tag", "w"); (["#;
    let injected_description = r#"$(touch pwned_shell) "); open("pwned_desc", "w"); (""#;
    util::edit(
        &project.join("pipelines/churn_gbm_v1.yaml"),
        "  tags: [churn, telecom, gbm]",
        &format!(
            "  tags: [churn, {}]\n  description: {}",
            serde_json::to_string(injected_tag).unwrap(),
            serde_json::to_string(injected_description).unwrap()
        ),
    );
    // Serving scores the latest run of the training DAG tested below.
    util::edit(
        &project.join("pipelines/churn_serving_v1.yaml"),
        "training_pipeline: churn_training_v1",
        "training_pipeline: churn_gbm_v1",
    );
    let home = sandbox.path().join("airflow");
    // A folder name Airflow's Jinja or a shell would change: the tasks must get it verbatim.
    let dags = home.join(DAGS);
    let generated = sandbox
        .mbt(&project)
        .args([
            "generate-dags",
            "churn_gbm_v1",
            "churn_serving_v1",
            "--retries",
            "0",
            "--output",
        ])
        .args([&dags])
        .run();
    generated.success();
    assert!(dags.join("mbt_churn_gbm_v1.py").is_file(), "{generated}");
    assert!(dags.join("manifests/churn_serving_v1.json").is_file());

    let output = airflow(&python, &home, sandbox.path())
        .args(["-c", DAGBAG])
        .arg(&dags)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Airflow may log to stdout first: the JSON is the last line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let bag: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("{error}: {stdout}"));
    assert_eq!(bag["import_errors"], serde_json::json!({}), "{bag:#}");
    for pipeline in ["churn_gbm_v1", "churn_serving_v1"] {
        let dag = &bag["dags"][format!("mbt_{pipeline}")];
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(dags.join(format!("manifests/{pipeline}.json"))).unwrap(),
        )
        .unwrap();
        let parents = manifest["dag"]["parent_map"].as_object().unwrap();
        let tasks = dag["tasks"].as_object().expect("the DAG loaded");
        assert_eq!(tasks.len(), manifest["steps"].as_object().unwrap().len());
        for (step, upstream) in tasks {
            let mut expected: Vec<&str> = parents
                .get(step)
                .and_then(Value::as_array)
                .map(|list| list.iter().map(|p| p.as_str().unwrap()).collect())
                .unwrap_or_default();
            expected.sort_unstable();
            let upstream: Vec<&str> = upstream
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(upstream, expected, "{pipeline}.{step}");
        }
    }
    let training = &bag["dags"]["mbt_churn_gbm_v1"];
    assert_eq!(training["description"], injected_description);
    assert!(
        training["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tag| tag == injected_tag),
        "{training}"
    );
    assert_eq!(bag["dags"]["mbt_churn_serving_v1"]["schedule"], "@daily");

    // The DAGs run: training, then serving its latest run.
    let migrated = airflow(&python, &home, sandbox.path())
        .args(["-m", "airflow", "db", "migrate"])
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    for dag in ["mbt_churn_gbm_v1", "mbt_churn_serving_v1"] {
        let tested = airflow(&python, &home, sandbox.path())
            .args(["-m", "airflow", "dags", "test", dag, "2024-01-02"])
            .output()
            .unwrap();
        assert!(
            tested.status.success(),
            "{dag}:\n{}\n{}",
            String::from_utf8_lossy(&tested.stdout),
            String::from_utf8_lossy(&tested.stderr)
        );
    }
    let runs: Vec<_> = std::fs::read_dir(project.join("local_registry"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().join("run.json").is_file())
        .collect();
    assert_eq!(runs.len(), 1, "one training run recorded");
    let predictions = std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap();
    assert!(predictions.lines().count() > 100);
    for pwned in ["pwned_tag", "pwned_desc", "pwned_shell", "pwned_path"] {
        assert!(!sandbox.path().join(pwned).exists(), "{pwned} was created");
        assert!(!project.join(pwned).exists(), "{pwned} was created");
    }
}

/// The staging target through Airflow: every task a separate `mbt exec` process that reads its
/// inputs from the S3 bucket where the task before it stored them, tables from PostgreSQL,
/// predictions published to PostgreSQL.
#[test]
fn staging_dags_pass_artifacts_through_the_bucket_and_publish_to_postgres() {
    use util::postgres::{self, Postgres};
    use util::s3::{self, S3Server};
    let (Some(python), Some(pg_bin), Some(s3_bin)) = (
        util::tool_or_skip("MBT_AIRFLOW_PYTHON", "airflow staging"),
        postgres::bin_or_skip("airflow staging"),
        s3::bin_or_skip("airflow staging"),
    ) else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    let database = Postgres::start(&pg_bin);
    database.psql_file(&project, "scripts/load_staging.sql");
    let bucket = S3Server::start(&s3_bin, &["mbt-staging"]);
    util::edit(
        &project.join("pipelines/churn_serving_v1.yaml"),
        "training_pipeline: churn_training_v1",
        "training_pipeline: churn_gbm_v1",
    );
    let home = sandbox.path().join("airflow");
    let dags = home.join(DAGS);
    let environment = [
        ("MBT_PG_PORT", database.port.to_string()),
        ("MBT_PG_PASSWORD", postgres::PASSWORD.to_string()),
        ("MBT_S3_ENDPOINT", bucket.endpoint.clone()),
        ("MBT_S3_ACCESS_KEY", s3::ACCESS_KEY.to_string()),
        ("MBT_S3_SECRET_KEY", s3::SECRET_KEY.to_string()),
    ];
    let mut generate = sandbox.mbt(&project).args([
        "generate-dags",
        "churn_gbm_v1",
        "churn_serving_v1",
        "--target",
        "staging",
        "--retries",
        "0",
        "--output",
    ]);
    generate = generate.args([&dags]);
    for (key, value) in &environment {
        generate = generate.env(key, value);
    }
    generate.run().success();
    let migrated = airflow(&python, &home, sandbox.path())
        .args(["-m", "airflow", "db", "migrate"])
        .output()
        .unwrap();
    assert!(migrated.status.success());
    for dag in ["mbt_churn_gbm_v1", "mbt_churn_serving_v1"] {
        let tested = airflow(&python, &home, sandbox.path())
            .envs(environment.iter().map(|(k, v)| (k, v)))
            .args(["-m", "airflow", "dags", "test", dag, "2024-01-02"])
            .output()
            .unwrap();
        assert!(
            tested.status.success(),
            "{dag}:\n{}\n{}",
            String::from_utf8_lossy(&tested.stdout),
            String::from_utf8_lossy(&tested.stderr)
        );
    }
    // Every step's outputs went to the bucket (nothing to local artifact folders), and the
    // predictions to the warehouse, tagged with the serving DAG's run.
    assert!(!project.join("local_artifacts").exists());
    let keys = bucket.keys("mbt-staging");
    assert!(
        keys.iter()
            .any(|key| key.starts_with("registry/") && key.ends_with("/run.json")),
        "the training run is not in the bucket's registry: {keys:?}"
    );
    assert!(!project.join("local_registry").exists());
    for step in [
        "load_data",
        "split_data",
        "train_model",
        "evaluate",
        "predict",
    ] {
        assert!(
            keys.iter().any(|key| key.contains(&format!("/{step}/"))),
            "no {step} artifact in {keys:?}"
        );
    }
    assert_eq!(
        database.psql(
            "SELECT count(*), count(DISTINCT mbt_run_id) FROM churn_predictions",
            postgres::DATABASE
        ),
        "500|1\n"
    );
}

/// A pod per step: what each task's pod would be (built by the provider's own
/// `build_pod_request_obj`, no cluster needed), its upstream tasks and the manifest it carries.
const PODS: &str = r#"
import base64, json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "tasks": {}}
for task in bag.dags[sys.argv[2]].tasks:
    pod = task.build_pod_request_obj()
    container = pod.spec.containers[0]
    env = {e.name: e.value for e in container.env or [] if e.value is not None}
    out["tasks"][task.task_id] = {
        "operator": type(task).__name__,
        "namespace": pod.metadata.namespace,
        "image": container.image,
        "service_account": pod.spec.service_account_name,
        "command": container.command,
        "args": container.args,
        "requests": container.resources.requests,
        "limits": container.resources.limits,
        "step": env.get("MBT_STEP"),
        "run_id": env.get("MBT_RUN_ID"),
        "manifest": json.loads(base64.b64decode(env["MBT_MANIFEST_B64"])),
        "secrets": sorted(
            [e.name, e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key]
            for e in container.env or [] if e.value_from is not None
        ),
        "upstream": sorted(task.upstream_task_ids),
    }
print(json.dumps(out))
"#;

/// A `kubernetes` target: a KubernetesPodOperator per step with the target's image, namespace,
/// service account and secrets and each step's resources; `mbt run` refuses the target.
#[test]
fn a_kubernetes_target_gets_a_pod_per_step_and_mbt_run_refuses_it() {
    let Some(python) = util::tool_or_skip("MBT_AIRFLOW_PYTHON", "airflow kubernetes") else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    let profiles = project.join("profiles.yaml");
    let mut text = std::fs::read_to_string(&profiles).unwrap();
    text.push_str(
        "    prod:\n      executor:\n        type: kubernetes\n        config:\n          \
         namespace: ml-prod\n          image: registry.internal/mbt-churn:1.4\n          \
         service_account: mbt-runner\n          secret_name: churn-secrets\n          \
         resources:\n            default: {memory: 4Gi, cpu: 1}\n            \
         train_model: {memory: 16Gi, cpu: 4}\n      storage:\n        type: s3\n        \
         config:\n          bucket: mbt-prod\n          region: eu-west-1\n          \
         access_key_id: \"{{ secret('MBT_S3_ACCESS_KEY') }}\"\n          \
         secret_access_key: \"{{ secret('MBT_S3_SECRET_KEY') }}\"\n",
    );
    std::fs::write(&profiles, text).unwrap();
    let run = sandbox
        .mbt(&project)
        .args(["run", "--select", "churn_gbm_v1", "--target", "prod"])
        .env("MBT_S3_ACCESS_KEY", "key")
        .env("MBT_S3_SECRET_KEY", "secret")
        .run();
    run.expect_code(1);
    assert!(run.stderr.contains("MBT4025"), "{run}");
    assert!(run.stderr.contains("namespace `ml-prod`"), "{run}");

    let dags = sandbox.path().join("dags");
    sandbox
        .mbt(&project)
        .args([
            "generate-dags",
            "churn_gbm_v1",
            "--target",
            "prod",
            "--output",
        ])
        .args([&dags])
        .run()
        .success();
    let home = sandbox.path().join("airflow");
    // The provider reads a cluster's configuration to build a pod; it never contacts it here.
    let kubeconfig = sandbox.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: none\n\
         clusters: [{name: none, cluster: {server: \"https://127.0.0.1:6443\"}}]\n\
         contexts: [{name: none, context: {cluster: none, user: none}}]\n\
         users: [{name: none, user: {token: none}}]\n",
    )
    .unwrap();
    let output = airflow(&python, &home, sandbox.path())
        .env("KUBECONFIG", &kubeconfig)
        .args(["-c", PODS])
        .arg(&dags)
        .arg("mbt_churn_gbm_v1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pods: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("{error}: {stdout}"));
    assert_eq!(pods["import_errors"], serde_json::json!({}), "{pods:#}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dags.join("manifests/churn_gbm_v1.json")).unwrap(),
    )
    .unwrap();
    let tasks = pods["tasks"].as_object().unwrap();
    assert_eq!(tasks.len(), manifest["steps"].as_object().unwrap().len());
    for (step, pod) in tasks {
        assert_eq!(pod["operator"], "KubernetesPodOperator", "{step}");
        assert_eq!(pod["namespace"], "ml-prod");
        assert_eq!(pod["image"], "registry.internal/mbt-churn:1.4");
        assert_eq!(pod["service_account"], "mbt-runner");
        assert_eq!(pod["command"], serde_json::json!(["sh", "-c"]));
        assert!(
            pod["args"][0]
                .as_str()
                .unwrap()
                .contains("mbt exec --manifest /tmp/mbt-manifest.json"),
            "{pod}"
        );
        assert_eq!(pod["step"], step.as_str());
        assert_eq!(pod["run_id"], "{{ run_id }}");
        assert_eq!(pod["manifest"], manifest, "{step}: the pod's manifest");
        assert_eq!(
            pod["secrets"],
            serde_json::json!([
                ["MBT_S3_ACCESS_KEY", "churn-secrets", "MBT_S3_ACCESS_KEY"],
                ["MBT_S3_SECRET_KEY", "churn-secrets", "MBT_S3_SECRET_KEY"]
            ])
        );
        let expected = if step == "train_model" {
            serde_json::json!({"memory": "16Gi", "cpu": "4"})
        } else {
            serde_json::json!({"memory": "4Gi", "cpu": "1"})
        };
        assert_eq!(pod["requests"], expected, "{step}");
        assert_eq!(pod["limits"], expected, "{step}");
        let mut parents: Vec<&str> = manifest["dag"]["parent_map"][step]
            .as_array()
            .map(|list| list.iter().map(|p| p.as_str().unwrap()).collect())
            .unwrap_or_default();
        parents.sort_unstable();
        assert_eq!(pod["upstream"], serde_json::json!(parents), "{step}");
    }
}
