//! Profile and target resolution: which `profiles.yaml` profile and target a compile uses, and
//! the target's merged, rendered settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use mbt_contract::adapters::TargetSettings;
use serde_json::Value;

use super::parse::parse_file;
use super::target::{check_target, merge_target, normalize_mlflow};
use crate::db::{Db, Project};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::schema::check::SchemaCheck;
use crate::schema::profiles::Profile;
use crate::schema::schema_of;
use crate::template::{render_tree, TemplateContext};
use crate::yaml::{Entry, Mapping, Node, NodeKind};

/// The profile and target a compile uses.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedProfile {
    pub profile: String,
    pub target: String,
    /// The target's typed settings (profile-level defaults merged under the target's own,
    /// rendered, checked against the adapter table, embedded defaults filled in); absent when
    /// the profile has errors.
    pub settings: Option<TargetSettings>,
    pub secrets: Vec<String>,
    /// The target's `vars:` (profile-level ones under the target's own), rendered as text: the
    /// values of `var()` in pipelines unless `--vars` gives them.
    pub vars: BTreeMap<String, String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The name of the built-in profile used when a project has no `profiles.yaml`.
pub const BUILTIN_PROFILE: &str = "default";
pub const BUILTIN_TARGET: &str = "dev";

#[salsa::tracked]
pub fn resolved_profile(db: &dyn Db, project: Project) -> Arc<ResolvedProfile> {
    let settings = project.settings(db);
    let mut diagnostics = Vec::new();
    let Some(file) = project.profiles(db) else {
        if settings.profiles_required || settings.profile.is_some() {
            diagnostics.push(
                Diagnostic::new(Code::ProfilesNotFound, None, "profiles.yaml not found")
                    .with_help("create profiles.yaml in the project root (`mbt init` writes one), or point --profiles-dir at it"),
            );
        }
        let target = settings
            .target
            .clone()
            .unwrap_or_else(|| BUILTIN_TARGET.to_string());
        if target != BUILTIN_TARGET {
            diagnostics.push(
                Diagnostic::new(Code::TargetNotFound, None, format!("target `{target}` not found: the project has no profiles.yaml"))
                    .with_help(format!("the built-in profile has one target, `{BUILTIN_TARGET}`; add profiles.yaml to define more")),
            );
        }
        return Arc::new(ResolvedProfile {
            profile: BUILTIN_PROFILE.to_string(),
            target,
            settings: Some(TargetSettings::embedded()),
            secrets: Vec::new(),
            vars: BTreeMap::new(),
            diagnostics,
        });
    };
    let parsed = parse_file(db, file);
    let unresolved = |diagnostics| {
        Arc::new(ResolvedProfile {
            profile: String::new(),
            target: String::new(),
            settings: None,
            secrets: Vec::new(),
            vars: BTreeMap::new(),
            diagnostics,
        })
    };
    let Some(root) = &parsed.root else {
        return unresolved(diagnostics);
    };
    let Some(profiles) = root.as_mapping() else {
        diagnostics.push(
            Diagnostic::at(
                Code::WrongType,
                root.span,
                format!(
                    "profiles.yaml must be a mapping of profiles, found {}",
                    root.type_name()
                ),
            )
            .with_help(
                "start with `PROFILE_NAME:` and indent its `target:` and `outputs:` under it",
            ),
        );
        return unresolved(diagnostics);
    };
    let schema = profile_schema();
    let deferred = Default::default();
    for entry in &profiles.entries {
        let mut check = SchemaCheck::new(schema, &deferred);
        check.root_name = "the profile";
        check.check(&entry.value, &entry.key, entry.key_span);
        diagnostics.extend(check.diagnostics);
    }
    let names: Vec<&str> = profiles.keys().collect();
    let chosen: Option<&Entry> = match &settings.profile {
        Some(wanted) => {
            let found = profiles.entry(wanted);
            if found.is_none() {
                diagnostics.push(
                    Diagnostic::new(
                        Code::ProfileNotFound,
                        None,
                        format!("profile `{wanted}` not found in {}", file.path(db)),
                    )
                    .with_help(did_you_mean(wanted, &names)),
                );
            }
            found
        }
        None if profiles.entries.len() == 1 => profiles.entries.first(),
        None => {
            let project_name = settings.project_name.as_deref().unwrap_or_default();
            let found = profiles.entry(project_name).or_else(|| {
                profiles
                    .entries
                    .iter()
                    .filter(|entry| {
                        project_name
                            .strip_prefix(entry.key.as_str())
                            .is_some_and(|rest| rest.starts_with(['-', '_']))
                    })
                    .max_by_key(|entry| entry.key.len())
            });
            if found.is_none() {
                let span = profiles.entries.first().map(|e| e.key_span);
                diagnostics.push(
                    Diagnostic::new(
                        Code::ProfileNotFound,
                        span,
                        format!("cannot choose a profile: {} defines several and none is named after the project `{project_name}`", file.path(db)),
                    )
                    .with_help(format!("pass --profile with one of: {}", names.join(", "))),
                );
            }
            found
        }
    };
    let Some(chosen) = chosen else {
        return unresolved(diagnostics);
    };
    let Some(profile) = chosen.value.as_mapping() else {
        return unresolved(diagnostics);
    };
    let outputs = profile.get("outputs").and_then(Node::as_mapping);
    let target_names: Vec<&str> = outputs.map(|o| o.keys().collect()).unwrap_or_default();
    let (target, target_span) = match &settings.target {
        Some(target) => (target.clone(), None),
        None => match profile.get("target") {
            Some(node) => (
                node.as_str().unwrap_or_default().to_string(),
                Some(node.span),
            ),
            None => (String::new(), None),
        },
    };
    let Some(target_node) = outputs.and_then(|o| o.get(&target)) else {
        if !target.is_empty() || target_span.is_some() {
            let suggested_target =
                crate::diagnostics::suggest(&target, target_names.iter().copied());
            let help = if target_names.is_empty() {
                "define targets under `outputs:`".to_string()
            } else {
                match suggested_target {
                    Some(candidate) => format!(
                        "did you mean `{candidate}`? (available targets: {})",
                        target_names.join(", ")
                    ),
                    None => format!("available targets: {}", target_names.join(", ")),
                }
            };
            let mut diagnostic = Diagnostic::new(
                Code::TargetNotFound,
                target_span,
                format!("target `{target}` not found in profile `{}`", chosen.key),
            )
            .with_label("no such target")
            .with_help(help);
            if let (Some(span), Some(candidate)) = (target_span, suggested_target) {
                diagnostic = diagnostic.with_suggestion(span, candidate);
            }
            diagnostics.push(diagnostic);
        }
        return unresolved(diagnostics);
    };
    // Profile-level settings are defaults that each target overrides.
    let shared = Node {
        kind: NodeKind::Mapping(Mapping {
            entries: profile
                .entries
                .iter()
                .filter(|entry| entry.key != "target" && entry.key != "outputs")
                .cloned()
                .collect(),
        }),
        span: chosen.value.span,
    };
    let mut merged = merge_target(shared, target_node.clone());
    normalize_mlflow(&mut merged, &mut diagnostics);
    let rendered = render_tree(
        &mut merged,
        &TemplateContext {
            vars: &settings.vars,
            env: &settings.env,
            run_vars: &[],
        },
    );
    diagnostics.extend(rendered.diagnostics);
    let checked = check_target(&merged, file.text(db), &mut diagnostics);
    Arc::new(ResolvedProfile {
        profile: chosen.key.clone(),
        target,
        settings: checked.settings,
        secrets: rendered.secrets.into_iter().collect(),
        vars: target_vars(&merged),
        diagnostics,
    })
}

/// The scalars of a target's `vars:` as text (the schema check reports anything else).
fn target_vars(target: &Node) -> BTreeMap<String, String> {
    let Some(vars) = target.get_path(&["vars"]).and_then(Node::as_mapping) else {
        return BTreeMap::new();
    };
    vars.entries
        .iter()
        .filter_map(|entry| {
            let text = match &entry.value.kind {
                NodeKind::String(text) => text.clone(),
                NodeKind::Int(value) => value.to_string(),
                NodeKind::Float(value) => value.to_string(),
                NodeKind::Bool(value) => value.to_string(),
                _ => return None,
            };
            Some((entry.key.clone(), text))
        })
        .collect()
}

fn profile_schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(schema_of::<Profile>)
}
