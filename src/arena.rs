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
//! to `CACHE_MAX_CHUNK`; to the store they are in use.
//!
//! Invariants (checked by [`Arena::check`]): every span on `spans` has `arena ==
//! self` and passes `Span::check`; a chunk is in bin `b` iff it is free and
//! `bin_of(size) == b`; `binmap` bit `b` is set iff bin `b` is non-empty; each cache
//! bin holds exactly `limit - room` chunks of its class, each with the `CACHED`
//! flag, linked through encoded pointers (see [`Arena::link_key`]); `spare` is null
//! or one of `spans` whose only chunk is free.

use crate::os::PAGE;
use crate::purge::PurgeClock;
use crate::size::*;
use crate::span::{self, Span, CACHED, FENCE, FIRST, FREE, FULL};
use core::ptr::{self, null_mut};
use core::sync::atomic::Ordering;

use crate::remote::{AtomicU32, RemoteList};
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

/// Chunks a flush takes at a time (a stack array of this many addresses).
const FLUSH_BATCH: usize = 256;

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
    /// Bytes of chunks drained from the remote list (so that the bytes pushed by
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
    binmap: [u64; 2],
    spans: *mut Span,
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
    /// 1, 2, ...: order of creation; 0 for the static arenas.
    pub id: u32,
    /// Thread id (`gettid`) of the thread that owns it or owned it last.
    pub tid: u32,
    pub counters: Counters,
    /// Odd while a thread other than a running owner (an exiting owner, or the
    /// pool on a parked arena) moves chunks between the cache, the store and the
    /// remote list and updates `counters` and `used` to match: `stats` rereads an
    /// arena until it sees the same even value before and after (a seqlock).
    pub seq: AtomicU32,
    /// Frees by this arena's owner of blocks of other arenas: count and bytes per
    /// owning arena id (see [`XMAX`]).
    pub xfree: [[u64; 2]; XMAX],
    /// Secure mode: blocks this arena's owner freed, held back from reuse.
    pub quarantine: Quarantine,
    /// All arenas ever made, for statistics and fork handling (never unlinked).
    pub all_next: *mut Arena,
    /// Next arena on the pool's list of parked arenas.
    pub park_next: *mut Arena,
    /// `OWNED`, `PARKED` or `LOST` (see `remote`).
    pub state: AtomicU32,
    /// Chunks freed by other threads (see `remote`).
    pub remote: RemoteList,
}

/// Where an arena gets and returns spans; implemented by the page pool, locked or
/// already locked.
pub trait SpanSource {
    /// A fresh SPAN-aligned, SPAN-sized region, or null when out of memory.
    fn take_span(&mut self) -> *mut u8;
    /// Returns a span whose chunks are all free.
    fn give_span(&mut self, base: *mut u8);
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

    // ---- size bins ------------------------------------------------------------------

    #[inline]
    unsafe fn bin_push(&mut self, c: *mut u8, s: usize) {
        let b = bin_of(s);
        let h = self.bins[b];
        span::set_bin_next(c, h, self.key);
        span::set_bin_prev(c, null_mut(), self.key);
        if !h.is_null() {
            span::set_bin_prev(h, c, self.key);
        }
        self.bins[b] = c;
        self.binmap[b / 64] |= 1 << (b % 64);
    }

    #[inline]
    unsafe fn bin_remove(&mut self, c: *mut u8, s: usize) {
        let b = bin_of(s);
        let (p, n) = (span::bin_prev(c, self.key), span::bin_next(c, self.key));
        if p.is_null() {
            self.bins[b] = n;
            if n.is_null() {
                self.binmap[b / 64] &= !(1 << (b % 64));
            }
        } else {
            span::set_bin_next(p, n, self.key);
        }
        if !n.is_null() {
            span::set_bin_prev(n, p, self.key);
        }
    }

    /// A free chunk of at least `s` bytes, still in the store, or null.
    #[inline]
    fn find_fit(&self, s: usize) -> *mut u8 {
        let b = bin_at_least(s);
        let mut w = b / 64;
        let mut m = if w < 2 {
            self.binmap[w] & (!0u64 << (b % 64))
        } else {
            0
        };
        while w < 2 {
            if m != 0 {
                return self.bins[w * 64 + m.trailing_zeros() as usize];
            }
            w += 1;
            if w < 2 {
                m = self.binmap[w];
            }
        }
        null_mut()
    }

    // ---- the store: insert, remove, coalesce ---------------------------------------

