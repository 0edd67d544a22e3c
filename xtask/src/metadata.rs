//! The recipe metadata convention: what a recipe tells the runners through just's
//! `[metadata(key, values..)]` attribute. See `docs/recipe-metadata.md`.
//!
//! ```just
//! [metadata("inputs", "package.json", "bun.lock", "src")]
//! [metadata("outputs", "dist/taskmd-{target}")]
//! build target:
//! ```

use std::path::{Component, Path};

use serde::Serialize;

use crate::recipe::Recipe;

/// Every key the convention knows, for messages and docs.
pub const KEYS: [&str; 7] = [
    "inputs", "outputs", "provides", "image", "secrets", "caches", "runner",
];

/// The one runner a recipe can insist on, with `[metadata("runner", "local")]`.
pub const HOST_RUNNER: &str = "local";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipeMetadata {
    /// Paths the recipe reads; the Dagger runner mounts only these. Empty: the whole tree.
    pub inputs: Vec<String>,
    /// Artifacts the recipe writes: exported to the host, compared by verify-parity and
    /// handed to dependent steps.
    pub outputs: Vec<String>,
    /// Paths handed to dependent steps but never exported (such as `node_modules`).
    pub provides: Vec<String>,
    /// The container image, pinned by digest; absent: the default image.
    pub image: Option<String>,
    /// Environment variables the recipe needs, passed to containers as secrets only.
    pub secrets: Vec<String>,
    /// Cache volumes mounted into the container.
    pub caches: Vec<CacheMount>,
    /// `[metadata("runner", "local")]`: the recipe runs on the host, never in a container
    /// (it needs what no pinned image has, such as the git history).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub host_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheMount {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error(
        "recipe `{recipe}` has an empty `[metadata()]` attribute; write `[metadata(\"key\", \"value\", ..)]`"
    )]
    Empty { recipe: String },
    #[error("recipe `{recipe}` has unknown metadata key `{key}`; known keys: {known}", known = KEYS.join(", "))]
    UnknownKey { recipe: String, key: String },
    #[error("recipe `{recipe}` gives metadata key `{key}` no values")]
    NoValues { recipe: String, key: String },
    #[error("recipe `{recipe}` sets metadata key `{key}` more than once")]
    Repeated { recipe: String, key: String },
    #[error(
        "{key} path `{path}` of recipe `{recipe}` is outside the project; use a relative path inside it"
    )]
    OutsideProject {
        recipe: String,
        key: String,
        path: String,
    },
    #[error(
        "{key} path `{path}` of recipe `{recipe}` uses `{{{placeholder}}}`, but the recipe has no parameter `{placeholder}`"
    )]
    UnknownPlaceholder {
        recipe: String,
        key: String,
        path: String,
        placeholder: String,
    },
    #[error(
        "{key} path `{path}` of recipe `{recipe}` has a `*` outside its last component; a wildcard may only end a file name, as in `dist/app-{{target}}*`"
    )]
    Wildcard {
        recipe: String,
        key: String,
        path: String,
    },
    #[error(
        "secret `{name}` of recipe `{recipe}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
    )]
    BadSecretName { recipe: String, name: String },
    #[error("cache `{entry}` of recipe `{recipe}` is not `name:/absolute/path`")]
    BadCache { recipe: String, entry: String },
    #[error(
        "runner `{value}` of recipe `{recipe}` is not one a recipe can insist on; the only one is `{HOST_RUNNER}` (the recipe then never runs in a container): write `[metadata(\"runner\", \"{HOST_RUNNER}\")]` or drop the attribute"
    )]
    BadRunner { recipe: String, value: String },
}

