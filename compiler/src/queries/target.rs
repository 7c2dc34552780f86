//! A target's adapters against the adapter table: each `{type, config}` must name an adapter
//! MBT knows and this build runs, its config must fit the adapter's schema, and credentials must
//! be secret references. The plan's `mlflow:` and `h2o:` sections are normalized into adapter
//! settings first, keeping their spans for diagnostics. The result is the typed
//! [`TargetSettings`] the manifest carries.

use mbt_contract::adapters::{
    self, h2o_cluster_schema, looks_like_credential, AdapterKind, TargetSettings,
};
use mbt_contract::manifest::{parse_quantity, ALL_STEPS};
use mbt_contract::secret::{SecretRef, CREDENTIAL_KEYWORD};
use rustc_hash::FxHashSet;
use serde_json::{json, Map, Value};

use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::schema::check::SchemaCheck;
use crate::text::Span;
use crate::yaml::{Entry, Mapping, Node, NodeKind};

/// The target keys that choose an adapter, in the order the manifest lists them.
const ADAPTER_KEYS: &[AdapterKind] = &[
    AdapterKind::Executor,
    AdapterKind::Storage,
    AdapterKind::DataConnector,
    AdapterKind::ModelRegistry,
    AdapterKind::OutputWriter,
    AdapterKind::Secrets,
];

/// Target keys that choose an adapter only when present (no embedded default).
const OPTIONAL_ADAPTER_KEYS: &[AdapterKind] = &[AdapterKind::Metrics];

/// The key naming an adapter of `kind` in a target (`provider` for secrets, as in the plan).
pub fn tag_of(kind: AdapterKind) -> &'static str {
    if kind == AdapterKind::Secrets {
        "provider"
    } else {
        "type"
    }
}

/// Profile-level `shared` settings under a target's own: mappings merge deeply, except that an
/// adapter the target sets to another type replaces the shared one whole (a `base_path` of a
/// shared `local` storage means nothing to the target's `s3`).
pub fn merge_target(shared: Node, target: Node) -> Node {
    let (Some(shared_mapping), Some(target_mapping)) = (shared.as_mapping(), target.as_mapping())
    else {
        return super::compose::merge(shared, target);
    };
    let replaced: Vec<String> = ADAPTER_KEYS
        .iter()
        .chain(OPTIONAL_ADAPTER_KEYS)
        .filter_map(|kind| {
            let key = kind.as_str();
            let name = |mapping: &Mapping| {
                mapping
                    .get(key)
                    .and_then(|node| node.get_path(&[tag_of(*kind)]))
                    .and_then(Node::as_str)
                    .map(str::to_string)
            };
            match (name(shared_mapping), name(target_mapping)) {
                (Some(shared), Some(own)) if shared != own => Some(key.to_string()),
                _ => None,
            }
        })
        .collect();
    let shared = Node {
        kind: NodeKind::Mapping(Mapping {
            entries: shared_mapping
                .entries
                .iter()
                .filter(|entry| !replaced.contains(&entry.key))
                .cloned()
                .collect(),
        }),
        span: shared.span,
    };
    super::compose::merge(shared, target)
}

