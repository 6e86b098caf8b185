//! A snapshot's bytes as openraft handles them: an open file where snapshots are files, a
//! buffer where they live in the store (the in-memory engine) or while one is received.
//!
//! A file is not read into memory to be handed over: openraft drops a snapshot it built
//! (it wants the meta) and reads one it sends to a peer chunk by chunk.

use std::io::{self, Cursor, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite, ReadBuf};

#[derive(Debug)]
pub enum SnapshotData {
    Buffer(Cursor<Vec<u8>>),
    File(tokio::fs::File),
}

impl SnapshotData {
    pub fn buffer(bytes: Vec<u8>) -> Self {
        Self::Buffer(Cursor::new(bytes))
    }

    /// All of it, from the start, whatever has been read so far.
    pub async fn into_bytes(self) -> io::Result<Vec<u8>> {
        match self {
            Self::Buffer(cursor) => Ok(cursor.into_inner()),
            Self::File(mut file) => {
                file.seek(SeekFrom::Start(0)).await?;
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).await?;
                Ok(bytes)
            }
        }
    }
}

impl AsyncRead for SnapshotData {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).poll_read(cx, buf),
            Self::File(file) => Pin::new(file).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SnapshotData {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).poll_write(cx, buf),
            Self::File(file) => Pin::new(file).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).poll_flush(cx),
            Self::File(file) => Pin::new(file).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).poll_shutdown(cx),
            Self::File(file) => Pin::new(file).poll_shutdown(cx),
        }
    }
}

impl AsyncSeek for SnapshotData {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).start_seek(position),
            Self::File(file) => Pin::new(file).start_seek(position),
        }
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        match self.get_mut() {
            Self::Buffer(cursor) => Pin::new(cursor).poll_complete(cx),
            Self::File(file) => Pin::new(file).poll_complete(cx),
        }
    }
}
