//! Just enough Python to know which top-level functions a `lib/` module defines.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_defs_only() {
        let text = "import x\ndef a(df, ctx):\n    def inner():\n        pass\nasync def b (x):\n    pass\nclass C:\n    def m(self): pass\n";
        assert_eq!(top_level_functions(text), vec!["a", "b"]);
    }
}
