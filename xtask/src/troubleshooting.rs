//! Every error the xtask prints ends with the entry of `docs/troubleshooting.md` that explains
//! it: `help: see docs/troubleshooting.md#engine-not-found`.
//!
//! - [`Topic`] is one entry of that document; its slug is the GitHub anchor of the entry's
//!   heading (a test checks both ways: every topic has its heading, every entry its topic).
//! - [`Troubleshoot`] gives the topic of each `thiserror` error type, with an exhaustive
//!   `match`, so a new variant does not compile until it has an entry; a test fails when a new
//!   error type is not listed in [`topic_of_error`].
//! - [`Explained`] is an ad-hoc error message with its topic (`bail!(Topic::X.error(..))`), and
//!   [`TopicExt::topic`] points a whole fallible call to an entry at a boundary (tool installs,
//!   engine start, exports) without changing what is printed.
//!
//! [`help`] finds the topic of a report: the outermost error in its chain that has one.

use std::{error::Error, fmt};

use color_eyre::Report;

use crate::{
    exit::Exit,
    header::HeaderError,
    metadata::MetadataError,
    parity::{collect::CollectError, compare::CompareError, junit::JunitError},
    plan::PlanError,
    runner::dagger::{
        RunnerError, engine::EngineError, image::ImageError, pipeline::PipelineError,
    },
    target::UnknownPlatform,
    workflow::WorkflowError,
};

/// The document the help line points into, relative to the repository root.
pub const DOCUMENT: &str = "docs/troubleshooting.md";

macro_rules! topics {
    ($($(#[$meta:meta])* $variant:ident => $slug:literal,)*) => {
        /// One entry of `docs/troubleshooting.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Topic {
            $($(#[$meta])* $variant,)*
        }

        impl Topic {
            /// Every topic, in the order of the document.
            pub const ALL: &[Topic] = &[$(Topic::$variant,)*];

            /// The GitHub anchor of the entry's heading.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Topic::$variant => $slug,)*
                }
            }
        }
    };
}

topics! {
    /// The pinned just or bun cannot be installed into `.tools/`.
    ToolInstall => "tool-install-fails",
    /// A tool reports another version than its pin, or a pin is not a plain literal.
    ToolVersionDrift => "tool-version-drift",
    /// `--project` names no directory with a justfile.
    NoJustfile => "no-justfile",
    /// `just --dump` or `just --evaluate` failed: the justfile does not parse or evaluate.
    JustfileDoesNotLoad => "justfile-does-not-load",
    /// The justfile's shell (bash) is not on `PATH`, or only WSL's launcher is.
    ShellNotFound => "shell-not-found",
    /// A recipe that the justfile does not have.
    UnknownRecipe => "unknown-recipe",
    /// A recipe given too few or too many arguments.
    WrongArguments => "wrong-arguments",
    /// A build target that is not in the justfile's `targets`.
    UnknownTarget => "unknown-target",
    /// Recipes that depend on each other in a circle.
    CircularDependency => "circular-dependency",
    /// A dependency argument, option parameter or variable the plan cannot evaluate.
    PlanCannotEvaluate => "plan-cannot-evaluate",
    /// A `[metadata(..)]` attribute the runners cannot use.
    BadMetadata => "bad-metadata",
    /// No Dagger engine: no `dagger run` session and no Dagger CLI.
    EngineNotFound => "engine-not-found",
    /// A Dagger CLI is there but no session starts (no Docker, a timeout, a bad session).
    EngineSessionFails => "engine-session-fails",
    /// The Dagger CLI, the SDK and the justfile's `dagger_version` disagree.
    DaggerVersionMismatch => "dagger-version-mismatch",
    /// `CI=true` with `--runner auto` and no engine.
    CiRequiresEngine => "ci-requires-an-engine",
    /// The Dagger runner on native Windows.
    DaggerOnWindows => "dagger-on-windows",
    /// `--runner dagger` on a plan with a recipe that runs on the host only.
    HostOnlyRecipe => "host-only-recipe",
    /// An image of the Dagger path without a digest, or not there at all.
    ImageNotPinned => "image-not-pinned",
    /// A bad `--image-mirror`, or images that cannot be pulled.
    ImageMirror => "image-mirror",
    /// A secret named in metadata is not set.
    MissingSecret => "missing-secret",
    /// just or bun in a container does not report its pin, or does not install.
    ToolchainCheck => "toolchain-check-fails",
    /// The engine failed a query for another reason than a recipe's exit code.
    EngineFailure => "engine-error",
    /// Dagger steps run again when nothing they read changed.
    CacheMisses => "cache-misses",
    /// The Dagger path spends long uploading the project on macOS.
    SlowUpload => "slow-source-upload-on-macos",
    /// Exported files cannot be put in place, or belong to root.
    ExportPermissions => "export-permissions",
    /// A recipe exited non-zero.
    RecipeFailed => "recipe-failed",
    /// A built binary fails its header check or smoke run.
    BinaryValidation => "binary-validation-fails",
    /// `verify-parity` exits 1: the two builds differ.
    ParityMismatch => "parity-mismatch",
    /// `verify-parity` exits 2: nothing could be compared.
    ParityCannotBeVerified => "parity-cannot-be-verified",
    /// `gen-ci --check`: the committed workflows differ from the justfile.
    WorkflowsOutOfDate => "workflows-out-of-date",
    /// `gen-ci` cannot turn a `[group('ci')]` recipe into a job.
    GenCiRecipe => "gen-ci-refuses-a-recipe",
    /// `security-scan` fails on findings.
    SecurityFindings => "security-scan-findings",
    /// `doctor` printed a `fail` line.
    DoctorFails => "doctor-fails",
    /// Spans do not reach the collector, or Dagger Cloud shows nothing.
    TracesMissing => "traces-do-not-arrive",
    /// Anything else: how to read an error.
    Other => "other-errors",
}

impl Topic {
    /// What the help line points at: `docs/troubleshooting.md#<slug>`.
    pub fn link(self) -> String {
        format!("{DOCUMENT}#{}", self.slug())
    }

    /// An error with `message` that points to this topic.
    pub fn error(self, message: impl Into<String>) -> Explained {
        Explained {
            topic: self,
            message: message.into(),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.link())
    }
}

/// The entry of `docs/troubleshooting.md` that explains an error.
pub trait Troubleshoot {
    fn topic(&self) -> Topic;
}

/// An ad-hoc error message and the entry that explains it: `bail!(Topic::X.error(..))`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Explained {
    pub topic: Topic,
    pub message: String,
}

