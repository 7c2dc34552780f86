//! Just enough Python to know which top-level functions a `lib/` module defines, and the
//! columns a transform declares in its docstring (`Adds columns: a, b` / `Removes columns: c`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::db::{Db, SourceFile};

/// Names of top-level functions of a Python module.
#[salsa::tracked]
pub fn python_functions(db: &dyn Db, file: SourceFile) -> Arc<Vec<String>> {
    Arc::new(top_level_functions(file.text(db)))
}

/// Names of top-level `def NAME(` / `async def NAME(` lines.
pub fn top_level_functions(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.strip_prefix("async ").unwrap_or(line);
            let rest = line.strip_prefix("def ")?;
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            rest[end..]
                .trim_start()
                .starts_with('(')
                .then(|| rest[..end].to_string())
        })
        .collect()
}

/// The columns a transform function declares it adds and removes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnEffects {
    pub adds: Vec<String>,
    pub removes: Vec<String>,
}

/// Declared column effects of a module's top-level functions, by function name. A function
/// whose docstring has neither line is absent (its output columns are unknown).
#[salsa::tracked]
pub fn python_column_effects(
    db: &dyn Db,
    file: SourceFile,
) -> Arc<BTreeMap<String, ColumnEffects>> {
    Arc::new(column_effects(file.text(db)))
}

/// Reads `Adds columns:` / `Removes columns:` lines from each top-level function's docstring.
pub fn column_effects(text: &str) -> BTreeMap<String, ColumnEffects> {
    let lines: Vec<&str> = text.lines().collect();
    let mut effects = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = top_level_functions(lines[i]).pop() else {
            i += 1;
            continue;
        };
        // The signature may span lines; the body starts after the line ending in `:` (a
        // trailing comment aside). A signature never reaches an unindented line.
        let ends_signature = |line: &str| {
            let code = line.split(" #").next().unwrap_or(line);
            code.trim_end().ends_with(':')
        };
        let start = i;
        while i < lines.len() && !ends_signature(lines[i]) {
            i += 1;
            if i < lines.len() && !lines[i].starts_with([' ', '\t', ')']) {
                break;
            }
        }
        if i >= lines.len() || !ends_signature(lines[i]) {
            i = start + 1;
            continue;
        }
        i += 1;
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        let Some(first) = lines.get(i).map(|line| line.trim_start()) else {
            break;
        };
        let quote = ["\"\"\"", "'''", "r\"\"\"", "r'''"]
            .into_iter()
            .find(|q| first.starts_with(q));
        let Some(quote) = quote else {
            continue;
        };
        let closing = &quote[quote.len() - 3..];
        let mut doc = Vec::new();
        let mut rest = &first[quote.len()..];
        loop {
            if let Some(end) = rest.find(closing) {
                doc.push(&rest[..end]);
                break;
            }
            doc.push(rest);
            i += 1;
            match lines.get(i) {
                Some(line) => rest = line,
                None => break,
            }
        }
        let mut found = ColumnEffects::default();
        let mut declared = false;
        let mut malformed = false;
        for line in doc {
            let line = line.trim();
            for (prefix, list) in [
                ("adds columns:", &mut found.adds),
                ("removes columns:", &mut found.removes),
            ] {
                let Some(head) = line.get(..prefix.len()) else {
                    continue;
                };
                if head.eq_ignore_ascii_case(prefix) {
                    declared = true;
                    let rest = line[prefix.len()..].trim().trim_end_matches('.');
                    let names: Vec<&str> = rest
                        .split(',')
                        .map(|c| c.trim().trim_matches('`').trim())
                        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("none"))
                        .collect();
                    // Only a plain list of names on one line is a declaration; anything else
                    // (a wrapped list, annotations) leaves the function undeclared.
                    let plain = !rest.ends_with(',')
                        && names
                            .iter()
                            .all(|name| name.chars().all(|c| c.is_alphanumeric() || c == '_'));
                    if !plain {
                        malformed = true;
                    }
                    list.extend(names.into_iter().map(str::to_string));
                }
            }
        }
        if declared && !malformed {
            effects.insert(name, found);
        }
        i += 1;
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declared_columns_from_docstrings() {
        let text = "def a(df, ctx):\n    \"\"\"Adds things.\n\n    Adds columns: `x`, y.\n    Removes columns: z\n    \"\"\"\n    return df\n\ndef b(\n    df,\n    ctx,\n):\n    '''Adds columns: none'''\n\ndef c(df, ctx):\n    return df\n";
        let effects = column_effects(text);
        assert_eq!(
            effects.get("a"),
            Some(&ColumnEffects {
                adds: vec!["x".into(), "y".into()],
                removes: vec!["z".into()],
            })
        );
        assert_eq!(effects.get("b"), Some(&ColumnEffects::default()));
        assert!(!effects.contains_key("c"));
        // A comment after the signature; a wrapped or annotated list leaves it undeclared; the
        // next function's docstring is never borrowed.
        let text = "def d(df, ctx):  # noqa: ARG001\n    \"\"\"Adds columns: x\"\"\"\n\ndef e(df, ctx):\n    \"\"\"Adds columns: a,\n        b\"\"\"\n\ndef f(df, ctx):\n    \"\"\"Adds columns: x (float)\"\"\"\n\ndef g(df, ctx): return df\n\ndef h(df, ctx):\n    \"\"\"Removes columns: y\"\"\"\n";
        let effects = column_effects(text);
        assert_eq!(effects["d"].adds, ["x"]);
        assert!(!effects.contains_key("e") && !effects.contains_key("f"));
        assert!(!effects.contains_key("g"), "{effects:?}");
        assert_eq!(effects["h"].removes, ["y"]);
    }

    #[test]
    fn finds_top_level_defs_only() {
        let text = "import x\ndef a(df, ctx):\n    def inner():\n        pass\nasync def b (x):\n    pass\nclass C:\n    def m(self): pass\n";
        assert_eq!(top_level_functions(text), vec!["a", "b"]);
    }
}
