//! Custom function references (`lib.module.function`): the module is a project file and
//! defines the function.

use crate::db::Db;
use crate::diagnostics::{suggest, Code, Diagnostic};
use crate::queries::python::python_functions;
use crate::yaml::Node;

/// Checks `lib.module.function`: the module file exists and defines the function.
pub fn custom_function(db: &dyn Db, node: &Node, out: &mut Vec<Diagnostic>) {
    let Some(reference) = node.as_str() else {
        return;
    };
    let parts: Vec<&str> = reference.split('.').collect();
    let valid_identifier = |part: &&str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !part.starts_with(|c: char| c.is_ascii_digit())
    };
    if parts.len() < 2 || !parts.iter().all(valid_identifier) {
        out.push(
            Diagnostic::at(
                Code::InvalidFunctionReference,
                node.span,
                format!("`{reference}` is not a function reference"),
            )
            .with_label("expected `package.module.function`")
            .with_help(
                "write the module path and function, e.g. `lib.custom_transforms.compute_rfm`",
            ),
        );
        return;
    }
    let (function, module) = parts.split_last().expect("two parts");
    let module_path = module.join("/");
    let files = db.project().files(db);
    let file = files
        .get(&format!("{module_path}.py"))
        .or_else(|| files.get(&format!("{module_path}/__init__.py")))
        .copied();
    let Some(file) = file else {
        let modules: Vec<String> = files
            .keys()
            .filter_map(|path| path.strip_suffix(".py"))
            .map(|path| path.trim_end_matches("/__init__").replace('/', "."))
            .collect();
        let wanted = module.join(".");
        let candidate = suggest(&wanted, modules.iter().map(String::as_str));
        let help = match candidate {
            Some(candidate) => format!("did you mean `{candidate}.{function}`?"),
            None => format!("create `{module_path}.py` defining `def {function}(...)`"),
        };
        let mut diagnostic = Diagnostic::at(
            Code::CustomModuleNotFound,
            node.span,
            format!("module `{wanted}` not found (no `{module_path}.py`)"),
        )
        .with_label("module not found")
        .with_help(help);
        if let Some(candidate) = candidate {
            diagnostic = diagnostic.with_suggestion(node.span, format!("{candidate}.{function}"));
        }
        out.push(diagnostic);
        return;
    };
    let functions = python_functions(db, file);
    if !functions.iter().any(|name| name == function) {
        let names: Vec<&str> = functions.iter().map(String::as_str).collect();
        let candidate = suggest(function, names.iter().copied());
        let help = match candidate {
            Some(candidate) => format!("did you mean `{}.{candidate}`?", module.join(".")),
            None if names.is_empty() => format!(
                "`{}` defines no functions; add `def {function}(df, context):`",
                file.path(db)
            ),
            None => format!("functions in `{}`: {}", file.path(db), names.join(", ")),
        };
        let mut diagnostic = Diagnostic::at(
            Code::CustomFunctionNotFound,
            node.span,
            format!("`{}` defines no function `{function}`", file.path(db)),
        )
        .with_label("function not found")
        .with_help(help);
        if let Some(candidate) = candidate {
            diagnostic =
                diagnostic.with_suggestion(node.span, format!("{}.{candidate}", module.join(".")));
        }
        out.push(diagnostic);
    }
}