    /// Adds `c` of size `s` to the store as a new free chunk (no coalescing).
    unsafe fn store_insert(&mut self, c: *mut u8, s: usize) {
        span::set_size(c, s, FREE, self.key);
        span::set_released(c, 0);
        span::set_prev_size(c.add(s), s, self.key);
        (*span::span_of(c)).list_insert(c);
        self.bin_push(c, s);
    }

    /// Takes free chunk `c` out of the store; it becomes an in-use chunk.
    unsafe fn store_take(&mut self, c: *mut u8) {
        let s = span::size(c, self.key);
        self.released -= span::released(c) as usize * PAGE;
        self.bin_remove(c, s);
        (*span::span_of(c)).list_remove(c);
        span::set_size(c, s, 0, self.key);
        if s == FULL {
            self.unspare(c);
        }
    }

    /// Returns in-use chunk `c` to the store, merging it with free neighbours.
    /// Returns a span that became wholly free and must go back to the pool (already
    /// unlinked from this arena), or null.
    ///
    /// # Safety
    /// `c` is an in-use chunk of a span of this arena, not in any cache.
    pub unsafe fn free_chunk(&mut self, c: *mut u8) -> *mut Span {
        debug_assert!(span::hdr(c, self.key) & FREE == 0);
        let mut s = span::size(c, self.key);
        let freed = s;
        self.used -= s;
        let next = c.add(s);
        if span::prev_size(next, self.key) != s {
            // The boundary tags disagree: one of the two headers was overwritten.
            crate::os::fatal_at(b"corrupted block header at", Some(next as usize + HDR));
        }
        let ps = span::prev_size(c, self.key);
        let off = c as usize - span::span_of(c) as usize;
        if ps != 0 && (ps > off - FIRST || span::size(c.sub(ps), self.key) != ps) {
            // The previous chunk's size disagrees: a write just before this
            // block (an underflow) changed its `prev_size`.
            crate::os::fatal_at(b"corrupted block header at", Some(c as usize + HDR));
        }
        let prev_free = ps != 0 && span::is_free(c.sub(ps), self.key);
        let (c, s) = if prev_free {
            // Extend the previous free chunk: its place on the address list stays.
            let prev = c.sub(ps);
            if span::is_free(next, self.key) {
                let ns = span::size(next, self.key);
                // (Its released pages stay released, now inside `prev`.)
                let rn = span::released(next);
                self.store_take(next);
                span::bury(next);
                span::set_released(prev, span::released(prev) + rn);
                self.released += rn as usize * PAGE;
                s += ns;
            }
            span::bury(c);
            self.resize_free(prev, ps, ps + s);
            (prev, ps + s)
        } else if span::is_free(next, self.key) {
            // Take the next free chunk's place on the address list (nothing free
            // lies between them), so no predecessor search is needed.
            let ns = span::size(next, self.key);
            let rn = span::released(next);
            self.bin_remove(next, ns);
            (*span::span_of(c)).list_replace(next, c);
            span::bury(next);
            s += ns;
            span::set_size(c, s, FREE, self.key);
            span::set_released(c, rn);
            span::set_prev_size(c.add(s), s, self.key);
            self.bin_push(c, s);
            (c, s)
        } else {
            self.store_insert(c, s);
            (c, s)
        };
        if s >= PURGE_MIN_CHUNK {
            self.purge.dirty += freed;
        }
        if s == empty_chunk() {
            return self.span_emptied(span::span_of(c));
        }
        null_mut()
    }

    // ---- giving free pages back ------------------------------------------------------

    /// Runs a purge pass when one is due (see `purge`): the free chunks the
    /// pass before it saw unchanged go back to the OS, so memory reused sooner
    /// never does. Cheap when nothing is pending: one compare.
    #[inline]
    pub unsafe fn maybe_purge(&mut self) {
        if self.purge.due() {
            let left = self.purge_pass(false);
            self.purge.passed(left);
        }
    }

    /// Releases to the OS every whole page inside the store's free chunks that is
    /// not released yet (`madvise(MADV_DONTNEED)`; the chunks stay on their lists
    /// with their headers, links and boundary tags, which lie outside the pages
    /// released, and the pages read as zeros when a block carved there touches
    /// them). Walks the size bins that can hold such chunks.
    pub unsafe fn purge(&mut self) {
        let left = self.purge_pass(true);
        self.purge.passed(left);
    }

