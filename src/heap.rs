//! The allocation entry points that both front doors share: C `malloc` semantics
//! over arenas (small and medium blocks), pool blocks and huge blocks.
//!
//! Sizes: requests up to `CACHE_MAX_REQ` go through the thread cache (the fast
//! path); up to `ARENA_MAX_REQ` are carved from the thread's arena store; up to
//! `HUGE_MIN` are pool blocks; larger ones are mapped on their own.

use crate::arena::{self, Arena, CacheBin};
use crate::block::{
    alloc_in_arena, arena_page_start_ok, classify, count_alloc, count_alloc_in, count_free,
    release, release_remote, Block,
};
use crate::config;
use crate::large;
use crate::os;
use crate::pool::Global;
use crate::registry;
use crate::secure;
use crate::size::*;
use crate::span;
use crate::thread;
use core::ptr::null_mut;
use core::sync::atomic::Ordering;

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
            let next = arena::decode_link(p, (*a).link_key as usize);
            bin.head = next;
            arena::prefetch(next);
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
    if n > CACHE_MAX_REQ && n <= config::arena_max_req() {
        // A medium request that the medium tier serves: the common case of
        // this path, before the checks on the way to the store. (The empty
        // and exited arenas' tiers are empty; so is every arena's in secure
        // mode.)
        let a = thread::arena();
        let s = medium_class(chunk_size(n));
        if let Some(p) = (*a).medium_take(s) {
            count_alloc_in(a, n);
            return p;
        }
        // A miss, in a thread's own arena: straight to its store, past the
        // checks of `malloc_generic` that such an arena has passed already
        // (its thread made it there, after loading the configuration; in
        // secure mode it is not used).
        if thread::has_arena() && !config::secure() {
            let c = (*a).alloc_chunk(s, &mut Global);
            if !c.is_null() {
                count_alloc_in(a, n);
                arm_exit_report();
                crate::pool::purge_parked();
                return c.add(HDR);
            }
        }
    }
    let p = malloc_generic(n);
    if p.is_null() {
        return out_of_memory();
    }
    count_alloc(n);
    arm_exit_report();
    crate::pool::purge_parked();
    p
}

/// Every allocating entry point's null return: `errno = ENOMEM`, set last. The
/// failed `mmap` set it, but a system call made on the way out can overwrite it
/// (a futex wait or wake on the pool's lock leaves `EAGAIN`; seen with 4 threads
/// in `tests/oom.rs`), and a request refused before any system call set nothing.
#[cold]
#[inline(never)]
fn out_of_memory() -> *mut u8 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = libc::ENOMEM };
    null_mut()
}

