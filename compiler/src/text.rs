//! Source positions: file ids, byte ranges, and line/column lookup.
//!
//! Everything the compiler reports points at a [`Span`]: a file id plus a byte range. Line and
//! column numbers are computed only when rendering, through [`LineIndex`].

/// Opaque id of a source file. Hosts assign ids; the compiler only compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range inside one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Span {
        debug_assert!(start <= end);
        Span { file, start, end }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// 1-based line and column; the column counts characters (Unicode scalar values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

/// Maps byte offsets of one text to lines and columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineIndex {
    line_starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(offset, _)| offset as u32 + 1),
        );
        LineIndex { line_starts }
    }

    /// Line and character column (both 1-based) of a byte offset.
    pub fn line_column(&self, text: &str, offset: u32) -> LineColumn {
        let offset = offset.min(text.len() as u32);
        let line = self.line_starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let column = text[line_start..end].chars().count() as u32 + 1;
        LineColumn {
            line: line as u32 + 1,
            column,
        }
    }

    /// Byte offset of the start of a 1-based line, if it exists.
    pub fn line_start(&self, line: u32) -> Option<u32> {
        self.line_starts.get(line.checked_sub(1)? as usize).copied()
    }

    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }
}

/// Converts saphyr's character indices to byte offsets of one text.
pub(crate) struct CharToByte<'a> {
    text: &'a str,
    /// Byte offset of every character, only built for non-ASCII texts.
    offsets: Option<Vec<u32>>,
}

impl<'a> CharToByte<'a> {
    pub(crate) fn new(text: &'a str) -> CharToByte<'a> {
        let offsets = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(offset, _)| offset as u32)
                .collect()
        });
        CharToByte { text, offsets }
    }

    pub(crate) fn byte(&self, char_index: usize) -> u32 {
        match &self.offsets {
            None => char_index.min(self.text.len()) as u32,
            Some(offsets) => offsets
                .get(char_index)
                .copied()
                .unwrap_or(self.text.len() as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_columns_count_characters() {
        let text = "a: 1\nnäme: x\n";
        let index = LineIndex::new(text);
        assert_eq!(
            index.line_column(text, 0),
            LineColumn { line: 1, column: 1 }
        );
        let x = text.find('x').unwrap() as u32;
        assert_eq!(
            index.line_column(text, x),
            LineColumn { line: 2, column: 7 }
        );
    }

    #[test]
    fn char_to_byte_handles_multibyte() {
        let map = CharToByte::new("äb");
        assert_eq!(map.byte(0), 0);
        assert_eq!(map.byte(1), 2);
        assert_eq!(map.byte(2), 3);
    }
}