    /// A purge pass: releases the chunks a previous pass saw unchanged (all of
    /// them with `all`) and marks the others seen. Returns the bytes left
    /// unreleased.
    unsafe fn purge_pass(&mut self, all: bool) -> usize {
        let mut left = 0;
        for b in bin_of(PURGE_MIN_CHUNK)..NBINS {
            let mut x = self.bins[b];
            while !x.is_null() {
                let s = span::size(x, self.key);
                let pages = span::interior_pages(x, s);
                let r = span::released(x);
                if pages > r {
                    if all || span::seen(x) {
                        let (start, end) = span::interior(x, s);
                        crate::os::purge(start as *mut u8, end - start);
                        self.released += (pages - r) as usize * PAGE;
                        span::set_released(x, pages);
                    } else {
                        span::set_seen(x);
                        left += (pages - r) as usize * PAGE;
                    }
                }
                x = span::bin_next(x, self.key);
            }
        }
        left
    }

    /// Runs a purge pass at once if enough was freed since the last one (a
    /// parked arena: no owner comes by to run a scheduled one).
    pub unsafe fn purge_parked(&mut self) {
        if self.purge.pending() {
            self.purge();
        }
    }

    /// Changes the size of free chunk `c` from `old` to `new` bytes in place,
    /// moving it between size bins only when its bin changes.
    #[inline]
    unsafe fn resize_free(&mut self, c: *mut u8, old: usize, new: usize) {
        let same_bin = bin_of(old) == bin_of(new);
        if !same_bin {
            self.bin_remove(c, old);
        }
        span::set_size(c, new, FREE, self.key);
        span::set_prev_size(c.add(new), new, self.key);
        if !same_bin {
            self.bin_push(c, new);
        }
    }

    /// A span of this arena became wholly free: keep one as a spare, release others.
    unsafe fn span_emptied(&mut self, sp: *mut Span) -> *mut Span {
        if self.spare.is_null() {
            self.spare = sp;
            return null_mut();
        }
        self.unlink_empty(sp);
        sp
    }

    unsafe fn unlink_empty(&mut self, sp: *mut Span) {
        let c = (sp as *mut u8).add(FIRST);
        self.store_take(c);
        if guarded_spans() {
            // The guard page goes back to the pool read-write.
            crate::os::protect((sp as *mut u8).add(GUARD_PAGE), PAGE, true);
            self.used -= GUARD_CHUNK;
        }
        if !(*sp).prev.is_null() {
            (*(*sp).prev).next = (*sp).next;
        } else {
            self.spans = (*sp).next;
        }
        if !(*sp).next.is_null() {
            (*(*sp).next).prev = (*sp).prev;
        }
        self.nspans -= 1;
        self.counters.spans_returned += 1;
    }

    /// Gets a new span from `src` and puts its one free chunk in the store.
    unsafe fn add_span(&mut self, src: &mut impl SpanSource) -> *mut u8 {
        let base = src.take_span();
        if base.is_null() {
            return null_mut();
        }
        let c = Span::init(base, self as *mut Arena as *mut span::Owner, self.key);
        if guarded_spans() {
            // Secure mode: a permanent in-use chunk at the end of the span holds a
            // guard page, so an overflow off the last chunk faults.
            let g = base.add(FENCE - GUARD_CHUNK);
            span::set_hdr(c, FULL - GUARD_CHUNK, 0, self.key);
            span::set_hdr(g, GUARD_CHUNK, FULL - GUARD_CHUNK, self.key);
            span::set_prev_size(base.add(FENCE), GUARD_CHUNK, self.key);
            crate::os::protect(base.add(GUARD_PAGE), PAGE, false);
            self.used += GUARD_CHUNK;
        }
        let sp = base as *mut Span;
        (*sp).next = self.spans;
        if !self.spans.is_null() {
            (*self.spans).prev = sp;
        }
        self.spans = sp;
        self.nspans += 1;
        self.counters.spans_taken += 1;
        self.store_insert(c, empty_chunk());
        c
    }

    /// Finds a free chunk of at least `s` bytes, draining remote frees or taking a
    /// new span when the store has none. Null when out of memory.
    unsafe fn fit_or_grow(&mut self, s: usize, src: &mut impl SpanSource) -> *mut u8 {
        self.maybe_purge();
        let mut c = self.find_fit(s);
        if c.is_null() && self.has_remote() {
            self.drain_remote(src);
            c = self.find_fit(s);
        }
        if c.is_null() {
            c = self.add_span(src);
        }
        c
    }

