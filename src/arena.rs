//! Per-thread arenas: a bounded per-size cache in front of an address-sorted,
//! coalescing store of free chunks spread over the arena's spans.
//!
//! An arena is used by one thread at a time without locking (its *owner*); other
//! threads only ever touch its `remote` list, atomically. When no thread owns it
//! (its thread exited: state `PARKED`), the page pool owns it and works on it under
//! the pool lock.
//!
//! The store is two indexes over the same free chunks: each span's address-sorted
//! list (see `span`), which is where splitting and coalescing happen, and the
//! arena's size bins (doubly linked, with a bitmap of non-empty bins), which find a
//! fitting chunk in O(1). The cache holds up to `class_limit` chunks of each size up
//! to `CACHE_MAX_CHUNK`; to the store they are in use. So are *loose* chunks: what
//! a full cache class sheds is marked free in place and counted on its span, and
//! a *sweep* of the span merges it into the store later, in one pass over the
//! span in address order (see `Arena::loosen`).
//!
//! Invariants (checked by [`Arena::check`]): every span on `spans` has `arena ==
//! self` and passes `Span::check`; a chunk is in bin `b` iff it is free and
//! `bin_of(size) == b`; `binmap` bit `b` is set iff bin `b` is non-empty; each cache
//! bin holds exactly `limit - room` chunks of its class, each with the `CACHED`
//! flag, linked through encoded pointers (see [`Arena::link_key`]), and its limit
//! is its base `class_limit` doubled at most `log2(CACHE_GROW)` times, the
//! doublings adding up to `grown` bytes, at most `CACHE_GROWN_MAX`; `spare` is null
//! or one of `spans` whose only chunk is free; `loose` lists exactly the spans
//! with loose chunks, whose `loose` bytes add up to `loose_bytes`.

use crate::os::PAGE;
use crate::purge::PurgeClock;
use crate::size::*;
use crate::span::{self, Span, CACHED, FENCE, FIRST, FREE, FULL, LOOSE};
use core::ptr::{self, null_mut};
use core::sync::atomic::Ordering;

use crate::remote::{AtomicU32, Pending, PendingStack};

mod cache;
mod check;
mod cross;
mod store;
pub use crate::remote::{LOST, OWNED, PARKED};

#[repr(C)]
pub struct CacheBin {
    /// Payload pointers, linked through their first word.
    pub head: *mut u8,
    /// How many more chunks the bin takes: `limit - count`. One field for the
    /// fast paths to test and update.
    pub room: u32,
    pub limit: u32,
}

impl CacheBin {
    /// Chunks in the bin.
    #[inline]
    pub fn count(&self) -> u32 {
        self.limit - self.room
    }
}

/// An arena with at least this many spans whose live data would fill less than
/// an eighth of them switches its cache off until they fill a quarter (see
/// `Arena::sparse`).
const SPARSE_SPANS: usize = 8;

/// Most bytes of chunks one refill carves for the cache.
const REFILL_BYTES: usize = 8 * 1024;

/// A class's first refill carves `REFILL_BYTES >> REFILL_RAMP` bytes of chunks
/// (1 KiB), each later one twice the one before, up to `REFILL_BYTES`: carving
/// writes every chunk it makes, so a class a thread uses once or twice (most
/// classes, with sizes spread over many) makes a page or less resident, not
/// 8 KiB.
const REFILL_RAMP: u8 = 3;

/// A refill carves at most the arena's used bytes over this many, but never
/// less than the ramp's first step (`REFILL_BYTES >> REFILL_RAMP`, 1 KiB), and
/// within `REFILL_BYTES` and the ramp: what the classes carve ahead of their
/// pops stays a small share of a small heap.
const REFILL_SHARE: usize = 256;

/// Chunks a flush takes at a time (a stack array of this many addresses).
const FLUSH_BATCH: usize = 256;
/// Remote lists [`Arena::drain_remote`] walks side by side (see there): enough
/// misses in flight to cover a memory access, few enough that the cursors stay
/// in registers and on the stack's first line.
pub(crate) const DRAIN_WAYS: usize = 8;

/// A span is swept as soon as it holds this many bytes of loose chunks
/// (see [`Arena::loosen`]).
const SWEEP_AT: usize = SPAN / 2;

/// How far ahead of the chunk it reads a sweep prefetches: each header's
/// address comes from the one before, so without a hint the walk waits on one
/// cache miss per chunk (measured: 256 B, 512 B and 2 KiB slower than 1 KiB).
const SWEEP_AHEAD: usize = 1024;

