//! The salsa queries, from file text to manifest. Each is a pure function of its inputs.

pub mod check;
pub mod columns;
pub mod compose;
pub mod manifest;
pub mod parse;
pub mod profiles;
pub mod python;
pub mod target;
pub mod validate;
