//! How a run reports its progress: lines (and a spinner on a terminal) on stderr for people, or
//! JSON lines on stdout for log collectors (`--log-format json`).

use std::io::{IsTerminal, Write};

use mbt_compiler::manifest::Manifest;
use mbt_runtime::clock::timestamp;
use mbt_runtime::run::{Progress, StepResult};

use crate::args::LogFormat;

/// Progress for people: a spinner naming the running steps on a terminal (indicatif), and one
/// line per finished step either way, so logs of non-interactive runs read the same.
pub struct Console {
    bar: Option<indicatif::ProgressBar>,
    /// Step name → "[i/n]" position, for the finished lines.
    positions: std::collections::BTreeMap<String, String>,
    running: Vec<String>,
}

impl Console {
    pub fn new() -> Console {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Console {
            bar,
            positions: Default::default(),
            running: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }
}

impl Progress for Console {
    fn step_started(&mut self, index: usize, total: usize, step: &str) {
        self.positions
            .insert(step.to_string(), format!("[{}/{total}]", index + 1));
        self.running.push(step.to_string());
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_message(self.running.join(", "));
        }
    }

    fn step_finished(&mut self, step: &str, result: &StepResult) {
        self.running.retain(|running| running != step);
        let position = self.positions.get(step).cloned().unwrap_or_default();
        self.line(&format!(
            "{position} {step} ... {} ({:.2} s)",
            result.status, result.duration_s
        ));
        for warning in &result.warnings {
            self.line(&format!("      warning: {warning}"));
        }
        if let Some(error) = &result.error {
            let code = result.code.as_deref().unwrap_or("MBT9002");
            self.line(&format!("      error[{code}]: {error}"));
            if let Some(help) = &result.help {
                self.line(&format!("      help: {help}"));
            }
            self.line(&format!("      (run `mbt explain {code}` for details)"));
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(self.running.join(", "));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `--log-format json`: one JSON object per line on stdout (ts, level, pipeline, step, run_id,
/// target, event), and nothing else there, so `mbt run ... | jq` works; people's output goes
/// to stderr.
pub struct JsonLog {
    pub pipeline: String,
    pub run_id: String,
    pub target: String,
}

impl JsonLog {
    pub fn emit(&self, level: &str, step: &str, event: &str, extra: serde_json::Value) {
        let mut line = serde_json::json!({
            "ts": timestamp(),
            "level": level,
            "pipeline": self.pipeline,
            "step": step,
            "run_id": self.run_id,
            "target": self.target,
            "event": event,
        });
        if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
            line.extend(extra.clone());
        }
        json_line(&line);
    }
}

/// Writes one JSON object as a line of stdout (a closed pipe is ignored).
pub fn json_line(value: &serde_json::Value) {
    let _ = writeln!(std::io::stdout().lock(), "{value}");
}

impl Progress for JsonLog {
    fn step_started(&mut self, _index: usize, _total: usize, step: &str) {
        self.emit("INFO", step, "step_started", serde_json::json!({}));
    }

    fn step_finished(&mut self, step: &str, result: &StepResult) {
        for warning in &result.warnings {
            self.emit(
                "WARNING",
                step,
                "step_warning",
                serde_json::json!({"message": warning}),
            );
        }
        let (level, event) = match result.status.as_str() {
            "failed" => ("ERROR", "step_failed"),
            "skipped" => ("INFO", "step_skipped"),
            _ => ("INFO", "step_completed"),
        };
        self.emit(
            level,
            step,
            event,
            serde_json::json!({"duration_s": result.duration_s, "error": result.error, "code": result.code, "help": result.help}),
        );
    }
}

/// The progress of a run of `manifest` in `format`.
pub fn progress_for(format: LogFormat, manifest: &Manifest, run_id: &str) -> Box<dyn Progress> {
    match format {
        LogFormat::Text => Box::new(Console::new()),
        LogFormat::Json => Box::new(JsonLog {
            pipeline: manifest.metadata.pipeline_name.clone(),
            run_id: run_id.to_string(),
            target: manifest.metadata.target.clone(),
        }),
    }
}