    /// Splits `n` chunks of `s` bytes off the front of free chunk `c` (`n * s <=
    /// size(c)`), returning the first; the rest of `c`, if any, stays in the store
    /// at the same place on the address list. A remainder too small to be a chunk
    /// goes to the last chunk. Carving from the front leaves free space *after* a
    /// new block, where `realloc` can grow into it.
    unsafe fn split_head(&mut self, c: *mut u8, s: usize, n: usize) -> *mut u8 {
        let cs = span::size(c, self.key);
        let rem = cs - n * s;
        let ps = span::prev_size(c, self.key);
        self.used += if rem >= MIN_CHUNK { n * s } else { cs };
        if rem >= MIN_CHUNK {
            self.bin_remove(c, cs);
            if cs == empty_chunk() {
                self.unspare(c);
            }
            // The remainder's pages are still released if all of `c`'s were (the
            // count does not say which pages of a partly released chunk are).
            let rc = span::released(c);
            let all = rc != 0 && rc == span::interior_pages(c, cs);
            self.released -= rc as usize * PAGE;
            let r = c.add(n * s);
            span::set_hdr(r, rem | FREE as usize, s, self.key);
            let rr = if all { span::interior_pages(r, rem) } else { 0 };
            let seen = span::seen(c);
            span::set_released(r, rr);
            if seen {
                // (The remainder is the untouched end of a chunk a pass saw.)
                span::set_seen(r);
            }
            self.released += rr as usize * PAGE;
            (*span::span_of(c)).list_replace(c, r);
            self.bin_push(r, rem);
        } else {
            self.store_take(c);
        }
        let mut b = c;
        let mut prev = ps;
        for i in 0..n {
            let bs = if i + 1 == n && rem < MIN_CHUNK {
                s + rem
            } else {
                s
            };
            span::set_hdr(b, bs, prev, self.key);
            prev = bs;
            b = b.add(bs);
        }
        if rem >= MIN_CHUNK {
            span::set_prev_size(b, s, self.key);
            span::set_prev_size(b.add(rem), rem, self.key);
        } else {
            span::set_prev_size(b, prev, self.key);
        }
        c
    }

    /// The spare span's only chunk is being used: it is no longer a spare.
    #[inline]
    unsafe fn unspare(&mut self, c: *mut u8) {
        if span::span_of(c) == self.spare {
            self.spare = null_mut();
        }
    }

    /// Allocates one chunk of exactly `s` bytes (a multiple of UNIT, `MIN_CHUNK..=
    /// ARENA_MAX_CHUNK`) from the store, bypassing the cache. Returns the chunk.
    pub unsafe fn alloc_chunk(&mut self, s: usize, src: &mut impl SpanSource) -> *mut u8 {
        let c = self.fit_or_grow(s, src);
        if c.is_null() {
            return c;
        }
        self.split_head(c, s, 1)
    }

    // ---- the cache --------------------------------------------------------------------

    /// Pops one payload of cache class `cls`, refilling the class when it is empty.
    /// Null when out of memory.
    pub unsafe fn refill(&mut self, cls: usize, src: &mut impl SpanSource) -> *mut u8 {
        self.counters.refills += 1;
        // A thread's first allocation reaches here through the empty arena, with the
        // class of the arena it just got possibly not empty.
        if let Some(p) = self.cache_pop(cls) {
            return p;
        }
        if cls == 1 && !self.cache[2].head.is_null() {
            // Tiny requests take the freed 32-byte chunks, which go to class 2.
            let n = self.cache[2].count();
            self.cache[1].head = self.cache[2].head;
            self.cache[1].room = self.cache[1].limit.saturating_sub(n);
            self.cache[2].head = null_mut();
            self.cache[2].room = self.cache[2].limit;
            if let Some(p) = self.cache_pop(cls) {
                return p;
            }
        }
        if self.uncached && self.dense() && !crate::config::secure() {
            self.set_uncached(false, src);
        }
        if self.has_remote() {
            self.drain_remote(src);
            if let Some(p) = self.cache_pop(cls) {
                return p;
            }
        }
        let s = class_chunk(cls);
        let c = self.fit_or_grow(s, src);
        if c.is_null() {
            return c;
        }
        // Half the class's limit, but at most REFILL_BYTES of chunks: carving
        // writes every chunk's header, so a bigger batch is resident at once.
        let want = (self.cache[cls].limit as usize / 2)
            .min(REFILL_BYTES / s)
            .max(1);
        let mut n = want.min(span::size(c, self.key) / s);
        let rem = span::size(c, self.key) - n * s;
        if rem != 0 && rem < MIN_CHUNK && n > 1 {
            // Keep every cached chunk exactly of its class: leave a real remainder.
            n -= 1;
        }
        let first = self.split_head(c, s, n);
        // Hand out the first, cache the others so they pop in ascending order.
        let mut b = first.add(s * (n - 1));
        for _ in 1..n {
            self.cache_push(cls, b.add(HDR));
            b = b.sub(s);
        }
        first.add(HDR)
    }

