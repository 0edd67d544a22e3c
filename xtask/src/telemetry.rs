//! Logs and traces: progress goes to stderr through `tracing`; `RUST_LOG` chooses what.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the subscriber for this process. Progress at `info` by default.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .without_time()
        .compact()
        .try_init();
}