/// When the store has no fit, spans with at least this many loose bytes are
/// swept before the arena takes a new span; fewer wait for more (a sweep
/// reads every header of its span).
const SWEEP_MIN: usize = SPAN / 16;

/// Smallest free chunk that may hold a whole page past its links.
const PURGE_MIN_CHUNK: usize = PAGE + MIN_CHUNK;

/// Per-thread counters, written by the owner only (plain stores) and summed by
/// `stats` (racy reads of whole words).
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct Counters {
    /// Frees that took the fast path.
    pub fast_frees: u64,
    /// Bytes requested by allocations that took the fast path.
    pub fast_req_bytes: u64,
    /// Allocations and bytes requested off the fast path.
    pub slow_allocs: u64,
    pub slow_req_bytes: u64,
    /// Frees off the fast path (local, remote, pool and huge blocks).
    pub slow_frees: u64,
    /// Chunks that entered or left the cache other than by the fast paths (so
    /// that fast allocations = fast frees + in - out - cached now).
    pub cache_in: u64,
    pub cache_out: u64,
    pub refills: u64,
    pub flushes: u64,
    pub remote_drained: u64,
    /// Bytes of chunks drained from the remote lists (so that the bytes pushed by
    /// other threads, counted in their `xfree`, less these are the bytes freed
    /// but not yet drained: see `stats`).
    pub remote_drained_bytes: u64,
    pub spans_taken: u64,
    pub spans_returned: u64,
}

/// Number of arenas the cross-thread free matrix tells apart (by arena id); frees
/// between arenas with higher ids are counted in the last row or column.
pub const XMAX: usize = 32;

#[repr(C, align(64))]
pub struct Arena {
    /// Chunk headers of this arena's spans are stored xor this key: the process's
    /// secret xor the arena's id spread over header bits that are zero in every
    /// in-use chunk (0..=3 and 18..=29, see [`spread_id`]). A chunk of another
    /// arena decodes with the xor of the two ids there and fails `free`'s
    /// fast-path mask: the mask is the ownership test. (Ids repeat after 65,535
    /// arenas; arenas sharing an id may cache each other's chunks, which `flush`
    /// sends back to their owner.)
    pub key: u64,
    /// Cache and remote-list links are stored xor this key (safe-linking).
    pub link_key: u64,
    /// Cache class `k` sits at byte offset `16 + 16 * k`: `16 + chunk size`.
    pub cache: [CacheBin; NCLASSES],
    bins: [*mut u8; NBINS],
    /// The medium tier: freed chunks over `CACHE_MAX_CHUNK` bytes, newest
    /// first, one list per medium class (`size::medium_list`; payloads
    /// linked as the cache's), in use to the store like cached chunks;
    /// `medium_bytes` in all.
    medium: [*mut u8; MEDIUM_LISTS],
    pub medium_bytes: usize,
    binmap: [u64; 2],
    pub(crate) spans: *mut Span,
    pub nspans: usize,
    spare: *mut Span,
    /// Bytes of chunks out of the store (in use by the program or in the cache).
    pub used: usize,
    /// Bytes of whole pages inside free chunks released to the OS (the sum of
    /// the free chunks' `released` fields, in bytes).
    pub released: usize,
    /// Bytes freed into chunks big enough to hold whole pages, and when the
    /// next purge pass is due (see `purge`).
    purge: PurgeClock,
    /// The cache is switched off (every limit 0) while the arena is sparse.
    uncached: bool,
    /// Spans with loose chunks (linked through their `loose_next` and
    /// `loose_prev`), and the bytes of loose chunks in all of them.
    loose: *mut Span,
    pub loose_bytes: usize,
    /// Bytes of room the cache classes have gained by growing: the sum over
    /// classes of `(limit - class_limit) * chunk size` (see `CACHE_GROW`).
    grown: usize,
    /// Refills done per class since the cache was last switched off, up to
    /// `REFILL_RAMP` (see there).
    fills: [u8; NCLASSES],
    /// Spans taken off the inbox's stack whose remote lists are not drained yet
    /// (linked as on the stack; see [`Arena::drain_remote_for`]).
    taken: *mut Pending,
    /// 1, 2, ...: order of creation; 0 for the static arenas.
    pub id: u32,
    /// Thread id (`gettid`) of the thread that owns it or owned it last.
    pub tid: u32,
    pub counters: Counters,
    /// Odd while a thread other than a running owner (an exiting owner, or the
    /// pool on a parked arena) moves chunks between the cache, the store and the
    /// remote lists and updates `counters` and `used` to match: `stats` rereads an
    /// arena until it sees the same even value before and after (a seqlock).
    pub seq: AtomicU32,
    /// Frees by this arena's owner of blocks of other arenas: count and bytes per
    /// owning arena id (see [`XMAX`]).
    pub xfree: [[u64; 2]; XMAX],
    /// Secure mode: blocks this arena's owner freed, held back from reuse.
    pub quarantine: Quarantine,
    /// Pool blocks this arena's owner freed, kept for its next ones.
    pub shelf: Shelf,
    /// All arenas ever made, for statistics and fork handling (never unlinked).
    pub all_next: *mut Arena,
    /// Next arena on the pool's list of parked arenas.
    pub park_next: *mut Arena,
    /// What other threads' frees touch, on a cache line of its own.
    pub inbox: Inbox,
}

