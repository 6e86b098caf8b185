//! A snapshot's bytes.
//!
//! **Version 2** (written now) is the state machine's rows exactly as the store holds them,
//! one after another:
//!
//! ```text
//! "nacosd-snapshot\n"  16 bytes of magic
//! version              u32, big-endian (2)
//! rows                 { key length u32, key, value length u32, value } ...
//! end                  a key length of 0, then the number of rows as u64
//! ```
//!
//! It is written row by row from a point-in-time view of the store and read row by row, so
//! building one costs a write buffer however much history the state holds. The end marker
//! and count tell a complete file from a truncated one.
//!
//! **Version 1** was one JSON document of every row, decoded (`StateFile` in `state_rows.rs`).
//! Building it held the state three times over (the pairs, the rows, the JSON): with 200,000
//! history records, 200 MB for a moment, every 10,000 writes. It is still read, from old
//! data directories and from peers that have not been upgraded.

use std::io::{self, Read, Write};

use ports::kv::KvPair;

/// Starts every version 2 file; a version 1 file starts with `{`.
const MAGIC: &[u8; 16] = b"nacosd-snapshot\n";
pub(crate) const VERSION: u32 = 2;
/// A row's key is a prefix and a config's or service's names: far below this.
const MAX_KEY_LEN: u32 = 1 << 20;

/// A snapshot this version of nacosd cannot read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormatError {
    #[error("the snapshot's state file has format version {found}; this nacosd reads versions 1 and {known}")]
    UnknownVersion { found: u32, known: u32 },
    #[error("the snapshot's state file is not readable: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("the snapshot is damaged: {0}")]
    Damaged(String),
    #[error("the snapshot could not be read: {0}")]
    Io(#[from] io::Error),
}

/// Which format a snapshot's first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON, read whole.
    Json,
    /// Rows, streamed.
    Rows,
}

impl Format {
    /// Reads the header: the magic and version of version 2, or the `version` field of a
    /// version 1 document. Any other version is refused by number, before anything else is
    /// read, so a newer format is reported as such rather than as whatever it changed.
    pub(crate) fn detect(data: &[u8]) -> Result<Self, FormatError> {
        if let Some(rest) = data.strip_prefix(MAGIC.as_slice()) {
            let version = rest.get(..4).ok_or_else(|| damaged("no version after the magic"))?;
            let version = u32::from_be_bytes([version[0], version[1], version[2], version[3]]);
            if version != VERSION {
                return Err(FormatError::UnknownVersion { found: version, known: VERSION });
            }
            return Ok(Self::Rows);
        }
        #[derive(serde::Deserialize)]
        struct Header {
            version: u32,
        }
        let header: Header = serde_json::from_slice(data)?;
        if header.version != 1 {
            return Err(FormatError::UnknownVersion { found: header.version, known: VERSION });
        }
        Ok(Self::Json)
    }

    /// As [`detect`](Self::detect), reading only as much of `source` as the header needs
    /// (all of it for version 1, which is one JSON document).
    pub(crate) fn detect_in(mut source: impl Read) -> Result<Self, FormatError> {
        let mut head = Vec::with_capacity(MAGIC.len() + 4);
        (&mut source).take((MAGIC.len() + 4) as u64).read_to_end(&mut head)?;
        if head.starts_with(MAGIC) || head.len() < MAGIC.len() && MAGIC.starts_with(&head) {
            return Self::detect(&head);
        }
        source.read_to_end(&mut head)?;
        Self::detect(&head)
    }
}

/// Writes a version 2 snapshot, row by row.
pub(crate) struct RowWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> RowWriter<W> {
    pub(crate) fn new(mut out: W) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_be_bytes())?;
        Ok(Self { out, rows: 0 })
    }

    pub(crate) fn row(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        if key.is_empty() || key.len() > MAX_KEY_LEN as usize {
            return Err(io::Error::other(format!("a snapshot row key of {} bytes", key.len())));
        }
        let value_len = u32::try_from(value.len()).map_err(io::Error::other)?;
        self.out.write_all(&(key.len() as u32).to_be_bytes())?;
        self.out.write_all(key)?;
        self.out.write_all(&value_len.to_be_bytes())?;
        self.out.write_all(value)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes the end marker; answers the output, for the caller to flush and sync.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&0_u32.to_be_bytes())?;
        self.out.write_all(&self.rows.to_be_bytes())?;
        Ok(self.out)
    }
}

/// Reads a version 2 snapshot's rows, checking the end marker and count.
pub(crate) struct RowReader<R: Read> {
    source: R,
    rows: u64,
    done: bool,
}

impl<R: Read> RowReader<R> {
    /// Reads and checks the header.
    pub(crate) fn new(mut source: R) -> Result<Self, FormatError> {
        let mut head = [0_u8; MAGIC.len() + 4];
        source.read_exact(&mut head).map_err(truncated)?;
        Format::detect(&head).and_then(|format| match format {
            Format::Rows => Ok(()),
            Format::Json => Err(damaged("not a version 2 snapshot")),
        })?;
        Ok(Self { source, rows: 0, done: false })
    }

