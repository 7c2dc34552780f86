//! Event-driven builder of the [`Node`] tree from `saphyr-parser` events.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as SaphyrSpan, StrInput, Tag};

use super::node::{Entry, Mapping, Node, NodeKind};
use super::scalar::{resolve_plain_scalar, ScalarValue};
use crate::text::{CharToByte, FileId, Span};

/// The result of parsing one file: the tree (absent when the file is empty or has a syntax
/// error) and every problem found.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<YamlError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub span: Span,
    pub message: String,
    /// A second location, e.g. the first occurrence of a duplicate key.
    pub related: Option<Span>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlErrorKind {
    Syntax,
    DuplicateKey,
    NonStringKey,
    UnknownTag,
    IncludeNotScalar,
    MultipleDocuments,
}

/// Parses `text` (the contents of file `file`) into a node tree. Never panics on any input.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut builder = Builder {
        file,
        events: Parser::new_from_str(text),
        chars: CharToByte::new(text),
        errors: Vec::new(),
        anchors: FxHashMap::default(),
        failed: false,
    };
    let root = builder.stream();
    let root = if builder.failed { None } else { root };
    Parsed {
        root,
        errors: builder.errors,
    }
}

struct Builder<'a> {
    file: FileId,
    events: Parser<'a, StrInput<'a>>,
    chars: CharToByte<'a>,
    errors: Vec<YamlError>,
    anchors: FxHashMap<usize, Node>,
    failed: bool,
}

impl<'a> Builder<'a> {
    fn span(&self, span: SaphyrSpan) -> Span {
        let start = self.chars.byte(span.start.index());
        let end = self.chars.byte(span.end.index()).max(start);
        Span::new(self.file, start, end)
    }

    fn next(&mut self) -> Option<(Event<'a>, SaphyrSpan)> {
        if self.failed {
            return None;
        }
        match self.events.next_event()? {
            Ok(event) => Some(event),
            Err(error) => {
                self.syntax_error(&error);
                None
            }
        }
    }

    fn syntax_error(&mut self, error: &ScanError) {
        let start = self.chars.byte(error.marker().index());
        self.errors.push(YamlError {
            kind: YamlErrorKind::Syntax,
            span: Span::new(self.file, start, start),
            message: error.info().to_string(),
            related: None,
        });
        self.failed = true;
    }

