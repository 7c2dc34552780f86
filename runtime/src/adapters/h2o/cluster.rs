//! H2O-3's REST API, as AutoML needs it: frames uploaded as CSV and parsed with explicit column
//! types, AutoML built and polled, its leaderboard, the leader's MOJO, and scoring a MOJO on the
//! cluster (imported as a generic model). `/3` endpoints take form fields (lists as JSON
//! strings); only `/99/AutoMLBuilder` takes a JSON body.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::adapters::rest::{Rest, Service};
use crate::error::{coded, Code};

/// An H2O cluster (or a local node).
pub const H2O: Service = Service {
    name: "the H2O cluster",
    unreachable_help: "start the cluster or correct `h2o: {url}` in profiles.yaml (`mbt debug` \
                       checks it), then `mbt retry PIPELINE`",
    not_json_help: "check that `h2o: {url}` points at an H2O-3 cluster's REST port",
};

/// How a frame's columns parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Numeric,
    Enum,
}

impl ColumnType {
    fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numeric => "Numeric",
            ColumnType::Enum => "Enum",
        }
    }
}

/// A connection to a cluster.
pub struct Cluster {
    pub rest: Rest,
}

impl Cluster {
    /// The cluster's version, when it is up and healthy.
    pub fn health(&self) -> anyhow::Result<String> {
        let cloud = self.rest.get_json("/3/Cloud", &[])?;
        if cloud["cloud_healthy"] != true {
            return Err(coded(
                Code::ServiceRejected,
                format!("the H2O cluster at {} is not healthy", self.rest.base()),
                "check the cluster's nodes (its web UI's Cluster Status)",
            ));
        }
        Ok(format!(
            "H2O {} ({} node(s))",
            cloud["version"].as_str().unwrap_or("?"),
            cloud["cloud_size"].as_u64().unwrap_or(0)
        ))
    }

