//! Blocks too big for an arena span: pool blocks (runs of pages from the page
//! pool) and huge blocks (a mapping each, unmapped on free).
//!
//! ```text
//!  run start                       p (payload, aligned)
//!  | ... padding ... | len u64 | tag u64 | payload ...                      |
//!                     p-16      p-8
//!  tag = log2(offset of p from the run start) << 32 | LARGE | HUGE?
//!  (the offset is 16, the alignment, or a page: always a power of two, and the
//!  alignment may be 4 GiB or more)
//! ```
//! The `LARGE` flag sits where a span chunk keeps its flags, so `free` tells the
//! two apart from the 8 bytes before the pointer.

use crate::config;
use crate::os::{self, align_up, PAGE};
use crate::pool::POOL;
use crate::span::LARGE;

/// Tag flag: the block has a mapping of its own.
pub const HUGE: u64 = 4;

#[inline]
unsafe fn write_tag(p: *mut u8, len: usize, off: usize, huge: bool) {
    debug_assert!(off.is_power_of_two());
    *(p.sub(16) as *mut usize) = len;
    *(p.sub(8) as *mut u64) =
        ((off.trailing_zeros() as u64) << 32) | LARGE | if huge { HUGE } else { 0 };
}

/// Payload offset and run length for `size` bytes at `align`.
#[inline]
fn geometry(size: usize, align: usize) -> Option<(usize, usize)> {
    let off = align.max(16);
    let len = off.checked_add(size)?.checked_add(PAGE - 1)? & !(PAGE - 1);
    Some((off, len))
}

/// Allocates a pool or huge block. Returns the payload (null when out of memory)
/// and whether it is known to read as zeros.
///
/// # Safety
/// `align` is a power of two.
pub unsafe fn alloc(size: usize, align: usize) -> (*mut u8, bool) {
    let Some((off, len)) = geometry(size, align) else {
        return (core::ptr::null_mut(), false);
    };
    config::load();
    if size >= config::huge_min() {
        let start = os::map_aligned(len, align.max(PAGE));
        if start.is_null() {
            return (start, false);
        }
        let p = start.add(off);
        write_tag(p, len, off, true);
        return (p, true);
    }
    // Pool blocks: with alignment above a page, only the header page precedes p.
    let (off, len, lead) = if align > PAGE {
        (PAGE, PAGE + align_up(size, PAGE), PAGE)
    } else {
        (off, len, 0)
    };
    let (start, clean) = {
        let mut pool = POOL.lock();
        let r = pool.alloc_run(len, align, lead);
        if !r.0.is_null() {
            pool.large_in_use += len;
        }
        r
    };
    if start.is_null() {
        return (start, false);
    }
    let p = start.add(off);
    write_tag(p, len, off, false);
    (p, clean)
}

/// Start, length, and whether the block is huge.
#[inline]
pub unsafe fn geometry_of(p: *mut u8) -> (*mut u8, usize, bool) {
    let tag = *(p.sub(8) as *const u64);
    let len = *(p.sub(16) as *const usize);
    (p.sub(1usize << ((tag >> 32) & 63)), len, tag & HUGE != 0)
}

/// Bytes usable at `p`.
pub unsafe fn usable(p: *mut u8) -> usize {
    let (start, len, _) = geometry_of(p);
    start as usize + len - p as usize
}

/// Frees a pool or huge block.
///
/// # Safety
/// `p` is a live block returned by [`alloc`].
pub unsafe fn free(p: *mut u8) {
    let (start, len, huge) = geometry_of(p);
    if huge {
        os::unmap(start, len);
    } else {
        let mut pool = POOL.lock();
        pool.large_in_use -= len;
        pool.largest_freed = pool.largest_freed.max(len);
        pool.free_run(start, len, false);
    }
}

/// Resizes a block in place when it can (within its run, or by `mremap` for huge
/// blocks). Returns the new payload, or null if it must be moved by copying.
///
/// # Safety
/// `p` is a live block returned by [`alloc`] with alignment at most 16.
pub unsafe fn realloc_in_place(p: *mut u8, new: usize) -> *mut u8 {
    let (start, len, huge) = geometry_of(p);
    let have = start as usize + len - p as usize;
    if new <= have && new >= have / 2 {
        return p;
    }
    let off = p as usize - start as usize;
    if huge && new >= config::huge_min() && off == 16 {
        let Some((_, nlen)) = geometry(new, 16) else {
            return core::ptr::null_mut();
        };
        let q = os::remap(start, len, nlen);
        if q.is_null() {
            return q;
        }
        let np = q.add(off);
        write_tag(np, nlen, off, true);
        return np;
    }
    core::ptr::null_mut()
}
