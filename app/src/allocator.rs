//! The system allocator, told to give large buffers back.
//!
//! glibc serves allocations above its mmap threshold (128 KiB) with `mmap`, returned to the
//! system on free. But after freeing such a block it *raises* the threshold to that block's
//! size (up to 32 MiB), so later large buffers (request bodies of 10 MiB configs, RocksDB's
//! memtable blocks) come from the heap, where fragmentation keeps them. Measured: a burst of
//! thirty 8 MiB configs, published and deleted, left the process at 450 MB instead of
//! 75 MB for good. Fixing the threshold turns the adjustment off.

/// Allocations of at least this many bytes are mapped, and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`]. Call first thing in `main`; a no-op
/// on other C libraries.
pub fn give_large_buffers_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: `mallopt` takes two integers and changes a malloc tunable; glibc documents it
    // as safe to call at any time (it takes the arena lock). No pointer is involved.
    let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if applied != 1 {
        eprintln!("nacosd: could not set the allocator's mmap threshold; large buffers may stay resident");
    }
}