/// The part of an arena that a thread freeing one of its blocks reads and
/// writes: the stack of spans with remote frees, the owner state, and copies
/// of the keys and the id (set at `init`, read-only after). Apart from the
/// owner's hot fields (the cache heads share `key`'s line, the counters
/// `id`'s), so that a remote free misses on this line, its span's list line
/// and the block only, and the owner on this line only when it takes the
/// stack.
#[repr(C, align(64))]
pub struct Inbox {
    /// Spans with chunks freed by other threads (see `remote`).
    pub spans: PendingStack,
    /// `Arena::link_key`.
    pub link_key: u64,
    /// `Arena::key`.
    pub key: u64,
    /// `Arena::id`.
    pub id: u32,
    /// `OWNED`, `PARKED` or `LOST` (see `remote`).
    pub state: AtomicU32,
}

/// Where an arena gets and returns spans; implemented by the page pool, locked or
/// already locked.
pub trait SpanSource {
    /// A fresh SPAN-aligned, SPAN-sized region, or null when out of memory.
    fn take_span(&mut self) -> *mut u8;
    /// Returns a span whose chunks are all free.
    fn give_span(&mut self, base: *mut u8);
    /// Takes back pool block run `start` of `len` bytes, off a shelf.
    fn give_run(&mut self, start: *mut u8, len: usize);
    /// Resolves the remote frees of `a` if it is parked (after a push onto it).
    ///
    /// # Safety
    /// `a` is an arena.
    unsafe fn drain_if_parked(&mut self, a: *mut Arena);
}

impl Arena {
    /// Initialises an arena in place.
    ///
    /// # Safety
    /// `a` points to writable memory for an `Arena`, not in use; `id` is unique,
    /// nonzero and below 2^20.
    pub unsafe fn init(a: *mut Arena, id: u32, secret: u64) {
        ptr::write_bytes(a as *mut u8, 0, core::mem::size_of::<Arena>());
        for (cls, bin) in (*a).cache.iter_mut().enumerate() {
            bin.limit = class_limit(cls);
            bin.room = bin.limit;
        }
        (*a).id = id;
        (*a).key = secret ^ spread_id(id);
        (*a).link_key = mix(secret ^ id as u64);
        (*a).inbox.id = id;
        (*a).inbox.key = (*a).key;
        (*a).inbox.link_key = (*a).link_key;
        (*a).quarantine.seed(mix(secret ^ !(id as u64)));
        if crate::config::secure() {
            // Secure mode: every free takes the slow path, where the checks are.
            for bin in (*a).cache.iter_mut() {
                bin.limit = 0;
                bin.room = 0;
            }
            (*a).uncached = true;
        }
    }

    /// Bytes of the cache bin for chunk size `s` from the arena's start.
    #[inline(always)]
    pub const fn bin_offset(s: usize) -> usize {
        CACHE_OFFSET + s
    }

    /// Starts an update that `stats` must not see half done (see `seq`). Not
    /// nested; ended by [`Arena::end_update`] on the same thread.
    #[inline]
    pub fn begin_update(&self) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        core::sync::atomic::fence(Ordering::Release);
    }

    #[inline]
    pub fn end_update(&self) {
        self.seq.fetch_add(1, Ordering::Release);
    }
}

/// Byte offset of `Arena::cache`.
pub const CACHE_OFFSET: usize = core::mem::offset_of!(Arena, cache);
const _: () = assert!(CACHE_OFFSET == 16 && core::mem::size_of::<CacheBin>() == UNIT);

/// Secure mode's guard chunk: two pages before the fence, the first of which
/// (at span offset `GUARD_PAGE`) is protected; the second holds the fence.
const GUARD_CHUNK: usize = 2 * PAGE;
const GUARD_PAGE: usize = FENCE + HDR - 2 * PAGE;
const _: () = assert!(FENCE - GUARD_CHUNK + HDR == GUARD_PAGE);

