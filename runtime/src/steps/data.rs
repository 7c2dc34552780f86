//! Data steps: load, join, validate and split.

use anyhow::Context;
use mbt_contract::manifest::{Join, JoinTables, LoadData, SplitData, ValidateData};
use mbt_contract::pipeline::{Check, ColumnType, JoinType as PipelineJoin, OnFailure};
use polars::prelude::*;

use super::fitted::{self, CheckOutcome, ValidationReport};
use super::{Artifact, StepContext};
use crate::adapters::DataConnector;
use crate::error::{coded, Code};
use crate::random::SplitMix64;
use crate::{frame, windows};

pub fn load_data(
    context: &mut StepContext<'_>,
    config: &LoadData,
) -> anyhow::Result<Vec<Artifact>> {
    // The label table is read whole: the windows slice it in `split_data`, after the joins and
    // checks; `tables` names every table the run reads (for the record and orchestrators).
    let LoadData {
        label_table,
        tables: _,
        data_windows: _,
        partition_key: _,
    } = config;
    let table = label_table.as_str();
    let frame = context.adapters.connector.read_table(table)?;
    if frame.height() == 0 {
        return Err(coded(
            Code::UntrainableData,
            format!("table `{table}` has no rows"),
            "check the data file: it holds only a header",
        ));
    }
    Ok(vec![Artifact::Frame(frame)])
}

pub fn join_tables(
    context: &mut StepContext<'_>,
    config: &JoinTables,
) -> anyhow::Result<Vec<Artifact>> {
    let JoinTables {
        label_table: _, // the frame load_data read
        joins,
    } = config;
    let joined = join_feature_tables(
        context.first_frame()?.clone(),
        joins,
        context.adapters.connector.as_ref(),
        false,
    )?;
    Ok(vec![Artifact::Frame(joined)])
}

/// Joins each feature table of `joins` (the `join_tables` config) onto `frame`. Serving replays
/// the training joins with `keep_rows`: always a left join that keeps every scoring row, once,
/// in input order.
pub fn join_feature_tables(
    mut joined: DataFrame,
    joins: &[Join],
    connector: &dyn DataConnector,
    keep_rows: bool,
) -> anyhow::Result<DataFrame> {
    const ORDER: &str = "__mbt_row";
    if keep_rows {
        joined = joined.with_row_index(ORDER.into(), None)?;
    }
    for join in joins {
        let table = join.table.as_str();
        let keys = &join.join_key;
        let right = connector.read_table(table)?;
        for key in keys {
            frame::column(&joined, key).with_context(|| {
                format!("join key `{key}` is missing on the left of the join with `{table}`")
            })?;
            frame::column(&right, key)
                .with_context(|| format!("join key `{key}` is missing in table `{table}`"))?;
        }
        if keep_rows || join.fan_out_check {
            let duplicated = duplicated_keys(&right, keys)?;
            if !duplicated.is_empty() {
                return Err(coded(
                    Code::JoinFanOut,
                    format!(
                        "fan_out_check failed: joining `{table}` on {} would multiply rows; duplicated key values: {}",
                        keys.join(", "),
                        duplicated.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                    ),
                    format!("make `{table}` unique per {} (aggregate it), or set fan_out_check: false if the duplication is intended", keys.join(", ")),
                ));
            }
        }
        let how = match join.join_type {
            _ if keep_rows => JoinType::Left,
            PipelineJoin::Inner => JoinType::Inner,
            PipelineJoin::Right => JoinType::Right,
            PipelineJoin::Outer => JoinType::Full,
            PipelineJoin::Left => JoinType::Left,
        };
        joined = joined
            .join(
                &right,
                keys.clone(),
                keys.clone(),
                JoinArgs::new(how).with_coalesce(JoinCoalesce::CoalesceColumns),
                None,
            )
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot join `{table}`"))?;
    }
    if keep_rows {
        joined = joined.sort([ORDER], Default::default())?.drop(ORDER)?;
    }
    Ok(joined)
}

/// Key values that appear more than once in `frame`.
fn duplicated_keys(frame: &DataFrame, keys: &[String]) -> anyhow::Result<Vec<String>> {
    let columns: Vec<Vec<Option<String>>> = keys
        .iter()
        .map(|key| frame::texts(frame, key))
        .collect::<anyhow::Result<_>>()?;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for row in 0..frame.height() {
        let key: Vec<String> = columns
            .iter()
            .map(|c| c[row].clone().unwrap_or_else(|| "null".into()))
            .collect();
        *seen.entry(key.join("|")).or_insert(0) += 1;
    }
    Ok(seen
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(key, _)| key)
        .collect())
}

