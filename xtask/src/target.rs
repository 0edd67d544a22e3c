//! A build target in bun's naming (`linux-x64`, `darwin-arm64`, `linux-x64-musl`, ...): the
//! platform a release binary is for, and what that means for its header and where it can run.

use std::fmt;

use serde::Serialize;

/// The operating systems bun compiles for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Darwin,
    Windows,
}

/// The CPU architectures bun compiles for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X64,
    Arm64,
}

/// The variants bun knows after `<os>-<arch>`: CPU levels and the libc.
const VARIANTS: [&str; 3] = ["baseline", "modern", "musl"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As the justfile names it, such as `linux-x64`.
    pub name: String,
    pub os: Os,
    pub arch: Arch,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot tell the platform of target `{name}`; targets are `<os>-<arch>[-{variants}]` with os linux, darwin or windows and arch x64 or arm64",
    variants = VARIANTS.join("|")
)]
pub struct UnknownPlatform {
    pub name: String,
}

impl Target {
    pub fn parse(name: &str) -> Result<Target, UnknownPlatform> {
        let unknown = || UnknownPlatform {
            name: name.to_owned(),
        };
        let mut parts = name.split('-');
        let os = match parts.next() {
            Some("linux") => Os::Linux,
            Some("darwin") => Os::Darwin,
            Some("windows") => Os::Windows,
            _ => return Err(unknown()),
        };
        let arch = match parts.next() {
            Some("x64") => Arch::X64,
            Some("arm64") => Arch::Arm64,
            _ => return Err(unknown()),
        };
        if !parts.all(|variant| VARIANTS.contains(&variant)) {
            return Err(unknown());
        }
        Ok(Target {
            name: name.to_owned(),
            os,
            arch,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Os {
    /// This machine's operating system, when bun builds for it.
    pub fn host() -> Option<Os> {
        match std::env::consts::OS {
            "linux" => Some(Os::Linux),
            "macos" => Some(Os::Darwin),
            "windows" => Some(Os::Windows),
            _ => None,
        }
    }

    /// How people call it.
    pub fn display_name(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Darwin => "macOS",
            Os::Windows => "Windows",
        }
    }
}

impl Arch {
    /// This machine's architecture, when bun builds for it.
    pub fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The name qemu and GNU triples use (`qemu-aarch64`, `/usr/aarch64-linux-gnu`).
    pub fn gnu_name(self) -> &'static str {
        match self {
            Arch::X64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X64 => "x64",
            Arch::Arm64 => "arm64",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_target_bun_names() {
        for (name, os, arch) in [
            ("linux-x64", Os::Linux, Arch::X64),
            ("linux-arm64", Os::Linux, Arch::Arm64),
            ("linux-x64-baseline", Os::Linux, Arch::X64),
            ("linux-arm64-musl", Os::Linux, Arch::Arm64),
            ("linux-x64-modern-musl", Os::Linux, Arch::X64),
            ("darwin-x64", Os::Darwin, Arch::X64),
            ("darwin-arm64", Os::Darwin, Arch::Arm64),
            ("windows-x64", Os::Windows, Arch::X64),
        ] {
            let target = Target::parse(name).unwrap();
            assert_eq!((target.os, target.arch), (os, arch), "{name}");
            assert_eq!(target.to_string(), name);
        }
    }

    #[test]
    fn rejects_what_bun_would_not_build() {
        for name in [
            "",
            "linux",
            "freebsd-x64",
            "linux-x86",
            "linux-x64-static",
            "x64-linux",
        ] {
            let error = Target::parse(name).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("cannot tell the platform of target `{name}`")),
                "{error}"
            );
        }
    }
}
