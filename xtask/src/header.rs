//! The executable header of a release binary, read with the `object` crate, and the check
//! that it is the kind of program its target needs: ELF for Linux, Mach-O for macOS, PE32+
//! for Windows, each for the target's CPU.
//!
//! `object` rather than `goblin`: it is the parser the Rust toolchain itself uses (std's
//! backtraces, rustc, gimli), it compiles only the formats asked for, and its `ReadCache`
//! reads just the byte ranges a header needs, so a 100 MB binary is never loaded whole.

use std::{fmt, fs::File, path::Path};

use object::{
    Architecture, FileKind, Object, ObjectKind, ReadCache, ReadRef,
    read::elf::{FileHeader, ProgramHeader},
};
use serde::Serialize;

use crate::target::{Arch, Os, Target};

/// The container format, with its word size where a format has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    #[serde(rename = "ELF")]
    Elf64,
    #[serde(rename = "ELF32")]
    Elf32,
    #[serde(rename = "Mach-O")]
    MachO64,
    #[serde(rename = "Mach-O 32-bit")]
    MachO32,
    #[serde(rename = "Mach-O universal")]
    MachOUniversal,
    #[serde(rename = "PE32+")]
    Pe32Plus,
    #[serde(rename = "PE32")]
    Pe32,
}

/// What the header of a binary says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub architecture: Architecture,
    pub kind: ObjectKind,
    /// The program loader an ELF binary asks for (`PT_INTERP`), such as
    /// `/lib/ld-linux-aarch64.so.1`; absent for static binaries and other formats.
    pub interpreter: Option<String>,
    /// A Mach-O binary carries an embedded code signature (`LC_CODE_SIGNATURE` pointing
    /// at a signature blob); `None` for other formats.
    pub code_signature: Option<bool>,
}

/// A header that does not fit the target, or a file that is no executable at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("`{file}` is not an executable this check knows (ELF, Mach-O or PE): {reason}")]
    Unreadable { file: String, reason: String },
    #[error(
        "`{file}` is {found}, but target `{target}` needs {expected}; the build produced a binary for another platform"
    )]
    WrongPlatform {
        file: String,
        target: String,
        found: String,
        expected: String,
    },
    #[error("`{file}` is {found} but not an executable program ({kind})")]
    NotExecutable {
        file: String,
        found: String,
        kind: String,
    },
    #[error(
        "`{file}` has no code signature; macOS on Apple silicon kills arm64 programs that are not signed (ad hoc at least: `codesign --sign - {file}`)"
    )]
    Unsigned { file: String },
}

impl Header {
    /// Reads the header of the file at `path`, touching only the bytes the header needs.
    pub fn read(path: &Path) -> Result<Header, HeaderError> {
        let unreadable = |reason: String| HeaderError::Unreadable {
            file: path.display().to_string(),
            reason,
        };
        let file = File::open(path).map_err(|error| unreadable(error.to_string()))?;
        let cache = ReadCache::new(file);
        Header::parse(&cache).map_err(unreadable)
    }

    /// Reads a header from `data`: a file behind a [`ReadCache`] or bytes in memory.
    pub fn parse<'data, R: ReadRef<'data>>(data: R) -> Result<Header, String> {
        let kind = FileKind::parse(data).map_err(|error| error.to_string())?;
        let format = match kind {
            FileKind::Elf64 => Format::Elf64,
            FileKind::Elf32 => Format::Elf32,
            FileKind::MachO64 => Format::MachO64,
            FileKind::MachO32 => Format::MachO32,
            FileKind::MachOFat32 | FileKind::MachOFat64 => {
                return Ok(Header {
                    format: Format::MachOUniversal,
                    architecture: Architecture::Unknown,
                    kind: ObjectKind::Executable,
                    interpreter: None,
                    code_signature: None,
                });
            }
            FileKind::Pe64 => Format::Pe32Plus,
            FileKind::Pe32 => Format::Pe32,
            other => return Err(format!("it is a {other:?} file")),
        };
        let object = object::File::parse(data).map_err(|error| error.to_string())?;
        let interpreter = match format {
            Format::Elf64 => {
                elf_interpreter::<object::elf::FileHeader64<object::Endianness>, R>(data)?
            }
            Format::Elf32 => {
                elf_interpreter::<object::elf::FileHeader32<object::Endianness>, R>(data)?
            }
            _ => None,
        };
        let code_signature = match format {
            Format::MachO64 => Some(mach_o_signed::<
                object::macho::MachHeader64<object::Endianness>,
                R,
            >(data)?),
            Format::MachO32 => Some(mach_o_signed::<
                object::macho::MachHeader32<object::Endianness>,
                R,
            >(data)?),
            _ => None,
        };
        Ok(Header {
            format,
            architecture: object.architecture(),
            kind: object.kind(),
            interpreter,
            code_signature,
        })
    }

