//! `plan`: the steps a recipe expands to, as a tree or as JSON.

use color_eyre::{Result, eyre::eyre};

use crate::{
    flags::{Global, PlanFlags, RunnerChoice},
    plan::Invocation,
    session::Session,
    troubleshooting::Topic,
};

impl PlanFlags {
    pub fn run(self, global: &Global) -> Result<()> {
        let session = Session::open(global)?;
        let recipe = match self.recipe {
            Some(recipe) => recipe,
            None => session.justfile.default_recipe.clone().ok_or_else(|| {
                eyre!(
                    Topic::UnknownRecipe
                        .error("the justfile has no recipes; name one: `cargo xtask plan RECIPE`")
                )
            })?,
        };
        let plan = session.plan(&[Invocation {
            recipe,
            arguments: self.arguments,
        }])?;
        if global.runner == RunnerChoice::Dagger {
            // What the Dagger path would run: each step's image, mounts, caches and command.
            let pipeline = session.pipeline(&plan)?;
            if self.json {
                println!("{}", serde_json::to_string_pretty(&pipeline)?);
            } else {
                print!("{}", pipeline.render());
            }
        } else if self.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", plan.render_tree());
        }
        Ok(())
    }
}
