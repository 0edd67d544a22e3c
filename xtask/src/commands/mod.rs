//! One module per command; each is a `run` method on its flags.

mod doctor;
mod gen_ci;
mod pipeline;
mod plan;
mod setup;
mod verify_parity;
