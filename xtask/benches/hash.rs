//! How fast manifests hash: the manifest code on one and on two threads against coreutils
//! `sha256sum` over the same generated files (200 files of 5 MiB, ~1 GB, by default), in the
//! page cache. The measure itself is `xtask::bench::hash`, which `cargo xtask bench` runs too
//! (with the other measures and the issue's goals); this is the way to run it alone, in a
//! release build or with other sizes:
//!
//! ```text
//! cargo bench -p xtask --bench hash                     # release build
//! cargo bench -p xtask --bench hash --profile dev       # as `cargo xtask` is built
//! cargo bench -p xtask --bench hash -- --files 50 --size-mib 20 --rounds 7
//! ```
//!
//! Each round runs every method once, in a rotating order so that a busy machine slows them
//! alike; the table gives the median wall time, the spread (fastest–slowest), the throughput
//! and the ratio of `sha256sum`'s median to each method's median (above 1: faster than
//! `sha256sum`). On Linux it also gives the median CPU time each method used (this process's,
//! or `sha256sum`'s), which other load on the machine disturbs far less than wall time.

use color_eyre::{Result, eyre::eyre};
use xtask::bench::hash::{HashOptions, measure};

fn main() -> Result<()> {
    let mut options = HashOptions::default();
    let mut rounds = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<usize> {
            args.next()
                .and_then(|value| value.parse().ok())
                .filter(|&value| value > 0)
                .ok_or_else(|| eyre!("`{name}` takes a positive number"))
        };
        match arg.as_str() {
            "--files" => options.files = value("--files")?,
            "--size-mib" => options.size_mib = value("--size-mib")?,
            "--rounds" => rounds = value("--rounds")?,
            // cargo bench passes `--bench`; libtest filters mean nothing here.
            _ => {}
        }
    }
    let result = measure(&options, rounds)?;
    print!("{}", result.text_table());
    println!(
        "{} CPUs",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    Ok(())
}
