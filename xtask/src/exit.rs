//! An error that decides the process's exit code.

use crate::troubleshooting::Topic;

/// Ends the command with `code`, printing `message` as the error (when not empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
    /// The entry of `docs/troubleshooting.md` that explains it, if one does.
    pub topic: Option<Topic>,
}

impl Exit {
    pub fn new(code: u8, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: message.into(),
            topic: None,
        }
    }

    /// The same exit, explained by `topic`.
    #[must_use]
    pub fn with_topic(mut self, topic: Topic) -> Exit {
        self.topic = Some(topic);
        self
    }
}
