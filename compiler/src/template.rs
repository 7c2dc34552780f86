//! Templating inside scalars: `{{ var('k') }}`, `{{ env_var('K') }}`, `{{ secret('K') }}`.
//!
//! Rendering runs after parsing and merging, one scalar at a time, so spans survive. Secrets are
//! never resolved here: `secret('K')` renders as the literal reference `{{ secret('K') }}` for the
//! runtime's secrets provider. A `var` with no value and no default is likewise kept as
//! `{{ var('k') }}` for run time, with a warning. A scalar that was templated is re-typed by the
//! YAML core schema after rendering (`"{{ var('n', 3) }}"` is the integer 3).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use mbt_contract::secret::SecretRef;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use rustc_hash::FxHashSet;

use crate::diagnostics::{suggest, Code, Diagnostic};
use crate::text::Span;
use crate::yaml::{resolve_plain_scalar, Mapping, Node, NodeKind, ScalarValue};

pub const FUNCTIONS: &[&str] = &["var", "env_var", "secret"];

/// Values the templates may read.
pub struct TemplateContext<'a> {
    pub vars: &'a BTreeMap<String, String>,
    pub env: &'a BTreeMap<String, String>,
    /// Variables declared as given at run time (a pipeline's `run_vars`): unset, they stay
    /// references without a warning.
    pub run_vars: &'a [String],
}

/// What rendering a tree produced besides the tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    /// Scalars still holding a `var` reference for run time.
    pub deferred: FxHashSet<Span>,
    /// Names passed to `secret()`.
    pub secrets: BTreeSet<String>,
    /// Variables used, with the value they had (`None` when left for run time).
    pub vars: BTreeMap<String, Option<String>>,
    /// Names of environment variables read.
    pub env_vars: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Default)]
struct State {
    deferred: bool,
    secrets: BTreeSet<String>,
    vars: BTreeMap<String, Option<String>>,
    env_vars: BTreeSet<String>,
    unset_vars: Vec<String>,
    unset_env: Vec<String>,
}

/// Renders every templated scalar of `node` in place.
pub fn render_tree(node: &mut Node, context: &TemplateContext<'_>) -> Rendered {
    let mut rendered = Rendered::default();
    if !contains_template(node) {
        return rendered;
    }
    let state = Arc::new(Mutex::new(State::default()));
    let environment = environment(context, &state);
    render_node(node, &environment, &state, &mut rendered);
    let state = state
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    rendered.secrets = state.secrets;
    rendered.vars = state.vars;
    rendered.env_vars = state.env_vars;
    rendered
}

fn contains_template(node: &Node) -> bool {
    match &node.kind {
        NodeKind::String(text) => is_template(text),
        NodeKind::Sequence(items) => items.iter().any(contains_template),
        NodeKind::Mapping(Mapping { entries }) => {
            entries.iter().any(|e| contains_template(&e.value))
        }
        _ => false,
    }
}

fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

fn environment<'a>(context: &TemplateContext<'_>, state: &Arc<Mutex<State>>) -> Environment<'a> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    let vars = context.vars.clone();
    let run_vars = context.run_vars.to_vec();
    let var_state = state.clone();
    environment.add_function(
        "var",
        move |name: String, default: Option<Value>| -> Value {
            let mut state = var_state.lock().expect("template state");
            if let Some(value) = vars.get(&name) {
                state.vars.insert(name, Some(value.clone()));
                return Value::from(value.clone());
            }
            if let Some(default) = default {
                state.vars.insert(name, Some(default.to_string()));
                return default;
            }
            state.deferred = true;
            state.vars.entry(name.clone()).or_insert(None);
            if !run_vars.contains(&name) {
                state.unset_vars.push(name.clone());
            }
            Value::from(format!("{{{{ var('{name}') }}}}"))
        },
    );
    let env = context.env.clone();
    let env_state = state.clone();
    environment.add_function(
        "env_var",
        move |name: String, default: Option<Value>| -> Value {
            let mut state = env_state.lock().expect("template state");
            state.env_vars.insert(name.clone());
            if let Some(value) = env.get(&name) {
                return Value::from(value.clone());
            }
            if let Some(default) = default {
                return default;
            }
            state.unset_env.push(name);
            Value::from("")
        },
    );
    let secret_state = state.clone();
    environment.add_function(
        "secret",
        move |name: String| -> Result<Value, minijinja::Error> {
            let reference = SecretRef::new(name.clone()).to_string();
            if SecretRef::parse(&reference).is_none() {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "`{name}` is not a secret name: use letters, digits, `_`, `-`, `.` or `/`"
                    ),
                ));
            }
            let mut state = secret_state.lock().expect("template state");
            state.secrets.insert(name);
            Ok(Value::from(reference))
        },
    );
    environment
}