    /// Takes the newest chunk of class `cls` out of the cache (clearing its
    /// `CACHED` flag), checking the link it follows.
    #[inline]
    unsafe fn cache_pop(&mut self, cls: usize) -> Option<*mut u8> {
        let key = self.link_key as usize;
        let bin = &mut self.cache[cls];
        let p = bin.head;
        if p.is_null() {
            return None;
        }
        bin.head = decode_link(p, key);
        bin.room += 1;
        span::toggle_cached(p.sub(HDR));
        self.counters.cache_out += 1;
        Some(p)
    }

    /// Puts payload `p` into class `cls` (which has room), setting `CACHED`.
    #[inline]
    unsafe fn cache_push(&mut self, cls: usize, p: *mut u8) {
        let key = self.link_key as usize;
        let bin = &mut self.cache[cls];
        *(p as *mut usize) = bin.head as usize ^ key;
        bin.head = p;
        bin.room -= 1;
        span::toggle_cached(p.sub(HDR));
        self.counters.cache_in += 1;
    }

    /// Frees payload `p` of this arena from its owner thread: into the cache when
    /// there is room (flushing half of a full class first), else into the store.
    ///
    /// # Safety
    /// `p` is a live block of this arena; the caller owns the arena.
    pub unsafe fn free_local(&mut self, p: *mut u8, src: &mut impl SpanSource) {
        let c = p.sub(HDR);
        let s = span::size(c, self.key);
        if s <= CACHE_MAX_CHUNK {
            let cls = class_of_chunk(s);
            if self.cache[cls].room == 0 {
                if self.uncached || self.sparse() {
                    // (Only `refill`, an owner allocating, turns the cache back on:
                    // a parked arena draining remote frees must keep it off.)
                    self.set_uncached(true, src);
                    let sp = self.free_chunk(c);
                    if !sp.is_null() {
                        src.give_span(sp as *mut u8);
                    }
                    return;
                }
                self.flush(cls, self.cache[cls].limit / 2, src);
            }
            self.cache_push(cls, p);
            return;
        }
        let sp = self.free_chunk(c);
        if !sp.is_null() {
            src.give_span(sp as *mut u8);
        }
        self.maybe_purge();
    }

    /// Bytes held in the cache.
    fn cached_bytes(&self) -> usize {
        let mut b = 0;
        for cls in CACHED_CLASSES {
            b += self.cache[cls].count() as usize * class_chunk(cls);
        }
        b
    }

    /// The arena holds many spans but little live data: cached chunks scattered
    /// over its spans would keep them from going back to the pool.
    fn sparse(&self) -> bool {
        let live = self.used.saturating_sub(self.cached_bytes());
        self.nspans >= SPARSE_SPANS && live * 8 < self.nspans * SPAN
    }

    /// Live data fills its spans again (or few are left): the cache can come back.
    fn dense(&self) -> bool {
        self.nspans < SPARSE_SPANS
            || self.used.saturating_sub(self.cached_bytes()) * 4 >= self.nspans * SPAN
    }

    /// Switches the cache off (flushing it, so frees reach the store and empty
    /// spans go back to the pool) or back on.
    unsafe fn set_uncached(&mut self, off: bool, src: &mut impl SpanSource) {
        if self.uncached == off {
            return;
        }
        self.uncached = off;
        for cls in CACHED_CLASSES {
            let n = self.cache[cls].count();
            if n > 0 {
                self.flush(cls, n, src);
            }
            let bin = &mut self.cache[cls];
            bin.limit = if off { 0 } else { class_limit(cls) };
            bin.room = bin.limit;
        }
    }

    /// Moves `n` chunks of cache class `cls` into the store, in batches taken off
    /// the cache and returned in the order they were freed (the cache pops them
    /// newest first). A program freeing blocks in address order, as a tree or a
    /// vector of boxes is dropped, then has each chunk merge with the free chunk
    /// just before it, extending it in place: the cheapest merge. (Sorting each
    /// batch by address did that too but cost more than it saved on random-order
    /// frees, under callgrind.)
    pub unsafe fn flush(&mut self, cls: usize, n: u32, src: &mut impl SpanSource) {
        self.counters.flushes += 1;
        let mut batch = [0usize; FLUSH_BATCH];
        let mut left = n as usize;
        while left > 0 {
            let mut k = 0;
            let key = self.link_key as usize;
            let bin = &mut self.cache[cls];
            while k < left.min(FLUSH_BATCH) && !bin.head.is_null() {
                // (Taken without clearing CACHED: `free_chunk` rewrites the header,
                // or buries it inside the free chunk it merges into.)
                let p = bin.head;
                bin.head = decode_link(p, key);
                bin.room += 1;
                batch[k] = p as usize - HDR;
                k += 1;
            }
            if k == 0 {
                break;
            }
            self.counters.cache_out += k as u64;
            left -= k;
            batch[..k].reverse();
            let shared_ids = IDS_REPEAT.load(Ordering::Relaxed);
            for &c in &batch[..k] {
                let c = c as *mut u8;
                if shared_ids {
                    let owner = owner(span::span_of(c), Ordering::Relaxed);
                    if !ptr::eq(owner, self) {
                        // A chunk of an arena sharing this one's id (see `key`).
                        span::toggle_cached(c);
                        self.count_cross(owner, span::size(c, self.key));
                        (*owner).push_remote(c.add(HDR));
                        src.drain_if_parked(owner);
                        continue;
                    }
                }
                let sp = self.free_chunk(c);
                if !sp.is_null() {
                    src.give_span(sp as *mut u8);
                }
            }
        }
        self.maybe_purge();
    }

