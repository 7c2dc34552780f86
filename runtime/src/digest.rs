//! Content hashes: the SHA-256 of bytes as lowercase hex (artifact snapshots, MOJO keys).

use sha2::{Digest, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
