//! Custom transforms and validators: `sql:` entries run as polars SQL over the frame (named
//! `data`), `lib.module.function` entries through the Python bridge. Training and serving both
//! call [`apply_custom`], so scoring rows are transformed exactly as training rows were.

use mbt_contract::manifest::Transform;
use mbt_contract::pipeline::{CustomTransform, Schema};
use polars::prelude::DataFrame;
use polars_lazy::frame::IntoLazy;
use serde_json::{json, Value};

use super::{Artifact, StepContext};
use crate::error::{coded, Code};
use crate::python::PythonBridge;

/// The `transform` step.
pub fn transform(
    context: &mut StepContext<'_>,
    config: &Transform,
) -> anyhow::Result<Vec<Artifact>> {
    let Transform {
        custom_transforms,
        schema,
    } = config;
    let input = context.first_frame()?;
    let hook_context = hook_context(context, "training", Some(schema));
    let output = apply_custom(
        input.clone(),
        custom_transforms,
        context.project,
        &hook_context,
    )?;
    context
        .metrics
        .insert("transformed_rows".into(), output.height() as f64);
    context
        .metrics
        .insert("columns".into(), output.width() as f64);
    Ok(vec![Artifact::Frame(output)])
}

/// What a Python hook receives as `context`: the training schema, the pipeline, run id,
/// execution date and mode (`training` or `serving`). Built from the manifest and the training
/// run's record, so it never holds a secret value.
pub fn hook_context(context: &StepContext<'_>, mode: &str, schema: Option<&Schema>) -> Value {
    json!({
        "mode": mode,
        "pipeline": context.manifest.metadata.pipeline_name,
        "target": context.manifest.metadata.target,
        "run_id": context.run_id,
        "step": context.name,
        "execution_date": context.execution_date.map(|d| d.to_string()),
        "schema": schema,
    })
}

/// Runs the transform entries in order; consecutive Python functions share one subprocess.
pub fn apply_custom(
    mut frame: DataFrame,
    entries: &[CustomTransform],
    project: &std::path::Path,
    hook_context: &Value,
) -> anyhow::Result<DataFrame> {
    let mut python: Vec<String> = Vec::new();
    let bridge = PythonBridge::new(project);
    for entry in entries {
        match entry {
            CustomTransform::Function(function) => python.push(function.clone()),
            CustomTransform::Sql(sql) => {
                if !python.is_empty() {
                    frame = bridge.transform(&python, &frame, hook_context)?;
                    python.clear();
                }
                frame = run_sql(frame, &sql.sql)?;
            }
        }
    }
    if !python.is_empty() {
        frame = bridge.transform(&python, &frame, hook_context)?;
    }
    Ok(frame)
}

/// `SELECT ... FROM data` over the frame.
pub fn run_sql(frame: DataFrame, sql: &str) -> anyhow::Result<DataFrame> {
    let mut engine = polars_sql::SQLContext::new();
    engine.register("data", frame.lazy());
    engine
        .execute(sql)
        .and_then(|plan| plan.collect())
        .map_err(|error| {
            coded(
                Code::SqlFailed,
                format!("SQL transform failed: {}: {error}", one_line(sql)),
                "the frame is the table `data`: SELECT ... FROM data, with its column names",
            )
        })
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A `type: custom` validation check through the bridge: (passed, message).
pub fn custom_check(
    context: &StepContext<'_>,
    function: &str,
    frame: &DataFrame,
) -> anyhow::Result<(bool, String)> {
    let verdict = PythonBridge::new(context.project).validate(
        function,
        frame,
        &hook_context(context, "training", context.manifest.training_schema()),
    )?;
    Ok((verdict.passed, verdict.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn sql_derives_columns_over_the_frame() {
        let frame = df!("tenure" => [1i64, 30], "monthly" => [10.0, 20.0]).unwrap();
        let out = run_sql(
            frame,
            "SELECT *, tenure * monthly AS lifetime FROM data WHERE tenure > 0",
        )
        .unwrap();
        let lifetime: Vec<f64> = crate::frame::numbers(&out, "lifetime").unwrap();
        assert_eq!(lifetime, vec![10.0, 600.0]);
    }

    #[test]
    fn bad_sql_is_an_error_naming_the_statement() {
        let frame = df!("a" => [1i64]).unwrap();
        let error = run_sql(frame, "SELECT nope\n FROM data").unwrap_err();
        assert!(
            format!("{error:#}").contains("SQL transform failed: SELECT nope FROM data"),
            "{error:#}"
        );
    }
}
