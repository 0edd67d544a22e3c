//! The justfile model: every recipe (modules flattened by namepath) and the top-level
//! variables, read from `just --dump --dump-format json`. No justfile parsing happens here;
//! just owns its own syntax.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use color_eyre::{Result, eyre::WrapErr};
use serde::Deserialize;

use crate::{
    dependency::Dependency,
    expression::Expression,
    just::Just,
    recipe::Recipe,
    shell::ShellSettings,
    troubleshooting::{Topic, TopicExt},
};

#[derive(Debug, Clone)]
pub struct Justfile {
    /// The justfile just read, absolute.
    pub path: PathBuf,
    /// Every recipe, including those of modules, keyed by namepath (`build`, `sub::inner`).
    pub recipes: BTreeMap<String, Recipe>,
    /// Top-level variables (`bun_version := "1.4.5"`).
    pub assignments: BTreeMap<String, Assignment>,
    /// The recipe `just` runs with no arguments.
    pub default_recipe: Option<String>,
    /// `set shell`, `set windows-shell` and `set windows-powershell`.
    pub shell: ShellSettings,
    /// Evaluates variables that are not plain literals; absent in unit tests.
    evaluator: Option<Just>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Assignment {
    pub name: String,
    pub value: Expression,
    #[serde(default)]
    pub export: bool,
}

/// One module of the dump; the root is a module too.
#[derive(Debug, Deserialize)]
struct ModuleDump {
    #[serde(default)]
    recipes: BTreeMap<String, Recipe>,
    #[serde(default)]
    modules: BTreeMap<String, ModuleDump>,
    #[serde(default)]
    assignments: BTreeMap<String, Assignment>,
    #[serde(default)]
    first: Option<String>,
    #[serde(default)]
    source: PathBuf,
    #[serde(default)]
    settings: ShellSettings,
}

impl Justfile {
    /// Asks `just` for the dump of `justfile` and reads it.
    pub fn load(just: &Just, justfile: &Path) -> Result<Justfile> {
        let dump = just.dump(justfile)?;
        let mut model = Justfile::from_dump(&dump).wrap_err_with(|| {
            format!(
                "cannot read the JSON dump of `{}` from just {}; is this just too old or too new?",
                justfile.display(),
                just.version
            )
        })
        .topic(Topic::ToolVersionDrift)?;
        model.evaluator = Some(just.clone());
        Ok(model)
    }

    pub fn from_dump(json: &str) -> Result<Justfile, serde_json::Error> {
        let root: ModuleDump = serde_json::from_str(json)?;
        let mut recipes = BTreeMap::new();
        collect_recipes(&root, &mut recipes);
        Ok(Justfile {
            path: root.source.clone(),
            recipes,
            assignments: root.assignments,
            default_recipe: root.first,
            shell: root.settings,
            evaluator: None,
        })
    }

    pub fn recipe(&self, namepath: &str) -> Option<&Recipe> {
        self.recipes.get(namepath)
    }

    /// The recipe a dependency names. Names are relative to the depending recipe's module,
    /// and a `module::name` path may also start at the root.
    pub fn dependency_target(&self, from: &Recipe, dependency: &Dependency) -> Option<&Recipe> {
        let relative = format!("{}{}", from.module_prefix(), dependency.recipe);
        self.recipes
            .get(&relative)
            .or_else(|| self.recipes.get(&dependency.recipe))
    }

    /// The value of a top-level variable: literals directly, anything else through
    /// `just --evaluate`. `Ok(None)` when there is no such variable.
    pub fn variable(&self, name: &str) -> Result<Option<String>> {
        let Some(assignment) = self.assignments.get(name) else {
            return Ok(None);
        };
        if let Some(text) = assignment.value.as_literal() {
            return Ok(Some(text.to_owned()));
        }
        match &self.evaluator {
            Some(just) => just.evaluate(&self.path, name).map(Some),
            None => Ok(None),
        }
    }

    /// Recipe namepaths in a stable order, for messages.
    pub fn recipe_names(&self) -> Vec<&str> {
        self.recipes.keys().map(String::as_str).collect()
    }
}

fn collect_recipes(module: &ModuleDump, recipes: &mut BTreeMap<String, Recipe>) {
    for recipe in module.recipes.values() {
        recipes.insert(recipe.namepath.clone(), recipe.clone());
    }
    for child in module.modules.values() {
        collect_recipes(child, recipes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = include_str!("../test_data/dump-modules.json");

    #[test]
    fn flattens_modules_by_namepath() {
        let justfile = Justfile::from_dump(DUMP).unwrap();
        assert_eq!(
            justfile.recipe_names(),
            ["_p", "sub::inner", "sub::other", "top"]
        );
        let inner = justfile.recipe("sub::inner").unwrap();
        assert_eq!(inner.module_prefix(), "sub::");
        let other = justfile
            .dependency_target(inner, &inner.dependencies[0])
            .unwrap();
        assert_eq!(other.namepath, "sub::other");
        let top = justfile.recipe("top").unwrap();
        let target = justfile
            .dependency_target(top, &top.dependencies[0])
            .unwrap();
        assert_eq!(target.namepath, "sub::inner");
    }

    #[test]
    fn reads_literal_variables_without_just() {
        let justfile = Justfile::from_dump(DUMP).unwrap();
        assert_eq!(
            justfile.variable("bun_version").unwrap().as_deref(),
            Some("1.4.5")
        );
        assert_eq!(justfile.variable("missing").unwrap(), None);
    }
}
