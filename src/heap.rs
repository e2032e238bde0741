//! The allocation entry points that both front doors share: C `malloc` semantics
//! over arenas (small and medium blocks), pool blocks and huge blocks.
//!
//! Sizes: requests up to `CACHE_MAX_REQ` go through the thread cache (the fast
//! path); up to `ARENA_MAX_REQ` are carved from the thread's arena store; up to
//! `HUGE_MIN` are pool blocks; larger ones are mapped on their own.

use crate::arena::{self, Arena, CacheBin, SpanSource};
use crate::config;
use crate::large;
use crate::os;
use crate::pool::{Global, Locked};
use crate::registry;
use crate::secure;
use crate::size::*;
use crate::span::{self, CACHED, FENCE, FIRST, FREE, SIZE_MASK};
use crate::thread;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU64, Ordering};

/// The cache bin of `a` for chunk size (or decoded header) `s`.
#[inline(always)]
unsafe fn bin_at(a: *mut Arena, s: usize) -> *mut CacheBin {
    (a as *mut u8).add(Arena::bin_offset(s)).cast::<CacheBin>()
}

/// Allocates `n` bytes, 16-byte aligned. Null (and `errno = ENOMEM`) when out of
/// memory.
#[inline(always)]
pub unsafe fn malloc(n: usize) -> *mut u8 {
    if n <= CACHE_MAX_REQ {
        // A thread without an arena sees the empty arena here, whose cache is empty.
        let a = thread::arena();
        let bin = &mut *bin_at(a, (n + HDR + UNIT - 1) & !(UNIT - 1));
        let p = bin.head;
        if !p.is_null() {
            bin.head = arena::decode_link(p, (*a).link_key as usize);
            bin.room += 1;
            span::toggle_cached(p.sub(HDR));
            (*a).counters.fast_req_bytes += n as u64;
            return p;
        }
    }
    malloc_slow(n)
}

#[cold]
#[inline(never)]
unsafe fn malloc_slow(n: usize) -> *mut u8 {
    let p = malloc_generic(n);
    if p.is_null() {
        *libc::__errno_location() = libc::ENOMEM;
    } else {
        count_alloc(n);
    }
    p
}

/// Counters of threads without an arena of their own (rare: before the first
/// allocation, or after exit cleanup).
static STRAY_ALLOCS: AtomicU64 = AtomicU64::new(0);
static STRAY_REQ_BYTES: AtomicU64 = AtomicU64::new(0);
static STRAY_FREES: AtomicU64 = AtomicU64::new(0);