/// Turns the plan's `mlflow:` section into `model_registry: {type: mlflow, config: ...}` when
/// the target names no registry (the `type` points at the `mlflow` key), merges it into an
/// `mlflow` registry's config, and warns when another registry makes it unused.
pub fn normalize_mlflow(target: &mut Node, out: &mut Vec<Diagnostic>) {
    let NodeKind::Mapping(mapping) = &mut target.kind else {
        return;
    };
    let Some(position) = mapping.entries.iter().position(|e| e.key == "mlflow") else {
        return;
    };
    let mlflow = mapping.entries.remove(position);
    let registry = mapping
        .entries
        .iter_mut()
        .find(|entry| entry.key == "model_registry");
    match registry {
        None => mapping.entries.insert(
            position,
            Entry {
                key: "model_registry".into(),
                key_span: mlflow.key_span,
                value: Node {
                    kind: NodeKind::Mapping(Mapping {
                        entries: vec![
                            Entry {
                                key: "type".into(),
                                key_span: mlflow.key_span,
                                value: Node {
                                    kind: NodeKind::String("mlflow".into()),
                                    span: mlflow.key_span,
                                },
                            },
                            Entry {
                                key: "config".into(),
                                key_span: mlflow.key_span,
                                value: mlflow.value.clone(),
                            },
                        ],
                    }),
                    span: mlflow.value.span,
                },
            },
        ),
        Some(registry) => {
            let kind = registry
                .value
                .get_path(&["type"])
                .and_then(Node::as_str)
                .unwrap_or_default()
                .to_string();
            if kind == "mlflow" {
                let NodeKind::Mapping(settings) = &mut registry.value.kind else {
                    return;
                };
                match settings.entries.iter_mut().find(|e| e.key == "config") {
                    Some(config) => {
                        config.value = super::compose::merge(mlflow.value, config.value.clone())
                    }
                    None => settings.entries.push(Entry {
                        key: "config".into(),
                        key_span: mlflow.key_span,
                        value: mlflow.value,
                    }),
                }
            } else {
                out.push(
                    Diagnostic::at(
                        Code::UnusedSetting,
                        mlflow.key_span,
                        format!("`mlflow` is not used: the target's model registry is `{kind}`"),
                    )
                    .with_label("unused")
                    .with_secondary(registry.key_span, "the registry is chosen here")
                    .with_help(format!(
                        "remove `mlflow:`; runs are recorded in the `{kind}` registry"
                    )),
                );
            }
        }
    }
}

/// What checking a target's adapters found.
pub struct CheckedTarget {
    /// The typed settings (the embedded defaults for kinds the target leaves out); absent when
    /// any adapter has an error.
    pub settings: Option<TargetSettings>,
}

/// Checks every adapter of a rendered, normalized target. `source` is the text of the file the
/// target was written in (what a credential's value was written as, for the help line).
pub fn check_target(target: &Node, source: &str, out: &mut Vec<Diagnostic>) -> CheckedTarget {
    let Some(mapping) = target.as_mapping() else {
        return CheckedTarget { settings: None };
    };
    let before = out.iter().filter(|d| d.is_error()).count();
    let mut settings = Map::new();
    let mut complete = true;
    for kind in ADAPTER_KEYS {
        let value = match mapping.entry(kind.as_str()) {
            Some(entry) => check_adapter(*kind, entry, source, out),
            None => Some(json!({tag_of(*kind): default_name(*kind), "config": {}})),
        };
        match value {
            Some(value) => {
                settings.insert(kind.as_str().to_string(), value);
            }
            None => complete = false,
        }
    }
    for kind in OPTIONAL_ADAPTER_KEYS {
        if let Some(entry) = mapping.entry(kind.as_str()) {
            match check_adapter(*kind, entry, source, out) {
                Some(value) => {
                    settings.insert(kind.as_str().to_string(), value);
                }
                None => complete = false,
            }
        }
    }
    if let Some(h2o) = mapping.entry("h2o") {
        if let Some(value) = check_h2o(h2o, source, out) {
            settings.insert("h2o".into(), value);
        }
    }
    let failed = out.iter().filter(|d| d.is_error()).count() > before;
    if failed || !complete {
        return CheckedTarget { settings: None };
    }
    match serde_json::from_value::<TargetSettings>(Value::Object(settings)) {
        Ok(settings) => CheckedTarget {
            settings: Some(settings),
        },
        Err(error) => {
            out.push(
                Diagnostic::at(
                    Code::InternalError,
                    target.span,
                    format!("internal error: the checked target did not type: {error}"),
                )
                .with_help(format!(
                    "this is a bug in MBT {}; please report it at https://github.com/mbt-dev/mbt/issues with profiles.yaml",
                    env!("CARGO_PKG_VERSION")
                )),
            );
            CheckedTarget { settings: None }
        }
    }
}

/// The embedded default of each kind: local everything, no server.
fn default_name(kind: AdapterKind) -> &'static str {
    match kind {
        AdapterKind::DataConnector | AdapterKind::OutputWriter => "local_file",
        AdapterKind::Secrets => "env",
        _ => "local",
    }
}