#[inline]
fn guarded_spans() -> bool {
    crate::config::secure()
}

/// Whether `addr` lies on an arena span's guard page (secure mode; its spans
/// all have one).
pub fn on_guard_page(addr: usize) -> bool {
    guarded_spans() && (addr % SPAN) & !(PAGE - 1) == GUARD_PAGE
}

/// Size of the free chunk of an empty span (less the guard chunk in secure mode).
#[inline]
fn empty_chunk() -> usize {
    if guarded_spans() {
        FULL - GUARD_CHUNK
    } else {
        FULL
    }
}

/// The column of the cross-thread free matrix that counts frees of `owner`'s
/// chunks (arena ids past [`XMAX`] share the last one).
///
/// # Safety
/// `owner` is an arena.
#[inline]
pub unsafe fn xcol(owner: *const Arena) -> usize {
    ((*owner).inbox.id as usize).min(XMAX) - 1
}

/// Arena ids run 1..=MAX_ID, then repeat.
pub const MAX_ID: u32 = 0xffff;
/// Set once more than `MAX_ID` arenas exist: flushes then check each chunk's
/// owner (see `Arena::key`).
pub static IDS_REPEAT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// An arena id placed in the header bits that every in-use chunk has zero and
/// that `free`'s fast-path mask tests: 0..=3 (chunk sizes are multiples of 16)
/// and 18..=29 (chunks are smaller than a 256 KiB span; 30 and 31 are flags).
/// Bits 11..=17 stay out: pool block tags carry a mark there (see `large`), so
/// that no arena key decodes a tag into a valid size.
#[inline]
pub const fn spread_id(id: u32) -> u64 {
    (id as u64 & 0xf) | ((id as u64 >> 4) & 0xfff) << 18
}

/// Blocks a quarantine holds, and bytes at most.
pub(crate) const QN: usize = 256;
pub(crate) const QBYTES: usize = 4 << 20;

/// A thread's quarantine of freed blocks (payload addresses), secure mode's
/// storage in the arena (`secure` decides what enters and leaves it).
#[repr(C)]
pub struct Quarantine {
    pub(crate) slots: [usize; QN],
    pub(crate) len: usize,
    pub(crate) bytes: usize,
    rng: u64,
}

impl Quarantine {
    pub fn seed(&mut self, s: u64) {
        self.rng = s | 1;
    }
    /// A random number (which block leaves when the quarantine is full).
    pub fn draw(&mut self) -> usize {
        // xorshift64
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x as usize
    }
}

/// What freed memory is filled with: zeros, so that a read after free, or a
/// new block carved from freed memory, never shows old data.
pub(crate) const FILL: u8 = 0;
const FILL_WORD: u64 = u64::from_ne_bytes([FILL; 8]);
/// Bytes of a freed block filled and checked: all of a small block, the first
/// 4 KiB of a bigger one (writes after free land mostly at the start: links,
/// headers, vtables; filling 128 KiB blocks whole cost 50 times the time of the
/// default mode on `churn-medium`).
pub(crate) const FILL_MAX: usize = 4096;

/// Aborts if quarantined block `p` (chunk size `s`) no longer holds its fill.
pub(crate) unsafe fn check_fill(p: *mut u8, s: usize) {
    // Payloads are 16-aligned and sizes multiples of 16 (less the 8-byte header):
    // compare whole words.
    let words = (s - HDR).min(FILL_MAX) / 8;
    let w = p as *const u64;
    if (0..words).any(|i| *w.add(i) != FILL_WORD) {
        crate::os::fatal_at(b"write to a freed block detected in", Some(p as usize));
    }
}

impl Arena {
    /// Takes block `p` out of this (the calling thread's) arena's quarantine:
    /// checks its fill, then frees it for real, here or to its owner.
    pub unsafe fn unquarantine(&mut self, p: *mut u8, src: &mut impl SpanSource) {
        let c = p.sub(HDR);
        let s = span::size(c, span::key_of(c));
        check_fill(p, s);
        let owner = owner(span::span_of(p), Ordering::Acquire);
        if core::ptr::eq(owner, self) {
            let h = &*(c as *const core::sync::atomic::AtomicU32);
            h.fetch_xor(CACHED as u32, Ordering::AcqRel);
            return self.free_local(p, src);
        }
        // Another arena's block goes onto its remote list still flagged: it never
        // looks in use to its owner meanwhile (see `secure::check_prev`).
        self.count_cross(owner, s);
        (*owner).push_remote_flagged(p);
        src.drain_if_parked(owner);
    }

