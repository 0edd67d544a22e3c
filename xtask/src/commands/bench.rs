//! `bench`: runs the measures, prints the report, and writes it into a document when asked.

use color_eyre::{Result, eyre::bail};
use tracing::info;

use crate::{
    bench::{self, Measure, Options, report::Document},
    flags::{Bench, Global, RunnerChoice},
};

impl Bench {
    pub fn run(self, global: &Global) -> Result<()> {
        if global.runner == RunnerChoice::Dagger {
            bail!(
                "`bench` measures the local path, and no Dagger engine is involved; drop `--runner dagger`"
            );
        }
        if let Some(load) = self.max_load
            && !(load.is_finite() && load > 0.0)
        {
            bail!("`--max-load` takes a positive load average, such as `1.5`; got `{load}`");
        }
        // Before measuring for minutes: a report that cannot be written is refused now.
        let document = self.write.as_deref().map(Document::open).transpose()?;
        let mut measures = if self.only.is_empty() {
            Measure::ALL.to_vec()
        } else {
            self.only
        };
        measures.sort_unstable();
        measures.dedup();
        let report = bench::run(&Options {
            measures,
            runs: self.runs.map(|runs| runs as usize),
            max_load: self.max_load,
            global: global.clone(),
        })?;
        let section = bench::report::render(&report);
        print!("{section}");
        if let Some(document) = document {
            document.write(&section)?;
            info!(path = %self.write.unwrap_or_default().display(), "report written");
        }
        Ok(())
    }
}
