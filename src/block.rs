//! What a block is and where it goes, for the entry points (`heap`) and secure
//! mode (`secure`) alike: finding out what a pointer is (or reporting the
//! misuse), allocating from the calling thread's arena, releasing a chunk to its
//! owner, and the counters of threads without an arena.

use crate::arena::{self, Arena, SpanSource};
use crate::large;
use crate::os;
use crate::pool::{Global, Locked};
use crate::registry;
use crate::size::*;
use crate::span::{self, CACHED, FENCE, FIRST, FREE, SIZE_MASK};
use crate::thread;
use core::ptr::null_mut;
use core::sync::atomic::Ordering;

/// Counts an allocation of `n` bytes off the fast path in arena `a`'s
/// counters.
///
/// # Safety
/// `a` is the calling thread's own arena.
#[inline(always)]
pub(crate) unsafe fn count_alloc_in(a: *mut Arena, n: usize) {
    let c = &mut (*a).counters;
    c.slow_allocs += 1;
    c.slow_req_bytes += n as u64;
}

/// Counts an allocation off the fast path.
pub(crate) fn count_alloc(n: usize) {
    if thread::has_arena() {
        // SAFETY: the calling thread owns its arena's counters.
        unsafe { count_alloc_in(thread::arena(), n) };
    } else {
        let t = thread::tally();
        t.add(&t.allocs, 1);
        t.add(&t.req_bytes, n as u64);
    }
}

/// Counts a free off the fast path.
pub(crate) fn count_free() {
    if thread::has_arena() {
        // SAFETY: the calling thread owns its arena's counters.
        unsafe { (*thread::arena()).counters.slow_frees += 1 };
    } else {
        let t = thread::tally();
        t.add(&t.frees, 1);
    }
}

/// Allocates `n` bytes at `align` from the calling thread's arena (`n` fits one:
/// `n <= arena_max_req()`, and with `align > UNIT`, `n + align + 2 * MIN_CHUNK <=
/// arena_max_req() + HDR`).
pub(crate) unsafe fn alloc_in_arena(n: usize, align: usize) -> *mut u8 {
    let a = thread::arena_ready();
    if a.is_null() {
        return null_mut();
    }
    if thread::is_exited(a) {
        return alloc_exited(n, align);
    }
    if align > UNIT {
        return (*a).alloc_aligned(n, align, &mut Global);
    }
    if n <= CACHE_MAX_REQ {
        return (*a).refill(class_of_req(n), &mut Global);
    }
    // (Rounded to its class, so that any chunk of the class a free left in
    // the medium tier serves it.)
    let s = medium_class(chunk_size(n));
    if let Some(p) = (*a).medium_take(s) {
        return p;
    }
    let c = (*a).alloc_chunk(s, &mut Global);
    if c.is_null() {
        c
    } else {
        c.add(HDR)
    }
}

/// Allocates for a thread past its exit cleanup: borrows a parked arena under the
/// pool lock, carves the block from its store, and parks it again at once.
#[cold]
unsafe fn alloc_exited(n: usize, align: usize) -> *mut u8 {
    let mut pool = crate::pool::lock();
    let a = pool.new_arena();
    if a.is_null() {
        return null_mut();
    }
    let p = {
        let mut src = Locked(&mut pool);
        let p = if align <= UNIT {
            let c = (*a).alloc_chunk(chunk_size(n), &mut src);
            if c.is_null() {
                c
            } else {
                c.add(HDR)
            }
        } else {
            (*a).alloc_aligned(n, align, &mut src)
        };
        (*a).flush_all(&mut src);
        p
    };
    pool.park(a);
    p
}

/// Frees live chunk `p` (`size` bytes) of arena `owner` from the calling thread:
/// into its own arena, or onto its span's remote list.
pub(crate) unsafe fn release(p: *mut u8, owner: *mut Arena, size: usize) {
    if owner == thread::arena() {
        return (*owner).free_local(p, &mut Global);
    }
    release_remote(p, owner, size);
}

/// [`release`] of a chunk of another thread's arena `owner`: onto its span's
/// remote list (and drained at once if `owner` is parked).
pub(crate) unsafe fn release_remote(p: *mut u8, owner: *mut Arena, size: usize) {
    count_cross(owner, size);
    (*owner).push_remote(p);
    Global.drain_if_parked(owner);
}