    /// Gives the shelf's pool blocks back to the pool.
    pub fn flush_shelf(&mut self, src: &mut impl SpanSource) {
        while let Some((start, len)) = self.shelf.pop() {
            src.give_run(start as *mut u8, len);
        }
    }

    /// Empties the quarantine (thread exit, secure mode).
    pub unsafe fn flush_quarantine(&mut self, src: &mut impl SpanSource) {
        while self.quarantine.len > 0 {
            self.quarantine.len -= 1;
            let p = self.quarantine.slots[self.quarantine.len] as *mut u8;
            self.quarantine.bytes -= span::size(p.sub(HDR), span::key_of(p.sub(HDR)));
            self.unquarantine(p, src);
        }
    }
}

/// Pool blocks an arena's owner freed, kept for its next pool-block
/// allocations (`large` puts and takes them, without the pool lock): runs of
/// the pool, in use to it, as (start, length); an empty slot has length 0.
/// Emptied back into the pool at the owner's exit and when the pool cannot
/// serve the owner ([`Arena::flush_shelf`]).
#[derive(Clone, Copy)]
pub struct Shelf {
    runs: [(usize, usize); SHELF_SLOTS],
    /// The runs' lengths added up.
    pub bytes: usize,
}

impl Shelf {
    /// Keeps run `start` of `len` bytes if it is short enough and there is room.
    pub fn put(&mut self, start: usize, len: usize) -> bool {
        if len > SHELF_BLOCK_MAX || self.bytes + len > SHELF_BYTES {
            return false;
        }
        let Some(slot) = self.runs.iter_mut().find(|r| r.1 == 0) else {
            return false;
        };
        *slot = (start, len);
        self.bytes += len;
        true
    }

    /// Takes the shortest run of `len` to `max` bytes, if there is one.
    #[inline]
    pub fn take(&mut self, len: usize, max: usize) -> Option<(usize, usize)> {
        if self.bytes < len {
            return None;
        }
        let mut best: Option<usize> = None;
        for (i, r) in self.runs.iter().enumerate() {
            if r.1 >= len && r.1 <= max && best.map_or(true, |b| r.1 < self.runs[b].1) {
                best = Some(i);
            }
        }
        let i = best?;
        Some(self.remove(i))
    }

    /// Takes any run (to empty the shelf).
    pub fn pop(&mut self) -> Option<(usize, usize)> {
        let i = self.runs.iter().position(|r| r.1 != 0)?;
        Some(self.remove(i))
    }

    /// Checks that `bytes` adds up the runs' lengths, each run page-aligned
    /// and within the bounds.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut sum = 0;
        for &(start, len) in &self.runs {
            if len != 0 && (start % PAGE != 0 || len % PAGE != 0 || len > SHELF_BLOCK_MAX) {
                return Err("shelf run misaligned or too long");
            }
            sum += len;
        }
        if sum != self.bytes || sum > SHELF_BYTES {
            return Err("shelf bytes do not add up");
        }
        Ok(())
    }

    fn remove(&mut self, i: usize) -> (usize, usize) {
        let r = self.runs[i];
        self.runs[i] = (0, 0);
        self.bytes -= r.1;
        r
    }
}

/// The arena that owns span `sp`.
///
/// # Safety
/// `sp` is an arena span (its header was written by `Span::init`).
#[inline(always)]
pub unsafe fn owner(sp: *const Span, order: Ordering) -> *mut Arena {
    (*sp).owner.load(order) as *mut Arena
}

/// Follows an encoded cache or remote-list link out of payload `p`. A payload is
/// 16-aligned, so a decoded link that is not was overwritten after the free.
#[inline(always)]
pub unsafe fn decode_link(p: *mut u8, key: usize) -> *mut u8 {
    let next = *(p as *const usize) ^ key;
    if next & (UNIT - 1) != 0 {
        corrupt_link(p);
    }
    next as *mut u8
}

/// Asks the CPU to fetch the line at `p`: the chunk a free list's link points
/// to, whose own link the next pop reads (chunks freed in random order, or by
/// another thread, are cold lines). Never faults, null and stale addresses
/// included.
#[inline(always)]
pub fn prefetch(p: *mut u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that reads nothing the program sees and cannot fault.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cold]
#[inline(never)]
fn corrupt_link(p: *mut u8) -> ! {
    crate::os::fatal_at(b"corrupted free list at", Some(p as usize))
}