fn render_node(
    node: &mut Node,
    environment: &Environment<'_>,
    state: &Arc<Mutex<State>>,
    out: &mut Rendered,
) {
    match &mut node.kind {
        NodeKind::String(text) if is_template(text) => {
            let source = text.clone();
            match environment.render_str(&source, ()) {
                Ok(output) => {
                    let (deferred, unset_vars, unset_env) = {
                        let mut state = state.lock().expect("template state");
                        (
                            std::mem::take(&mut state.deferred),
                            std::mem::take(&mut state.unset_vars),
                            std::mem::take(&mut state.unset_env),
                        )
                    };
                    for name in unset_vars {
                        out.diagnostics.push(
                            Diagnostic::at(Code::VarNotSet, node.span, format!("variable `{name}` is not set"))
                                .with_label("left for run time")
                                .with_help(format!(
                                    "declare it given at run time with `run_vars: [{name}]`, pass `--vars {name}=VALUE`, or give a default: `{{{{ var('{name}', 'VALUE') }}}}`"
                                )),
                        );
                    }
                    let failed = !unset_env.is_empty();
                    for name in unset_env {
                        out.diagnostics.push(
                            Diagnostic::at(
                                Code::EnvVarNotSet,
                                node.span,
                                format!("environment variable `{name}` is not set"),
                            )
                            .with_label("read here")
                            .with_help(format!(
                                "export `{name}`, or give a default: `{{{{ env_var('{name}', 'VALUE') }}}}`"
                            )),
                        );
                    }
                    if deferred {
                        out.deferred.insert(node.span);
                        node.kind = NodeKind::String(output);
                    } else if failed || SecretRef::appears_in(&output) {
                        node.kind = NodeKind::String(output);
                    } else {
                        node.kind = match resolve_plain_scalar(&output) {
                            ScalarValue::Null => NodeKind::Null,
                            ScalarValue::Bool(value) => NodeKind::Bool(value),
                            ScalarValue::Int(value) => NodeKind::Int(value),
                            ScalarValue::Float(value) => NodeKind::Float(value),
                            ScalarValue::String => NodeKind::String(output),
                        };
                    }
                }
                Err(error) => {
                    if let Ok(mut state) = state.lock() {
                        *state = State {
                            secrets: std::mem::take(&mut state.secrets),
                            vars: std::mem::take(&mut state.vars),
                            env_vars: std::mem::take(&mut state.env_vars),
                            ..State::default()
                        };
                    }
                    out.diagnostics
                        .push(template_error(&source, &error, node.span));
                }
            }
        }
        NodeKind::Sequence(items) => {
            for item in items {
                render_node(item, environment, state, out);
            }
        }
        NodeKind::Mapping(mapping) => {
            for entry in &mut mapping.entries {
                render_node(&mut entry.value, environment, state, out);
            }
        }
        _ => {}
    }
}