impl RecipeMetadata {
    /// Reads and validates the metadata of `recipe`.
    pub fn of(recipe: &Recipe) -> Result<RecipeMetadata, MetadataError> {
        let name = &recipe.namepath;
        let mut metadata = RecipeMetadata::default();
        let mut seen: Vec<String> = Vec::new();
        for attribute in recipe.metadata_attributes() {
            let Some((key, values)) = attribute.split_first() else {
                return Err(MetadataError::Empty {
                    recipe: name.clone(),
                });
            };
            if !KEYS.contains(&key.as_str()) {
                return Err(MetadataError::UnknownKey {
                    recipe: name.clone(),
                    key: key.clone(),
                });
            }
            if values.is_empty() {
                return Err(MetadataError::NoValues {
                    recipe: name.clone(),
                    key: key.clone(),
                });
            }
            if seen.contains(key) {
                return Err(MetadataError::Repeated {
                    recipe: name.clone(),
                    key: key.clone(),
                });
            }
            seen.push(key.clone());
            let values = values.to_vec();
            match key.as_str() {
                "inputs" => metadata.inputs = checked_paths(recipe, key, values)?,
                "outputs" => metadata.outputs = checked_paths(recipe, key, values)?,
                "provides" => metadata.provides = checked_paths(recipe, key, values)?,
                "image" => {
                    if values.len() != 1 {
                        return Err(MetadataError::Repeated {
                            recipe: name.clone(),
                            key: key.clone(),
                        });
                    }
                    metadata.image = values.into_iter().next();
                }
                "secrets" => {
                    if let Some(bad) = values.iter().find(|value| !is_env_name(value)) {
                        return Err(MetadataError::BadSecretName {
                            recipe: name.clone(),
                            name: bad.clone(),
                        });
                    }
                    metadata.secrets = values;
                }
                "caches" => {
                    metadata.caches = values
                        .into_iter()
                        .map(|entry| match entry.split_once(':') {
                            Some((volume, path)) if !volume.is_empty() && path.starts_with('/') => {
                                Ok(CacheMount {
                                    name: volume.to_owned(),
                                    path: path.to_owned(),
                                })
                            }
                            _ => Err(MetadataError::BadCache {
                                recipe: name.clone(),
                                entry,
                            }),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "runner" => match values.as_slice() {
                    [value] if value == HOST_RUNNER => metadata.host_only = true,
                    _ => {
                        return Err(MetadataError::BadRunner {
                            recipe: name.clone(),
                            value: values.join(" "),
                        });
                    }
                },
                _ => unreachable!("key checked against KEYS"),
            }
        }
        Ok(metadata)
    }

    /// The metadata of one step, with `{parameter}` placeholders replaced by its arguments.
    #[must_use]
    pub fn bind(&self, bindings: &[(String, String)]) -> RecipeMetadata {
        let substitute = |paths: &[String]| -> Vec<String> {
            paths
                .iter()
                .map(|path| {
                    bindings.iter().fold(path.clone(), |path, (name, value)| {
                        path.replace(&format!("{{{name}}}"), value)
                    })
                })
                .collect()
        };
        RecipeMetadata {
            inputs: substitute(&self.inputs),
            outputs: substitute(&self.outputs),
            provides: substitute(&self.provides),
            ..self.clone()
        }
    }
}

/// Paths must stay inside the project and name only parameters the recipe has.
fn checked_paths(
    recipe: &Recipe,
    key: &str,
    paths: Vec<String>,
) -> Result<Vec<String>, MetadataError> {
    for path in &paths {
        if !is_inside_project(path) {
            return Err(MetadataError::OutsideProject {
                recipe: recipe.namepath.clone(),
                key: key.to_owned(),
                path: path.clone(),
            });
        }
        if let Some((parent, _)) = path.rsplit_once('/')
            && parent.contains('*')
        {
            return Err(MetadataError::Wildcard {
                recipe: recipe.namepath.clone(),
                key: key.to_owned(),
                path: path.clone(),
            });
        }
        for placeholder in placeholders(path) {
            if !recipe
                .parameters
                .iter()
                .any(|parameter| parameter.name == placeholder)
            {
                return Err(MetadataError::UnknownPlaceholder {
                    recipe: recipe.namepath.clone(),
                    key: key.to_owned(),
                    path: path.clone(),
                    placeholder: placeholder.to_owned(),
                });
            }
        }
    }
    Ok(paths)
}

fn is_inside_project(path: &str) -> bool {
    let path = Path::new(path);
    if path.as_os_str().is_empty() || path.has_root() || path.to_string_lossy().contains('\\') {
        return false;
    }
    let mut depth: usize = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    depth > 0
}

fn placeholders(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::justfile::Justfile;

    fn recipe_with(attributes: &str, parameters: &str) -> Recipe {
        let json = format!(
            r#"{{"recipes": {{"r": {{"name": "r", "namepath": "r", "attributes": {attributes}, "parameters": {parameters}}}}}}}"#
        );
        Justfile::from_dump(&json)
            .unwrap()
            .recipe("r")
            .unwrap()
            .clone()
    }

    const TARGET: &str = r#"[{"name": "target", "kind": "singular", "default": null}]"#;

    #[test]
    fn reads_every_key() {
        let recipe = recipe_with(
            r#"[{"metadata": ["inputs", "src", "package.json"]}, {"metadata": ["outputs", "dist/app-{target}"]},
                {"metadata": ["provides", "node_modules"]}, {"metadata": ["image", "docker.io/library/debian@sha256:00"]},
                {"metadata": ["secrets", "NPM_TOKEN"]}, {"metadata": ["caches", "bun:/root/.bun/install/cache"]},
                {"metadata": ["runner", "local"]}, "private"]"#,
            TARGET,
        );
        let metadata = RecipeMetadata::of(&recipe).unwrap();
        assert_eq!(metadata.inputs, ["src", "package.json"]);
        assert_eq!(metadata.outputs, ["dist/app-{target}"]);
        assert_eq!(metadata.provides, ["node_modules"]);
        assert_eq!(
            metadata.image.as_deref(),
            Some("docker.io/library/debian@sha256:00")
        );
        assert_eq!(metadata.secrets, ["NPM_TOKEN"]);
        assert_eq!(
            metadata.caches,
            [CacheMount {
                name: "bun".into(),
                path: "/root/.bun/install/cache".into()
            }]
        );
        assert!(metadata.host_only);
        let bound = metadata.bind(&[("target".into(), "linux-x64".into())]);
        assert_eq!(bound.outputs, ["dist/app-linux-x64"]);
        assert!(bound.host_only);
    }

    #[test]
    fn no_metadata_is_the_default() {
        let recipe = recipe_with("[]", "[]");
        assert_eq!(
            RecipeMetadata::of(&recipe).unwrap(),
            RecipeMetadata::default()
        );
    }

    #[test]
    fn rejects_bad_metadata_with_a_clear_message() {
        let cases = [
            (
                r#"[{"metadata": ["output", "dist"]}]"#,
                "recipe `r` has unknown metadata key `output`; known keys: inputs, outputs, provides, image, secrets, caches, runner",
            ),
            (
                r#"[{"metadata": ["runner", "dagger"]}]"#,
                "runner `dagger` of recipe `r` is not one a recipe can insist on; the only one is `local`",
            ),
            (
                r#"[{"metadata": ["runner", "local", "local"]}]"#,
                "runner `local local` of recipe `r` is not one a recipe can insist on",
            ),
            (
                r#"[{"metadata": []}]"#,
                "recipe `r` has an empty `[metadata()]` attribute",
            ),
            (
                r#"[{"metadata": ["outputs"]}]"#,
                "recipe `r` gives metadata key `outputs` no values",
            ),
            (
                r#"[{"metadata": ["outputs", "../dist"]}]"#,
                "outputs path `../dist` of recipe `r` is outside the project",
            ),
            (
                r#"[{"metadata": ["outputs", "/tmp/dist"]}]"#,
                "outputs path `/tmp/dist` of recipe `r` is outside the project",
            ),
            (
                r#"[{"metadata": ["inputs", "src/../../x"]}]"#,
                "inputs path `src/../../x` of recipe `r` is outside the project",
            ),
            (
                r#"[{"metadata": ["outputs", "."]}]"#,
                "outputs path `.` of recipe `r` is outside the project",
            ),
            (
                r#"[{"metadata": ["outputs", "dist/{arch}"]}]"#,
                "uses `{arch}`, but the recipe has no parameter `arch`",
            ),
            (
                r#"[{"metadata": ["outputs", "a"]}, {"metadata": ["outputs", "b"]}]"#,
                "sets metadata key `outputs` more than once",
            ),
            (
                r#"[{"metadata": ["secrets", "NPM-TOKEN"]}]"#,
                "secret `NPM-TOKEN` of recipe `r` is not an environment variable name",
            ),
            (
                r#"[{"metadata": ["caches", "bun"]}]"#,
                "cache `bun` of recipe `r` is not `name:/absolute/path`",
            ),
        ];
        for (attributes, expected) in cases {
            let error = RecipeMetadata::of(&recipe_with(attributes, "[]"))
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{attributes}: got `{error}`");
        }
    }

    #[test]
    fn placeholder_names_a_parameter() {
        let recipe = recipe_with(
            r#"[{"metadata": ["outputs", "dist/{target}", "dist/app-{target}*"]}]"#,
            TARGET,
        );
        assert!(RecipeMetadata::of(&recipe).is_ok());
    }
}
