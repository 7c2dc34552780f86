//! Metrics emitters (the plan's MetricsEmitter): what a run reports to monitoring, per step
//! (duration, success, rows in and out) and per run (duration, success, evaluation metrics,
//! predictions published), sent as StatsD gauges over UDP (`statsd`) or pushed to a Prometheus
//! Pushgateway (`pushgateway`). The runner calls [`MetricsEmitter::emit`] after each step and at
//! the end of a run; a failed emission is a warning of the run, never a failure.

use std::net::UdpSocket;

use base64::Engine;
use mbt_contract::adapters::{MetricsSettings, PushgatewayConfig, StatsdConfig};

use super::rest::{Auth, Rest, Service};
use super::{Adapter, BuildContext};

/// What a sample is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    Step(String),
    Run,
}

/// One value for monitoring. A step's `name` is one of `duration_seconds`, `success` (1 or 0),
/// `rows_in`, `rows_out`; the run's `duration_seconds`, `success`, `predictions`, or
/// `evaluation` with the metric's name in `key`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub scope: Scope,
    pub name: &'static str,
    pub key: Option<String>,
    pub value: f64,
}

/// The samples of one step or one run, and whose they are.
pub struct Emission<'a> {
    pub pipeline: &'a str,
    pub target: &'a str,
    pub samples: &'a [Sample],
}

