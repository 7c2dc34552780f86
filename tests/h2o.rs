//! The `h2o_automl` framework against real H2O-3 (3.46.0.11), started by MBT or by the tests.
//!
//! The jar comes from `$MBT_H2O_JAR` (scripts/test.sh takes it out of PyPI's `h2o` wheel into
//! `~/.cache/mbt/h2o`); Java 17 runs it. Without it the tests are skipped with a printed reason,
//! except in CI, where they fail. A cluster a test starts runs on 127.0.0.1 in its own process
//! group, killed when the test ends, also on failure.
//!
//! What they prove: the example's `churn_h2o_v1` trains on a local node MBT starts and stops
//! (no JVM left behind, also after a failed run), stores the leader as a MOJO with the
//! leaderboard; serving scores offline from the MOJO and through a cluster with the same
//! probabilities (1e-6); training on a configured cluster leaves the leader there; a dead
//! cluster is MBT4019 naming its URL; `mbt debug` checks Java, the jar and the cluster.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::{Output, Sandbox};

/// One test at a time: each starts JVMs, and the no-JVM-left check looks at every process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An H2O node the test starts (as a team's cluster); killed with its process group when dropped.
struct Cluster {
    child: Child,
    url: String,
}

impl Cluster {
    fn start(jar: &Path, folder: &Path) -> Cluster {
        let port = free_port();
        let log = std::fs::File::create(folder.join("h2o-cluster.log")).unwrap();
        let mut command = Command::new("java");
        command
            .args(["-Xmx1g", "-jar"])
            .arg(jar)
            .args(["-ip", "127.0.0.1", "-web_ip", "127.0.0.1", "-nthreads", "2"])
            .args(["-port", &port.to_string(), "-name", "test-cluster"])
            .arg("-ice_root")
            .arg(folder.join("test-cluster-ice"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut cluster = Cluster {
            child: command.spawn().expect("start java"),
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(180) {
            assert!(cluster.child.try_wait().unwrap().is_none(), "h2o exited");
            if cluster
                .get("/3/Cloud")
                .is_some_and(|cloud| cloud["cloud_healthy"] == true)
            {
                return cluster;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("h2o did not answer within 180 s");
    }

    fn get(&self, path: &str) -> Option<Value> {
        let mut response = ureq::get(format!("{}{path}", self.url)).call().ok()?;
        serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The JVMs of local nodes MBT started (their `-ice_root` is a `mbt-h2o-` temporary folder).
fn local_nodes() -> Vec<String> {
    let output = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("java") && line.contains("mbt-h2o-"))
        .map(str::to_string)
        .collect()
}

/// The example with a small H2O budget, a serving pipeline for churn_h2o_v1, and targets
/// `cluster` (the test's H2O at `url`) and `dead_registry` (log_run fails after training).
fn project(sandbox: &Sandbox, cluster_url: &str) -> PathBuf {
    let project = sandbox.copy_example("telecom-churn");
    util::edit(
        &project.join("pipelines/churn_h2o_v1.yaml"),
        "      max_runtime_secs: 120\n      max_models: 10\n",
        "      max_runtime_secs: 60\n      max_models: 3\n      nfolds: 3\n      include_algos: [GLM, GBM]\n",
    );
    let serving = std::fs::read_to_string(project.join("pipelines/churn_serving_v1.yaml"))
        .unwrap()
        .replace("name: churn_serving_v1", "name: serve_h2o")
        .replace(
            "training_pipeline: churn_training_v1",
            "training_pipeline: churn_h2o_v1",
        )
        .replace("'predictions.csv'", "'h2o.csv'");
    assert!(serving.contains("churn_h2o_v1"));
    std::fs::write(project.join("pipelines/serve_h2o.yaml"), serving).unwrap();
    let dead = free_port();
    let profiles = project.join("profiles.yaml");
    let text = std::fs::read_to_string(&profiles).unwrap();
    let local = "      storage: {type: local, config: {base_path: ./local_artifacts}}\n      \
                 data_connector: {type: local_file, config: {data_path: ./sample_data}}\n";
    std::fs::write(
        &profiles,
        format!(
            "{text}\n    cluster:\n{local}      model_registry: {{type: local, config: {{base_path: ./local_registry}}}}\n      \
             h2o:\n        url: \"{cluster_url}\"\n\
             \n    dead_registry:\n{local}      model_registry: {{type: mlflow, config: {{tracking_uri: \"http://127.0.0.1:{dead}\"}}}}\n\
             \n    dead_cluster:\n{local}      h2o: {{url: \"http://127.0.0.1:{dead}\"}}\n"
        ),
    )
    .unwrap();
    project
}

fn mbt(sandbox: &Sandbox, project: &Path, jar: &Path, args: &[&str]) -> Output {
    sandbox
        .mbt(project)
        .env("MBT_H2O_JAR", jar)
        // The example's other pipelines use Python hooks and scikit-learn (`mbt debug` checks them).
        .env("MBT_PYTHON", util::python())
        .args(args)
        .run()
}

fn run_results(project: &Path, pipeline: &str) -> Value {
    let path = project.join(format!("target/{pipeline}/run_results.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The trained model artifact (its JSON and its MOJO) of a training run.
fn model_of(results: &Value) -> (Value, Vec<u8>) {
    let uri = results["steps"]["train_model"]["outputs"]["model"]
        .as_str()
        .unwrap()
        .strip_prefix("file://")
        .unwrap()
        .to_string();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&uri).unwrap()).unwrap();
    let binary = std::fs::read(format!("{uri}.bin")).unwrap_or_else(|_| {
        std::fs::read(uri.replace(".json", ".bin")).expect("the model's binary part")
    });
    (json, binary)
}

/// `(customer_id, churn_probability)` of a predictions CSV.
fn probabilities(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let id = header.iter().position(|c| *c == "customer_id").unwrap();
    let probability = header
        .iter()
        .position(|c| *c == "churn_probability")
        .unwrap();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[id].to_string(), fields[probability].parse().unwrap())
        })
        .collect()
}

#[test]
fn churn_h2o_v1_trains_on_a_local_node_and_serves_offline_and_through_a_cluster() {
    let Some(jar) = util::tool_or_skip("MBT_H2O_JAR", "h2o_local_node") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sandbox = Sandbox::new();
    let cluster = Cluster::start(&jar, sandbox.path());
    let project = project(&sandbox, &cluster.url);

    // Training on a local node MBT starts for the run, and stops.
    let trained = mbt(
        &sandbox,
        &project,
        &jar,
        &["run", "--select", "churn_h2o_v1"],
    );
    trained.success();
    assert!(
        trained.stdout.contains("churn_h2o_v1: leaderboard (")
            && trained
                .stdout
                .contains("by cross-validated AUC; the first is served)"),
        "{trained}"
    );
    assert_eq!(
        local_nodes(),
        Vec::<String>::new(),
        "a local H2O node outlived the run"
    );
    let results = run_results(&project, "churn_h2o_v1");
    let auc = results["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.8, "H2O AutoML's test AUC on the example: {auc}");
    let (model, mojo) = model_of(&results);
    assert_eq!(model["model"]["framework"], "h2o_automl");
    let payload: Value = serde_json::from_str(model["model"]["payload"].as_str().unwrap()).unwrap();
    let leaderboard = payload["leaderboard"].as_array().unwrap();
    assert!(
        !leaderboard.is_empty() && leaderboard.len() <= 5,
        "{payload}"
    );
    let leader = payload["leader"].as_str().unwrap();
    assert_eq!(leaderboard[0]["model_id"], leader);
    assert!(
        leader.starts_with("GLM_") || leader.starts_with("GBM_") || leader.starts_with("Stacked"),
        "include_algos [GLM, GBM] (and their ensembles): {leader}"
    );
    assert!(leaderboard[0]["auc"].as_f64().unwrap() > 0.5, "{payload}");
    assert_eq!(&mojo[..2], b"PK", "the MOJO is a zip");
    let importances: Vec<f64> = serde_json::from_value(payload["importances"].clone()).unwrap();
    assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-9);

    // Serving without a cluster scores offline from the MOJO (no node starts)...
    mbt(&sandbox, &project, &jar, &["run", "--select", "serve_h2o"]).success();
    let offline = probabilities(&project.join("predictions/h2o.csv"));
    assert!(offline.len() > 100, "{} predictions", offline.len());
    assert!(offline.iter().all(|(_, p)| (0.0..=1.0).contains(p)));
    // ... and with the cluster, H2O itself scores the same MOJO: the same probabilities.
    std::fs::remove_file(project.join("predictions/h2o.csv")).unwrap();
    mbt(
        &sandbox,
        &project,
        &jar,
        &["run", "--select", "serve_h2o", "--target", "cluster"],
    )
    .success();
    let on_cluster = probabilities(&project.join("predictions/h2o.csv"));
    assert_eq!(offline.len(), on_cluster.len());
    for ((id, a), (other, b)) in offline.iter().zip(&on_cluster) {
        assert_eq!(id, other);
        assert!((a - b).abs() < 1e-6, "{id}: offline {a}, cluster {b}");
    }
    let models = cluster.get("/3/Models").unwrap();
    let names: Vec<&str> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["model_id"]["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|name| name.starts_with("mbt_mojo_")),
        "the MOJO was imported into the cluster: {names:?}"
    );

    // Training on the configured cluster: no local node, the leader stays on the cluster.
    mbt(
        &sandbox,
        &project,
        &jar,
        &["run", "--select", "churn_h2o_v1", "--target", "cluster"],
    )
    .success();
    let (model, _) = model_of(&run_results(&project, "churn_h2o_v1"));
    let payload: Value = serde_json::from_str(model["model"]["payload"].as_str().unwrap()).unwrap();
    let leader = payload["leader"].as_str().unwrap();
    let found = cluster.get(&format!("/3/Models/{leader}")).unwrap();
    assert_eq!(found["models"][0]["model_id"]["name"], leader);
    assert_eq!(payload["h2o_version"], "3.46.0.11");
}

#[test]
fn failed_runs_stop_their_node_and_a_dead_cluster_is_mbt4019() {
    let Some(jar) = util::tool_or_skip("MBT_H2O_JAR", "h2o_failures") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let sandbox = Sandbox::new();
    let project = project(&sandbox, "http://127.0.0.1:9");

    // log_run fails after train_model: the run fails, the node still stops.
    let failed = mbt(
        &sandbox,
        &project,
        &jar,
        &[
            "run",
            "--select",
            "churn_h2o_v1",
            "--target",
            "dead_registry",
        ],
    );
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("[3/5] train_model ... success"),
        "{failed}"
    );
    assert!(
        failed.stderr.contains("[5/5] log_run ... failed"),
        "{failed}"
    );
    assert_eq!(
        local_nodes(),
        Vec::<String>::new(),
        "a local H2O node outlived a failed run"
    );

    let dead = mbt(
        &sandbox,
        &project,
        &jar,
        &[
            "run",
            "--select",
            "churn_h2o_v1",
            "--target",
            "dead_cluster",
        ],
    );
    dead.expect_code(1);
    assert!(
        dead.stderr.contains("[3/5] train_model ... failed")
            && dead
                .stderr
                .contains("error[MBT4019]: the H2O cluster at http://127.0.0.1:"),
        "{dead}"
    );

    // `mbt debug` checks what the framework needs: Java and the jar, or the cluster.
    let healthy = mbt(&sandbox, &project, &jar, &["debug"]);
    healthy.success();
    let line = healthy
        .stdout
        .lines()
        .find(|line| line.contains("framework h2o_automl"))
        .unwrap_or_else(|| panic!("{healthy}"));
    assert!(line.starts_with('✓'), "{line}");
    assert!(
        line.contains("a local H2O node starts for training"),
        "{line}"
    );
    let broken = mbt(
        &sandbox,
        &project,
        &jar,
        &["debug", "--target", "dead_cluster"],
    );
    broken.expect_code(1);
    let line = broken
        .stdout
        .lines()
        .find(|line| line.contains("framework h2o_automl"))
        .unwrap_or_else(|| panic!("{broken}"));
    assert!(
        line.starts_with('✗') && line.contains("the H2O cluster at http://127.0.0.1:"),
        "{line}"
    );
}
