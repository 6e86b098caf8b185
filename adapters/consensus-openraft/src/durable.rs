//! File-system durability shared by the log segments and the snapshot files.

use std::fs::File;
use std::io;
use std::path::Path;

/// Syncs `dir` itself, so that files created, renamed or removed in it stay so after a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