/// A report given a topic at a boundary by [`TopicExt::topic`]. It prints exactly as the
/// report it wraps: its message is the report's first line, its causes the report's causes.
#[derive(Debug)]
pub struct WithTopic {
    pub topic: Topic,
    pub report: Report,
}

impl fmt::Display for WithTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.report, f)
    }
}

impl Error for WithTopic {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.report.source()
    }
}

/// Points the error of a fallible call to an entry of `docs/troubleshooting.md`.
pub trait TopicExt<T> {
    /// The error, if any, now points to `topic`, unless an error in it already does. What is
    /// printed does not change. An [`Exit`] on top keeps its exit code and takes the topic.
    fn topic(self, topic: Topic) -> color_eyre::Result<T>;
}

impl<T, E: Into<Report>> TopicExt<T> for Result<T, E> {
    fn topic(self, topic: Topic) -> color_eyre::Result<T> {
        self.map_err(|error| with_topic(error.into(), topic))
    }
}

fn with_topic(mut report: Report, topic: Topic) -> Report {
    if help(&report) == Some(topic) {
        return report;
    }
    let exit_on_top = report
        .chain()
        .next()
        .is_some_and(|top| top.downcast_ref::<Exit>().is_some());
    if exit_on_top && let Some(exit) = report.downcast_mut::<Exit>() {
        exit.topic = Some(topic);
        return report;
    }
    Report::new(WithTopic { topic, report })
}

/// The topic of `report`: the outermost error of its chain that has one; else the topic of an
/// [`Exit`] it was wrapped in (`wrap_err(Exit::new(2, ..))`), a fallback for what it wraps.
pub fn help(report: &Report) -> Option<Topic> {
    report
        .chain()
        .find_map(topic_of_error)
        .or_else(|| report.downcast_ref::<Exit>().and_then(|exit| exit.topic))
}

/// The exit code `report` asks for, looking through [`WithTopic`] wrappers.
pub fn exit_code(report: &Report) -> Option<u8> {
    if let Some(exit) = report.downcast_ref::<Exit>() {
        return Some(exit.code);
    }
    report
        .downcast_ref::<WithTopic>()
        .and_then(|wrapped| exit_code(&wrapped.report))
}