    /// `Ok` when this header is a program for `target`.
    pub fn check(&self, file: &Path, target: &Target) -> Result<(), HeaderError> {
        let expected = Expected::of(target);
        if self.format != expected.format || self.architecture != expected.architecture {
            return Err(HeaderError::WrongPlatform {
                file: file.display().to_string(),
                target: target.name.clone(),
                found: self.to_string(),
                expected: expected.to_string(),
            });
        }
        let executable = match self.format {
            // A position-independent executable is ET_DYN, like a shared library.
            Format::Elf64 | Format::Elf32 => {
                matches!(self.kind, ObjectKind::Executable | ObjectKind::Dynamic)
            }
            _ => self.kind == ObjectKind::Executable,
        };
        if !executable {
            return Err(HeaderError::NotExecutable {
                file: file.display().to_string(),
                found: self.to_string(),
                kind: kind_name(self.kind).to_owned(),
            });
        }
        if target.os == Os::Darwin
            && target.arch == Arch::Arm64
            && self.code_signature != Some(true)
        {
            return Err(HeaderError::Unsigned {
                file: file.display().to_string(),
            });
        }
        Ok(())
    }

    /// The CPU in the naming of this header's format (`AArch64` in ELF, `arm64` in Mach-O).
    pub fn architecture_name(&self) -> String {
        architecture_name(self.format, self.architecture)
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.format == Format::MachOUniversal {
            return f.write_str(format_name(self.format));
        }
        write!(
            f,
            "{} {}",
            format_name(self.format),
            self.architecture_name()
        )
    }
}

/// The header a target's binary must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub format: Format,
    pub architecture: Architecture,
}

impl Expected {
    pub fn of(target: &Target) -> Expected {
        let format = match target.os {
            Os::Linux => Format::Elf64,
            Os::Darwin => Format::MachO64,
            Os::Windows => Format::Pe32Plus,
        };
        let architecture = match target.arch {
            Arch::X64 => Architecture::X86_64,
            Arch::Arm64 => Architecture::Aarch64,
        };
        Expected {
            format,
            architecture,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            format_name(self.format),
            architecture_name(self.format, self.architecture)
        )
    }
}

pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Elf64 => "ELF",
        Format::Elf32 => "ELF32",
        Format::MachO64 => "Mach-O",
        Format::MachO32 => "Mach-O 32-bit",
        Format::MachOUniversal => "Mach-O universal",
        Format::Pe32Plus => "PE32+",
        Format::Pe32 => "PE32",
    }
}

/// Each format's own name for a CPU, as `file(1)` and the platform's tools print it.
fn architecture_name(format: Format, architecture: Architecture) -> String {
    let mach_o = matches!(format, Format::MachO64 | Format::MachO32);
    match architecture {
        Architecture::X86_64 if mach_o => "x86_64".to_owned(),
        Architecture::X86_64 => "x86-64".to_owned(),
        Architecture::Aarch64 if mach_o => "arm64".to_owned(),
        Architecture::Aarch64 if matches!(format, Format::Pe32Plus | Format::Pe32) => {
            "ARM64".to_owned()
        }
        Architecture::Aarch64 => "AArch64".to_owned(),
        Architecture::I386 => "i386".to_owned(),
        Architecture::Arm => "ARM".to_owned(),
        other => format!("{other:?}"),
    }
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Relocatable => "a relocatable object file",
        ObjectKind::Executable => "an executable",
        ObjectKind::Dynamic => "a shared library",
        ObjectKind::Core => "a core dump",
        _ => "of unknown kind",
    }
}

