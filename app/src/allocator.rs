//! The system allocator, tuned for a small steady state.
//!
//! glibc serves allocations above its mmap threshold (128 KiB) with `mmap`, returned to the
//! system on free. But after freeing such a block it *raises* the threshold to that block's
//! size (up to 32 MiB), so later large buffers (request bodies of 10 MiB configs, RocksDB's
//! memtable blocks) come from the heap, where fragmentation keeps them. Measured: a burst of
//! thirty 8 MiB configs, published and deleted, left the process at 450 MB instead of
//! 75 MB for good. Fixing the threshold turns the adjustment off.
//!
//! glibc also gives threads arenas of their own, up to eight per core, each keeping the
//! memory freed into it. nacosd's threads (the runtime's workers, raft's, RocksDB's, the
//! blocking pool) allocate and free across each other, so memory freed in one arena is
//! not reused by the next allocation in another. One arena per core (two at least) keeps
//! lock contention low (the runtime runs a worker per core); measured on 2 cores
//! (BENCHMARKS.md, session 8): 4-7% lower peak RSS under sustained publishing, ~100 B less
//! per 1 KiB config at 10,000, throughput and CPU per publish within noise.

/// Allocations of at least this many bytes are mapped, and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`] and its arenas at one per core. Call
/// first thing in `main`, before other threads start; a no-op on other C libraries.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
        for (name, option, value) in
            [("mmap threshold", libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD), ("arena count", libc::M_ARENA_MAX, arenas)]
        {
            #[allow(unsafe_code)]
            // SAFETY: `mallopt` takes two integers and changes a malloc tunable; glibc
            // documents it as safe to call at any time (it takes the arena lock). No pointer
            // is involved.
            let applied = unsafe { libc::mallopt(option, value) };
            if applied != 1 {
                eprintln!("nacosd: could not set the allocator's {name}; memory may stay resident");
            }
        }
    }
}
