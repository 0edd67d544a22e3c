//! Recipe attributes: bare words (`"private"`, `"parallel"`) or single-key objects
//! (`{"metadata": [..]}`, `{"group": "ci"}`). just sorts them, so their order carries no meaning.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Attribute {
    Bare(String),
    Keyed(BTreeMap<String, serde_json::Value>),
}

impl Attribute {
    pub fn is(&self, word: &str) -> bool {
        matches!(self, Attribute::Bare(bare) if bare == word)
    }

    pub fn value(&self, key: &str) -> Option<&serde_json::Value> {
        match self {
            Attribute::Keyed(map) => map.get(key),
            Attribute::Bare(_) => None,
        }
    }

    /// The strings of one `[metadata(..)]` attribute.
    pub fn metadata(&self) -> Option<Vec<String>> {
        let values = self.value("metadata")?.as_array()?;
        values
            .iter()
            .map(|value| value.as_str().map(str::to_owned))
            .collect()
    }
}