macro_rules! troubleshooting_types {
    ($error:ident, $($type:ty),* $(,)?) => {
        $(
            if let Some(error) = $error.downcast_ref::<$type>() {
                return Some(Troubleshoot::topic(error));
            }
        )*
    };
}
/// The topic of one error of a chain, if it has one.
fn topic_of_error(error: &(dyn Error + 'static)) -> Option<Topic> {
    if let Some(wrapped) = error.downcast_ref::<WithTopic>() {
        return Some(wrapped.topic);
    }
    if let Some(exit) = error.downcast_ref::<Exit>() {
        return exit.topic;
    }
    // Every `thiserror` type of the crate but `Exit`; `tests/docs.rs` checks the list.
    troubleshooting_types!(
        error,
        Explained,
        PlanError,
        MetadataError,
        EngineError,
        RunnerError,
        PipelineError,
        ImageError,
        HeaderError,
        JunitError,
        CompareError,
        CollectError,
        WorkflowError,
        UnknownPlatform
    );
    None
}

impl Troubleshoot for Explained {
    fn topic(&self) -> Topic {
        self.topic
    }
}

impl Troubleshoot for PlanError {
    fn topic(&self) -> Topic {
        match self {
            PlanError::UnknownRecipe { .. } | PlanError::UnknownDependency { .. } => {
                Topic::UnknownRecipe
            }
            PlanError::ArgumentCount { .. } => Topic::WrongArguments,
            PlanError::Cycle { .. } => Topic::CircularDependency,
            PlanError::UnsupportedArgument { .. }
            | PlanError::OptionParameter { .. }
            | PlanError::Variable { .. } => Topic::PlanCannotEvaluate,
            PlanError::Metadata(error) => error.topic(),
        }
    }
}

impl Troubleshoot for MetadataError {
    fn topic(&self) -> Topic {
        match self {
            MetadataError::Empty { .. }
            | MetadataError::UnknownKey { .. }
            | MetadataError::NoValues { .. }
            | MetadataError::Repeated { .. }
            | MetadataError::OutsideProject { .. }
            | MetadataError::UnknownPlaceholder { .. }
            | MetadataError::Wildcard { .. }
            | MetadataError::BadSecretName { .. }
            | MetadataError::BadCache { .. }
            | MetadataError::BadRunner { .. } => Topic::BadMetadata,
        }
    }
}

impl Troubleshoot for EngineError {
    fn topic(&self) -> Topic {
        match self {
            EngineError::NotFound => Topic::EngineNotFound,
            EngineError::Unsupported => Topic::DaggerOnWindows,
            EngineError::BadSession { .. }
            | EngineError::BadCliBin { .. }
            | EngineError::SessionFailed { .. } => Topic::EngineSessionFails,
        }
    }
}

impl Troubleshoot for RunnerError {
    fn topic(&self) -> Topic {
        match self {
            RunnerError::HostOnly { .. } => Topic::HostOnlyRecipe,
        }
    }
}

impl Troubleshoot for PipelineError {
    fn topic(&self) -> Topic {
        match self {
            PipelineError::VariableImage { problem, .. }
            | PipelineError::RecipeImage { problem, .. } => problem.topic(),
            PipelineError::MissingSecrets { .. } => Topic::MissingSecret,
        }
    }
}

impl Troubleshoot for ImageError {
    fn topic(&self) -> Topic {
        match self {
            ImageError::NotPinned { .. }
            | ImageError::Latest { .. }
            | ImageError::BadDigest { .. }
            | ImageError::Malformed { .. } => Topic::ImageNotPinned,
            ImageError::BadMirror { .. } => Topic::ImageMirror,
        }
    }
}

impl Troubleshoot for HeaderError {
    fn topic(&self) -> Topic {
        match self {
            HeaderError::Unreadable { .. }
            | HeaderError::WrongPlatform { .. }
            | HeaderError::NotExecutable { .. }
            | HeaderError::Unsigned { .. } => Topic::BinaryValidation,
        }
    }
}

impl Troubleshoot for JunitError {
    fn topic(&self) -> Topic {
        match self {
            JunitError::Xml { .. } | JunitError::UnnamedTest { .. } => {
                Topic::ParityCannotBeVerified
            }
        }
    }
}

impl Troubleshoot for CompareError {
    fn topic(&self) -> Topic {
        match self {
            CompareError::Empty { .. } => Topic::ParityCannotBeVerified,
        }
    }
}

impl Troubleshoot for CollectError {
    fn topic(&self) -> Topic {
        match self {
            CollectError::NothingMatched { .. } | CollectError::NoOutputs => {
                Topic::ParityCannotBeVerified
            }
        }
    }
}

impl Troubleshoot for WorkflowError {
    fn topic(&self) -> Topic {
        match self {
            WorkflowError::NoDaggerPin | WorkflowError::DaggerMismatch { .. } => {
                Topic::DaggerVersionMismatch
            }
            WorkflowError::NoCiRecipes
            | WorkflowError::NoCommand { .. }
            | WorkflowError::NoOption { .. }
            | WorkflowError::NoMatrix { .. }
            | WorkflowError::Variadic { .. }
            | WorkflowError::Reserved { .. }
            | WorkflowError::UnknownToken { .. } => Topic::GenCiRecipe,
        }
    }
}

impl Troubleshoot for UnknownPlatform {
    fn topic(&self) -> Topic {
        Topic::UnknownTarget
    }
}

#[cfg(test)]
mod tests {
    use color_eyre::eyre::{WrapErr, bail, eyre};

    use super::*;

    fn not_found() -> color_eyre::Result<()> {
        Err(EngineError::NotFound.into())
    }

    #[test]
    fn slugs_are_unique_anchors() {
        let mut slugs: Vec<&str> = Topic::ALL.iter().map(|topic| topic.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), Topic::ALL.len());
        for slug in slugs {
            assert!(
                slug.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{slug}"
            );
        }
    }

    #[test]
    fn a_typed_error_has_its_topic_under_any_context() {
        let report = not_found().wrap_err("cannot run the tests").unwrap_err();
        assert_eq!(help(&report), Some(Topic::EngineNotFound));
        let plan = eyre!(PlanError::Metadata(MetadataError::Empty {
            recipe: "r".into()
        }));
        assert_eq!(help(&plan), Some(Topic::BadMetadata));
    }

    #[test]
    fn the_outermost_topic_wins_and_nothing_printed_changes() {
        let inner = not_found().wrap_err("in between").unwrap_err();
        let before = format!("{inner:#}");
        let report = Err::<(), _>(inner)
            .topic(Topic::CiRequiresEngine)
            .unwrap_err();
        assert_eq!(help(&report), Some(Topic::CiRequiresEngine));
        assert_eq!(format!("{report:#}"), before);
        let lines: Vec<String> = report.chain().map(ToString::to_string).collect();
        assert_eq!(lines[0], "in between");
        assert!(lines[1].starts_with("no Dagger engine"), "{lines:?}");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn an_explained_message_and_an_untagged_one() {
        fn explained() -> color_eyre::Result<()> {
            bail!(Topic::UnknownTarget.error("unknown target `x`"));
        }
        let report = explained().wrap_err("cannot build").unwrap_err();
        assert_eq!(help(&report), Some(Topic::UnknownTarget));
        assert_eq!(format!("{report:#}"), "cannot build: unknown target `x`");
        assert_eq!(help(&eyre!("plain")), None);
    }

    #[test]
    fn an_exit_keeps_its_code_and_takes_the_topic() {
        let report = Err::<(), _>(Exit::new(3, "failed"))
            .topic(Topic::RecipeFailed)
            .unwrap_err();
        assert_eq!(exit_code(&report), Some(3));
        assert_eq!(help(&report), Some(Topic::RecipeFailed));
        assert_eq!(report.to_string(), "failed");
        // Wrapped around something else, the exit code is still found.
        let wrapped = Err::<(), _>(eyre!("x").wrap_err(Exit::new(2, "cannot tell")))
            .topic(Topic::ParityCannotBeVerified)
            .unwrap_err();
        assert_eq!(exit_code(&wrapped), Some(2));
    }

    #[test]
    fn an_exit_context_is_only_a_fallback() {
        let inner = not_found()
            .wrap_err(
                Exit::new(2, "cannot verify parity").with_topic(Topic::ParityCannotBeVerified),
            )
            .unwrap_err();
        assert_eq!(help(&inner), Some(Topic::EngineNotFound));
        let nothing_else = Err::<(), _>(eyre!("manifest missing"))
            .wrap_err(
                Exit::new(2, "cannot verify parity").with_topic(Topic::ParityCannotBeVerified),
            )
            .unwrap_err();
        assert_eq!(help(&nothing_else), Some(Topic::ParityCannotBeVerified));
    }
}
