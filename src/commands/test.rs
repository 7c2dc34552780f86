//! `mbt test`: evaluate the DAG assertions of `tests/*.test.yaml`.

use std::process::ExitCode;

use mbt_compiler::assertions::{describe, evaluate};
use mbt_compiler::diagnostics::{sort_and_dedup, Summary};
use mbt_compiler::queries::check::{is_test_file, test_file_diagnostics};
use mbt_compiler::queries::manifest::manifest;
use mbt_compiler::queries::parse::parse_file;
use mbt_compiler::schema::tests_file::TestFile;
use mbt_compiler::Db;

use crate::args::TestArgs;
use crate::host::Host;
use crate::outln;
use crate::output::print_diagnostics;

pub fn run(args: TestArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    if let Some(only) = &args.pipeline {
        if let Err(diagnostic) = host.runnable_pipeline(only) {
            print_diagnostics(&[*diagnostic], &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    }
    let files: Vec<_> = host
        .db
        .project()
        .files(&host.db)
        .iter()
        .filter(|(path, _)| is_test_file(path))
        .map(|(p, f)| (p.clone(), *f))
        .collect();
    let (mut passed, mut failed, mut errors) = (0usize, 0usize, 0usize);
    let mut ran_any = false;
    for (path, file) in files {
        let mut diagnostics = test_file_diagnostics(&host.db, file).to_vec();
        sort_and_dedup(&mut diagnostics, &host.db);
        let parsed = parse_file(&host.db, file);
        let spec: Option<TestFile> = if Summary::of(&diagnostics).errors == 0 {
            parsed
                .root
                .as_ref()
                .and_then(|root| serde_json::from_value(root.to_json()).ok())
        } else {
            None
        };
        if let Some(only) = &args.pipeline {
            if spec.as_ref().is_some_and(|s| &s.pipeline != only) {
                continue;
            }
        }
        ran_any = true;
        let Some(spec) = spec else {
            print_diagnostics(&diagnostics, &host.db, color)?;
            outln!("ERROR {path}: invalid test file");
            errors += 1;
            continue;
        };
        let pipeline = match host.runnable_pipeline(&spec.pipeline) {
            Ok(file) => file,
            Err(diagnostic) => {
                print_diagnostics(&[*diagnostic], &host.db, color)?;
                errors += 1;
                continue;
            }
        };
        let pipeline_diagnostics = super::diagnostics_of(&host, pipeline);
        let result = manifest(&host.db, pipeline);
        let Some(manifest) = result
            .manifest
            .as_ref()
            .filter(|_| Summary::of(&pipeline_diagnostics).errors == 0)
        else {
            print_diagnostics(&pipeline_diagnostics, &host.db, color)?;
            outln!(
                "ERROR {path}: pipeline `{}` does not compile",
                spec.pipeline
            );
            errors += 1;
            continue;
        };
        for assertion in &spec.assertions {
            match evaluate(manifest, assertion) {
                Ok(()) => {
                    passed += 1;
                    outln!("PASS {path}: {}", describe(assertion));
                }
                Err(reason) => {
                    failed += 1;
                    outln!("FAIL {path}: {} ({reason})", describe(assertion));
                }
            }
        }
    }
    if !ran_any {
        outln!("no tests found in tests/*.test.yaml");
    }
    outln!("{passed} passed, {failed} failed, {errors} errors");
    Ok(if failed + errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
