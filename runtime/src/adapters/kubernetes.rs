//! `kubernetes`: each step a pod that an orchestrator schedules (the KubernetesPodOperator tasks
//! of the Airflow DAG `mbt generate-dags` writes), running `mbt exec` for its step. This process
//! never runs a whole pipeline on it: `mbt run` is refused with MBT4025; `mbt exec` inside the pod
//! runs its one step in process.

use mbt_contract::adapters::ExecutorSettings;

use super::{Adapter, BuildContext, Executor, Job};
use crate::error::{coded, Code};

struct Kubernetes {
    namespace: String,
}

pub fn executor(
    settings: &ExecutorSettings,
    _context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn Executor>> {
    let ExecutorSettings::Kubernetes(config) = settings else {
        anyhow::bail!("the kubernetes factory got another executor's settings");
    };
    Ok(Box::new(Kubernetes {
        namespace: config.namespace.clone().unwrap_or_else(|| "default".into()),
    }))
}

impl Adapter for Kubernetes {}

impl Executor for Kubernetes {
    /// `mbt exec` runs one job (its step) in the pod it is in.
    fn run_batch<'a>(&self, jobs: Vec<Job<'a>>) {
        jobs.into_iter().for_each(|job| job());
    }

    fn runs_here(&self) -> anyhow::Result<()> {
        Err(coded(
            Code::RunsElsewhere,
            format!(
                "this target's steps run as Kubernetes pods in namespace `{}`, scheduled by an orchestrator, not by `mbt run`",
                self.namespace
            ),
            "write the DAGs with `mbt generate-dags --target TARGET --output DAGS_DIR` for Airflow to schedule (each pod runs `mbt exec`), or run on a target with the `local` executor",
        ))
    }
}
