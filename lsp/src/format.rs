//! Formatting that keeps comments: trailing whitespace removed, one final newline, no
//! trailing blank lines. Conservative by design: it refuses (returns no edits) when the file
//! does not parse or when the result would parse to a different value (e.g. trailing spaces
//! inside a block scalar are content).

use lsp_types::{DocumentFormattingParams, Position, Range, TextEdit};
use mbt_compiler::text::FileId;
use mbt_compiler::yaml;

use crate::position::LineMap;
use crate::server::Snapshot;

pub fn formatting(snapshot: &Snapshot, _params: DocumentFormattingParams) -> Option<Vec<TextEdit>> {
    let file = snapshot.file()?;
    let text = file.text(&snapshot.db).clone();
    let formatted = format(&text)?;
    if formatted == *text {
        return Some(Vec::new());
    }
    let map = LineMap::new(&text);
    let end = map.position(text.len());
    Some(vec![TextEdit::new(
        Range::new(Position::new(0, 0), end),
        formatted,
    )])
}

/// The formatted text, or `None` when formatting could change the meaning.
pub fn format(text: &str) -> Option<String> {
    let before = yaml::parse(FileId(0), text);
    if !before.errors.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_end_matches([' ', '\t', '\r']));
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.trim().is_empty() {
        return Some(text.to_string());
    }
    let after = yaml::parse(FileId(0), &out);
    let same = after.errors.is_empty()
        && before.root.as_ref().map(yaml::Node::to_json)
            == after.root.as_ref().map(yaml::Node::to_json);
    same.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn strips_trailing_space_and_keeps_comments() {
        let text = "# top  \na: 1   \n\n# c\nb:\n  - x  \n\n\n";
        assert_eq!(format(text).unwrap(), "# top\na: 1\n\n# c\nb:\n  - x\n");
        // Trailing spaces inside a literal block are content: refused.
        assert_eq!(format("a: |\n  x  \n  y\n"), None);
        assert_eq!(format("a: [\n"), None);
    }
}