    /// The next row, or `None` after the end marker (whose count must match).
    pub(crate) fn next_row(&mut self) -> Result<Option<KvPair>, FormatError> {
        if self.done {
            return Ok(None);
        }
        let key_len = self.read_u32()?;
        if key_len == 0 {
            let mut count = [0_u8; 8];
            self.source.read_exact(&mut count).map_err(truncated)?;
            let count = u64::from_be_bytes(count);
            if count != self.rows {
                return Err(damaged(&format!("its end says {count} rows, {} were read", self.rows)));
            }
            if self.source.read(&mut [0_u8; 1])? != 0 {
                return Err(damaged("bytes after the end marker"));
            }
            self.done = true;
            return Ok(None);
        }
        if key_len > MAX_KEY_LEN {
            return Err(damaged(&format!("a row key of {key_len} bytes")));
        }
        let key = self.read_bytes(key_len)?;
        let value_len = self.read_u32()?;
        let value = self.read_bytes(value_len)?;
        self.rows += 1;
        Ok(Some((key, value)))
    }

    fn read_u32(&mut self) -> Result<u32, FormatError> {
        let mut bytes = [0_u8; 4];
        self.source.read_exact(&mut bytes).map_err(truncated)?;
        Ok(u32::from_be_bytes(bytes))
    }

    /// Reads `len` bytes without trusting `len` for the allocation: a damaged length runs
    /// into the end of the data, not out of memory.
    fn read_bytes(&mut self, len: u32) -> Result<Vec<u8>, FormatError> {
        let mut bytes = Vec::new();
        (&mut self.source).take(u64::from(len)).read_to_end(&mut bytes)?;
        if bytes.len() != len as usize {
            return Err(damaged("it ends inside a row"));
        }
        Ok(bytes)
    }
}

fn damaged(what: &str) -> FormatError {
    FormatError::Damaged(what.to_owned())
}

fn truncated(err: io::Error) -> FormatError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        damaged("it ends before its end marker")
    } else {
        FormatError::Io(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(rows: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut writer = RowWriter::new(Vec::new()).unwrap();
        for (key, value) in rows {
            writer.row(key, value).unwrap();
        }
        writer.finish().unwrap()
    }

    fn read_all(data: &[u8]) -> Result<Vec<KvPair>, FormatError> {
        let mut reader = RowReader::new(data)?;
        let mut rows = Vec::new();
        while let Some(row) = reader.next_row()? {
            rows.push(row);
        }
        Ok(rows)
    }

    #[test]
    fn rows_read_back_as_written() {
        let data = written(&[(b"sm/cfg/a", b"{}"), (b"sm/hist/\0\0\0\0\0\0\0\x01", b""), (b"sm/counters", b"[1,2]")]);
        assert_eq!(Format::detect(&data).unwrap(), Format::Rows);
        assert_eq!(Format::detect_in(data.as_slice()).unwrap(), Format::Rows);
        let rows = read_all(&data).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], (b"sm/hist/\0\0\0\0\0\0\0\x01".to_vec(), Vec::new()));
        assert_eq!(read_all(&written(&[])).unwrap(), Vec::new());
    }

    #[test]
    fn a_truncated_or_padded_snapshot_is_refused() {
        let data = written(&[(b"sm/cfg/a", b"{\"x\":1}"), (b"sm/cfg/b", b"{}")]);
        for cut in 0..data.len() {
            let err = read_all(&data[..cut]).expect_err("truncated");
            assert!(matches!(err, FormatError::Damaged(_) | FormatError::Unreadable(_)), "{cut}: {err}");
        }
        let mut padded = data.clone();
        padded.push(0);
        assert!(read_all(&padded).unwrap_err().to_string().contains("after the end marker"));
        // A count that disagrees with the rows.
        let mut miscounted = data;
        let last = miscounted.len() - 1;
        miscounted[last] = 9;
        assert!(read_all(&miscounted).unwrap_err().to_string().contains("9 rows"));
    }

    #[test]
    fn versions_are_told_apart_and_unknown_ones_named() {
        assert_eq!(Format::detect(b"{\"version\":1,\"configs\":[]}").unwrap(), Format::Json);
        assert_eq!(Format::detect_in(&b"{\"version\":1}"[..]).unwrap(), Format::Json);
        let err = Format::detect(b"{\"version\":7}").unwrap_err();
        assert!(err.to_string().contains("format version 7"), "{err}");
        let mut future = MAGIC.to_vec();
        future.extend_from_slice(&3_u32.to_be_bytes());
        assert!(Format::detect_in(future.as_slice()).unwrap_err().to_string().contains("format version 3"));
        assert!(matches!(Format::detect(b"garbage"), Err(FormatError::Unreadable(_))));
    }

    #[test]
    fn a_damaged_length_does_not_allocate_it() {
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&VERSION.to_be_bytes());
        data.extend_from_slice(&4_u32.to_be_bytes());
        data.extend_from_slice(b"sm/x");
        data.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_all(&data).unwrap_err().to_string().contains("inside a row"));
    }
}
