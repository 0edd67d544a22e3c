//! One module per command; each is a `run` method on its flags.

mod bench;
mod doctor;
mod gen_ci;
mod pipeline;
mod plan;
mod security_scan;
mod setup;
mod verify_parity;
