//! Metrics emission from real runs of the example: StatsD lines caught by a UDP socket on
//! loopback (a real receiver: StatsD is fire-and-forget UDP), and a real Prometheus Pushgateway
//! (`$MBT_PUSHGATEWAY`, Debian's `prometheus-pushgateway`, which scripts/test.sh installs)
//! started on 127.0.0.1 and read back through its HTTP API, killed when the test ends.
//!
//! What it proves: every step reports its duration, success and rows in/out, the run its
//! evaluation metrics, prediction count, duration and success, with the values run_results.json
//! records; a Pushgateway that is down costs the run a warning, never a failure.

mod util;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::Sandbox;

fn results(project: &Path, pipeline: &str) -> Value {
    let path = project
        .join("target")
        .join(pipeline)
        .join("run_results.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Points the dev target's metrics at `metrics` (a flow mapping).
fn set_metrics(project: &Path, metrics: &str) {
    let path = project.join("profiles.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with("      metrics: {type:"))
        .map(str::to_string)
        .collect();
    let dev = lines.iter().position(|line| line == "    dev:").unwrap();
    lines.insert(dev + 1, format!("      metrics: {metrics}"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// Each StatsD line's name and value (the last value of a name wins, as a gauge's does).
fn statsd_gauges(socket: &UdpSocket) -> BTreeMap<String, f64> {
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut gauges = BTreeMap::new();
    let mut buffer = [0u8; 65536];
    while let Ok(length) = socket.recv(&mut buffer) {
        for line in String::from_utf8_lossy(&buffer[..length]).lines() {
            let (name, rest) = line.split_once(':').expect("name:value|type");
            let value = rest.strip_suffix("|g").expect("a gauge");
            gauges.insert(name.to_string(), value.parse::<f64>().unwrap());
        }
    }
    gauges
}

#[test]
fn statsd_receives_every_step_and_the_run() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    set_metrics(
        &project,
        &format!("{{type: statsd, config: {{port: {port}, prefix: mbt}}}}"),
    );
    sandbox
        .mbt(&project)
        .args(["run", "--select", "churn_gbm_v1"])
        .run()
        .success();
    let gauges = statsd_gauges(&socket);
    let run = results(&project, "churn_gbm_v1");
    let gauge = |name: &str| {
        *gauges
            .get(&format!("mbt.churn_gbm_v1.{name}"))
            .unwrap_or_else(|| panic!("no gauge mbt.churn_gbm_v1.{name} in {gauges:#?}"))
    };
    for (step, result) in run["steps"].as_object().unwrap() {
        assert_eq!(gauge(&format!("{step}.success")), 1.0, "{step}");
        assert_eq!(
            gauge(&format!("{step}.duration_seconds")),
            result["duration_s"].as_f64().unwrap(),
            "{step}"
        );
    }
    assert_eq!(gauge("load_data.rows_out"), 7043.0);
    assert_eq!(gauge("split_data.rows_in"), 7043.0);
    assert_eq!(run["steps"]["load_data"]["rows_out"], 7043);
    for (metric, value) in run["metrics"].as_object().unwrap() {
        assert_eq!(
            gauge(&format!("evaluation.{metric}")),
            value.as_f64().unwrap(),
            "{metric}"
        );
    }
    assert!(gauge("evaluation.roc_auc") > 0.8);
    assert_eq!(gauge("run.success"), 1.0);
    assert!(gauge("run.duration_seconds") > 0.0);
}

/// A group's metric families: name → [(labels, value)].
type Families = BTreeMap<String, Vec<(Value, f64)>>;

/// A Pushgateway on loopback, killed when dropped.
struct Gateway {
    child: Child,
    url: String,
}

impl Gateway {
    fn start(bin: &Path) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-pushgateway");
        let gateway = Gateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if ureq::get(&format!("{}/-/ready", gateway.url))
                .call()
                .is_ok()
            {
                return gateway;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the Pushgateway did not get ready in 30 s");
    }

    /// Every group's labels and its metric families (name → [(labels, value)]).
    fn groups(&self) -> Vec<(BTreeMap<String, String>, Families)> {
        let text = ureq::get(&format!("{}/api/v1/metrics", self.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                let labels = serde_json::from_value(group["labels"].clone()).unwrap();
                let families = group
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(name, _)| name.starts_with("mbt_"))
                    .map(|(name, family)| {
                        let samples = family["metrics"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| {
                                (
                                    m["labels"].clone(),
                                    m["value"].as_str().unwrap().parse().unwrap(),
                                )
                            })
                            .collect();
                        (name.clone(), samples)
                    })
                    .collect();
                (labels, families)
            })
            .collect()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_pushgateway_holds_each_steps_and_runs_metrics_and_a_dead_one_only_warns() {
    let Some(bin) = util::tool_or_skip("MBT_PUSHGATEWAY", "pushgateway metrics") else {
        return;
    };
    let mut gateway = Gateway::start(&bin);
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    set_metrics(
        &project,
        &format!(
            "{{type: pushgateway, config: {{url: \"{}\"}}}}",
            gateway.url
        ),
    );
    let mbt = |args: &[&str]| sandbox.mbt(&project).args(args).run();
    mbt(&["run", "--select", "churn_gbm_v1"]).success();
    let training = results(&project, "churn_gbm_v1");
    let run_id = training["run_id"].as_str().unwrap();
    mbt(&[
        "run",
        "--select",
        "churn_serving_v1",
        "--vars",
        &format!("run_id={run_id}"),
    ])
    .success();

    let groups = gateway.groups();
    let group = |pipeline: &str, step: Option<&str>| {
        groups
            .iter()
            .find(|(labels, _)| {
                labels.get("job").map(String::as_str) == Some("mbt")
                    && labels.get("pipeline").map(String::as_str) == Some(pipeline)
                    && labels.get("target").map(String::as_str) == Some("dev")
                    && labels.get("step").map(String::as_str) == step
            })
            .map(|(_, families)| families.clone())
            .unwrap_or_else(|| panic!("no group {pipeline}/{step:?} in {groups:#?}"))
    };
    let value = |families: &Families, family: &str| {
        families
            .get(family)
            .unwrap_or_else(|| panic!("no {family} in {families:#?}"))[0]
            .1
    };
    for (step, result) in training["steps"].as_object().unwrap() {
        let families = group("churn_gbm_v1", Some(step));
        assert_eq!(value(&families, "mbt_step_success"), 1.0, "{step}");
        assert_eq!(
            value(&families, "mbt_step_duration_seconds"),
            result["duration_s"].as_f64().unwrap(),
            "{step}"
        );
    }
    assert_eq!(
        value(
            &group("churn_gbm_v1", Some("load_data")),
            "mbt_step_rows_out"
        ),
        7043.0
    );
    let run = group("churn_gbm_v1", None);
    assert_eq!(value(&run, "mbt_run_success"), 1.0);
    let evaluation = &run["mbt_evaluation_metric"];
    for (metric, expected) in training["metrics"].as_object().unwrap() {
        let found = evaluation
            .iter()
            .find(|(labels, _)| labels["metric"] == metric.as_str())
            .unwrap_or_else(|| panic!("no mbt_evaluation_metric{{metric={metric}}}"));
        assert_eq!(found.1, expected.as_f64().unwrap(), "{metric}");
    }
    let serving = group("churn_serving_v1", None);
    assert_eq!(value(&serving, "mbt_run_predictions"), 500.0);
    assert_eq!(value(&serving, "mbt_run_success"), 1.0);

    // `mbt debug` asks the gateway.
    let output = mbt(&["debug"]);
    assert!(
        output.stdout.contains(&format!(
            "metrics              pushgateway {}: Pushgateway 1.",
            gateway.url
        )),
        "{output}"
    );

    // A gateway that is down: the run succeeds, with a warning.
    let _ = gateway.child.kill();
    let _ = gateway.child.wait();
    mbt(&["run", "--select", "churn_gbm_v1"]).success();
    let warned = results(&project, "churn_gbm_v1");
    let warnings = warned["warnings"].to_string();
    assert!(
        warnings.contains("metrics not sent") && warnings.contains("Pushgateway"),
        "{warnings}"
    );
}
