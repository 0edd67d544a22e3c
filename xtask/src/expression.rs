//! A justfile expression as `just --dump --dump-format json` writes it.
//!
//! A string literal is a JSON string; everything else is a tagged array such as
//! `["variable", "name"]` or `["call", "env", ..]`. The xtask evaluates only what it must
//! (literals and references to parameters or variables); the rest stays with just.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Expression(serde_json::Value);

impl Expression {
    pub fn literal(text: &str) -> Expression {
        Expression(serde_json::Value::String(text.to_owned()))
    }

    /// The text of a string literal.
    pub fn as_literal(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// The name in a `["variable", name]` reference.
    pub fn as_variable(&self) -> Option<&str> {
        match self.0.as_array().map(Vec::as_slice) {
            Some([tag, name]) if tag == "variable" => name.as_str(),
            _ => None,
        }
    }

    /// A short rendering for error messages; not valid justfile syntax in every case.
    pub fn describe(&self) -> String {
        match (self.as_literal(), self.as_variable()) {
            (Some(text), _) => format!("{text:?}"),
            (_, Some(name)) => name.to_owned(),
            _ => self.0.to_string(),
        }
    }
}