    fn stream(&mut self) -> Option<Node> {
        let mut root = None;
        let mut documents = 0;
        while let Some((event, span)) = self.next() {
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    let Some((event, span)) = self.next() else {
                        break;
                    };
                    let node = self.node(event, span)?;
                    if documents == 1 {
                        root = Some(node);
                    } else {
                        self.errors.push(YamlError {
                            kind: YamlErrorKind::MultipleDocuments,
                            span: node.span,
                            message: "a pipeline file holds one YAML document".into(),
                            related: None,
                        });
                    }
                }
                Event::StreamEnd => break,
                Event::DocumentEnd | Event::StreamStart | Event::Nothing => {}
                other => {
                    // Should not happen with a well-formed event stream; keep going.
                    let _ = (other, span);
                }
            }
        }
        root
    }

    fn node(&mut self, event: Event<'a>, span: SaphyrSpan) -> Option<Node> {
        let start_span = self.span(span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = self.scalar(text, style, tag, start_span);
                self.remember(anchor, &node);
                Some(node)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                let mut end = start_span.end;
                loop {
                    let (event, span) = self.next()?;
                    if let Event::SequenceEnd = event {
                        break;
                    }
                    let item = self.node(event, span)?;
                    end = end.max(item.span.end);
                    items.push(item);
                }
                let node = Node {
                    kind: NodeKind::Sequence(items),
                    span: Span::new(self.file, start_span.start, end),
                };
                self.check_container_tag(tag, &node);
                self.remember(anchor, &node);
                Some(node)
            }
            Event::MappingStart(anchor, tag) => {
                let mut mapping = Mapping::default();
                let mut end = start_span.end;
                loop {
                    let (event, span) = self.next()?;
                    if let Event::MappingEnd = event {
                        break;
                    }
                    let key = self.node(event, span)?;
                    let (value_event, value_span) = self.next()?;
                    let value = self.node(value_event, value_span)?;
                    end = end.max(value.span.end).max(key.span.end);
                    self.insert(&mut mapping, key, value);
                }
                let node = Node {
                    kind: NodeKind::Mapping(mapping),
                    span: Span::new(self.file, start_span.start, end),
                };
                self.check_container_tag(tag, &node);
                self.remember(anchor, &node);
                Some(node)
            }
            Event::Alias(anchor) => {
                // An alias repeats the anchored node; it keeps the anchor's spans (its origin).
                let node = self.anchors.get(&anchor).cloned().unwrap_or(Node {
                    kind: NodeKind::Null,
                    span: start_span,
                });
                Some(node)
            }
            _ => Some(Node {
                kind: NodeKind::Null,
                span: start_span,
            }),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn insert(&mut self, mapping: &mut Mapping, key: Node, value: Node) {
        let key_text = match &key.kind {
            NodeKind::String(text) => text.clone(),
            NodeKind::Int(number) => number.to_string(),
            NodeKind::Float(number) => number.to_string(),
            NodeKind::Bool(flag) => flag.to_string(),
            NodeKind::Null => "null".to_string(),
            _ => {
                self.errors.push(YamlError {
                    kind: YamlErrorKind::NonStringKey,
                    span: key.span,
                    message: format!("mapping keys must be strings, found {}", key.type_name()),
                    related: None,
                });
                return;
            }
        };
        if let Some(first) = mapping.entry(&key_text) {
            self.errors.push(YamlError {
                kind: YamlErrorKind::DuplicateKey,
                span: key.span,
                message: format!("duplicate key `{key_text}`"),
                related: Some(first.key_span),
            });
            return;
        }
        mapping.entries.push(Entry {
            key: key_text,
            key_span: key.span,
            value,
        });
    }

    fn scalar(
        &mut self,
        text: Cow<'a, str>,
        style: ScalarStyle,
        tag: Option<Cow<'a, Tag>>,
        span: Span,
    ) -> Node {
        if let Some(tag) = tag {
            if tag.handle == "!" && tag.suffix == "include" {
                return Node {
                    kind: NodeKind::Include(text.into_owned()),
                    span,
                };
            }
            if tag.is_yaml_core_schema() {
                if tag.suffix == "str" {
                    return Node {
                        kind: NodeKind::String(text.into_owned()),
                        span,
                    };
                }
            } else {
                self.errors.push(YamlError {
                    kind: YamlErrorKind::UnknownTag,
                    span,
                    message: format!("unknown tag `{tag}`"),
                    related: None,
                });
            }
        }
        let kind = if style == ScalarStyle::Plain {
            match resolve_plain_scalar(&text) {
                ScalarValue::Null => NodeKind::Null,
                ScalarValue::Bool(value) => NodeKind::Bool(value),
                ScalarValue::Int(value) => NodeKind::Int(value),
                ScalarValue::Float(value) => NodeKind::Float(value),
                ScalarValue::String => NodeKind::String(text.into_owned()),
            }
        } else {
            NodeKind::String(text.into_owned())
        };
        Node { kind, span }
    }

    fn check_container_tag(&mut self, tag: Option<Cow<'a, Tag>>, node: &Node) {
        let Some(tag) = tag else { return };
        if tag.handle == "!" && tag.suffix == "include" {
            self.errors.push(YamlError {
                kind: YamlErrorKind::IncludeNotScalar,
                span: node.span,
                message: format!("`!include` takes a file path, found {}", node.type_name()),
                related: None,
            });
        } else if !tag.is_yaml_core_schema() {
            self.errors.push(YamlError {
                kind: YamlErrorKind::UnknownTag,
                span: node.span,
                message: format!("unknown tag `{tag}`"),
                related: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node {
        let parsed = parse(FileId(0), text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.root.expect("root")
    }

    #[test]
    fn spans_point_at_values() {
        let text = "a:\n  b: hello\n  c: [1, 2.5]\n";
        let root = parse_ok(text);
        let b = root.get_path(&["a", "b"]).unwrap();
        assert_eq!(&text[b.span.range()], "hello");
        let c = root.get_path(&["a", "c"]).unwrap();
        assert_eq!(c.as_sequence().unwrap()[1].kind, NodeKind::Float(2.5));
    }

    #[test]
    fn spans_are_bytes_after_multibyte_text() {
        let text = "n: \"é\"\nx: yes\n";
        let root = parse_ok(text);
        let x = root.get_path(&["x"]).unwrap();
        assert_eq!(&text[x.span.range()], "yes");
        assert_eq!(x.kind, NodeKind::String("yes".into()));
    }

    #[test]
    fn include_tag_keeps_path_and_span() {
        let text = "schema: !include ../includes/s.yaml\n";
        let root = parse_ok(text);
        let node = root.get_path(&["schema"]).unwrap();
        assert_eq!(node.kind, NodeKind::Include("../includes/s.yaml".into()));
        assert!(text[node.span.range()].contains("s.yaml"));
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_reported() {
        let parsed = parse(FileId(0), "a: 1\na: 2\n");
        assert_eq!(parsed.errors[0].kind, YamlErrorKind::DuplicateKey);
        let parsed = parse(FileId(0), "a: [1, 2\n");
        assert_eq!(parsed.errors[0].kind, YamlErrorKind::Syntax);
        assert!(parsed.root.is_none());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "", "\u{feff}", "- - -", "? a\n: b", "&a [*a]", "a: *nope", "{", "!x 1", "\t",
        ] {
            let _ = parse(FileId(0), text);
        }
    }
}
