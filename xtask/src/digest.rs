//! SHA-256 of files, streamed in fixed-size blocks: never a whole file in memory.
//!
//! sha2 picks its fastest backend at run time: the SHA extensions on `x86_64` (SHA-NI) and
//! `aarch64` (the SHA2 extension) when the CPU has them, portable code otherwise.

use std::{fs::File, io::Read, path::Path};

use sha2::{Digest, Sha256};

/// Read size: large enough to amortise syscalls, small enough to stay in cache.
pub const BLOCK: usize = 256 * 1024;

/// The SHA-256 of the file at `path` as lowercase hex, and its size in bytes.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; BLOCK];
    sha256_reader(&mut file, &mut buffer)
}

/// The SHA-256 of everything `reader` yields, read through `buffer` (reused between calls
/// by callers that hash many files), and the number of bytes read.
pub fn sha256_reader(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let read = match reader.read(buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// An incremental SHA-256 for callers that read the bytes themselves.
#[derive(Debug, Clone, Default)]
pub struct Sha256Stream(Sha256);

impl Sha256Stream {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as lowercase hex.
    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// The bytes of a hex string, or `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let (digest, size) = sha256_file(&path).unwrap();
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(size, 3);
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn streams_across_block_boundaries() {
        // One byte more than two blocks, through a buffer smaller than a block.
        let bytes: Vec<u8> = (0..=2 * BLOCK).map(|i| (i % 251) as u8).collect();
        let mut buffer = vec![0u8; 4096];
        let (streamed, size) = sha256_reader(&mut bytes.as_slice(), &mut buffer).unwrap();
        let mut stream = Sha256Stream::default();
        stream.update(&bytes);
        assert_eq!(streamed, stream.finish());
        assert_eq!(size, bytes.len() as u64);
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0x00, 0xff, 0x80]), "00ff80");
        assert_eq!(unhex("00ff80"), Some(vec![0x00, 0xff, 0x80]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é0"), None);
    }
}