/// Whether a Mach-O file has an `LC_CODE_SIGNATURE` whose data starts with the embedded
/// signature's magic.
fn mach_o_signed<'data, Mach, R>(data: R) -> Result<bool, String>
where
    Mach: object::read::macho::MachHeader,
    R: ReadRef<'data>,
{
    let header = Mach::parse(data, 0).map_err(|error| error.to_string())?;
    let endian = header.endian().map_err(|error| error.to_string())?;
    let mut commands = header
        .load_commands(endian, data, 0)
        .map_err(|error| error.to_string())?;
    while let Some(command) = commands.next().map_err(|error| error.to_string())? {
        if command.cmd() != object::macho::LC_CODE_SIGNATURE {
            continue;
        }
        let linkedit: &object::macho::LinkeditDataCommand<Mach::Endian> =
            command.data().map_err(|error| error.to_string())?;
        let offset = u64::from(linkedit.dataoff.get(endian));
        let magic = data
            .read_bytes_at(offset, 4)
            .map_err(|()| "the code signature lies outside the file".to_owned())?;
        return Ok(magic == object::macho::CSMAGIC_EMBEDDED_SIGNATURE.to_be_bytes());
    }
    Ok(false)
}

fn elf_interpreter<'data, Elf, R>(data: R) -> Result<Option<String>, String>
where
    Elf: FileHeader,
    R: ReadRef<'data>,
{
    let header = Elf::parse(data).map_err(|error| error.to_string())?;
    let endian = header.endian().map_err(|error| error.to_string())?;
    let segments = header
        .program_headers(endian, data)
        .map_err(|error| error.to_string())?;
    for segment in segments {
        if let Some(path) = segment
            .interpreter(endian, data)
            .map_err(|error| error.to_string())?
        {
            return Ok(Some(String::from_utf8_lossy(path).into_owned()));
        }
    }
    Ok(None)
}

/// Minimal headers of each format, enough for `object` to parse: fixtures for tests here and
/// in the integration tests (which write them to disk as fake build outputs).
#[doc(hidden)]
pub mod fixtures {
    /// `EM_X86_64` and `EM_AARCH64`.
    pub const ELF_X86_64: u16 = 62;
    pub const ELF_AARCH64: u16 = 183;
    /// `CPU_TYPE_X86_64` and `CPU_TYPE_ARM64`.
    pub const MACHO_X86_64: u32 = 0x0100_0007;
    pub const MACHO_ARM64: u32 = 0x0100_000c;
    /// `IMAGE_FILE_MACHINE_AMD64` and `IMAGE_FILE_MACHINE_ARM64`.
    pub const PE_AMD64: u16 = 0x8664;
    pub const PE_ARM64: u16 = 0xaa64;

