//! Time windows over a partition key, relative to the execution date.
//!
//! Training (`label_window` + `train_window`, as in the plan MBT grew from): the label window
//! ends the training data at `execution_date + label_window.offset` units, and the train
//! window reaches `duration` units back from there: rows with `start <= key < end` are kept.
//! Scoring (`lookback_window`): rows with `execution_date + offset <= key <= execution_date`.
//! Without `--vars execution_date=YYYY-MM-DD` the execution date is the latest partition in the
//! data, so a run over a static extract is deterministic.

use anyhow::Context;
pub use chrono::NaiveDate;
use chrono::{Days, Months};
use mbt_contract::pipeline::{DataWindows, TimeUnit, Window};
use polars::prelude::*;

use crate::error::{coded, Code};
use crate::frame;

/// A half-open or closed date range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: Option<NaiveDate>,
    pub end: NaiveDate,
    /// Whether `end` itself is inside.
    pub inclusive_end: bool,
}

impl Range {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start.is_none_or(|start| date >= start)
            && if self.inclusive_end {
                date <= self.end
            } else {
                date < self.end
            }
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let start = self.start.map_or("-inf".to_string(), |s| s.to_string());
        let close = if self.inclusive_end { ']' } else { ')' };
        write!(f, "[{start}, {}{close}", self.end)
    }
}

/// Parses `YYYY-MM-DD` (a longer timestamp is cut to its date).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// `date` moved by `amount` units.
pub fn shift(date: NaiveDate, amount: i64, unit: TimeUnit) -> anyhow::Result<NaiveDate> {
    let magnitude = amount.unsigned_abs();
    let shifted = match unit {
        TimeUnit::Day | TimeUnit::Week => {
            let factor = if unit == TimeUnit::Week { 7 } else { 1 };
            magnitude
                .checked_mul(factor)
                .map(Days::new)
                .and_then(|days| {
                    if amount < 0 {
                        date.checked_sub_days(days)
                    } else {
                        date.checked_add_days(days)
                    }
                })
        }
        TimeUnit::Month | TimeUnit::Year => {
            let factor = if unit == TimeUnit::Year { 12 } else { 1 };
            magnitude
                .checked_mul(factor)
                .and_then(|months| u32::try_from(months).ok())
                .map(Months::new)
                .and_then(|months| {
                    if amount < 0 {
                        date.checked_sub_months(months)
                    } else {
                        date.checked_add_months(months)
                    }
                })
        }
    };
    shifted.with_context(|| format!("{date} moved by {amount} {unit:?}(s) is out of range"))
}

/// The training range of `data_windows`, or `None` when it sets no window.
pub fn training_range(
    windows: &DataWindows,
    execution_date: NaiveDate,
) -> anyhow::Result<Option<Range>> {
    let (label, train) = (&windows.label_window, &windows.train_window);
    if label.is_none() && train.is_none() {
        return Ok(None);
    }
    let end = match label {
        None => execution_date,
        Some(label) => shift(execution_date, label.offset.unwrap_or(0), label.unit)?,
    };
    let start = match train.as_ref().and_then(|t| t.duration.map(|d| (d, t.unit))) {
        Some((duration, unit)) => Some(shift(end, -i64::from(duration), unit)?),
        None => None,
    };
    Ok(Some(Range {
        start,
        end,
        inclusive_end: false,
    }))
}

/// The scoring range of a `lookback_window`, or `None` without one.
pub fn lookback_range(
    lookback: Option<&Window>,
    execution_date: NaiveDate,
) -> anyhow::Result<Option<Range>> {
    let Some(lookback) = lookback else {
        return Ok(None);
    };
    let offset = lookback
        .offset
        .or_else(|| lookback.duration.map(|d| -i64::from(d)))
        .unwrap_or(0);
    Ok(Some(Range {
        start: Some(shift(execution_date, offset.min(0), lookback.unit)?),
        end: execution_date,
        inclusive_end: true,
    }))
}

