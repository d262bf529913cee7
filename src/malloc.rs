//! Settings of glibc's allocator for this process's allocation pattern: a few
//! large buffers (the job list, the node list, the encoded exposition) made and
//! freed once per collection, on the runtime's worker and blocking threads.
//!
//! With glibc's defaults, freeing a large mmap'd buffer raises the mmap threshold
//! to its size (up to 32 MiB), so the next collection's buffers come from the
//! heap arenas instead, which are not returned to the system and fragment; one
//! arena per thread multiplies that. Measured at 10,000 nodes / 100,000 jobs: peak
//! RSS 105 MiB with the defaults, 70–73 MiB with a fixed 128 KiB threshold and two
//! arenas (jemalloc 120–133 MiB, mimalloc 73–86 MiB, preloaded), at the same CPU.
//! docs/performance.md has the table.

/// Fixes the mmap threshold at glibc's initial 128 KiB (large buffers are mapped
/// and unmapped, untouched capacity costs no memory) and caps the arenas at two.
/// Call before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune() {
    // SAFETY: mallopt only sets allocator parameters; it is called from main
    // before the runtime starts any thread. A refused setting (return 0) leaves
    // glibc's default, which is correct, only larger.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Other C libraries keep their own allocator behaviour.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

/// Returns the free memory of every arena to the system. Called once per
/// collection, after the previous collection's buffers are freed: without it the
/// resident size ratchets up by fragments of each collection's buffers.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free pages to the system; it is safe to
    // call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