    /// Empties the whole cache into the store and switches it off (so that frees
    /// drained into a parked arena reach the store, where emptied spans go back to
    /// the pool), then gives back every empty span, the spare included (thread
    /// exit). The cache comes back on when a new owner finds the arena dense.
    pub unsafe fn flush_all(&mut self, src: &mut impl SpanSource) {
        self.set_uncached(true, src);
        self.drain_remote(src);
        let sp = self.spare;
        if !sp.is_null() {
            self.spare = null_mut();
            self.unlink_empty(sp);
            src.give_span(sp as *mut u8);
        }
        self.purge_parked();
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

    // ---- remote frees ----------------------------------------------------------------

    /// Counts a free by this arena's owner of a `size`-byte chunk of arena
    /// `owner`, pushed onto `owner`'s remote list (the cross-thread free matrix).
    ///
    /// # Safety
    /// `owner` is an arena.
    #[inline]
    pub unsafe fn count_cross(&mut self, owner: *const Arena, size: usize) {
        let x = &mut self.xfree[xcol(owner)];
        x[0] += 1;
        x[1] += size as u64;
    }

    /// Pushes payload `p` onto this arena's remote list (any thread).
    ///
    /// # Safety
    /// `p` is a live block of this arena, no longer used by the caller.
    #[inline]
    pub unsafe fn push_remote(&self, p: *mut u8) {
        // Flag it first, atomically: a second free of it, by any thread, sees the
        // flag and is reported (by the caller) instead of pushing it twice.
        let h = &*(p.sub(HDR) as *const core::sync::atomic::AtomicU32);
        let old = h.fetch_xor(CACHED as u32, Ordering::AcqRel) ^ self.key as u32;
        if old as u64 & CACHED != 0 {
            crate::os::fatal_at(
                b"free of a block already freed (double free):",
                Some(p as usize),
            );
        }
        self.remote.push(p, self.link_key as usize);
    }

    /// Pushes payload `p`, already flagged `CACHED`, onto this arena's remote
    /// list (secure mode's quarantine, whose blocks stay flagged).
    ///
    /// # Safety
    /// As [`Arena::push_remote`]; `p`'s header has `CACHED` set.
    pub unsafe fn push_remote_flagged(&self, p: *mut u8) {
        self.remote.push(p, self.link_key as usize);
    }

    #[inline]
    pub fn has_remote(&self) -> bool {
        !self.remote.is_empty()
    }

    /// Frees every chunk on the remote list (owner, or the pool for a parked arena).
    pub unsafe fn drain_remote(&mut self, src: &mut impl SpanSource) {
        let mut p = self.remote.take_all();
        while !p.is_null() {
            let next = decode_link(p, self.link_key as usize);
            self.counters.remote_drained += 1;
            self.counters.remote_drained_bytes += span::size(p.sub(HDR), self.key) as u64;
            // A plain flip: the chunk is the owner's again, and no other thread
            // touches it in a correct program (the pusher's flip was atomic, and
            // the swap above ordered it before this).
            span::toggle_cached(p.sub(HDR));
            self.free_local(p, src);
            p = next;
        }
    }

    // ---- realloc in place --------------------------------------------------------------

    /// Resizes in-use chunk `c` in place to `s` bytes (a chunk size) if it can: by
    /// splitting off its tail, or by absorbing a free next neighbour. Owner only.
    pub unsafe fn resize_in_place(
        &mut self,
        c: *mut u8,
        s: usize,
        src: &mut impl SpanSource,
    ) -> bool {
        let cs = span::size(c, self.key);
        if s <= cs {
            if cs - s >= MIN_CHUNK && cs > CACHE_MAX_CHUNK {
                span::set_size(c, s, 0, self.key);
                let tail = c.add(s);
                span::set_hdr(tail, cs - s, s, self.key);
                span::set_prev_size(c.add(cs), cs - s, self.key);
                let sp = self.free_chunk(tail);
                if !sp.is_null() {
                    src.give_span(sp as *mut u8);
                }
            }
            return true;
        }
        let next = c.add(cs);
        if !span::is_free(next, self.key) {
            return false;
        }
        let ns = span::size(next, self.key);
        if cs + ns < s {
            return false;
        }
        let rest = cs + ns - s;
        self.used += s.min(cs + ns) - cs;
        if rest >= MIN_CHUNK {
            // Take the front of the neighbour, leave its tail free in place.
            self.store_take(next);
            span::bury(next);
            span::set_size(c, s, 0, self.key);
            self.store_insert(c.add(s), rest);
            span::set_prev_size(c.add(s), s, self.key);
        } else {
            self.used += cs + ns - s;
            self.store_take(next);
            span::bury(next);
            span::set_size(c, cs + ns, 0, self.key);
            span::set_prev_size(c.add(cs + ns), cs + ns, self.key);
        }
        true
    }

    /// Carves an aligned chunk: `align` (a power of two above UNIT) and a request
    /// of `n` bytes with `n + align + 2 * MIN_CHUNK <= ARENA_MAX_CHUNK`. Returns the
    /// payload. Owner only.
    pub unsafe fn alloc_aligned(
        &mut self,
        n: usize,
        align: usize,
        src: &mut impl SpanSource,
    ) -> *mut u8 {
        let need = chunk_size(n);
        let c = self.alloc_chunk(chunk_size(n + align + MIN_CHUNK), src);
        if c.is_null() {
            return c;
        }
        let p = c.add(HDR);
        let a = if p as usize % align == 0 {
            p
        } else {
            (crate::os::align_up(p as usize + MIN_CHUNK, align)) as *mut u8
        };
        let mut c2 = c;
        if a != p {
            // Split off the lead as a chunk of its own and free it.
            let lead = a as usize - p as usize;
            let total = span::size(c, self.key);
            let ps = span::prev_size(c, self.key);
            span::set_hdr(c, lead, ps, self.key);
            c2 = a.sub(HDR);
            span::set_hdr(c2, total - lead, lead, self.key);
            span::set_prev_size(c2.add(total - lead), total - lead, self.key);
            let sp = self.free_chunk(c);
            debug_assert!(sp.is_null());
        }
        let have = span::size(c2, self.key);
        if have - need >= MIN_CHUNK {
            span::set_size(c2, need, 0, self.key);
            let tail = c2.add(need);
            span::set_hdr(tail, have - need, need, self.key);
            span::set_prev_size(c2.add(have), have - need, self.key);
            let sp = self.free_chunk(tail);
            debug_assert!(sp.is_null());
        }
        a
    }

    // ---- checking ----------------------------------------------------------------------

    /// Calls `f(payload, chunk size)` for every chunk of the arena's spans that
    /// is in use by the program (not free, not cached or quarantined; secure
    /// mode's guard chunks left out). `Err(address)` where the chunks stop
    /// tiling a span: a corrupted header.
    ///
    /// # Safety
    /// Nobody may modify the arena meanwhile.
    pub unsafe fn each_live_block(&self, mut f: impl FnMut(*mut u8, usize)) -> Result<(), *mut u8> {
        let mut sp = self.spans;
        while !sp.is_null() {
            let base = sp as *mut u8;
            let (mut off, mut prev) = (FIRST, 0);
            while off < FENCE {
                let c = base.add(off);
                let h = span::hdr(c, self.key);
                let s = (h & span::SIZE_MASK) as usize;
                if h & (UNIT as u64 - 1) != 0
                    || s < MIN_CHUNK
                    || off + s > FENCE
                    || (h >> 32) as usize != prev
                {
                    return Err(c.add(HDR));
                }
                let guard = guarded_spans() && off == FENCE - GUARD_CHUNK;
                if h & (FREE | CACHED) == 0 && !guard {
                    f(c.add(HDR), s);
                }
                prev = s;
                off += s;
            }
            if span::prev_size(base.add(FENCE), self.key) != prev {
                return Err(base.add(FENCE + HDR));
            }
            sp = (*sp).next;
        }
        Ok(())
    }

    /// Walks every structure of the arena and checks the invariants in the module
    /// docs. Returns free bytes in the store.
    ///
    /// # Safety
    /// Nobody may modify the arena meanwhile.
    pub unsafe fn check(&self) -> Result<usize, &'static str> {
        let me = self as *const Arena as *mut Arena;
        let mut free = 0;
        let mut free_chunks = 0usize;
        let mut released = 0usize;
        let mut n = 0;
        let mut sp = self.spans;
        let mut spare_seen = self.spare.is_null();
        while !sp.is_null() {
            if owner(sp, Ordering::Relaxed) != me {
                return Err("span on the list owned by another arena");
            }
            free += (*sp).check()?;
            for c in (*sp).free_chunks() {
                free_chunks += 1;
                let s = span::size(c, self.key);
                if span::released(c) > span::interior_pages(c, s) {
                    return Err("free chunk claims more released pages than it holds");
                }
                released += span::released(c) as usize * PAGE;
                let b = bin_of(s);
                let mut x = self.bins[b];
                let mut found = false;
                let mut steps = 0;
                while !x.is_null() && steps < 1 << 20 {
                    if x == c {
                        found = true;
                        break;
                    }
                    x = span::bin_next(x, self.key);
                    steps += 1;
                }
                if !found {
                    return Err("free chunk missing from its size bin");
                }
            }
            if sp == self.spare {
                spare_seen = true;
                if (*sp).first_free as usize * UNIT + HDR != FIRST
                    || span::size((sp as *mut u8).add(FIRST), self.key) != empty_chunk()
                {
                    return Err("spare span is not empty");
                }
            }
            n += 1;
            sp = (*sp).next;
        }
        if n != self.nspans {
            return Err("nspans does not match the span list");
        }
        if released != self.released {
            return Err("released bytes do not match the free chunks");
        }
        if self.nspans * FULL - free != self.used {
            return Err("used bytes do not match the spans");
        }
        if !spare_seen {
            return Err("spare span not on the span list");
        }
        let mut in_bins = 0usize;
        for b in 0..NBINS {
            let nonempty = !self.bins[b].is_null();
            if nonempty != (self.binmap[b / 64] >> (b % 64) & 1 == 1) {
                return Err("binmap disagrees with bins");
            }
            let mut x = self.bins[b];
            let mut prev = null_mut();
            while !x.is_null() {
                if !span::is_free(x, self.key)
                    || bin_of(span::size(x, self.key)) != b
                    || span::bin_prev(x, self.key) != prev
                {
                    return Err("bin holds a wrong chunk or broken links");
                }
                in_bins += 1;
                if in_bins > free_chunks {
                    return Err("bins hold chunks not on any span list");
                }
                prev = x;
                x = span::bin_next(x, self.key);
            }
        }
        if in_bins != free_chunks {
            return Err("bins and span lists disagree");
        }
        for (cls, bin) in self.cache.iter().enumerate() {
            let mut k = 0;
            let mut p = bin.head;
            while !p.is_null() {
                let c = p.sub(HDR);
                if span::is_free(c, self.key) || span::size(c, self.key) != class_chunk(cls) {
                    return Err("cache holds a wrong chunk");
                }
                if span::hdr(c, self.key) & CACHED == 0 {
                    return Err("cached chunk without the CACHED flag");
                }
                let owner = owner(span::span_of(c), Ordering::Relaxed);
                if owner != me && (*owner).id != self.id {
                    return Err("cache holds another arena's chunk");
                }
                k += 1;
                if k > bin.count() {
                    break;
                }
                p = (*(p as *mut usize) ^ self.link_key as usize) as *mut u8;
            }
            if k != bin.count() || bin.room > bin.limit || (self.uncached && bin.limit != 0) {
                return Err("cache count wrong");
            }
        }
        Ok(free)
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
    ((*owner).id as usize).min(XMAX) - 1
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
pub const QN: usize = 256;
pub const QBYTES: usize = 4 << 20;

/// A thread's quarantine of freed blocks (payload addresses), secure mode's
/// storage in the arena (`secure` decides what enters and leaves it).
#[repr(C)]
pub struct Quarantine {
    pub slots: [usize; QN],
    pub len: usize,
    pub bytes: usize,
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
pub const FILL: u8 = 0;
const FILL_WORD: u64 = u64::from_ne_bytes([FILL; 8]);
/// Bytes of a freed block filled and checked: all of a small block, the first
/// 4 KiB of a bigger one (writes after free land mostly at the start: links,
/// headers, vtables; filling 128 KiB blocks whole cost 50 times the time of the
/// default mode on `churn-medium`).
pub const FILL_MAX: usize = 4096;

/// Aborts if quarantined block `p` (chunk size `s`) no longer holds its fill.
pub unsafe fn check_fill(p: *mut u8, s: usize) {
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

#[cold]
#[inline(never)]
fn corrupt_link(p: *mut u8) -> ! {
    crate::os::fatal_at(b"corrupted free list at", Some(p as usize))
}