/// One `kind: {type, config}` entry; its `{type, config}` JSON when it is runnable.
fn check_adapter(
    kind: AdapterKind,
    entry: &Entry,
    source: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let tag = tag_of(kind);
    // The profile schema reported a value that is not a mapping or lacks its tag.
    let name_node = entry.value.get_path(&[tag])?;
    let name = name_node.as_str()?;
    let empty = Node {
        kind: NodeKind::Mapping(Mapping::default()),
        span: name_node.span,
    };
    let config = entry.value.get_path(&["config"]).unwrap_or(&empty);
    let path = format!("{}.config", kind.as_str());
    let Some(spec) = adapters::adapter(kind, name) else {
        let known = adapters::known_names(kind);
        out.push(
            Diagnostic::at(
                Code::UnknownAdapter,
                name_node.span,
                format!("unknown {} `{name}`", kind.describe()),
            )
            .with_label(format!("not a known {}", kind.describe()))
            .with_did_you_mean(name, &known, name_node.span)
            .with_available(kind, name),
        );
        credentials_by_name(config, &path, name, source, out);
        return None;
    };
    if !spec.available {
        let mut diagnostic = not_available(kind, name, name_node.span);
        // The plan's `mlflow:` section chose the registry (see `normalize_mlflow`).
        if name_node.span == entry.key_span {
            diagnostic.message = "the `mlflow:` section makes MLflow the model registry, which is not available in this build".into();
            diagnostic.help = Some("remove `mlflow:` to record runs in the embedded local registry (`model_registry: {type: local}` is the default); see `mbt deps list`".into());
        }
        out.push(diagnostic);
    }
    let deferred = FxHashSet::default();
    let mut check = SchemaCheck::new(spec.config_schema(), &deferred);
    check.root_name = "the adapter config";
    check.check(config, &path, name_node.span);
    out.extend(check.diagnostics);
    credentials(
        config,
        spec.config_schema(),
        spec.config_schema(),
        &path,
        name,
        source,
        out,
    );
    if kind == AdapterKind::Executor {
        resources(config, out);
    }
    if kind == AdapterKind::ModelRegistry && name == "mlflow" {
        tracking_uri(config, source, out);
    }
    spec.available
        .then(|| json!({tag: name, "config": config.to_json()}))
}

/// The `mlflow` registry talks to a tracking server or serves a SQLite store; any other
/// scheme (a `file:` store, Databricks) would fail at run time.
fn tracking_uri(config: &Node, source: &str, out: &mut Vec<Diagnostic>) {
    let Some(node) = config.get_path(&["tracking_uri"]) else {
        return;
    };
    let Some(uri) = node.as_str() else {
        return;
    };
    let supported = ["http://", "https://", "sqlite:///"];
    // A template that did not render (MBT2103 says why) has no value to judge.
    let written = source
        .get(node.span.start as usize..node.span.end as usize)
        .unwrap_or_default();
    let unrendered = uri.is_empty() && written.contains("{{");
    if unrendered || uri.contains("{{") || supported.iter().any(|s| uri.starts_with(s)) {
        return;
    }
    out.push(
        Diagnostic::at(
            Code::UnsupportedUri,
            node.span,
            format!("MLflow tracking URI `{uri}` is not one MBT can use"),
        )
        .with_label("not http(s):// or sqlite:///")
        .with_help(
            "point at the tracking server (`http://HOST:5000`) or use a SQLite store \
             (`sqlite:///mlruns.db`, served by a local `mlflow server` for the run)",
        ),
    );
}

/// For an unknown adapter: without a close known name, the help lists what this build runs
/// (rather than every known name).
pub trait WithAvailable {
    fn with_available(self, kind: AdapterKind, name: &str) -> Self;
}