/// The partition dates of `frame[key]`; a value that is not a date is an error naming it.
pub fn partition_dates(frame: &DataFrame, key: &str) -> anyhow::Result<Vec<Option<NaiveDate>>> {
    frame::texts(frame, key)?
        .into_iter()
        .enumerate()
        .map(|(row, text)| match text {
            None => Ok(None),
            Some(text) => parse_date(&text).map(Some).ok_or_else(|| {
                coded(
                    Code::EmptyWindow,
                    format!("partition key `{key}` holds `{text}` in row {row}, which is not a YYYY-MM-DD date"),
                    "store the partition key as dates (YYYY-MM-DD)",
                )
            }),
        })
        .collect()
}

/// Keeps the rows of `frame` whose partition date lies in the range; returns the frame, the
/// execution date used and the range.
pub fn filter(
    frame: &DataFrame,
    key: &str,
    execution_date: Option<NaiveDate>,
    range_of: impl Fn(NaiveDate) -> anyhow::Result<Option<Range>>,
) -> anyhow::Result<Option<(DataFrame, NaiveDate, Range)>> {
    let dates = partition_dates(frame, key)?;
    let latest = dates.iter().flatten().max().copied();
    let Some(execution_date) = execution_date.or(latest) else {
        return Err(coded(
            Code::EmptyWindow,
            format!("partition key `{key}` has no dates, so no execution date can be derived"),
            "pass --vars execution_date=YYYY-MM-DD",
        ));
    };
    let Some(range) = range_of(execution_date)? else {
        return Ok(None);
    };
    let keep = BooleanChunked::from_iter(
        dates
            .iter()
            .map(|date| Some(date.is_some_and(|d| range.contains(d)))),
    );
    let kept = frame.filter(&keep)?;
    if kept.height() == 0 {
        let earliest = dates.iter().flatten().min().copied();
        return Err(coded(
            Code::EmptyWindow,
            format!("no row has `{key}` in the window {range} (execution date {execution_date})"),
            format!(
                "the data spans {} to {}: pass --vars execution_date=YYYY-MM-DD inside it, or widen the window",
                earliest.map_or("-".into(), |d| d.to_string()),
                latest.map_or("-".into(), |d| d.to_string()),
            ),
        ));
    }
    Ok(Some((kept, execution_date, range)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    #[test]
    fn the_plans_windows_end_a_month_before_the_execution_date() {
        let windows: DataWindows = typed(
            json!({"label_window": {"offset": -1, "unit": "month"}, "train_window": {"duration": 12, "unit": "month"}}),
        );
        let range = training_range(&windows, date("2026-03-01"))
            .unwrap()
            .unwrap();
        assert_eq!(range.start, Some(date("2025-02-01")));
        assert_eq!(range.end, date("2026-02-01"));
        assert!(range.contains(date("2025-02-01")));
        assert!(range.contains(date("2026-01-31")));
        assert!(!range.contains(date("2026-02-01")));
        assert_eq!(range.to_string(), "[2025-02-01, 2026-02-01)");
    }

    #[test]
    fn lookback_includes_the_execution_date() {
        let window: Window = typed(json!({"offset": -1, "unit": "day"}));
        let range = lookback_range(Some(&window), date("2026-03-01"))
            .unwrap()
            .unwrap();
        assert!(range.contains(date("2026-02-28")));
        assert!(range.contains(date("2026-03-01")));
        assert!(!range.contains(date("2026-02-27")));
        assert!(!range.contains(date("2026-03-02")));
    }

    #[test]
    fn units_and_month_ends() {
        assert_eq!(
            shift(date("2026-03-31"), -1, TimeUnit::Month).unwrap(),
            date("2026-02-28")
        );
        assert_eq!(
            shift(date("2026-03-01"), -2, TimeUnit::Week).unwrap(),
            date("2026-02-15")
        );
        assert_eq!(
            shift(date("2026-03-01"), 1, TimeUnit::Year).unwrap(),
            date("2027-03-01")
        );
        assert!(shift(date("2026-03-01"), i64::MAX, TimeUnit::Year).is_err());
        assert_eq!(parse_date("2026-03-01 00:00:00"), Some(date("2026-03-01")));
        assert_eq!(parse_date("03/01/2026"), None);
    }
}
