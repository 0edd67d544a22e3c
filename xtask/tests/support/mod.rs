//! Test support shared by the integration tests (`mod support;`).
//!
//! Each integration test is its own crate and uses a different part of this
//! module, so unused items are expected here.
#![allow(dead_code, unreachable_pub)]

pub(crate) mod engine_standin;