/// Sends a run's samples somewhere.
pub trait MetricsEmitter: Adapter {
    /// Sends the samples; an error becomes a warning of the run.
    fn emit(&self, emission: &Emission<'_>) -> anyhow::Result<()>;

    /// Where the samples go and whether it answers, for `mbt debug`.
    fn health(&self) -> anyhow::Result<String>;
}

/// The emitter of a target's `metrics:`.
pub fn emitter(
    settings: &MetricsSettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn MetricsEmitter>> {
    Ok(match settings {
        MetricsSettings::Statsd(config) => Box::new(Statsd::new(config)),
        MetricsSettings::Pushgateway(config) => Box::new(Pushgateway::new(config, context)?),
    })
}

/// A name part safe in StatsD's line protocol and Prometheus' grouping paths.
fn clean(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

struct Statsd {
    address: String,
    prefix: String,
}

/// The largest datagram sent: lines are split over several below a common path MTU.
const DATAGRAM: usize = 1400;

impl Statsd {
    fn new(config: &StatsdConfig) -> Statsd {
        Statsd {
            address: format!("{}:{}", config.host, config.port),
            prefix: config.prefix.clone(),
        }
    }

    /// `prefix.pipeline.step.name`, `prefix.pipeline.run.name`, `prefix.pipeline.evaluation.key`.
    fn lines(&self, emission: &Emission<'_>) -> Vec<String> {
        let base = format!("{}.{}", self.prefix, clean(emission.pipeline));
        let mut lines = Vec::new();
        // StatsD has no NaN or infinity (an undefined metric, e.g. AUC of one class).
        for sample in emission.samples.iter().filter(|s| s.value.is_finite()) {
            let name = match (&sample.scope, &sample.key) {
                (_, Some(key)) => format!("{base}.{}.{}", sample.name, clean(key)),
                (Scope::Step(step), None) => format!("{base}.{}.{}", clean(step), sample.name),
                (Scope::Run, None) => format!("{base}.run.{}", sample.name),
            };
            // A gauge line with a sign adjusts the gauge; a negative value is set from zero.
            if sample.value < 0.0 {
                lines.push(format!("{name}:0|g"));
            }
            lines.push(format!("{name}:{}|g", sample.value));
        }
        lines
    }
}

impl Adapter for Statsd {}

impl MetricsEmitter for Statsd {
    fn emit(&self, emission: &Emission<'_>) -> anyhow::Result<()> {
        let socket = UdpSocket::bind(if self.address.starts_with('[') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        })?;
        let mut datagram = String::new();
        let lines = self.lines(emission);
        for (index, line) in lines.iter().enumerate() {
            datagram.push_str(line);
            let last = index + 1 == lines.len();
            let next_fits = !last && datagram.len() + 1 + lines[index + 1].len() <= DATAGRAM;
            if next_fits {
                datagram.push('\n');
            } else {
                socket
                    .send_to(datagram.as_bytes(), &self.address)
                    .map_err(|error| {
                        anyhow::anyhow!("cannot send StatsD metrics to {}: {error}", self.address)
                    })?;
                datagram.clear();
            }
        }
        Ok(())
    }

    /// UDP has no answer to wait for: the address must resolve.
    fn health(&self) -> anyhow::Result<String> {
        use std::net::ToSocketAddrs;
        let resolved = self
            .address
            .to_socket_addrs()
            .map_err(|error| anyhow::anyhow!("cannot resolve {}: {error}", self.address))?
            .next()
            .ok_or_else(|| anyhow::anyhow!("{} resolves to no address", self.address))?;
        Ok(format!(
            "statsd udp://{resolved} (UDP: sent without an answer)"
        ))
    }
}

const PUSHGATEWAY: Service = Service {
    name: "the Prometheus Pushgateway",
    unreachable_help: "start the Pushgateway or correct `metrics.config.url` in profiles.yaml",
    not_json_help: "check that `metrics.config.url` points at a Prometheus Pushgateway",
};

struct Pushgateway {
    rest: Rest,
    job: String,
}

impl Pushgateway {
    fn new(config: &PushgatewayConfig, context: &BuildContext<'_>) -> anyhow::Result<Pushgateway> {
        let auth = match (&config.username, &config.password) {
            (Some(user), Some(password)) => Auth::Basic {
                user: user.clone(),
                password: context.secret(password)?,
            },
            _ => Auth::None,
        };
        // One attempt per push: monitoring must not hold a run up.
        Ok(Pushgateway {
            rest: Rest::new(&PUSHGATEWAY, &config.url, auth).once(),
            job: config.job.clone(),
        })
    }

    /// `/metrics/job/<job>/pipeline/<p>/target/<t>[/step/<s>]`, each value base64url-encoded
    /// (any character is then allowed).
    fn group(&self, emission: &Emission<'_>, step: Option<&str>) -> String {
        let encode = |value: &str| base64::engine::general_purpose::URL_SAFE.encode(value);
        let mut path = format!(
            "/metrics/job@base64/{}/pipeline@base64/{}/target@base64/{}",
            encode(&self.job),
            encode(emission.pipeline),
            encode(emission.target)
        );
        if let Some(step) = step {
            path.push_str(&format!("/step@base64/{}", encode(step)));
        }
        path
    }
}

/// Prometheus' text format of samples: `mbt_step_<name>` / `mbt_run_<name>` gauges, evaluation
/// metrics as `mbt_evaluation_metric{metric="..."}`.
fn exposition(samples: &[&Sample]) -> String {
    let mut families: Vec<(String, Vec<String>)> = Vec::new();
    for sample in samples {
        // Prometheus' text format spells these `NaN`, `+Inf`, `-Inf`.
        let value = match sample.value {
            v if v.is_nan() => "NaN".to_string(),
            v if v == f64::INFINITY => "+Inf".to_string(),
            v if v == f64::NEG_INFINITY => "-Inf".to_string(),
            v => v.to_string(),
        };
        let (family, labels) = match (&sample.scope, &sample.key) {
            (_, Some(key)) => (
                format!("mbt_{}_metric", sample.name),
                format!("{{metric=\"{}\"}}", escape_label(key)),
            ),
            (Scope::Step(_), None) => (format!("mbt_step_{}", sample.name), String::new()),
            (Scope::Run, None) => (format!("mbt_run_{}", sample.name), String::new()),
        };
        let line = format!("{family}{labels} {value}");
        match families.iter_mut().find(|(name, _)| *name == family) {
            Some((_, lines)) => lines.push(line),
            None => families.push((family, vec![line])),
        }
    }
    let mut text = String::new();
    for (family, lines) in families {
        text.push_str(&format!("# TYPE {family} gauge\n"));
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Adapter for Pushgateway {}

impl MetricsEmitter for Pushgateway {
    /// One group per step and one for the run (evaluation metrics and predictions, reported by
    /// their steps, and the run's duration and success at its end). POST replaces the pushed
    /// metric families of a group and keeps the others.
    fn emit(&self, emission: &Emission<'_>) -> anyhow::Result<()> {
        let mut groups: Vec<(Option<&str>, Vec<&Sample>)> = Vec::new();
        for sample in emission.samples {
            let step = match &sample.scope {
                Scope::Step(step) => Some(step.as_str()),
                Scope::Run => None,
            };
            match groups.iter_mut().find(|(group, _)| *group == step) {
                Some((_, samples)) => samples.push(sample),
                None => groups.push((step, vec![sample])),
            }
        }
        for (step, samples) in groups {
            self.rest.post_typed(
                &self.group(emission, step),
                "text/plain; version=0.0.4; charset=utf-8",
                exposition(&samples).as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The gateway's build version, from its status API.
    fn health(&self) -> anyhow::Result<String> {
        let status = self.rest.get_json("/api/v1/status", &[])?;
        let version = status["data"]["build_information"]["version"]
            .as_str()
            .unwrap_or("unknown version");
        Ok(format!(
            "pushgateway {}: Pushgateway {version}",
            self.rest.base()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Sample> {
        vec![
            Sample {
                scope: Scope::Step("train_model".into()),
                name: "duration_seconds",
                key: None,
                value: 1.5,
            },
            Sample {
                scope: Scope::Run,
                name: "evaluation",
                key: Some("r2".into()),
                value: -0.25,
            },
            Sample {
                scope: Scope::Run,
                name: "success",
                key: None,
                value: 1.0,
            },
        ]
    }

    #[test]
    fn statsd_lines_name_pipeline_and_step_and_set_negative_gauges_from_zero() {
        let statsd = Statsd {
            address: "127.0.0.1:8125".into(),
            prefix: "mbt".into(),
        };
        let samples = samples();
        let emission = Emission {
            pipeline: "churn v1",
            target: "dev",
            samples: &samples,
        };
        assert_eq!(
            statsd.lines(&emission),
            [
                "mbt.churn_v1.train_model.duration_seconds:1.5|g",
                "mbt.churn_v1.evaluation.r2:0|g",
                "mbt.churn_v1.evaluation.r2:-0.25|g",
                "mbt.churn_v1.run.success:1|g",
            ]
        );
    }

    #[test]
    fn values_without_a_number_are_left_out_of_statsd_and_spelled_for_prometheus() {
        let nan = Sample {
            scope: Scope::Run,
            name: "evaluation",
            key: Some("roc_auc".into()),
            value: f64::NAN,
        };
        let statsd = Statsd {
            address: "127.0.0.1:8125".into(),
            prefix: "mbt".into(),
        };
        let samples = [nan];
        let emission = Emission {
            pipeline: "p",
            target: "dev",
            samples: &samples,
        };
        assert!(statsd.lines(&emission).is_empty());
        assert!(exposition(&[&samples[0]]).ends_with("{metric=\"roc_auc\"} NaN\n"));
    }

    #[test]
    fn prometheus_text_groups_families_and_escapes_labels() {
        let mut samples = samples();
        samples[1].key = Some("a\"b".into());
        let refs: Vec<&Sample> = samples.iter().collect();
        assert_eq!(
            exposition(&refs),
            "# TYPE mbt_step_duration_seconds gauge\nmbt_step_duration_seconds 1.5\n\
             # TYPE mbt_evaluation_metric gauge\nmbt_evaluation_metric{metric=\"a\\\"b\"} -0.25\n\
             # TYPE mbt_run_success gauge\nmbt_run_success 1\n"
        );
    }
}
