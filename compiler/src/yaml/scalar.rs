//! YAML 1.2 core-schema resolution of plain scalars (`yes` stays a string, `1e3` is a float).

/// The typed value of a plain scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String,
}

/// Resolves a plain (unquoted) scalar the way the YAML 1.2 core schema does.
pub fn resolve_plain_scalar(text: &str) -> ScalarValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarValue::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(octal) = text.strip_prefix("0o") {
        if let Ok(value) = i64::from_str_radix(octal, 8) {
            return ScalarValue::Int(value);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(value) = i64::from_str_radix(hex, 16) {
            return ScalarValue::Int(value);
        }
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        if let Ok(value) = text.parse::<i64>() {
            return ScalarValue::Int(value);
        }
    }
    if is_core_float(digits) {
        if let Ok(value) = text.parse::<f64>() {
            return ScalarValue::Float(value);
        }
    }
    ScalarValue::String
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (!whole.is_empty() || !fraction.is_empty())
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema() {
        assert_eq!(resolve_plain_scalar("yes"), ScalarValue::String);
        assert_eq!(resolve_plain_scalar("~"), ScalarValue::Null);
        assert_eq!(resolve_plain_scalar("-12"), ScalarValue::Int(-12));
        assert_eq!(resolve_plain_scalar("0.95"), ScalarValue::Float(0.95));
        assert_eq!(resolve_plain_scalar("1e3"), ScalarValue::Float(1000.0));
        assert_eq!(resolve_plain_scalar("1.2.3"), ScalarValue::String);
        assert_eq!(resolve_plain_scalar("."), ScalarValue::String);
        assert_eq!(resolve_plain_scalar("TRUE"), ScalarValue::Bool(true));
        assert_eq!(resolve_plain_scalar("64Gi"), ScalarValue::String);
    }
}
