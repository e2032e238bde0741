//! # arenapool
//!
//! A general-purpose memory allocator: every thread owns an **arena**, an
//! address-sorted free list carved from `mmap`'d spans, and one global,
//! mutex-protected **page pool** hands out spans, takes them back (coalescing
//! neighbours), serves large blocks and resolves frees into arenas of exited threads.
//!
//! ## Layers, bottom-up
//!
//! Each module uses only those above it in this list (`tests/layers.rs` reads
//! the `crate::` paths in `src/` and fails on one that runs up it):
//!
//! 1. [`os`]: `mmap`, `munmap`, `madvise`, `mremap`, `write(2)`, abort.
//! 2. [`sync`]: a futex mutex that never allocates.
//! 3. [`size`]: size arithmetic, the boundaries between block kinds, key mixing.
//! 4. [`config`]: tunables read once from the environment.
//! 5. [`remote`]: the lock-free list other threads free onto.
//! 6. [`purge`]: when freed memory goes back to the OS.
//! 7. [`span`]: spans, chunk headers, the address-sorted free list of a span.
//! 8. [`arena`]: the per-thread cache and store over a set of spans, the remote
//!    list's owner side, the quarantine's storage.
//! 9. [`registry`]: which address-space slots hold which kind of our memory.
//! 10. [`pool`]: the shared page pool (free runs, regions, parked arenas).
//! 11. [`thread`]: TLS, thread exit, fork, the tallies of threads without an arena.
//! 12. [`large`]: pool blocks and huge blocks.
//! 13. `block`: what a pointer is (or the misuse report), allocation from the
//!     thread's arena, release to a block's owner.
//! 14. [`secure`]: secure mode's checks.
//! 15. [`stats`](mod@stats): statistics and the cross-thread free matrix.
//! 16. [`heapmap`]: the heap map.
//! 17. `heap`: C `malloc` semantics, the entry points both front doors share,
//!     and the report at process exit.
//! 18. `global`: [`ArenaPool`] (`GlobalAlloc`).
//! 19. `capi`: with feature `preload`, the exported C symbols.
//! 20. `cxx`: with feature `preload`, C++ `operator new` and `delete`.
//!
//! The documentation modules [`design`], [`performance`] and [`testing`] hold
//! no code.
//!
//! The core uses `core` only: no `Vec`, no `Box`, no formatting, no panics. The
//! crate is `no_std`, and links `std` only for a panic handler, except in the
//! preload library, which has its own; clippy's
//! `disallowed_types` and `disallowed_macros` (see `.clippy.toml`) keep heap types
//! and formatting out of `src/`.

#![no_std]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(clippy::std_instead_of_core)]
#![allow(clippy::missing_safety_doc)]

pub mod arena;
mod block;
pub mod config;
pub mod heapmap;
pub mod large;
pub mod os;
pub mod pool;
pub mod purge;
pub mod registry;
pub mod remote;
pub mod secure;
pub mod size;
pub mod span;
pub mod stats;
pub mod sync;
pub mod thread;

pub mod design;
pub mod performance;
pub mod testing;

mod global;
mod heap;

#[cfg(feature = "preload")]
mod capi;
#[cfg(feature = "preload")]
mod cxx;

// The preload library (release, `panic = "abort"`) has a panic handler of
// its own, which aborts with a message: std's brought its backtrace
// symbolizer, two thirds of the library's code, and libgcc_s, into every
// program it was preloaded into. Every other build takes std's (tests and
// Rust programs link std anyway).
#[cfg(not(all(feature = "preload", panic = "abort")))]
extern crate std;

/// A panic here is a bug (the core has no panicking paths it takes on
/// purpose): abort with a message, never unwind.
#[cfg(all(feature = "preload", panic = "abort"))]
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {
    os::fatal(b"internal error (a panic)")
}

// The unwinding personality that precompiled `core`'s unwind tables name.
// Nothing unwinds in a `panic = "abort"` build, so it is never called; it is
// hidden, so that it never stands in for the personality of a Rust library
// that the program loads.
#[cfg(all(feature = "preload", panic = "abort", target_arch = "x86_64"))]
core::arch::global_asm!(
    ".pushsection .text.rust_eh_personality,\"ax\",@progbits",
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    ".type rust_eh_personality,@function",
    "rust_eh_personality:",
    "ud2",
    ".size rust_eh_personality, . - rust_eh_personality",
    ".popsection",
);
#[cfg(all(feature = "preload", panic = "abort", not(target_arch = "x86_64")))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

pub use global::ArenaPool;
pub use heapmap::write_heap_map;
pub use stats::{cross_thread_frees, print_stats, stats, CrossFrees, Stats};

/// Low-level entry points with C `malloc` semantics, for tests and tools.
pub mod raw {
    pub use crate::heap::{aligned, free, malloc, realloc, usable_size, zalloc};
}

/// Consistency checks for tests and debugging: walk the structures and verify every
/// invariant they document.
pub mod check {

    /// Checks the calling thread's arena (cache, store, spans), if it has one.
    pub fn thread_arena() -> Result<(), &'static str> {
        if !crate::thread::has_arena() {
            return Ok(());
        }
        let a = crate::thread::arena();
        // SAFETY: the calling thread owns its arena; nobody else changes its non-atomic parts meanwhile.
        unsafe { (*a).check().map(|_| ()) }
    }

    /// Checks the page pool's free runs.
    pub fn pool() -> Result<(), &'static str> {
        crate::pool::lock().check()
    }
}

#[cfg(test)]
mod tests;