impl WithAvailable for Diagnostic {
    fn with_available(mut self, kind: AdapterKind, name: &str) -> Diagnostic {
        let known = adapters::known_names(kind);
        if crate::diagnostics::suggest(name, known.iter().copied()).is_none() {
            self.help = Some(format!(
                "available: {}; see `mbt deps list`",
                quoted(&adapters::available_names(kind))
            ));
        }
        self
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "`x` is not available in this build", with the available ones of its kind.
pub fn not_available(kind: AdapterKind, name: &str, span: Span) -> Diagnostic {
    let available = adapters::available_names(kind);
    Diagnostic::at(
        Code::NotAvailable,
        span,
        format!(
            "{} `{name}` is not available in this build",
            kind.describe()
        ),
    )
    .with_label("not in this build")
    .with_help(format!(
        "available: {}; see `mbt deps list`",
        quoted(&available)
    ))
}

/// The plan's `h2o:` section: the cluster of `h2o_automl` (or its local node's options); its
/// JSON when it checks.
fn check_h2o(entry: &Entry, source: &str, out: &mut Vec<Diagnostic>) -> Option<Value> {
    let before = out.iter().filter(|d| d.is_error()).count();
    let deferred = FxHashSet::default();
    let schema = h2o_cluster_schema();
    let mut check = SchemaCheck::new(schema, &deferred);
    check.root_name = "the h2o section";
    check.check(&entry.value, "h2o", entry.key_span);
    out.extend(check.diagnostics);
    credentials(&entry.value, schema, schema, "h2o", "h2o", source, out);
    let failed = out.iter().filter(|d| d.is_error()).count() > before;
    (!failed).then(|| entry.value.to_json())
}

/// Walks `node` along `schema`: a credential field must hold exactly a secret reference, and no
/// other field may hold one.
fn credentials(
    node: &Node,
    schema: &Value,
    root: &Value,
    path: &str,
    adapter: &str,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    let schema = resolve(schema, root);
    if is_credential(schema, root) {
        credential_value(node, path, adapter, source, out);
        return;
    }
    match &node.kind {
        NodeKind::Mapping(mapping) => {
            for entry in &mapping.entries {
                let child = format!("{path}.{}", entry.key);
                match property(schema, root, &entry.key) {
                    Some(sub) => credentials(&entry.value, sub, root, &child, adapter, source, out),
                    None => secrets_outside(&entry.value, &child, out),
                }
            }
        }
        _ => secrets_outside(node, path, out),
    }
}

/// For an adapter MBT does not know: keys named like credentials are treated as credentials.
fn credentials_by_name(
    node: &Node,
    path: &str,
    adapter: &str,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(mapping) = node.as_mapping() else {
        return;
    };
    for entry in &mapping.entries {
        let child = format!("{path}.{}", entry.key);
        if looks_like_credential(&entry.key) && entry.value.as_mapping().is_none() {
            credential_value(&entry.value, &child, adapter, source, out);
        } else {
            credentials_by_name(&entry.value, &child, adapter, source, out);
        }
    }
}

fn credential_value(
    node: &Node,
    path: &str,
    adapter: &str,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    if matches!(node.kind, NodeKind::Null) || node.as_str().and_then(SecretRef::parse).is_some() {
        return;
    }
    let key = path.rsplit('.').next().unwrap_or(path);
    let written = source
        .get(node.span.start as usize..node.span.end as usize)
        .unwrap_or_default();
    let (how, name) = match template_argument(written, "env_var") {
        Some(variable) => ("rendered from `env_var()` at compile time", variable),
        None => match template_argument(written, "var") {
            Some(variable) => (
                "rendered from `var()` at compile time",
                variable.to_ascii_uppercase(),
            ),
            None => (
                "a literal value",
                format!("{adapter}_{key}")
                    .to_ascii_uppercase()
                    .replace('-', "_"),
            ),
        },
    };
    // The value itself is never shown: it may be the secret.
    out.push(
        Diagnostic::at(
            Code::CredentialNotSecret,
            node.span,
            format!("credential `{path}` is not a secret reference"),
        )
        .with_label(format!("{how}; it would be written into the manifest"))
        .with_help(format!(
            "write `{key}: \"{}\"`; the `env` secrets provider reads the environment variable `{name}` at run time",
            SecretRef::new(name.clone())
        )),
    );
}

/// `{{ secret() }}` where nothing resolves it. `path` names `node` in the message; it is built
/// only when there is something to report (this walks every value of every pipeline).
pub fn secrets_outside(node: &Node, path: &str, out: &mut Vec<Diagnostic>) {
    let mut trail: Vec<Step<'_>> = Vec::new();
    walk_for_secrets(node, path, &mut trail, out);
}

/// One step from a walk's start to a node: a mapping key or a list index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn walk_for_secrets<'a>(
    node: &'a Node,
    start: &str,
    trail: &mut Vec<Step<'a>>,
    out: &mut Vec<Diagnostic>,
) {
    match &node.kind {
        NodeKind::String(text) if SecretRef::appears_in(text) => {
            let mut path = start.to_string();
            for step in trail.iter() {
                match step {
                    Step::Key(key) => {
                        path.push('.');
                        path.push_str(key);
                    }
                    Step::Index(index) => path.push_str(&format!("[{index}]")),
                }
            }
            out.push(
                Diagnostic::at(
                    Code::SecretOutsideCredential,
                    node.span,
                    format!("`{path}` is not a credential field, so its secret reference would be used as text"),
                )
                .with_label("not resolved here")
                .with_help("put the secret alone in the adapter's credential field (e.g. `password:` or `token:`), and keep this value free of secrets"),
            );
        }
        NodeKind::Mapping(mapping) => {
            for entry in &mapping.entries {
                trail.push(Step::Key(&entry.key));
                walk_for_secrets(&entry.value, start, trail, out);
                trail.pop();
            }
        }
        NodeKind::Sequence(items) => {
            for (index, item) in items.iter().enumerate() {
                trail.push(Step::Index(index));
                walk_for_secrets(item, start, trail, out);
                trail.pop();
            }
        }
        _ => {}
    }
}

/// The quoted argument of `function('X')` in template text, if that is what it calls.
fn template_argument(text: &str, function: &str) -> Option<String> {
    let start = text.find(&format!("{function}("))? + function.len() + 1;
    // `env_var(` also contains `var(`: only a call at the start of a name counts.
    if start > function.len() + 1 {
        let before = text.as_bytes()[start - function.len() - 2];
        if before.is_ascii_alphanumeric() || before == b'_' {
            return None;
        }
    }
    let rest = text[start..].trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_string())
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match reference
            .strip_prefix("#/definitions/")
            .and_then(|name| root.get("definitions")?.get(name))
        {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// A credential field, also as `Option<credential>` (`anyOf: [credential, null]`).
fn is_credential(schema: &Value, root: &Value) -> bool {
    if schema.get(CREDENTIAL_KEYWORD) == Some(&Value::Bool(true)) {
        return true;
    }
    ["anyOf", "oneOf"].iter().any(|key| {
        schema
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|branches| {
                branches.iter().any(|branch| {
                    resolve(branch, root).get(CREDENTIAL_KEYWORD) == Some(&Value::Bool(true))
                })
            })
    })
}

fn property<'a>(schema: &'a Value, root: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(sub) = schema.get("properties").and_then(|p| p.get(key)) {
        return Some(sub);
    }
    if let Some(sub @ Value::Object(_)) = schema.get("additionalProperties") {
        return Some(sub);
    }
    ["anyOf", "oneOf", "allOf"].iter().find_map(|combinator| {
        schema
            .get(*combinator)?
            .as_array()?
            .iter()
            .find_map(|branch| property(resolve(branch, root), root, key))
    })
}

