//! Runtime failures as coded diagnostics: every error a step reports carries a stable
//! `MBT4xxx` code (documented by `mbt explain`) and a help line.
//!
//! Steps build coded errors with [`coded`] or [`Coded::code`]; the runner finds the code anywhere
//! in the error's chain ([`code_of`]). An error without one is reported as MBT9002, a bug.

use std::fmt;

pub use mbt_contract::codes::Code;

/// A coded failure: the leaf of an error chain.
#[derive(Debug)]
pub struct CodedError {
    pub code: Code,
    pub message: String,
    pub help: String,
}

impl fmt::Display for CodedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodedError {}

/// A new coded error.
pub fn coded(code: Code, message: impl fmt::Display, help: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(CodedError {
        code,
        message: message.to_string(),
        help: help.to_string(),
    })
}

/// Codes an error that has none yet (an inner code wins: it is the more precise one).
pub trait Coded<T> {
    fn code(self, code: Code, help: impl fmt::Display) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Coded<T> for Result<T, E> {
    fn code(self, code: Code, help: impl fmt::Display) -> anyhow::Result<T> {
        self.map_err(|error| {
            let error: anyhow::Error = error.into();
            if code_of(&error).is_some() {
                error
            } else {
                coded(code, format!("{error:#}"), help)
            }
        })
    }
}

/// The code and help of an error, from the first coded error in its chain.
pub fn code_of(error: &anyhow::Error) -> Option<(Code, &str)> {
    // A coded context over a typed cause (`cause.context(CodedError)`) is found by downcasting
    // the error itself; a coded cause, by walking the chain.
    error
        .downcast_ref::<CodedError>()
        .or_else(|| {
            error
                .chain()
                .find_map(|cause| cause.downcast_ref::<CodedError>())
        })
        .map(|coded| (coded.code, coded.help.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_code_survives_added_context_and_the_innermost_wins() {
        let inner: anyhow::Result<()> =
            Err(coded(Code::ColumnNotFound, "column `x` not found", "use y"));
        let error = inner
            .code(Code::CorruptData, "ignored")
            .context("cannot scale")
            .unwrap_err();
        assert_eq!(code_of(&error), Some((Code::ColumnNotFound, "use y")));
        assert_eq!(format!("{error:#}"), "cannot scale: column `x` not found");
        let plain: anyhow::Result<()> = Err(anyhow::anyhow!("io"));
        let error = plain
            .code(Code::StorageFailed, "check the disk")
            .unwrap_err();
        assert_eq!(
            code_of(&error).map(|(code, _)| code),
            Some(Code::StorageFailed)
        );
    }
}
