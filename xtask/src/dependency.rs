//! A dependency of a recipe: `(build "linux-x64")`, `lint`, or `&& notify`.

use serde::Deserialize;

use crate::expression::Expression;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dependency {
    /// The recipe's name, relative to the depending recipe's module (`other`, `sub::inner`).
    pub recipe: String,
    #[serde(default)]
    pub arguments: Vec<Expression>,
    /// Set for a mapped dependency `*(dep *xs)`, which runs once per element.
    #[serde(default)]
    pub star: Option<usize>,
}