pub fn validate_data(
    context: &mut StepContext<'_>,
    config: &ValidateData,
) -> anyhow::Result<Vec<Artifact>> {
    let ValidateData { on_failure, checks } = config;
    let mut frame = context.first_frame()?.clone();
    let mut report = Vec::new();
    for check in checks {
        // Rows that fail the check (for skip_row), and the failure message.
        let (bad_rows, message): (Vec<bool>, Option<String>) = match check {
            Check::NullThreshold {
                columns,
                max_null_pct,
            } => {
                let max = *max_null_pct;
                let mut bad = vec![false; frame.height()];
                let mut messages = Vec::new();
                for column in columns {
                    let values = frame::column(&frame, column)?;
                    let nulls = values.null_count();
                    let percent = 100.0 * nulls as f64 / frame.height().max(1) as f64;
                    if percent > max {
                        messages.push(format!("null_threshold failed: {column} has {percent:.1}% nulls (max {max:.1}%)"));
                        for (row, value) in frame::texts(&frame, column)?.iter().enumerate() {
                            bad[row] |= value.is_none();
                        }
                    }
                }
                (bad, (!messages.is_empty()).then(|| messages.join("; ")))
            }
            Check::ValueRange { column, min, max } => {
                let values = frame::numbers(&frame, column)?;
                let (min, max) = (*min, *max);
                let bad: Vec<bool> = values
                    .iter()
                    .map(|v| {
                        !v.is_nan() && (min.is_some_and(|m| *v < m) || max.is_some_and(|m| *v > m))
                    })
                    .collect();
                let count = bad.iter().filter(|b| **b).count();
                let range = format!(
                    "[{}, {}]",
                    min.map_or("-inf".into(), |m| m.to_string()),
                    max.map_or("inf".into(), |m| m.to_string())
                );
                (
                    bad,
                    (count > 0).then(|| {
                        format!("value_range failed: {count} value(s) of {column} outside {range}")
                    }),
                )
            }
            Check::ExpectedColumns { columns } => {
                let present = frame::names(&frame);
                let missing: Vec<&str> = columns
                    .iter()
                    .map(String::as_str)
                    .filter(|c| !present.iter().any(|p| p == c))
                    .collect();
                (
                    vec![false; frame.height()],
                    (!missing.is_empty()).then(|| {
                        format!("expected_columns failed: missing {}", missing.join(", "))
                    }),
                )
            }
            Check::UniqueKey { columns } => {
                let duplicated = duplicated_keys(&frame, columns)?;
                (
                    vec![false; frame.height()],
                    (!duplicated.is_empty()).then(|| {
                        format!(
                            "unique_key failed: {} duplicated value(s) of {}, e.g. {}",
                            duplicated.len(),
                            columns.join(", "),
                            duplicated[0]
                        )
                    }),
                )
            }
            Check::TypeCheck { columns } => {
                let mut messages = Vec::new();
                for (column, expected) in columns {
                    let dtype = frame::column(&frame, column)?.dtype().clone();
                    let ok = match expected {
                        ColumnType::Integer => dtype.is_integer(),
                        ColumnType::Float => dtype.is_float() || dtype.is_integer(),
                        ColumnType::String => dtype == DataType::String,
                        ColumnType::Boolean => dtype == DataType::Boolean,
                        ColumnType::Date | ColumnType::Datetime => {
                            dtype.is_temporal() || dtype == DataType::String
                        }
                    };
                    if !ok {
                        messages.push(format!(
                            "type_check failed: {column} is {dtype}, expected {}",
                            serde_json::to_value(expected)?.as_str().unwrap_or_default()
                        ));
                    }
                }
                (
                    vec![false; frame.height()],
                    (!messages.is_empty()).then(|| messages.join("; ")),
                )
            }
            Check::Custom { function } => {
                let (passed, message) = super::custom::custom_check(context, function, &frame)?;
                let message = format!(
                    "custom check {function} {}: {message}",
                    if passed { "passed" } else { "failed" }
                );
                if passed {
                    report.push(CheckOutcome {
                        kind: "custom".into(),
                        function: Some(function.clone()),
                        passed: true,
                        message: Some(message),
                        failed_rows: 0,
                    });
                    continue;
                }
                (vec![false; frame.height()], Some(message))
            }
        };
        let failed_rows = bad_rows.iter().filter(|b| **b).count();
        report.push(CheckOutcome {
            kind: check_type(check),
            function: match check {
                Check::Custom { function } => Some(function.clone()),
                _ => None,
            },
            passed: message.is_none(),
            message: message.clone(),
            failed_rows,
        });
        if let Some(message) = message {
            match on_failure {
                OnFailure::Warn => context.warnings.push(message),
                OnFailure::SkipRow if failed_rows > 0 => {
                    let keep = BooleanChunked::from_iter(bad_rows.iter().map(|bad| Some(!bad)));
                    frame = frame.filter(&keep)?;
                    context
                        .warnings
                        .push(format!("{message}; skipped {failed_rows} row(s)"));
                }
                // `fail` stops at the first failing check, so its message is the error.
                _ => {
                    return Err(coded(
                        Code::ValidationFailed,
                        message,
                        "clean the data, relax the check, or set validation.on_failure to warn or skip_row",
                    ))
                }
            }
        }
    }
    context
        .metrics
        .insert("validated_rows".into(), frame.height() as f64);
    Ok(vec![
        Artifact::Frame(frame),
        fitted::write(&ValidationReport {
            checks: report,
            on_failure: *on_failure,
        })?,
    ])
}

