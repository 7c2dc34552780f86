//! The `mlflow` model registry against a real MLflow tracking server, started by the tests.
//!
//! MLflow comes from `$MBT_MLFLOW` (its `mlflow` executable; scripts/test.sh installs the pinned
//! 3.17.2 into `~/.cache/mbt/venv-mlflow`). Without it the server tests are skipped with a
//! printed reason, except in CI (`$CI` set), where they fail. Each server runs on 127.0.0.1 in
//! its own process group, killed when the test ends, also on failure.
//!
//! What they prove: a training run logs to the server (run, params, metrics, tags, artifacts
//! with an MLflow model directory, a registered model version and its alias), seen through
//! MLflow's REST API and its Python client; after a server restart serving loads it by MLflow's
//! run id, by MBT's, by `latest` and by the registered model's alias; a stopped
//! server is MBT4019 naming the URI; `sqlite:///` runs through a local server MBT starts and
//! stops, and MLflow's own code reads the store; without MLflow, the fallback warns;
//! `artifact_snapshot` serves with the server down and refuses a changed artifact; `mbt debug`
//! on a healthy target, a stopped server and a missing secret.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::{Output, Sandbox};

/// A tracking server on a SQLite store and an artifact folder; killed (its whole process group)
/// when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(mlflow: &Path, folder: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(folder.join(format!("server-{port}.log"))).unwrap();
        let mut command = Command::new(mlflow);
        command
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", folder.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(folder.join("artifacts"))
            .args(["--workers", "1"])
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut server = Server {
            child: command.spawn().expect("start mlflow server"),
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(180) {
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "mlflow server exited; see {}",
                folder.display()
            );
            if http_get(&format!("{}/health", server.url)).is_some() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("mlflow server did not answer within 180 s");
    }

    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }

    fn api(&self, path: &str) -> Value {
        let text = http_get(&format!("{}/api/2.0/mlflow/{path}", self.url))
            .unwrap_or_else(|| panic!("GET {path} failed"));
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn http_get(url: &str) -> Option<String> {
    let mut response = ureq::get(url).call().ok()?;
    response.body_mut().read_to_string().ok()
}

/// The example project with targets for `url` and a serving pipeline loading from MLflow.
fn project(sandbox: &Sandbox, url: &str) -> PathBuf {
    let project = sandbox.copy_example("telecom-churn");
    set_server(&project, url);
    // churn_gbm_v1 registers its model as `churn_gbm` and moves `champion` to it.
    let training = project.join("pipelines/churn_gbm_v1.yaml");
    let text = std::fs::read_to_string(&training).unwrap();
    std::fs::write(
        &training,
        text + "\n  registration:\n    registered_model_name: churn_gbm\n    alias: champion\n",
    )
    .unwrap();
    let serving = std::fs::read_to_string(project.join("pipelines/churn_serving_v1.yaml"))
        .unwrap()
        .replace("name: churn_serving_v1", "name: serve_mlflow")
        .replace(
            "registry: \"{{ var('registry', 'local') }}\"",
            "registry: mlflow",
        )
        .replace(
            "training_pipeline: churn_training_v1",
            "training_pipeline: churn_gbm_v1",
        );
    // The same, loading the registered model's alias that churn_gbm_v1's `registration` moves.
    let by_alias = serving
        .replace("name: serve_mlflow", "name: serve_alias")
        .replace(
            "run_id: \"{{ var('run_id', 'latest') }}\"",
            "model_name: churn_gbm\n    alias: champion",
        );
    assert!(by_alias.contains("alias: champion"), "{by_alias}");
    // The same, from a copy of the run's artifacts taken at compile time.
    let snapshot = serving
        .replace("name: serve_mlflow", "name: serve_snapshot")
        .replace(
            "registry: mlflow\n",
            "registry: mlflow\n    artifact_snapshot: true\n",
        );
    assert!(snapshot.contains("artifact_snapshot: true"), "{snapshot}");
    std::fs::write(project.join("pipelines/serve_mlflow.yaml"), serving).unwrap();
    std::fs::write(project.join("pipelines/serve_alias.yaml"), by_alias).unwrap();
    std::fs::write(project.join("pipelines/serve_snapshot.yaml"), snapshot).unwrap();
    project
}

/// Points target `mlflow_dev` at `url` (appended once, then rewritten).
fn set_server(project: &Path, url: &str) {
    let path = project.join("profiles.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let base = text.split("\n    mlflow_dev:").next().unwrap().to_string();
    let target = format!(
        "\n    mlflow_dev:\n      model_registry:\n        type: mlflow\n        config:\n          \
         tracking_uri: \"{url}\"\n\
         \n    mlflow_token:\n      model_registry:\n        type: mlflow\n        config:\n          \
         tracking_uri: \"{url}\"\n          token: \"{{{{ secret('MLFLOW_TOKEN') }}}}\"\n"
    );
    std::fs::write(path, base + &target).unwrap();
}

/// Target `mlflow_sqlite`: the plan's dev target, MLflow on `sqlite:///mlruns.db`.
fn add_sqlite_target(project: &Path) {
    let profiles = project.join("profiles.yaml");
    let text = std::fs::read_to_string(&profiles).unwrap();
    std::fs::write(
        &profiles,
        text + "\n    mlflow_sqlite:\n      mlflow:\n        tracking_uri: \"sqlite:///mlruns.db\"\n",
    )
    .unwrap();
}

fn run(sandbox: &Sandbox, project: &Path, args: &[&str]) -> Output {
    sandbox.mbt(project).args(args).run()
}

fn run_results(project: &Path, pipeline: &str) -> Value {
    let path = project
        .join("target")
        .join(pipeline)
        .join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `[{key, value}]` as a map.
fn pairs(list: &Value) -> std::collections::BTreeMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            (
                pair["key"].as_str().unwrap().to_string(),
                pair["value"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_training_run_logs_to_mlflow_and_serving_loads_it_after_a_restart() {
    let Some(mlflow) = util::tool_or_skip("MBT_MLFLOW", "mlflow_server") else {
        return;
    };
    let sandbox = Sandbox::new();
    let store = sandbox.path().join("mlflow");
    std::fs::create_dir(&store).unwrap();
    let mut server = Server::start(&mlflow, &store);
    let project = project(&sandbox, &server.url);
    // A git work tree: the run records its commit.
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .current_dir(&project)
            .args([
                "-c",
                "user.name=mbt tests",
                "-c",
                "user.email=tests@mbt.invalid",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    git(&["init", "--quiet"]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "--no-verify", "-m", "project"]);
    let commit = git(&["rev-parse", "HEAD"]);

    let trained = run(
        &sandbox,
        &project,
        &["run", "--select", "churn_gbm_v1", "--target", "mlflow_dev"],
    );
    trained.success();
    let results = run_results(&project, "churn_gbm_v1");
    let mbt_run = results["run_id"].as_str().unwrap().to_string();
    let run_id = results["registry_run_id"]
        .as_str()
        .expect("run_results.json has MLflow's run id")
        .to_string();
    assert!(
        trained
            .stdout
            .contains(&format!("(run {mbt_run}, MLflow run_id {run_id}, ")),
        "{trained}"
    );

    // The run as MLflow's REST API shows it.
    let logged = &server.api(&format!("runs/get?run_id={run_id}"))["run"];
    assert_eq!(logged["info"]["status"], "FINISHED");
    assert_eq!(logged["info"]["run_name"], mbt_run.as_str());
    let params = pairs(&logged["data"]["params"]);
    assert_eq!(params["model_training.framework"], "gbm");
    assert_eq!(params["split.test_size"], "0.2");
    assert_eq!(params["schema.target.label_column"], "churned");
    let metrics = pairs(&logged["data"]["metrics"]);
    assert_eq!(metrics["roc_auc"], results["metrics"]["roc_auc"]);
    let tags = pairs(&logged["data"]["tags"]);
    assert_eq!(tags["mbt.pipeline"], "churn_gbm_v1");
    assert_eq!(tags["mbt.run_id"], mbt_run.as_str());
    assert_eq!(tags["mbt.target"], "mlflow_dev");
    assert_eq!(tags["experiment"], "churn_prediction");
    assert_eq!(tags["mlflow.source.git.commit"], commit.as_str());
    let experiment = server.api("experiments/get-by-name?experiment_name=churn_prediction");
    assert_eq!(
        experiment["experiment"]["experiment_id"],
        logged["info"]["experiment_id"]
    );
    let listed = |path: &str| -> Vec<String> {
        server.api(&format!("artifacts/list?run_id={run_id}&path={path}"))["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|file| file["path"].as_str().unwrap().to_string())
            .collect()
    };
    let root = listed("");
    for expected in [
        "encoder.json",
        "manifest.json",
        "mbt_run.json",
        "metrics.json",
        "model",
    ] {
        assert!(root.contains(&expected.to_string()), "{root:?}");
    }
    assert_eq!(listed("model"), ["model/MLmodel", "model/model.json"]);
    // The registered model's alias points at a version of this run's model directory.
    let alias =
        &server.api("registered-models/alias?name=churn_gbm&alias=champion")["model_version"];
    assert_eq!(alias["run_id"], run_id.as_str());
    assert_eq!(alias["version"], "1");
    assert!(alias["source"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{run_id}/artifacts/model")));

    // The same run through MLflow's Python client.
    let python = mlflow.parent().unwrap().join("python");
    let script = format!(
        "import mlflow\n\
         c = mlflow.MlflowClient('{url}')\n\
         r = c.get_run('{run_id}')\n\
         print(r.data.params['model_training.framework'], r.data.tags['mbt.pipeline'], round(r.data.metrics['roc_auc'], 6))\n\
         p = mlflow.artifacts.download_artifacts(run_id='{run_id}', artifact_path='model/MLmodel', tracking_uri='{url}')\n\
         print(open(p).read())\n",
        url = server.url
    );
    let output = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let roc_auc = results["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(
        printed.starts_with(&format!(
            "gbm churn_gbm_v1 {}\n",
            (roc_auc * 1e6).round() / 1e6
        )),
        "{printed}"
    );
    assert!(
        printed.contains("flavors:\n  mbt:\n    framework: gbm\n"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("run_id: {run_id}\n")),
        "{printed}"
    );

    // A restarted server (another port) serves the run: by MLflow's id, MBT's, and `latest`.
    server.stop();
    let server = Server::start(&mlflow, &store);
    set_server(&project, &server.url);
    let mut served = Vec::new();
    for run_var in [run_id.as_str(), mbt_run.as_str(), "latest"] {
        run(
            &sandbox,
            &project,
            &[
                "run",
                "--select",
                "serve_mlflow",
                "--target",
                "mlflow_dev",
                "--vars",
                &format!("run_id={run_var}"),
            ],
        )
        .success();
        served.push(std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap());
    }
    run(
        &sandbox,
        &project,
        &["run", "--select", "serve_alias", "--target", "mlflow_dev"],
    )
    .success();
    served.push(std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap());
    let loaded = run_results(&project, "serve_alias");
    assert_eq!(
        loaded["steps"]["load_model"]["warnings"][0],
        format!("model churn_gbm@champion: run `{run_id}`").as_str()
    );
    assert!(served[0].lines().count() > 100, "{}", served[0]);
    for other in &served[1..] {
        assert_eq!(&served[0], other);
    }

    // `mbt compile` copies the run's artifacts for serve_snapshot, hashes in the manifest.
    let pinned = format!("run_id={run_id}");
    let compiled = run(
        &sandbox,
        &project,
        &[
            "compile",
            "serve_snapshot",
            "--target",
            "mlflow_dev",
            "--vars",
            &pinned,
        ],
    );
    compiled.success();
    assert!(
        compiled.stderr.contains(&format!(
            "serve_snapshot: artifact snapshot: run `{run_id}` copied to \
             target/serve_snapshot/artifacts/"
        )),
        "{compiled}"
    );
    let manifest = util::read_manifest(&project, "serve_snapshot");
    let snapshot = &manifest["steps"]["load_model"]["config"]["snapshot"];
    assert_eq!(snapshot["run_id"], run_id.as_str());
    let files: Vec<&String> = snapshot["files"].as_object().unwrap().keys().collect();
    for expected in [
        "encoder.json",
        "manifest.json",
        "metrics.json",
        "model.json",
        "run.json",
    ] {
        assert!(files.iter().any(|f| *f == expected), "{files:?}");
    }
    let copied = project.join("target/serve_snapshot/artifacts");
    assert!(copied.join("model.json").is_file());

    // `mbt debug` on the healthy target (with the Python the example's hooks need).
    let debug = sandbox
        .mbt(&project)
        .env("MBT_PYTHON", util::python())
        .env("MBT_H2O_JAR", util::h2o_jar())
        .args(["debug", "--target", "mlflow_dev"])
        .run();
    debug.success();
    insta::assert_snapshot!("debug_healthy", registry_lines(&debug, &server.url));
    // A credential the environment does not have: named, never shown.
    let debug = run(&sandbox, &project, &["debug", "--target", "mlflow_token"]);
    debug.expect_code(1);
    insta::assert_snapshot!("debug_secret_missing", registry_lines(&debug, &server.url));

    // A stopped server: the coded error names the URI.
    let url = server.url.clone();
    drop(server);
    let failed = run(
        &sandbox,
        &project,
        &["run", "--select", "serve_mlflow", "--target", "mlflow_dev"],
    );
    failed.expect_code(1);
    assert!(
        failed.stdout.contains("MBT4019") || failed.stderr.contains("MBT4019"),
        "{failed}"
    );
    assert!(
        failed.to_string().contains(&format!(
            "the MLflow tracking server at {url} did not answer "
        )),
        "{failed}"
    );
    let debug = run(&sandbox, &project, &["debug", "--target", "mlflow_dev"]);
    debug.expect_code(1);
    insta::assert_snapshot!("debug_server_down", registry_lines(&debug, &url));

    // The snapshot serves with the server down, and gives the same predictions.
    run(
        &sandbox,
        &project,
        &[
            "run",
            "--select",
            "serve_snapshot",
            "--target",
            "mlflow_dev",
            "--vars",
            &pinned,
        ],
    )
    .success();
    let from_copy = std::fs::read_to_string(project.join("predictions/predictions.csv")).unwrap();
    assert_eq!(from_copy, served[0]);
    // A changed artifact is refused.
    let model = copied.join("model.json");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, text.replacen('{', "{ ", 1)).unwrap();
    let refused = run(
        &sandbox,
        &project,
        &[
            "run",
            "--select",
            "serve_snapshot",
            "--target",
            "mlflow_dev",
            "--vars",
            &pinned,
        ],
    );
    refused.expect_code(1);
    let step = &run_results(&project, "serve_snapshot")["steps"]["load_model"];
    assert_eq!(step["code"], "MBT4021", "{refused}");
    assert!(
        step["error"]
            .as_str()
            .unwrap()
            .starts_with("snapshot artifact target/serve_snapshot/artifacts/model.json changed"),
        "{step}"
    );
}

/// `mbt debug`'s secrets and model registry lines and its verdict, with the server's address
/// and the timings left out.
fn registry_lines(output: &Output, url: &str) -> String {
    let mut lines: Vec<String> = output
        .stdout
        .lines()
        .filter(|line| line.contains(" secrets ") || line.contains(" model registry "))
        .map(|line| {
            let line = line.replace(url, "[SERVER]");
            match line.rfind(" (") {
                Some(at) if line.ends_with(" ms)") => format!("{} ([TIME])", &line[..at]),
                _ => line,
            }
        })
        .collect();
    lines.push(format!("exit code: {:?}", output.code));
    lines.join("\n")
}

#[test]
fn a_sqlite_tracking_uri_runs_through_a_local_mlflow_server() {
    let Some(mlflow) = util::tool_or_skip("MBT_MLFLOW", "mlflow_sqlite") else {
        return;
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    add_sqlite_target(&project);
    let trained = sandbox
        .mbt(&project)
        .env("MBT_MLFLOW", &mlflow)
        .args([
            "run",
            "--select",
            "churn_gbm_v1",
            "--target",
            "mlflow_sqlite",
        ])
        .run();
    trained.success();
    let run_id = run_results(&project, "churn_gbm_v1")["registry_run_id"]
        .as_str()
        .expect("MLflow's run id")
        .to_string();
    assert!(project.join("mlruns.db").is_file());
    assert!(project.join("mlartifacts").is_dir());
    // MBT stopped the server it started: no process runs on this store.
    let store = project.join("mlruns.db").display().to_string();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&store))
        .collect();
    assert!(left.is_empty(), "mlflow processes left behind: {left:?}");

    // MLflow's own code reads the store MBT wrote through the server.
    let python = mlflow.parent().unwrap().join("python");
    let script = format!(
        "import mlflow\n\
         c = mlflow.MlflowClient('sqlite:///{store}')\n\
         r = c.get_run('{run_id}')\n\
         print(r.info.status, r.data.tags['mbt.pipeline'], r.data.params['model_training.framework'])\n"
    );
    let output = Command::new(&python)
        .current_dir(&project)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).lines().last(),
        Some("FINISHED churn_gbm_v1 gbm")
    );
}

#[test]
fn without_mlflow_a_sqlite_uri_falls_back_to_the_local_registry_with_a_warning() {
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    add_sqlite_target(&project);
    let output = sandbox
        .mbt(&project)
        .env("MBT_MLFLOW", sandbox.path().join("no-mlflow-here"))
        .args([
            "run",
            "--select",
            "churn_gbm_v1",
            "--target",
            "mlflow_sqlite",
        ])
        .run();
    output.success();
    let warning = "model registry: MLflow is not installed, so the runs of `sqlite:///mlruns.db` \
                   go to the embedded local registry (`local_registry`)";
    assert!(
        output
            .stderr
            .contains(&format!("warning: churn_gbm_v1: {warning}")),
        "{output}"
    );
    let results = run_results(&project, "churn_gbm_v1");
    assert!(results["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with(warning));
    assert_eq!(results["registry_run_id"], Value::Null);
    let run_id = results["run_id"].as_str().unwrap();
    assert!(project
        .join("local_registry")
        .join(run_id)
        .join("run.json")
        .is_file());
    assert!(!project.join("mlruns.db").exists());
}