/// Counts a free by this thread of a `size`-byte block of arena `owner`.
pub(crate) unsafe fn count_cross(owner: *mut Arena, size: usize) {
    if thread::has_arena() {
        (*thread::arena()).count_cross(owner, size);
    } else {
        let t = thread::tally();
        let x = &t.xfree[arena::xcol(owner)];
        t.add(&x[0], 1);
        t.add(&x[1], size as u64);
    }
}

/// What a pointer handed to `free`, `realloc` or `malloc_usable_size` is.
#[derive(Clone, Copy)]
pub(crate) enum Block {
    /// A live chunk of an arena span: its owner and chunk size.
    Chunk(*mut Arena, usize),
    /// A live pool or huge block (a pool block's double free is caught by
    /// `large::free`, under the pool lock).
    Large,
}

/// Finds out what `p` is, or reports misuse (naming operation `op`) and aborts.
/// Reads only memory the registry says is ours, besides the 16 bytes before `p`
/// (which the fast path already read, for `free`), and those only where they
/// can be read (see [`check_page_start`]).
#[inline(always)]
pub(crate) unsafe fn classify(p: *mut u8, op: &[u8]) -> Block {
    if p as usize & (os::PAGE - UNIT) == 0 {
        check_page_start(p, op);
    }
    // The common case inline: a live chunk of an arena span whose header agrees
    // with its neighbour's boundary tag.
    if registry::get(p as usize) == registry::ARENA && p as usize % UNIT == 0 {
        let sp = span::span_of(p);
        let off = (p as usize - sp as usize - HDR).wrapping_sub(FIRST);
        let c = p.sub(HDR);
        let k = (*sp).key;
        let h = span::hdr(c, k);
        let s = (h & SIZE_MASK) as usize;
        let ps = (h >> 32) as usize;
        let owner = crate::arena::owner(sp, Ordering::Acquire);
        // Both boundary tags agree: the next chunk's with this size (and its
        // low bits are clear: a write past the block, an overflow, breaks them
        // first), and the previous chunk's size with this
        // `prev_size` (a write just before the block, an underflow, breaks the
        // second). The neighbours are the owner's to change meanwhile, always
        // from one whole header to another: another thread checks only the
        // previous one's range, and the owner checks its size when the chunk
        // reaches its store.
        if h as u32 & (FREE | CACHED | (UNIT as u64 - 1)) as u32 == 0
            && s >= MIN_CHUNK
            && off + s <= FENCE - FIRST
            && span::next_agrees(c.add(s), k, s)
            && ps <= off
            && (ps == 0) == (off == 0)
            && (ps == 0 || owner != thread::arena() || span::size(c.sub(ps), k) == ps)
        {
            return Block::Chunk(owner, s);
        }
    }
    classify_slow(p, op)
}

/// Reports misuse (naming operation `op`) unless the 16 bytes before `p`, a
/// pointer within 16 bytes of a page start and not null, can be read: a
/// pointer that is not 16-aligned is misused anyway; before an aligned one
/// they lie on the page before, which may be unmapped (the program's own
/// mapping, a wild or stale pointer). An arena span is mapped whole but for
/// its first page's predecessor and, in secure mode, its guard page; for
/// anything else the kernel is asked (`mincore`). A page before `p` that is
/// mapped but not readable (a program's `PROT_NONE` page) still faults.
#[cold]
#[inline(never)]
pub(crate) unsafe fn check_page_start(p: *mut u8, op: &[u8]) {
    if p as usize % UNIT != 0 {
        misuse(op, b" of a misaligned pointer", p);
    }
    let before = p as usize - UNIT;
    let kind = registry::get(p as usize);
    let readable = if kind == registry::ARENA {
        arena_page_start_ok(p)
    } else {
        os::is_mapped(before)
    };
    if readable {
        return;
    }
    match kind {
        registry::POOL => misuse(op, POOL_INTERIOR, p),
        // (The start of a huge block's mapping, 16 bytes or its alignment
        // before its payload.)
        registry::HUGE => misuse(op, b" of a pointer inside a block:", p),
        _ => misuse(op, b" of a pointer arenapool never returned:", p),
    }
}

