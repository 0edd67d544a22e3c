//! `ci`, `test`, `lint`, `build` and `run`: each names the recipes to run; the session does
//! the rest, and the binaries that `ci` and `build` produce are validated and recorded in `dist/`.

use color_eyre::Result;

use crate::{
    artifacts,
    flags::{Build, Ci, Global, Lint, RunFlags, Test},
    plan::Invocation,
    session::Session,
};

impl Ci {
    pub fn run(self, global: &Global) -> Result<()> {
        let session = Session::open(global)?;
        artifacts::build(&session, &[Invocation::new("ci", &[])], !self.no_validate)
    }
}

impl Test {
    pub fn run(self, global: &Global) -> Result<()> {
        Session::open(global)?.run(&[Invocation::new("test", &[])])
    }
}

impl Lint {
    pub fn run(self, global: &Global) -> Result<()> {
        Session::open(global)?.run(&[Invocation::new("lint", &[])])
    }
}

impl Build {
    pub fn run(self, global: &Global) -> Result<()> {
        let session = Session::open(global)?;
        let invocations = self.targets.invocations(&session.justfile)?;
        artifacts::build(&session, &invocations, !self.no_validate)
    }
}

impl RunFlags {
    pub fn run(self, global: &Global) -> Result<()> {
        Session::open(global)?.run(&[Invocation {
            recipe: self.recipe,
            arguments: self.arguments,
        }])
    }
}
