//! DAG assertions of `tests/*.test.yaml`, evaluated against a manifest.

use crate::manifest::{parse_quantity, Manifest};
use crate::schema::tests_file::Assertion;

/// Checks one assertion; `Err` says what failed.
pub fn evaluate(manifest: &Manifest, assertion: &Assertion) -> Result<(), String> {
    let position = |step: &str| manifest.dag.execution_order.iter().position(|s| s == step);
    match assertion {
        Assertion::StepExists { step } => position(step).map(|_| ()).ok_or_else(|| {
            format!(
                "step `{step}` is not in the DAG ({})",
                manifest.dag.execution_order.join(", ")
            )
        }),
        Assertion::StepAbsent { step } => match position(step) {
            Some(_) => Err(format!("step `{step}` is in the DAG")),
            None => Ok(()),
        },
        Assertion::StepOrder { before, after } => match (position(before), position(after)) {
            (Some(b), Some(a)) if b < a => Ok(()),
            (Some(_), Some(_)) => Err(format!("`{before}` runs after `{after}`")),
            (None, _) => Err(format!("step `{before}` is not in the DAG")),
            (_, None) => Err(format!("step `{after}` is not in the DAG")),
        },
        Assertion::StepCount { min, max } => {
            let count = manifest.steps.len() as u32;
            if min.is_some_and(|min| count < min) || max.is_some_and(|max| count > max) {
                let range = format!(
                    "{}..{}",
                    min.map(|m| m.to_string()).unwrap_or_default(),
                    max.map(|m| m.to_string()).unwrap_or_default()
                );
                Err(format!("the DAG has {count} steps, expected {range}"))
            } else {
                Ok(())
            }
        }
        Assertion::ResourceLimit {
            step,
            memory_max,
            cpu_max,
        } => {
            let Some(definition) = manifest.steps.get(step) else {
                return Err(format!("step `{step}` is not in the DAG"));
            };
            if let (Some(max), Some(requested)) = (memory_max, &definition.resources.memory) {
                match (parse_quantity(max), parse_quantity(requested)) {
                    (Some(max_bytes), Some(requested_bytes)) if requested_bytes > max_bytes => {
                        return Err(format!(
                            "`{step}` requests {requested} of memory, more than {max}"
                        ));
                    }
                    (_, None) => {
                        return Err(format!(
                            "`{step}` requests an unreadable memory quantity `{requested}`"
                        ))
                    }
                    _ => {}
                }
            }
            if let (Some(max), Some(requested)) = (cpu_max, definition.resources.cpu) {
                if requested > *max {
                    return Err(format!(
                        "`{step}` requests {requested} CPUs, more than {max}"
                    ));
                }
            }
            Ok(())
        }
    }
}

/// A short description of an assertion for test output.
pub fn describe(assertion: &Assertion) -> String {
    match assertion {
        Assertion::StepExists { step } => format!("step_exists {step}"),
        Assertion::StepAbsent { step } => format!("step_absent {step}"),
        Assertion::StepOrder { before, after } => format!("step_order {before} < {after}"),
        Assertion::StepCount { min, max } => format!(
            "step_count {}..{}",
            min.map(|m| m.to_string()).unwrap_or_default(),
            max.map(|m| m.to_string()).unwrap_or_default()
        ),
        Assertion::ResourceLimit {
            step,
            memory_max,
            cpu_max,
        } => format!(
            "resource_limit {step}{}{}",
            memory_max
                .as_ref()
                .map(|m| format!(" memory<={m}"))
                .unwrap_or_default(),
            cpu_max.map(|c| format!(" cpu<={c}")).unwrap_or_default()
        ),
    }
}
