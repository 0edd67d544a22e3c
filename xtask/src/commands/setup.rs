//! `setup`: install the pinned tools now rather than on first use.

use color_eyre::Result;

use crate::{
    flags::{Global, Setup},
    project::Project,
    tools::{Provision, Toolchain},
};

impl Setup {
    pub fn run(self, global: &Global) -> Result<()> {
        let project = Project::open(global.project.as_deref())?;
        let (toolchain, _) = Toolchain::resolve(&project, Provision::Install)?;
        println!(
            "just {} ({})",
            toolchain.just.version,
            toolchain.just.program.display()
        );
        match &toolchain.bun {
            Some(bun) => println!("{bun}"),
            None => println!("bun: not pinned by this justfile"),
        }
        Ok(())
    }
}
