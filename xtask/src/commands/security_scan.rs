//! `security-scan`: the justfile's `security-scan` recipe with the `--fail-on` level as its
//! argument. The checks themselves live in `security/scan.ts`, which the recipe runs, so that
//! they run the same natively and in a container.

use color_eyre::Result;

use crate::{
    exit::Exit,
    flags::{Global, SecurityScan},
    plan::Invocation,
    session::Session,
    troubleshooting::Topic,
};

/// The recipe this command runs.
const RECIPE: &str = "security-scan";

impl SecurityScan {
    pub fn invocation(&self) -> Invocation {
        Invocation::new(RECIPE, &[self.fail_on.as_str()])
    }

    pub fn run(self, global: &Global) -> Result<()> {
        Session::open(global)?
            .run(&[self.invocation()])
            .map_err(|mut report| {
                // The scan exits 1 on findings: its entry says how to read them.
                if let Some(exit) = report.downcast_mut::<Exit>()
                    && exit.topic == Some(Topic::RecipeFailed)
                {
                    exit.topic = Some(Topic::SecurityFindings);
                }
                report
            })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::flags::{Command, Xtask};

    fn invocation(args: &[&str]) -> (String, Vec<String>) {
        let flags = Xtask::parse_from(["xtask", "security-scan"].iter().chain(args));
        let Command::SecurityScan(command) = flags.command else {
            panic!("parsed as another command");
        };
        let invocation = command.invocation();
        (invocation.recipe, invocation.arguments)
    }

    #[test]
    fn passes_the_level_as_the_recipe_argument() {
        assert_eq!(
            invocation(&[]),
            ("security-scan".to_owned(), vec!["high".to_owned()])
        );
        assert_eq!(
            invocation(&["--fail-on", "medium"]),
            ("security-scan".to_owned(), vec!["medium".to_owned()])
        );
        assert_eq!(
            invocation(&["--fail-on", "none"]).1,
            vec!["none".to_owned()]
        );
    }
}