/// Counts an allocation off the fast path.
pub(crate) fn count_alloc(n: usize) {
    if thread::has_arena() {
        // SAFETY: the calling thread owns its arena's counters.
        unsafe {
            let c = &mut (*thread::arena()).counters;
            c.slow_allocs += 1;
            c.slow_req_bytes += n as u64;
        }
    } else {
        STRAY_ALLOCS.fetch_add(1, Ordering::Relaxed);
        STRAY_REQ_BYTES.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Counts a free off the fast path.
pub(crate) fn count_free() {
    if thread::has_arena() {
        // SAFETY: the calling thread owns its arena's counters.
        unsafe { (*thread::arena()).counters.slow_frees += 1 };
    } else {
        STRAY_FREES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Allocations, bytes requested and frees counted outside any arena.
pub fn stray_counts() -> (u64, u64, u64) {
    (
        STRAY_ALLOCS.load(Ordering::Relaxed),
        STRAY_REQ_BYTES.load(Ordering::Relaxed),
        STRAY_FREES.load(Ordering::Relaxed),
    )
}

unsafe fn malloc_generic(n: usize) -> *mut u8 {
    config::load();
    if config::secure() {
        return secure::alloc(n, UNIT);
    }
    if n <= config::arena_max_req() {
        return alloc_in_arena(n, UNIT);
    }
    if n > MAX_REQ {
        return null_mut();
    }
    large::alloc(n, UNIT).0
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
    let c = (*a).alloc_chunk(chunk_size(n), &mut Global);
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

/// Frees a block from any thread. `p` may be null.
#[inline(always)]
pub unsafe fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let a = thread::arena();
    // Decoded with this thread's arena key, a header passes the mask only if it is
    // one of this arena's in-use chunks of a size below 2048 (a chunk of another
    // arena keeps the xor of the two ids in the mask's bits, see `Arena::key`;
    // cached and free chunks have flags there; pool tags a mark). The decoded
    // header is then the chunk size, which is also the bin's offset.
    // (Unaligned read: `p` is not checked yet; on x86-64 the same instruction.)
    let h = (p.sub(HDR) as *const u64).read_unaligned() ^ (*a).key;
    if h & FAST_REJECT == 0 {
        // (The low half: the high half holds `prev_size`.)
        let bin = &mut *bin_at(a, h as u32 as usize);
        if bin.room != 0 {
            *(p as *mut usize) = bin.head as usize ^ (*a).link_key as usize;
            bin.head = p;
            bin.room -= 1;
            span::toggle_cached(p.sub(HDR));
            (*a).counters.fast_frees += 1;
            return;
        }
        // The mask vouched for it: an in-use chunk of this arena, whose class is
        // full (or off). No need to classify it again.
        return free_own(p);
    }
    free_slow(p)
}

#[cold]
#[inline(never)]
unsafe fn free_own(p: *mut u8) {
    let e = *libc::__errno_location();
    // Once arena ids repeat, the mask only proves the chunk belongs to an arena
    // with this one's id: the store must still get only its own chunks.
    let foreign = arena::IDS_REPEAT.load(Ordering::Relaxed)
        && (*span::span_of(p)).arena.load(Ordering::Relaxed) != thread::arena();
    // The mask passes a header that decodes to 0 (the free-list link of a free
    // chunk, stored xor the key, left in the payload of a chunk carved from it)
    // or to a size whose boundary tag disagrees: not a chunk start at all, so
    // `classify` names the misuse. (A decoded 0 lands in class 0, which never has
    // room, so the fast path sends it here.)
    let a = thread::arena();
    let c = p.sub(HDR);
    let s = span::size(c, (*a).key);
    let bogus = s < MIN_CHUNK || span::prev_size(c.add(s), (*a).key) != s;
    if config::secure() || !thread::has_arena() || foreign || bogus {
        free_checked(p);
    } else {
        (*a).counters.slow_frees += 1;
        (*a).free_local(p, &mut Global);
    }
    *libc::__errno_location() = e;
}

/// Decoded-header bits that send `free` to its slow path: flags, `LARGE`, sizes
/// of 2048 or more (which include every foreign arena id), and the top 14 bits
/// of `prev_size`, which no chunk has (a span is 2^18 bytes): a write into
/// the bytes just before a block (an underflow) lands there.
pub(crate) const FAST_REJECT: u64 =
    !((NCLASSES * UNIT - 1) as u64 & !(UNIT as u64 - 1)) & (!0u64 >> 32) | !0u64 << 50;
const _: () = assert!(FAST_REJECT == 0xfffc_0000_ffff_f80f);

#[cold]
#[inline(never)]
unsafe fn free_slow(p: *mut u8) {
    // `free` never changes errno (the lock's futex calls and munmap could).
    let e = *libc::__errno_location();
    free_checked(p);
    *libc::__errno_location() = e;
}

unsafe fn free_checked(p: *mut u8) {
    // (A thread that only frees gets no arena: taking one there made short-lived
    // threads hold more arenas at once, 17 -> 47 in tests/thread_churn.rs, and
    // RSS tripled. Its frees are counted in shared counters instead.)
    count_free();
    if config::secure() {
        return secure::free(p);
    }
    match classify(p, b"free") {
        Block::Chunk(owner, size) => release(p, owner, size),
        Block::Large => large::free(p),
    }
}

/// Frees live chunk `p` (`size` bytes) of arena `owner` from the calling thread:
/// into its own arena, or onto the owner's remote list.
pub(crate) unsafe fn release(p: *mut u8, owner: *mut Arena, size: usize) {
    if owner == thread::arena() {
        return (*owner).free_local(p, &mut Global);
    }
    count_cross(owner, size);
    (*owner).push_remote(p);
    Global.drain_if_parked(owner);
}

/// Counts a free by this thread of a `size`-byte block of arena `owner`.
pub(crate) unsafe fn count_cross(owner: *mut Arena, size: usize) {
    if thread::has_arena() {
        (*thread::arena()).count_cross(owner, size);
    } else {
        let col = arena::xcol(owner);
        STRAY_XFREE[col][0].fetch_add(1, Ordering::Relaxed);
        STRAY_XFREE[col][1].fetch_add(size as u64, Ordering::Relaxed);
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO2: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// Cross-thread frees (count, bytes) by threads without an arena, per owner.
pub(crate) static STRAY_XFREE: [[AtomicU64; 2]; arena::XMAX] = [ZERO2; arena::XMAX];

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
/// (which the fast path already read, for `free`).
#[inline]
pub(crate) unsafe fn classify(p: *mut u8, op: &[u8]) -> Block {
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
        let owner = (*sp).arena.load(Ordering::Acquire);
        // Both boundary tags agree: the next chunk's with this size, and the
        // previous chunk's size with this `prev_size` (a write just before the
        // block, an underflow, breaks the second). The previous chunk is the
        // owner's to change meanwhile: another thread checks only the range,
        // and the owner checks the size when the chunk reaches its store.
        if h as u32 & (FREE | CACHED | (UNIT as u64 - 1)) as u32 == 0
            && s >= MIN_CHUNK
            && off + s <= FENCE - FIRST
            && span::prev_size(c.add(s), k) == s
            && ps <= off
            && (ps == 0) == (off == 0)
            && (ps == 0 || owner != thread::arena() || span::size(c.sub(ps), k) == ps)
        {
            return Block::Chunk(owner, s);
        }
    }
    classify_slow(p, op)
}

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
        if large::is_buried(p) {
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
        misuse(
            op,
            b" of a pointer inside a pool block or free pool memory:",
            p,
        );
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
                || (*sp).arena.load(Ordering::Acquire) != thread::arena()
                || span::size(c.sub(ps), k) == ps);
        if sane {
            if h & (FREE | CACHED) != 0 {
                misuse(op, b" of a block already freed (double free):", p);
            }
            return Block::Chunk((*sp).arena.load(Ordering::Acquire), s);
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

/// Bytes usable at live block `p`.
pub unsafe fn usable_size(p: *mut u8) -> usize {
    if config::secure() {
        return secure::usable_size(p);
    }
    match classify(p, b"malloc_usable_size") {
        Block::Chunk(_, s) => s - HDR,
        Block::Large => large::usable(p),
    }
}

/// Allocates `n` zeroed bytes. Fresh pool and huge blocks are zero already.
pub unsafe fn zalloc(n: usize) -> *mut u8 {
    if config::secure() {
        let p = secure::alloc(n, UNIT);
        if !p.is_null() {
            count_alloc(n);
            core::ptr::write_bytes(p, 0, n);
        }
        return p;
    }
    if n <= config::arena_max_req() {
        let p = malloc(n);
        if !p.is_null() {
            core::ptr::write_bytes(p, 0, n);
        }
        return p;
    }
    if n > MAX_REQ {
        return null_mut();
    }
    let (p, clean) = large::alloc(n, UNIT);
    if !p.is_null() {
        count_alloc(n);
        if !clean {
            core::ptr::write_bytes(p, 0, n);
        }
    }
    p
}

/// Allocates `n` bytes aligned to `align` (a power of two).
pub unsafe fn aligned(align: usize, n: usize) -> *mut u8 {
    if align <= UNIT {
        return malloc(n);
    }
    let p = aligned_generic(align, n);
    if !p.is_null() {
        count_alloc(n);
    }
    p
}

unsafe fn aligned_generic(align: usize, n: usize) -> *mut u8 {
    if n > MAX_REQ || align > MAX_REQ / 2 {
        return null_mut();
    }
    config::load();
    if config::secure() {
        return secure::alloc(n, align);
    }
    if n + align + 2 * MIN_CHUNK <= config::arena_max_req() + HDR {
        return alloc_in_arena(n, align);
    }
    large::alloc(n, align).0
}

/// Resizes `p` (16-byte alignment) to `n > 0` bytes; null (with `p` untouched)
/// when out of memory.
pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(n);
    }
    if config::secure() {
        return secure::realloc(p, n);
    }
    let b = classify(p, b"realloc");
    match b {
        Block::Large => {
            if n > MAX_REQ {
                return null_mut();
            }
            if n > config::arena_max_req() {
                let q = large::realloc_in_place(p, n);
                if !q.is_null() {
                    return q;
                }
            }
        }
        Block::Chunk(owner, s) => {
            if n <= config::arena_max_req() {
                let need = chunk_size(n);
                if need <= s && (s - need < MIN_CHUNK || s <= CACHE_MAX_CHUNK) {
                    return p;
                }
                let me = thread::arena();
                if owner == me && (*me).resize_in_place(p.sub(HDR), need, &mut Global) {
                    return p;
                }
            }
        }
    }
    move_known(p, b, n, malloc(n))
}

/// Finishes a realloc by copying into `q` (if it is not null) and freeing `p`.
pub unsafe fn move_to(p: *mut u8, n: usize, q: *mut u8) -> *mut u8 {
    if q.is_null() {
        return q;
    }
    core::ptr::copy_nonoverlapping(p, q, usable_size(p).min(n));
    free(p);
    q
}

/// `realloc`'s move, for block `p` already classified as `b`: copies what fits
/// into `q` (if not null) and frees `p` without classifying it again.
unsafe fn move_known(p: *mut u8, b: Block, n: usize, q: *mut u8) -> *mut u8 {
    if q.is_null() {
        return q;
    }
    let have = match b {
        Block::Chunk(_, s) => s - HDR,
        Block::Large => large::usable(p),
    };
    core::ptr::copy_nonoverlapping(p, q, have.min(n));
    count_free();
    match b {
        Block::Chunk(owner, size) => release(p, owner, size),
        Block::Large => large::free(p),
    }
    q
}