    /// A 64-bit little-endian ELF executable (`ET_EXEC`) for `machine`, with a `PT_INTERP`
    /// segment naming `interpreter` when one is given.
    pub fn elf(machine: u16, interpreter: Option<&str>) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2; // ELFCLASS64
        bytes[5] = 1; // ELFDATA2LSB
        bytes[6] = 1; // EV_CURRENT
        put16(&mut bytes, 16, 2); // ET_EXEC
        put16(&mut bytes, 18, machine);
        put32(&mut bytes, 20, 1); // e_version
        put64(&mut bytes, 24, 0x40_1000); // e_entry
        put16(&mut bytes, 52, 64); // e_ehsize
        put16(&mut bytes, 54, 56); // e_phentsize
        put16(&mut bytes, 58, 64); // e_shentsize
        if let Some(interpreter) = interpreter {
            put64(&mut bytes, 32, 64); // e_phoff
            put16(&mut bytes, 56, 1); // e_phnum
            let mut program_header = vec![0u8; 56];
            let path_offset: u64 = 64 + 56;
            let path_size = interpreter.len() as u64 + 1;
            put32(&mut program_header, 0, 3); // PT_INTERP
            put32(&mut program_header, 4, 4); // PF_R
            put64(&mut program_header, 8, path_offset);
            put64(&mut program_header, 32, path_size); // p_filesz
            put64(&mut program_header, 40, path_size); // p_memsz
            put64(&mut program_header, 48, 1); // p_align
            bytes.extend_from_slice(&program_header);
            bytes.extend_from_slice(interpreter.as_bytes());
            bytes.push(0);
        }
        bytes
    }

    /// A 64-bit Mach-O executable (`MH_EXECUTE`) for `cputype`; with an embedded code
    /// signature (a load command and the signature's header) when `signed`.
    pub fn mach_o(cputype: u32, signed: bool) -> Vec<u8> {
        let mut bytes = vec![0u8; 32];
        put32(&mut bytes, 0, 0xfeed_facf); // MH_MAGIC_64
        put32(&mut bytes, 4, cputype);
        put32(&mut bytes, 12, 2); // MH_EXECUTE
        if signed {
            put32(&mut bytes, 16, 1); // ncmds
            put32(&mut bytes, 20, 16); // sizeofcmds
            let mut command = vec![0u8; 16];
            put32(&mut command, 0, 0x1d); // LC_CODE_SIGNATURE
            put32(&mut command, 4, 16);
            put32(&mut command, 8, 48); // dataoff
            put32(&mut command, 12, 12); // datasize
            bytes.extend_from_slice(&command);
            bytes.extend_from_slice(&0xfade_0cc0_u32.to_be_bytes()); // CSMAGIC_EMBEDDED_SIGNATURE
            bytes.extend_from_slice(&12_u32.to_be_bytes()); // length
            bytes.extend_from_slice(&0_u32.to_be_bytes()); // count
        }
        bytes
    }

    /// A PE image for `machine`: PE32+ when `plus`, else PE32; a DLL when `dll`.
    pub fn pe(machine: u16, plus: bool, dll: bool) -> Vec<u8> {
        const PE_OFFSET: u32 = 64;
        let optional_size: u16 = if plus { 240 } else { 224 };
        let pe = PE_OFFSET as usize;
        let mut bytes = vec![0u8; pe + 4 + 20 + usize::from(optional_size)];
        bytes[..2].copy_from_slice(b"MZ");
        put32(&mut bytes, 60, PE_OFFSET); // e_lfanew
        bytes[pe..pe + 4].copy_from_slice(b"PE\0\0");
        let coff = pe + 4;
        put16(&mut bytes, coff, machine);
        put16(&mut bytes, coff + 16, optional_size);
        let characteristics = 0x0022 | if dll { 0x2000 } else { 0 }; // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
        put16(&mut bytes, coff + 18, characteristics);
        let optional = coff + 20;
        put16(&mut bytes, optional, if plus { 0x20b } else { 0x10b });
        let (alignment, directories) = if plus { (32, 108) } else { (32, 92) };
        put32(&mut bytes, optional + alignment, 0x1000); // SectionAlignment
        put32(&mut bytes, optional + alignment + 4, 0x200); // FileAlignment
        put32(&mut bytes, optional + 56, 0x1000); // SizeOfImage
        put32(&mut bytes, optional + 60, 0x200); // SizeOfHeaders
        put16(&mut bytes, optional + 68, 3); // IMAGE_SUBSYSTEM_WINDOWS_CUI
        put32(&mut bytes, optional + directories, 16); // NumberOfRvaAndSizes
        bytes
    }

    fn put16(bytes: &mut [u8], at: usize, value: u16) {
        bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
    }

    fn put32(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn put64(bytes: &mut [u8], at: usize, value: u64) {
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::{fixtures::*, *};

    fn header(bytes: &[u8]) -> Header {
        Header::parse(bytes).unwrap()
    }

    fn target(name: &str) -> Target {
        Target::parse(name).unwrap()
    }

    #[test]
    fn each_target_accepts_its_own_header() {
        let cases = [
            ("linux-x64", elf(ELF_X86_64, None), "ELF x86-64"),
            ("linux-arm64", elf(ELF_AARCH64, None), "ELF AArch64"),
            ("darwin-x64", mach_o(MACHO_X86_64, false), "Mach-O x86_64"),
            ("darwin-arm64", mach_o(MACHO_ARM64, true), "Mach-O arm64"),
            ("windows-x64", pe(PE_AMD64, true, false), "PE32+ x86-64"),
        ];
        for (name, bytes, shown) in cases {
            let header = header(&bytes);
            assert_eq!(header.to_string(), shown);
            header
                .check(Path::new("dist/x"), &target(name))
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }

    #[test]
    fn an_aarch64_elf_named_for_x64_is_refused_clearly() {
        let error = header(&elf(ELF_AARCH64, None))
            .check(Path::new("dist/taskmd-linux-x64"), &target("linux-x64"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`dist/taskmd-linux-x64` is ELF AArch64, but target `linux-x64` needs ELF x86-64; the build produced a binary for another platform"
        );
    }

    #[test]
    fn every_other_pairing_is_refused() {
        let binaries = [
            ("linux-x64", elf(ELF_X86_64, None)),
            ("linux-arm64", elf(ELF_AARCH64, None)),
            ("darwin-x64", mach_o(MACHO_X86_64, true)),
            ("darwin-arm64", mach_o(MACHO_ARM64, true)),
            ("windows-x64", pe(PE_AMD64, true, false)),
        ];
        for (built_for, bytes) in &binaries {
            for (named_for, _) in &binaries {
                let result = header(bytes).check(Path::new("f"), &target(named_for));
                assert_eq!(
                    result.is_ok(),
                    built_for == named_for,
                    "{built_for} as {named_for}"
                );
            }
        }
    }

    #[test]
    fn pe32_and_arm64_pe_are_not_pe32_plus_x64() {
        let windows = target("windows-x64");
        let error = header(&pe(PE_AMD64, false, false))
            .check(Path::new("f"), &windows)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is PE32 x86-64, but target `windows-x64` needs PE32+ x86-64"),
            "{error}"
        );
        let error = header(&pe(PE_ARM64, true, false))
            .check(Path::new("f"), &windows)
            .unwrap_err();
        assert!(error.to_string().contains("is PE32+ ARM64"), "{error}");
    }

    #[test]
    fn a_dll_is_not_a_program() {
        let error = header(&pe(PE_AMD64, true, true))
            .check(Path::new("f.exe"), &target("windows-x64"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "`f.exe` is PE32+ x86-64 but not an executable program (a shared library)"
        );
    }

    #[test]
    fn an_unsigned_arm64_mac_binary_is_refused() {
        let unsigned = header(&mach_o(MACHO_ARM64, false));
        assert_eq!(unsigned.code_signature, Some(false));
        let error = unsigned
            .check(
                Path::new("dist/taskmd-darwin-arm64"),
                &target("darwin-arm64"),
            )
            .unwrap_err();
        assert!(
            error.to_string().starts_with(
                "`dist/taskmd-darwin-arm64` has no code signature; macOS on Apple silicon kills"
            ),
            "{error}"
        );
        assert_eq!(
            header(&mach_o(MACHO_ARM64, true)).code_signature,
            Some(true)
        );
        // Intel Macs run unsigned programs.
        assert!(
            header(&mach_o(MACHO_X86_64, false))
                .check(Path::new("f"), &target("darwin-x64"))
                .is_ok()
        );
        assert_eq!(header(&elf(ELF_X86_64, None)).code_signature, None);
    }

    #[test]
    fn reads_the_elf_interpreter() {
        let bytes = elf(ELF_AARCH64, Some("/lib/ld-linux-aarch64.so.1"));
        assert_eq!(
            header(&bytes).interpreter.as_deref(),
            Some("/lib/ld-linux-aarch64.so.1")
        );
        assert_eq!(header(&elf(ELF_AARCH64, None)).interpreter, None);
    }

    #[test]
    fn text_is_not_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taskmd-linux-x64");
        std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
        let error = Header::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("is not an executable this check knows (ELF, Mach-O or PE)"),
            "{error}"
        );
        let missing = Header::read(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(missing, HeaderError::Unreadable { .. }));
    }
}
