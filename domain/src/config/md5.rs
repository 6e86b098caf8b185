//! The md5 Nacos clients compare to decide whether their copy of a config is stale.

use ::md5::{Digest, Md5};

/// Lower-case hex MD5 of the UTF-8 bytes of `content`; the empty string for empty content,
/// which is what every SDK sends for "I have nothing".
pub fn md5_hex(content: &str) -> String {
    if content.is_empty() {
        return String::new();
    }
    let digest = Md5::digest(content.as_bytes());
    let mut out = String::with_capacity(32);
    for byte in digest {
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0x0f)]);
    }
    out
}

const HEX: [char; 16] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];