/// A check's `type`, as written in the pipeline.
fn check_type(check: &Check) -> String {
    serde_json::to_value(check)
        .ok()
        .and_then(|value| value.get("type")?.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn split_data(
    context: &mut StepContext<'_>,
    config: &SplitData,
) -> anyhow::Result<Vec<Artifact>> {
    let windowed = within_training_window(context, config)?;
    let frame = match &windowed {
        Some(frame) => frame,
        None => context.first_frame()?,
    };
    let SplitData {
        test_size,
        stratify,
        seed,
        roles,
        data_windows: _, // applied by `within_training_window`
    } = config;
    let (test_size, seed, stratify) = (*test_size, *seed, *stratify);
    let label = roles.label_column.clone();
    // Rows grouped by label value when stratifying, else one group.
    let groups: Vec<Vec<usize>> = match (&label, stratify) {
        (Some(label), true) => {
            let values = frame::text_view(frame, label)?;
            let mut groups = std::collections::BTreeMap::<String, Vec<usize>>::new();
            for (row, value) in values.iter().enumerate() {
                let value = value.unwrap_or_default();
                match groups.get_mut(value) {
                    Some(rows) => rows.push(row),
                    None => {
                        groups.insert(value.to_string(), vec![row]);
                    }
                }
            }
            groups.into_values().collect()
        }
        _ => vec![(0..frame.height()).collect()],
    };
    let mut random = SplitMix64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut rows in groups {
        random.shuffle(&mut rows);
        let held_out = ((rows.len() as f64) * test_size).round() as usize;
        test.extend_from_slice(&rows[..held_out]);
        train.extend_from_slice(&rows[held_out..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    if train.is_empty() || test.is_empty() {
        return Err(coded(
            Code::UntrainableData,
            format!(
                "split_data: {} rows cannot be split with test_size {test_size}",
                frame.height()
            ),
            "use more rows (widen the time window) or a test_size that leaves rows on both sides",
        ));
    }
    let excluded = roles.non_features();
    let train_frame = frame::take(frame, &train)?;
    for column in train_frame.columns() {
        let name = column.name().as_str();
        if column.null_count() == train.len() && !excluded.iter().any(|e| e == name) {
            context.warnings.push(format!(
                "column `{name}` is null in every train row; it carries no signal and is left out of the model"
            ));
        }
    }
    context
        .metrics
        .insert("train_rows".into(), train.len() as f64);
    context
        .metrics
        .insert("test_rows".into(), test.len() as f64);
    Ok(vec![
        Artifact::Frame(train_frame),
        Artifact::Frame(frame::take(frame, &test)?),
    ])
}

/// The rows inside `data_windows` over the partition key, or `None` without windows.
fn within_training_window(
    context: &mut StepContext<'_>,
    config: &SplitData,
) -> anyhow::Result<Option<DataFrame>> {
    let Some(windows) = &config.data_windows else {
        return Ok(None);
    };
    let key = config.roles.partition_key.as_deref().context(
        "data_windows need `schema.identifiers.partition_key`, the date column the windows slice",
    )?;
    let frame = context.first_frame()?;
    let filtered = windows::filter(frame, key, context.execution_date, |date| {
        windows::training_range(windows, date)
    })?;
    let Some((kept, execution_date, range)) = filtered else {
        return Ok(None);
    };
    if context.execution_date.is_none() {
        context.warnings.push(format!(
            "no --vars execution_date given: using the latest `{key}` in the data, {execution_date}; the window {range} keeps {} of {} rows",
            kept.height(),
            frame.height()
        ));
    }
    context
        .metrics
        .insert("window_rows".into(), kept.height() as f64);
    Ok(Some(kept))
}