/// `p`, or [`out_of_memory`]'s null if `p` is null.
#[inline(always)]
fn or_enomem(p: *mut u8) -> *mut u8 {
    if p.is_null() {
        out_of_memory()
    } else {
        p
    }
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

/// Frees a block from any thread. `p` may be null, or any pointer at all: a
/// misuse is reported (where the 16 bytes before it can be read).
#[inline(always)]
pub unsafe fn free(p: *mut u8) {
    // (Null among them; the test costs what a test for null would.)
    if p as usize & (os::PAGE - UNIT) == 0 {
        return free_page_start(p);
    }
    free_live(p)
}

/// [`free`] of a block the caller vouches for (the Rust front door, whose
/// `dealloc` gets only blocks this allocator returned): not null, and the 16
/// bytes before it can be read, which the fast path does at once. (A page
/// test there cost the Rust front door 2 instructions per free, where the
/// compiler had dropped the test for null.)
///
/// # Safety
/// `p` was returned by this allocator (and not freed since, or the misuse is
/// reported).
#[inline(always)]
pub unsafe fn free_live(p: *mut u8) {
    let a = thread::arena();
    if let Some(h) = fast_header(a, p) {
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

/// [`free`] of a pointer within 16 bytes of a page start: null, or one whose
/// header the fast path may not read before it is known to be readable (see
/// `block::check_page_start`). An arena payload that starts a page (one in
/// 256, but a program may free the same one again and again) has its header
/// in its span and takes the fast path from here; anything else is freed
/// through [`classify`], or reported. (Out of line and a tail call, so that
/// the fast path keeps no register across it.)
#[cold]
#[inline(never)]
unsafe fn free_page_start(p: *mut u8) {
    if p.is_null() {
        return;
    }
    if registry::get(p as usize) == registry::ARENA && arena_page_start_ok(p) {
        return free_live(p);
    }
    free_slow(p)
}

#[cold]
#[inline(never)]
unsafe fn free_own(p: *mut u8) {
    os::keeping_errno(|| free_own_checked(p))
}

/// [`free_own`]'s work, between its save and restore of `errno`.
#[inline(always)]
unsafe fn free_own_checked(p: *mut u8) {
    // Once arena ids repeat, the mask only proves the chunk belongs to an arena
    // with this one's id: the store must still get only its own chunks.
    let foreign = arena::IDS_REPEAT.load(Ordering::Relaxed)
        && crate::arena::owner(span::span_of(p), Ordering::Relaxed) != thread::arena();
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
}

/// The header before `p` decoded with arena `a`'s key, if it passes
/// [`FAST_REJECT`]: then it is one of `a`'s in-use chunks of a size below 2048
/// (a chunk of another arena keeps the xor of the two ids in the mask's bits,
/// see `Arena::key`; cached and free chunks have flags there; pool tags a
/// mark), and its low half is the chunk size, which is also the cache bin's
/// offset. For the empty and exited arenas (key 0) it proves nothing. (An
/// unaligned read: `p` is not checked yet; on x86-64 the same instruction.)
#[inline(always)]
unsafe fn fast_header(a: *mut Arena, p: *mut u8) -> Option<u64> {
    let h = (p.sub(HDR) as *const u64).read_unaligned() ^ (*a).key;
    (h & FAST_REJECT == 0).then_some(h)
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
    if config::secure() {
        return os::keeping_errno(|| free_checked(p));
    }
    let b = classify(p, b"free");
    if let Block::Chunk(owner, s) = b {
        if owner != thread::arena() {
            // Another arena's chunk goes onto its remote list: no system call
            // (a parked owner's drain keeps errno itself).
            count_free();
            return release_remote(p, owner, s);
        }
        if s > CACHE_MAX_CHUNK && free_medium_own(p, owner, s) {
            return;
        }
    }
    os::keeping_errno(|| free_known(p, b))
}

/// Frees `p`, a medium chunk (`s` bytes) of arena `owner`, into the medium
/// tier if it is this thread's and the tier takes it as it is: no store, no
/// system call. False, with nothing done, otherwise. (Out of line: the small
/// blocks of `free_slow`, other threads' among them, pay one compare.)
#[inline(never)]
unsafe fn free_medium_own(p: *mut u8, owner: *mut Arena, s: usize) -> bool {
    if owner == thread::arena() && (*owner).medium_keep(p, s) {
        (*owner).counters.slow_frees += 1;
        return true;
    }
    false
}

unsafe fn free_checked(p: *mut u8) {
    if config::secure() {
        count_free();
        return secure::free(p);
    }
    free_known(p, classify(p, b"free"));
}

/// Frees `p`, classified as `b`.
#[inline(always)]
unsafe fn free_known(p: *mut u8, b: Block) {
    // (A thread that only frees gets no arena: taking one there made short-lived
    // threads hold more arenas at once, 17 -> 47 in tests/thread_churn.rs, and
    // RSS tripled. Its frees are counted in shared counters instead.)
    count_free();
    match b {
        Block::Chunk(owner, size) => release(p, owner, size),
        Block::Large => large::free(p),
    }
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
/// Null (and `errno = ENOMEM`) when out of memory.
pub unsafe fn zalloc(n: usize) -> *mut u8 {
    or_enomem(zalloc_generic(n))
}

unsafe fn zalloc_generic(n: usize) -> *mut u8 {
    if config::secure() {
        let p = secure::alloc(n, UNIT);
        if !p.is_null() {
            count_alloc(n);
            arm_exit_report();
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
        arm_exit_report();
        if !clean {
            core::ptr::write_bytes(p, 0, n);
        }
    }
    p
}

/// Allocates `n` bytes aligned to `align` (a power of two). Null (and
/// `errno = ENOMEM`) when out of memory.
pub unsafe fn aligned(align: usize, n: usize) -> *mut u8 {
    if align <= UNIT {
        return malloc(n);
    }
    let p = aligned_generic(align, n);
    if p.is_null() {
        return out_of_memory();
    }
    count_alloc(n);
    arm_exit_report();
    crate::pool::purge_parked();
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

/// Resizes `p` (16-byte alignment) to `n > 0` bytes; null (with `p` untouched
/// and `errno = ENOMEM`) when out of memory.
pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(n);
    }
    // (A pointer at a page start goes to `classify` first: see `free`.)
    if p as usize & (os::PAGE - UNIT) == 0 {
        return or_enomem(realloc_generic(p, n));
    }
    realloc_live(p, n)
}

/// [`realloc`] of a block the caller vouches for, as [`free_live`] (the Rust
/// front door's).
///
/// # Safety
/// As [`free_live`]; `n > 0`.
pub unsafe fn realloc_live(p: *mut u8, n: usize) -> *mut u8 {
    if !config::secure() {
        // `free`'s mask (see `fast_header`), with a size of at least
        // MIN_CHUNK (a stale link can decode to 0) and an arena of the
        // thread's own (`free` relies on the empty and exited arenas' bins
        // having no room). A cached-class chunk that must move goes through
        // `malloc` and `free`'s fast paths, without `classify` and `release`.
        let a = thread::arena();
        let s = fast_header(a, p).map_or(0, |h| h as u32 as usize);
        if (MIN_CHUNK..=CACHE_MAX_CHUNK).contains(&s) && thread::has_arena() {
            if n <= s - HDR {
                return p;
            }
            // (Growing in place needs a free next neighbour: looked at here, as
            // it mostly is not.)
            if n <= config::arena_max_req()
                && span::is_free(p.sub(HDR).add(s), (*a).key)
                && (*a).resize_in_place(p.sub(HDR), chunk_size(n), &mut Global)
            {
                return p;
            }
            let q = malloc(n);
            if !q.is_null() {
                core::ptr::copy_nonoverlapping(p, q, s - HDR);
                free_live(p);
            }
            return q;
        }
    }
    or_enomem(realloc_generic(p, n))
}

unsafe fn realloc_generic(p: *mut u8, n: usize) -> *mut u8 {
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
                // (A medium chunk of the request's class fits it as it is: the
                // class's chunks stay one size.)
                if need <= s
                    && (s - need < MIN_CHUNK
                        || s <= CACHE_MAX_CHUNK
                        || (need > CACHE_MAX_CHUNK && medium_class(need) == s))
                {
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
    free_live(p);
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
    match b {
        Block::Chunk(owner, s) if s > CACHE_MAX_CHUNK && free_medium_own(p, owner, s) => {}
        Block::Chunk(owner, s) => {
            count_free();
            release(p, owner, s);
        }
        Block::Large => {
            count_free();
            large::free_moved(p);
        }
    }
    q
}

// ---- the report at process exit ----------------------------------------------

static EXIT_REPORT: crate::sync::Once = crate::sync::Once::new();

/// Registers the report at process exit, once, if the configuration asks for
/// one (statistics, a heap map, or secure mode's last checks). Called on the
/// slow paths after an allocation succeeded: glibc's `atexit` may call `calloc`,
/// which then finds an arena, and comes back here without waiting for itself.
#[inline]
fn arm_exit_report() {
    EXIT_REPORT.call(|| {
        if config::show_stats() || config::heap_map_path().is_some() || config::secure() {
            // SAFETY: a plain extern fn with no preconditions.
            unsafe { libc::atexit(at_exit) };
        }
    });
}

/// At process exit: secure mode checks the exiting thread's quarantine and live
/// blocks; then statistics are printed and the heap map written, if asked for.
extern "C" fn at_exit() {
    if config::secure() && thread::has_arena() {
        // (Other threads' arenas may be changing: they are left alone.)
        // SAFETY: the exiting thread's own arena, which nobody else changes.
        unsafe {
            secure::check_quarantine(thread::arena());
            secure::check_live_blocks(thread::arena());
        }
    }
    if config::show_stats() {
        crate::stats::print_stats();
    }
    if let Some(path) = config::heap_map_path() {
        if !crate::heapmap::write_heap_map(path) && config::verbose() {
            crate::os::report_failure(
                b"cannot write the heap map, path at",
                path.as_ptr() as usize,
            );
        }
    }
}