    /// Uploads `csv` (with a header of `names`) as frame `key`, parsed with `types`.
    pub fn upload_frame(
        &self,
        key: &str,
        csv: &[u8],
        names: &[String],
        types: &[ColumnType],
    ) -> anyhow::Result<()> {
        let raw = format!("{key}_raw");
        self.rest
            .post_file(&format!("/3/PostFile?destination_frame={raw}"), csv)?;
        let columns = types.len().to_string();
        let sources = json!([raw]).to_string();
        let names = json!(names).to_string();
        let types = json!(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string();
        let answer = self.rest.post_form(
            "/3/Parse",
            &[
                ("destination_frame", key),
                ("source_frames", &sources),
                ("parse_type", "CSV"),
                ("separator", "44"),
                ("number_columns", &columns),
                ("single_quotes", "false"),
                ("column_names", &names),
                ("column_types", &types),
                ("check_header", "1"),
                ("delete_on_done", "true"),
                ("chunk_size", "4194304"),
            ],
        )?;
        self.wait(&answer["job"], "parsing the uploaded frame", None)?;
        Ok(())
    }

    /// Builds AutoML with `spec` (the JSON of `/99/AutoMLBuilder`) and waits for it to end
    /// (at most `budget` plus a margin, when it has one); returns the AutoML's id.
    pub fn automl(&self, spec: &Value, budget: Option<Duration>) -> anyhow::Result<String> {
        let answer = self.rest.post_json("/99/AutoMLBuilder", spec)?;
        let id = answer["job"]["dest"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // H2O may overrun its budget by the final models it trains; a hung job must still end.
        let limit = budget.map(|budget| budget * 2 + Duration::from_secs(300));
        self.wait(&answer["job"], "AutoML", limit)?;
        Ok(id)
    }

    /// The leaderboard of AutoML `id`: the table's rows as (column → value) objects, best first.
    pub fn leaderboard(&self, id: &str) -> anyhow::Result<Vec<serde_json::Map<String, Value>>> {
        let board = self.rest.get_json(
            &format!("/99/Leaderboards/{}", encode(id)),
            &[("extensions", "ALL")],
        )?;
        let table = &board["table"];
        let names: Vec<&str> = table["columns"]
            .as_array()
            .map(|columns| columns.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        let data = table["data"].as_array().cloned().unwrap_or_default();
        let rows = data.first().and_then(Value::as_array).map_or(0, Vec::len);
        // The table is stored column by column.
        Ok((0..rows)
            .map(|row| {
                names
                    .iter()
                    .zip(&data)
                    .filter(|(name, _)| !name.is_empty())
                    .map(|(name, column)| (name.to_string(), column[row].clone()))
                    .collect()
            })
            .collect())
    }

    /// The model's details (`/3/Models/<id>`): parameters, output, variable importances.
    pub fn model(&self, id: &str) -> anyhow::Result<Value> {
        let answer = self
            .rest
            .get_json(&format!("/3/Models/{}", encode(id)), &[])?;
        Ok(answer["models"][0].clone())
    }

    pub fn mojo(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        self.rest
            .get_bytes(&format!("/3/Models/{}/mojo", encode(id)))
    }

    /// Loads `mojo` as generic model `key` (unless the cluster has it already).
    pub fn import_mojo(&self, key: &str, mojo: &[u8]) -> anyhow::Result<()> {
        if self.model(key).is_ok() {
            return Ok(());
        }
        let raw = format!("{key}_mojo");
        self.rest
            .post_file(&format!("/3/PostFile?destination_frame={raw}"), mojo)?;
        let answer = self.rest.post_form(
            "/3/ModelBuilders/generic",
            &[("model_key", &raw), ("model_id", key)],
        )?;
        self.wait(&answer["job"], "importing the MOJO", None)?;
        Ok(())
    }

    /// Scores frame `frame` with model `model`; the predictions as CSV text.
    pub fn predict(&self, model: &str, frame: &str) -> anyhow::Result<String> {
        let out = format!("{frame}_predictions");
        self.rest.post_form(
            &format!(
                "/3/Predictions/models/{}/frames/{}",
                encode(model),
                encode(frame)
            ),
            &[("predictions_frame", &out)],
        )?;
        let csv = self
            .rest
            .get_bytes_with("/3/DownloadDataset", &[("frame_id", &out)])?;
        self.delete(&out);
        Ok(String::from_utf8_lossy(&csv).into_owned())
    }

    /// Removes a key (a frame, a model); what is already gone is no error.
    pub fn delete(&self, key: &str) {
        let _ = self.rest.once().delete(&format!("/3/DKV/{}", encode(key)));
    }

    /// Polls job `job` (the `job` object of an answer) until it ends; an error names `what`.
    fn wait(&self, job: &Value, what: &str, limit: Option<Duration>) -> anyhow::Result<()> {
        let key = job["key"]["name"].as_str().unwrap_or_default();
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let answer = self
                .rest
                .get_json(&format!("/3/Jobs/{}", encode(key)), &[])?;
            let status = &answer["jobs"][0];
            match status["status"].as_str().unwrap_or_default() {
                "DONE" => return Ok(()),
                "FAILED" | "CANCELLED" => {
                    let why = status["exception"]
                        .as_str()
                        .or_else(|| status["warnings"][0].as_str())
                        .unwrap_or("no reason given");
                    let why = why.lines().next().unwrap_or(why);
                    return Err(coded(
                        Code::AdapterFailed,
                        format!(
                            "H2O failed {what} ({}): {why}",
                            status["status"].as_str().unwrap_or_default()
                        ),
                        "see the H2O node's log; check the config against H2O's AutoML documentation",
                    ));
                }
                _ => {}
            }
            if limit.is_some_and(|limit| started.elapsed() > limit) {
                let _ = self
                    .rest
                    .post_form(&format!("/3/Jobs/{}/cancel", encode(key)), &[]);
                return Err(coded(
                    Code::AdapterFailed,
                    format!(
                        "H2O was still {what} after {} s; MBT cancelled it",
                        started.elapsed().as_secs()
                    ),
                    "lower `max_runtime_secs` or `max_models`",
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// A key in a URL path: H2O's job keys hold `$`, AutoML ids `@`.
fn encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn keys_are_percent_encoded_in_paths() {
        assert_eq!(encode("p1@@y"), "p1%40%40y");
        assert_eq!(encode("$03017f$_8e"), "%2403017f%24_8e");
        assert_eq!(encode("GBM_1_AutoML_1"), "GBM_1_AutoML_1");
    }
}