/// Whether the 16 bytes before `p`, a page start in an arena span, lie in
/// the span and can be read: all but those before the span's first page and
/// after its guard page (secure mode).
#[inline]
pub(crate) fn arena_page_start_ok(p: *mut u8) -> bool {
    p as usize % SPAN != 0 && !arena::on_guard_page(p as usize - UNIT)
}

/// What a pointer into pool memory that starts no block is.
const POOL_INTERIOR: &[u8] = b" of a pointer inside a pool block or free pool memory:";

/// [`classify`] for everything else: pool and huge blocks, and misuse.
#[cold]
#[inline(never)]
unsafe fn classify_slow(p: *mut u8, op: &[u8]) -> Block {
    if p as usize % UNIT != 0 {
        misuse(op, b" of a misaligned pointer", p);
    }
    let kind = registry::get(p as usize);
    if kind != registry::ARENA {
        if large::validate(p) {
            return Block::Large;
        }
        if large::is_freed(p) {
            misuse(op, b" of a block already freed (double free):", p);
        }
        if kind == registry::NONE {
            misuse(op, b" of a pointer arenapool never returned:", p);
        }
        if crate::pool::lock().overlaps_free(p as usize, 1) {
            // Pool memory that is free now: the block was freed (and its span or
            // run went back to the pool).
            misuse(op, b" of a block already freed (double free):", p);
        }
        misuse(op, POOL_INTERIOR, p);
    }
    let sp = span::span_of(p);
    let off = p as usize - sp as usize - HDR;
    let c = p.sub(HDR);
    if (FIRST..FENCE).contains(&off) {
        let k = (*sp).key;
        let h = span::hdr(c, k);
        let s = (h & SIZE_MASK) as usize;
        let ps = (h >> 32) as usize;
        let sane = h & (UNIT as u64 - 1) == 0
            && s >= MIN_CHUNK
            && off + s <= FENCE
            && ps % UNIT == 0
            && ps <= off - FIRST
            && (ps == 0) == (off == FIRST)
            && span::prev_size(c.add(s), k) == s
            && (ps == 0
                || crate::arena::owner(sp, Ordering::Acquire) != thread::arena()
                || span::size(c.sub(ps), k) == ps);
        if sane {
            if h & (FREE | CACHED) != 0 {
                misuse(op, b" of a block already freed (double free):", p);
            }
            if !span::low_bits_clear(c.add(s), k) {
                misuse(op, b" of a block written past its end (heap overflow):", p);
            }
            return Block::Chunk(crate::arena::owner(sp, Ordering::Acquire), s);
        }
    }
    diagnose_chunk(sp as *mut u8, c, op)
}

/// `p` is in an arena span but its header does not describe a chunk there: walk
/// the span's chunks to tell a corrupted header from an interior pointer or a
/// pointer into a freed (and merged) chunk. Racy if the owner is busy, but only
/// the message depends on it: the process aborts either way.
#[cold]
unsafe fn diagnose_chunk(base: *mut u8, c: *mut u8, op: &[u8]) -> ! {
    let p = c.add(HDR);
    let mut off = FIRST;
    let mut prev = 0;
    while off < FENCE {
        let x = base.add(off);
        let h = span::hdr(x, span::key_of(base));
        let s = (h & SIZE_MASK) as usize;
        if h & (UNIT as u64 - 1) != 0
            || s < MIN_CHUNK
            || off + s > FENCE
            || (h >> 32) as usize != prev
        {
            misuse(b"", b"corrupted block header at", x.add(HDR));
        }
        if x == c {
            misuse(b"", b"corrupted block header at", p);
        }
        if x > c {
            break;
        }
        if c < x.add(s) {
            if h & (FREE | CACHED) != 0 {
                misuse(op, b" of a block already freed (double free):", p);
            }
            misuse(op, b" of a pointer inside a block:", p);
        }
        prev = s;
        off += s;
    }
    misuse(op, b" of a pointer inside a span header:", p)
}

/// Reports misuse of the heap (`arenapool: <op><what> 0x<p>`) and aborts.
#[cold]
pub(crate) fn misuse(op: &[u8], what: &[u8], p: *mut u8) -> ! {
    let mut msg = [0u8; 96];
    let n = op.len().min(32);
    msg[..n].copy_from_slice(&op[..n]);
    let m = what.len().min(msg.len() - n);
    msg[n..n + m].copy_from_slice(&what[..m]);
    os::fatal_at(&msg[..n + m], Some(p as usize))
}
