//! LSP positions (line, UTF-16 code unit) and byte offsets of one text, both ways, and edits.
//!
//! Every conversion clamps: a position past the end of a line or of the text, or inside a
//! surrogate pair, maps to the nearest character boundary before it. No input panics.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};
use mbt_compiler::text::Span;

/// Line starts of one text, for converting offsets and positions.
pub struct LineMap<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineMap<'a> {
    pub fn new(text: &'a str) -> LineMap<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(offset, _)| offset + 1),
        );
        LineMap { text, line_starts }
    }

    /// The position of a byte offset (clamped to the text and to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let start = self.line_starts[line];
        let character = self.text[start..offset].encode_utf16().count();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of a position; past the end of a line means the line's end.
    pub fn offset(&self, position: Position) -> usize {
        let Some(start) = self.line_starts.get(position.line as usize).copied() else {
            return self.text.len();
        };
        let end = self
            .line_starts
            .get(position.line as usize + 1)
            .map(|next| next - 1)
            .unwrap_or(self.text.len());
        let mut units = 0usize;
        for (index, character) in self.text[start..end].char_indices() {
            let width = character.len_utf16();
            if units + width > position.character as usize {
                return start + index;
            }
            units += width;
        }
        end
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    pub fn span_range(&self, span: Span) -> Range {
        self.range(span.start as usize, span.end as usize)
    }

    /// The 0-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|start| *start <= offset.min(self.text.len()))
            - 1
    }

    /// Byte range of a 0-based line without its line break.
    pub fn line_bounds(&self, line: usize) -> (usize, usize) {
        let Some(start) = self.line_starts.get(line).copied() else {
            return (self.text.len(), self.text.len());
        };
        let end = self
            .line_starts
            .get(line + 1)
            .map(|next| next - 1)
            .unwrap_or(self.text.len());
        (start, end)
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// Applies one content change (a full replacement when it has no range).
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text.clone(),
        Some(range) => {
            let map = LineMap::new(text);
            let start = map.offset(range.start);
            let end = map.offset(range.end);
            let (start, end) = (start.min(end), start.max(end));
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns() {
        let text = "a: ä😀x\nb: 1";
        let map = LineMap::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(map.position(x), Position::new(0, 6));
        assert_eq!(map.offset(Position::new(0, 6)), x);
        // Inside the surrogate pair: the emoji's start.
        assert_eq!(map.offset(Position::new(0, 5)), text.find('😀').unwrap());
        assert_eq!(map.offset(Position::new(0, 99)), text.find('\n').unwrap());
        assert_eq!(map.offset(Position::new(9, 0)), text.len());
        assert_eq!(map.position(999), Position::new(1, 4));
        // Inside a multibyte character: its start.
        assert_eq!(
            map.position(text.find('ä').unwrap() + 1),
            Position::new(0, 3)
        );
    }

    #[test]
    fn applies_changes() {
        let mut text = String::from("a: 1\nb: ä\n");
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(1, 3), Position::new(1, 4))),
            range_length: None,
            text: "ö!".into(),
        };
        apply_change(&mut text, &change);
        assert_eq!(text, "a: 1\nb: ö!\n");
        let reversed = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(1, 0), Position::new(0, 0))),
            range_length: None,
            text: String::new(),
        };
        apply_change(&mut text, &reversed);
        assert_eq!(text, "b: ö!\n");
    }
}