/// An executor's `resources`: step names (or `default`) with memory quantities.
fn resources(config: &Node, out: &mut Vec<Diagnostic>) {
    let Some(resources) = config.get_path(&["resources"]).and_then(Node::as_mapping) else {
        return;
    };
    for entry in &resources.entries {
        if entry.key != "default" && !ALL_STEPS.contains(&entry.key.as_str()) {
            let mut names = vec!["default"];
            names.extend_from_slice(ALL_STEPS);
            out.push(
                Diagnostic::at(
                    Code::UnknownStep,
                    entry.key_span,
                    format!(
                        "unknown step `{}` in `executor.config.resources`",
                        entry.key
                    ),
                )
                .with_label("not a step name")
                .with_help(did_you_mean(&entry.key, &names)),
            );
        }
        if let Some(memory) = entry.value.get_path(&["memory"]) {
            if let Some(text) = memory.as_str() {
                if parse_quantity(text).is_none() {
                    out.push(Diagnostic::invalid_quantity(memory.span, text));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::template_argument;

    #[test]
    fn template_arguments() {
        assert_eq!(
            template_argument("{{ env_var('PG_PASSWORD') }}", "env_var").as_deref(),
            Some("PG_PASSWORD")
        );
        assert_eq!(template_argument("{{ env_var('PG') }}", "var"), None);
        assert_eq!(
            template_argument("{{ var(\"pw\") }}", "var").as_deref(),
            Some("pw")
        );
        assert_eq!(template_argument("hunter2", "env_var"), None);
    }
}
