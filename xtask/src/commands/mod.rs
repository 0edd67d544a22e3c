//! One module per command; each is a `run` method on its flags.

mod doctor;
mod pipeline;
mod plan;
mod security_scan;
mod setup;
