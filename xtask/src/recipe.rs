//! One recipe of the justfile, as just dumps it.

use serde::Deserialize;

use crate::{attribute::Attribute, dependency::Dependency, parameter::Parameter};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recipe {
    pub name: String,
    /// The full path, `module::name`, used to invoke and to identify the recipe.
    pub namepath: String,
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// How many of `dependencies` run before the body; the rest (`&& dep`) run after it.
    #[serde(default)]
    pub priors: usize,
    #[serde(default)]
    pub private: bool,
    /// The body's lines; only whether there are any matters to the xtask.
    #[serde(default)]
    pub body: Vec<serde_json::Value>,
}

impl Recipe {
    pub fn prior_dependencies(&self) -> &[Dependency] {
        &self.dependencies[..self.priors.min(self.dependencies.len())]
    }

    pub fn subsequent_dependencies(&self) -> &[Dependency] {
        &self.dependencies[self.priors.min(self.dependencies.len())..]
    }

    /// The module part of the namepath: `""` at the top level, `"sub::"` inside `mod sub`.
    pub fn module_prefix(&self) -> &str {
        self.namepath.strip_suffix(&self.name).unwrap_or("")
    }

    pub fn groups(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter_map(|attribute| attribute.value("group")?.as_str())
            .collect()
    }

    /// The `# comment` above the recipe, or its `[doc(..)]` attribute.
    pub fn documentation(&self) -> Option<&str> {
        self.doc.as_deref().or_else(|| {
            self.attributes
                .iter()
                .find_map(|attribute| attribute.value("doc")?.as_str())
        })
    }

    pub fn is_parallel(&self) -> bool {
        self.attributes
            .iter()
            .any(|attribute| attribute.is("parallel"))
    }

    /// Every `[metadata(..)]` attribute, each as its list of strings.
    pub fn metadata_attributes(&self) -> Vec<Vec<String>> {
        self.attributes
            .iter()
            .filter_map(Attribute::metadata)
            .collect()
    }
}
