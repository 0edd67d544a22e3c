//! A recipe parameter: `target`, `mode="debug"`, `+files`, `*args`.

use serde::Deserialize;

use crate::expression::Expression;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub kind: ParameterKind,
    pub default: Option<Expression>,
    /// `--flag` style options (newer just); the xtask passes positional arguments only.
    #[serde(default)]
    pub flag: bool,
    #[serde(default)]
    pub long: Option<String>,
    #[serde(default)]
    pub short: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterKind {
    Singular,
    /// `+name`: one or more.
    Plus,
    /// `*name`: zero or more.
    Star,
}

impl Parameter {
    pub fn is_variadic(&self) -> bool {
        self.kind != ParameterKind::Singular
    }

    pub fn is_option(&self) -> bool {
        self.flag || self.long.is_some() || self.short.is_some()
    }

    /// How many arguments this parameter needs at least.
    pub fn min_arguments(&self) -> usize {
        match (self.kind, &self.default) {
            (ParameterKind::Star, _) | (_, Some(_)) => 0,
            (ParameterKind::Singular | ParameterKind::Plus, None) => 1,
        }
    }
}
