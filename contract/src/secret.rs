//! Secret references: `{{ secret('NAME') }}`, the only form in which a credential reaches a
//! manifest. The compiler writes them (a `secret()` template is never resolved at compile time);
//! the runtime resolves them through the target's secrets provider, in memory only.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A reference to a secret by name. It displays and serializes as `{{ secret('NAME') }}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRef {
    name: String,
}

/// The key a credential field's JSON Schema carries (`"x-mbt-credential": true`): the compiler
/// requires a [`SecretRef`] there and nothing else.
pub const CREDENTIAL_KEYWORD: &str = "x-mbt-credential";

impl SecretRef {
    pub fn new(name: impl Into<String>) -> SecretRef {
        SecretRef { name: name.into() }
    }

    /// The secret's name, as the secrets provider knows it (for `env`: the variable).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The reference in `text` when `text` is exactly one `{{ secret('NAME') }}` (spaces and
    /// either quote allowed), as the compiler leaves it.
    pub fn parse(text: &str) -> Option<SecretRef> {
        let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
        let argument = inner.strip_prefix("secret")?.trim_start();
        let argument = argument.strip_prefix('(')?.strip_suffix(')')?.trim();
        let name = argument
            .strip_prefix('\'')
            .and_then(|n| n.strip_suffix('\''))
            .or_else(|| argument.strip_prefix('"').and_then(|n| n.strip_suffix('"')))?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
        valid.then(|| SecretRef::new(name))
    }

    /// Whether `text` holds a secret reference anywhere (e.g. embedded in a URL).
    pub fn appears_in(text: &str) -> bool {
        text.contains("{{ secret(")
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{ secret('{}') }}}}", self.name)
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretRef, D::Error> {
        let text = String::deserialize(deserializer)?;
        SecretRef::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a secret reference `{{{{ secret('NAME') }}}}`, found a {}-character value",
                text.chars().count()
            ))
        })
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "SecretRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A credential: `{{ secret('NAME') }}`, resolved at run time by the target's secrets provider (never written anywhere).",
            "pattern": r#"^\{\{\s*secret\(\s*['"][A-Za-z0-9_.\-/]+['"]\s*\)\s*\}\}$"#,
            CREDENTIAL_KEYWORD: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_nothing_else_parses() {
        let reference = SecretRef::parse("{{ secret('PG_PASSWORD') }}").unwrap();
        assert_eq!(reference.name(), "PG_PASSWORD");
        assert_eq!(reference.to_string(), "{{ secret('PG_PASSWORD') }}");
        assert_eq!(
            SecretRef::parse(" {{secret(\"TOKEN\")}} ").unwrap().name(),
            "TOKEN"
        );
        for text in [
            "hunter2",
            "{{ env_var('PG_PASSWORD') }}",
            "https://{{ secret('T') }}@host",
            "{{ secret('') }}",
            "{{ secret('a b') }}",
            "{{ secret(NAME) }}",
        ] {
            assert_eq!(SecretRef::parse(text), None, "{text}");
        }
        let json = serde_json::to_string(&reference).unwrap();
        assert_eq!(json, r#""{{ secret('PG_PASSWORD') }}""#);
        assert_eq!(serde_json::from_str::<SecretRef>(&json).unwrap(), reference);
        // A literal never deserializes, and the error does not repeat it.
        let error = serde_json::from_str::<SecretRef>(r#""hunter2""#).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
