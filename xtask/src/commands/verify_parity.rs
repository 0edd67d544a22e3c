//! `verify-parity`: build on two paths and compare, or compare two manifests.

use color_eyre::Result;

use crate::{
    flags::{Global, ParityCommand, VerifyParity},
    parity::{self, Options},
};

impl VerifyParity {
    pub fn run(self, global: &Global) -> Result<()> {
        let result = match &self.command {
            Some(ParityCommand::Compare(files)) => parity::compare_files(&files.left, &files.right),
            None => parity::verify(
                global,
                &Options {
                    targets: self.targets.clone(),
                    against: self.against,
                    write_manifest: self.write_manifest.clone(),
                },
            ),
        };
        parity::verdict(result)
    }
}
