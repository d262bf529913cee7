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
//!
//! [`Counting`] wraps the system allocator to keep one number, the bytes the
//! process holds on the heap ([`live_bytes`]): the parsers stop reading Slurm's
//! output with `too_large` once it passes [`crate::model::caps::MAX_HEAP_BYTES`]
//! (docs/operations.md, "Output caps").

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes allocated and not yet freed. The
/// binary installs it (`#[global_allocator]` in `main.rs`); in a program that
/// does not (unit tests, the fuzz tests' own counting allocator), [`live_bytes`]
/// stays 0 and the heap cap never applies.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Heap bytes allocated through Rust and not freed, as glibc's chunks (each
/// allocation plus its 8-byte header, rounded up to 16, at least 32 bytes: a
/// one-byte string costs 32), not counting free memory the arenas keep.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// What an allocation of `size` bytes takes from glibc.
fn chunk(size: usize) -> usize {
    (size.saturating_add(8 + 15) & !15).max(32)
}

// SAFETY: every call is forwarded to `System` unchanged; the counter is a relaxed
// atomic that nothing relies on for memory safety.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(chunk(layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(chunk(layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on (realloc, not alloc + copy:
        // glibc grows a large mapped buffer with mremap, without a second copy).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let (old, new) = (chunk(layout.size()), chunk(new_size));
            if new >= old {
                LIVE.fetch_add(new - old, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

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