fn template_error(source: &str, error: &minijinja::Error, span: Span) -> Diagnostic {
    let unknown = called_names(source)
        .into_iter()
        .find(|name| !FUNCTIONS.contains(&name.as_str()));
    match (error.kind(), unknown) {
        (ErrorKind::UnknownFunction, Some(name)) | (ErrorKind::UndefinedError, Some(name)) => {
            let help = match suggest(&name, FUNCTIONS.iter().copied()) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => "available functions: var, env_var, secret".to_string(),
            };
            Diagnostic::at(
                Code::TemplateError,
                span,
                format!("unknown template function `{name}`"),
            )
            .with_label("called here")
            .with_help(help)
        }
        (ErrorKind::UndefinedError, None) => Diagnostic::at(
            Code::TemplateError,
            span,
            "undefined name in template".to_string(),
        )
        .with_label("undefined")
        .with_help("templates read values through var('k'), env_var('K') or secret('K')"),
        _ => Diagnostic::at(
            Code::TemplateError,
            span,
            format!(
                "invalid template: {}",
                error.detail().unwrap_or(&error.kind().to_string())
            ),
        )
        .with_label("in this template")
        .with_help("write `{{ var('name') }}`, `{{ env_var('NAME') }}` or `{{ secret('NAME') }}`"),
    }
}

/// Identifiers directly followed by `(` inside `{{ ... }}`.
fn called_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = source.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index].is_ascii_alphabetic() || bytes[index] == b'_' {
            let start = index;
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_')
            {
                index += 1;
            }
            let mut after = index;
            while after < bytes.len() && bytes[after] == b' ' {
                after += 1;
            }
            if after < bytes.len() && bytes[after] == b'(' {
                names.push(source[start..index].to_string());
            }
        } else {
            index += 1;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::FileId;

    fn render(text: &str, vars: &[(&str, &str)], env: &[(&str, &str)]) -> (Node, Rendered) {
        let mut node = crate::yaml::parse(FileId(0), text).root.unwrap();
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let rendered = render_tree(
            &mut node,
            &TemplateContext {
                vars: &vars,
                env: &env,
                run_vars: &["given_later".to_string()],
            },
        );
        (node, rendered)
    }

    #[test]
    fn vars_env_and_secrets() {
        let (node, rendered) = render(
            "a: \"{{ var('n', 3) }}\"\nb: \"{{ env_var('HOME_X') }}/x\"\nc: \"{{ secret('PW') }}\"\nd: \"{{ var('run') }}\"\n",
            &[],
            &[("HOME_X", "/h")],
        );
        assert_eq!(node.get_path(&["a"]).unwrap().kind, NodeKind::Int(3));
        assert_eq!(node.get_path(&["b"]).unwrap().as_str(), Some("/h/x"));
        assert_eq!(
            node.get_path(&["c"]).unwrap().as_str(),
            Some("{{ secret('PW') }}")
        );
        assert_eq!(
            node.get_path(&["d"]).unwrap().as_str(),
            Some("{{ var('run') }}")
        );
        assert!(rendered.secrets.contains("PW"));
        assert_eq!(rendered.deferred.len(), 1);
        assert_eq!(rendered.diagnostics.len(), 1);
        assert_eq!(rendered.diagnostics[0].code, Code::VarNotSet);
    }

    #[test]
    fn declared_run_vars_stay_references_without_a_warning() {
        let (node, rendered) = render("a: \"{{ var('given_later') }}\"\n", &[], &[]);
        assert_eq!(
            node.get_path(&["a"]).unwrap().as_str(),
            Some("{{ var('given_later') }}")
        );
        assert_eq!(rendered.deferred.len(), 1);
        assert!(
            rendered.diagnostics.is_empty(),
            "{:?}",
            rendered.diagnostics
        );
    }

    #[test]
    fn unknown_function_suggests() {
        let (_, rendered) = render("a: \"{{ vars('x') }}\"\n", &[], &[]);
        assert_eq!(rendered.diagnostics[0].code, Code::TemplateError);
        assert_eq!(
            rendered.diagnostics[0].help.as_deref(),
            Some("did you mean `var`?")
        );
    }
}
