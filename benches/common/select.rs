//! The global allocator of a benchmark or example process, chosen at start-up by
//! the environment variable `ARENAPOOL_ALLOC`: `arenapool` (the default), `system`
//! (glibc), `mimalloc` or `jemalloc`.
//!
//! A global allocator is fixed per binary, so comparing four of them needs four
//! processes; this lets one binary be all four. The choice is read once, with
//! `getenv` (which does not allocate), on the first allocation (before `main`), and
//! every call then goes to the same allocator through one predictable branch, the
//! same cost for all four.
//!
//! Use it with `#[path = "../benches/common/select.rs"] mod select;` and
//! `#[global_allocator] static A: select::Selected = select::Selected;`.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

pub struct Selected;

const ARENAPOOL: u8 = 1;
const SYSTEM: u8 = 2;
const MIMALLOC: u8 = 3;
const JEMALLOC: u8 = 4;
static WHICH: AtomicU8 = AtomicU8::new(0);

/// The allocator names `ARENAPOOL_ALLOC` accepts, in the order reports use.
pub const NAMES: [&str; 4] = ["arenapool", "system", "mimalloc", "jemalloc"];

#[inline(always)]
fn which() -> u8 {
    let w = WHICH.load(Ordering::Relaxed);
    if w != 0 {
        w
    } else {
        choose()
    }
}

#[cold]
fn choose() -> u8 {
    // SAFETY: getenv with a NUL-terminated name; the result is read before any
    // setenv could run (this is the process's first allocation).
    let v = unsafe { libc::getenv(c"ARENAPOOL_ALLOC".as_ptr()) };
    let w = if v.is_null() {
        ARENAPOOL
    } else {
        // SAFETY: getenv returned a NUL-terminated string.
        match unsafe { std::ffi::CStr::from_ptr(v) }.to_bytes() {
            b"system" | b"glibc" => SYSTEM,
            b"mimalloc" => MIMALLOC,
            b"jemalloc" => JEMALLOC,
            _ => ARENAPOOL,
        }
    };
    WHICH.store(w, Ordering::Relaxed);
    w
}

/// Name of the allocator this process uses.
pub fn name() -> &'static str {
    NAMES[(which() - 1) as usize]
}

macro_rules! dispatch {
    ($method:ident($($arg:expr),*)) => {
        match which() {
            SYSTEM => System.$method($($arg),*),
            MIMALLOC => mimalloc::MiMalloc.$method($($arg),*),
            JEMALLOC => tikv_jemallocator::Jemalloc.$method($($arg),*),
            _ => arenapool::ArenaPool.$method($($arg),*),
        }
    };
}

// SAFETY: forwards every call, unchanged, to one allocator chosen once per process.
unsafe impl GlobalAlloc for Selected {
    #[inline(always)]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        dispatch!(alloc(l))
    }
    #[inline(always)]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        dispatch!(dealloc(p, l))
    }
    #[inline(always)]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        dispatch!(alloc_zeroed(l))
    }
    #[inline(always)]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        dispatch!(realloc(p, l, n))
    }
}
