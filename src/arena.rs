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
//! bin holds exactly `limit - room` in-use chunks of its class; `spare` is null or
//! one of `spans` whose only chunk is free.

use crate::size::*;
use crate::span::{self, Span, FIRST, FREE, FULL};
use core::ptr::{self, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// Arena state: owned by a live thread.
pub const OWNED: u32 = 1;
/// Arena state: its thread exited; the pool owns it until a new thread adopts it.
pub const PARKED: u32 = 2;
/// Arena state: it belonged to a thread that did not survive `fork`; its memory is
/// left alone in the child (its structure may be mid-update).
pub const LOST: u32 = 3;

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

/// Chunks a flush takes at a time (a stack array of this many addresses).
const FLUSH_BATCH: usize = 256;

/// Per-thread counters, written by the owner only and summed by `stats`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct Counters {
    pub refills: u64,
    pub flushes: u64,
    pub remote_drained: u64,
    pub spans_taken: u64,
    pub spans_returned: u64,
}

#[repr(C, align(64))]
pub struct Arena {
    pub cache: [CacheBin; NCLASSES],
    bins: [*mut u8; NBINS],
    binmap: [u64; 2],
    spans: *mut Span,
    pub nspans: usize,
    spare: *mut Span,
    /// Bytes of chunks out of the store (in use by the program or in the cache).
    used: usize,
    /// The cache is switched off (every limit 0) while the arena is sparse.
    uncached: bool,
    pub counters: Counters,
    /// All arenas ever made, for statistics and fork handling (never unlinked).
    pub all_next: *mut Arena,
    /// Next arena on the pool's list of parked arenas.
    pub park_next: *mut Arena,
    pub state: AtomicU32,
    /// Chunks freed by other threads (payload pointers linked through their first
    /// word), on a cache line of its own since other threads write it.
    pub remote: Remote,
}

#[repr(C, align(64))]
pub struct Remote(pub AtomicPtr<u8>);

/// Where an arena gets and returns spans; implemented by the page pool, locked or
/// already locked.
pub trait SpanSource {
    /// A fresh SPAN-aligned, SPAN-sized region, or null when out of memory.
    fn take_span(&mut self) -> *mut u8;
    /// Returns a span whose chunks are all free.
    fn give_span(&mut self, base: *mut u8);
}

impl Arena {
    /// Initialises an arena in place.
    ///
    /// # Safety
    /// `a` points to writable memory for an `Arena`, not in use.
    pub unsafe fn init(a: *mut Arena) {
        ptr::write_bytes(a as *mut u8, 0, core::mem::size_of::<Arena>());
        for (cls, bin) in (*a).cache.iter_mut().enumerate() {
            bin.limit = class_limit(cls);
            bin.room = bin.limit;
        }
    }

    // ---- size bins ------------------------------------------------------------------

    #[inline]
    unsafe fn bin_push(&mut self, c: *mut u8, s: usize) {
        let b = bin_of(s);
        let h = self.bins[b];
        span::set_bin_next(c, h);
        span::set_bin_prev(c, null_mut());
        if !h.is_null() {
            span::set_bin_prev(h, c);
        }
        self.bins[b] = c;
        self.binmap[b / 64] |= 1 << (b % 64);
    }

    #[inline]
    unsafe fn bin_remove(&mut self, c: *mut u8, s: usize) {
        let b = bin_of(s);
        let (p, n) = (span::bin_prev(c), span::bin_next(c));
        if p.is_null() {
            self.bins[b] = n;
            if n.is_null() {
                self.binmap[b / 64] &= !(1 << (b % 64));
            }
        } else {
            span::set_bin_next(p, n);
        }
        if !n.is_null() {
            span::set_bin_prev(n, p);
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
        span::set_size(c, s, FREE);
        span::set_prev_size(c.add(s), s);
        (*span::span_of(c)).list_insert(c);
        self.bin_push(c, s);
    }

    /// Takes free chunk `c` out of the store; it becomes an in-use chunk.
    unsafe fn store_take(&mut self, c: *mut u8) {
        let s = span::size(c);
        self.bin_remove(c, s);
        (*span::span_of(c)).list_remove(c);
        span::set_size(c, s, 0);
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
        let mut s = span::size(c);
        self.used -= s;
        let next = c.add(s);
        let ps = span::prev_size(c);
        let prev_free = ps != 0 && span::is_free(c.sub(ps));
        let (c, s) = if prev_free {
            // Extend the previous free chunk: its place on the address list stays.
            let prev = c.sub(ps);
            if span::is_free(next) {
                let ns = span::size(next);
                self.store_take(next);
                s += ns;
            }
            self.resize_free(prev, ps, ps + s);
            (prev, ps + s)
        } else if span::is_free(next) {
            // Take the next free chunk's place on the address list (nothing free
            // lies between them), so no predecessor search is needed.
            let ns = span::size(next);
            self.bin_remove(next, ns);
            (*span::span_of(c)).list_replace(next, c);
            s += ns;
            span::set_size(c, s, FREE);
            span::set_prev_size(c.add(s), s);
            self.bin_push(c, s);
            (c, s)
        } else {
            self.store_insert(c, s);
            (c, s)
        };
        if s == FULL {
            return self.span_emptied(span::span_of(c));
        }
        null_mut()
    }

    /// Changes the size of free chunk `c` from `old` to `new` bytes in place,
    /// moving it between size bins only when its bin changes.
    #[inline]
    unsafe fn resize_free(&mut self, c: *mut u8, old: usize, new: usize) {
        let same_bin = bin_of(old) == bin_of(new);
        if !same_bin {
            self.bin_remove(c, old);
        }
        span::set_size(c, new, FREE);
        span::set_prev_size(c.add(new), new);
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
        let c = Span::init(base, self);
        let sp = base as *mut Span;
        (*sp).next = self.spans;
        if !self.spans.is_null() {
            (*self.spans).prev = sp;
        }
        self.spans = sp;
        self.nspans += 1;
        self.counters.spans_taken += 1;
        self.store_insert(c, FULL);
        c
    }

    /// Finds a free chunk of at least `s` bytes, draining remote frees or taking a
    /// new span when the store has none. Null when out of memory.
    unsafe fn fit_or_grow(&mut self, s: usize, src: &mut impl SpanSource) -> *mut u8 {
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
        let cs = span::size(c);
        let rem = cs - n * s;
        let ps = span::prev_size(c);
        self.used += if rem >= MIN_CHUNK { n * s } else { cs };
        if rem >= MIN_CHUNK {
            self.bin_remove(c, cs);
            if cs == FULL {
                self.unspare(c);
            }
            let r = c.add(n * s);
            span::set_hdr(r, rem, s);
            span::set_size(r, rem, FREE);
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
            span::set_hdr(b, bs, prev);
            prev = bs;
            b = b.add(bs);
        }
        if rem >= MIN_CHUNK {
            span::set_prev_size(b, s);
            span::set_prev_size(b.add(rem), rem);
        } else {
            span::set_prev_size(b, prev);
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
        if self.uncached && self.dense() {
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
        let want = (self.cache[cls].limit / 2).max(1) as usize;
        let mut n = want.min(span::size(c) / s);
        let rem = span::size(c) - n * s;
        if rem != 0 && rem < MIN_CHUNK && n > 1 {
            // Keep every cached chunk exactly of its class: leave a real remainder.
            n -= 1;
        }
        let first = self.split_head(c, s, n);
        // Hand out the first, cache the others so they pop in ascending order.
        let bin = &mut self.cache[cls];
        let mut head = bin.head;
        let mut b = first.add(s * (n - 1));
        for _ in 1..n {
            let p = b.add(HDR);
            *(p as *mut *mut u8) = head;
            head = p;
            b = b.sub(s);
        }
        bin.head = head;
        bin.room -= (n - 1) as u32;
        first.add(HDR)
    }

    #[inline]
    unsafe fn cache_pop(&mut self, cls: usize) -> Option<*mut u8> {
        let bin = &mut self.cache[cls];
        let p = bin.head;
        if p.is_null() {
            return None;
        }
        bin.head = *(p as *mut *mut u8);
        bin.room += 1;
        Some(p)
    }

    /// Frees payload `p` of this arena from its owner thread: into the cache when
    /// there is room (flushing half of a full class first), else into the store.
    ///
    /// # Safety
    /// `p` is a live block of this arena; the caller owns the arena.
    pub unsafe fn free_local(&mut self, p: *mut u8, src: &mut impl SpanSource) {
        let c = p.sub(HDR);
        let s = span::size(c);
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
            let bin = &mut self.cache[cls];
            *(p as *mut *mut u8) = bin.head;
            bin.head = p;
            bin.room -= 1;
            return;
        }
        let sp = self.free_chunk(c);
        if !sp.is_null() {
            src.give_span(sp as *mut u8);
        }
    }

    /// Bytes held in the cache.
    fn cached_bytes(&self) -> usize {
        let mut b = 0;
        for (cls, bin) in self.cache.iter().enumerate() {
            b += bin.count() as usize * class_chunk(cls);
        }
        b
    }

    /// The arena holds many spans but little live data: cached chunks scattered
    /// over its spans would keep them from going back to the pool.
    fn sparse(&self) -> bool {
        let live = self.used - self.cached_bytes();
        self.nspans >= SPARSE_SPANS && live * 8 < self.nspans * SPAN
    }

    /// Live data fills its spans again (or few are left): the cache can come back.
    fn dense(&self) -> bool {
        self.nspans < SPARSE_SPANS || (self.used - self.cached_bytes()) * 4 >= self.nspans * SPAN
    }

    /// Switches the cache off (flushing it, so frees reach the store and empty
    /// spans go back to the pool) or back on.
    unsafe fn set_uncached(&mut self, off: bool, src: &mut impl SpanSource) {
        if self.uncached == off {
            return;
        }
        self.uncached = off;
        for cls in CLASS_FIRST..NCLASSES {
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
            while k < left.min(FLUSH_BATCH) {
                let Some(p) = self.cache_pop(cls) else { break };
                batch[k] = p as usize - HDR;
                k += 1;
            }
            if k == 0 {
                break;
            }
            left -= k;
            batch[..k].reverse();
            for &c in &batch[..k] {
                let sp = self.free_chunk(c as *mut u8);
                if !sp.is_null() {
                    src.give_span(sp as *mut u8);
                }
            }
        }
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
    }

    // ---- remote frees ----------------------------------------------------------------

    /// Pushes payload `p` onto this arena's remote list (any thread).
    ///
    /// # Safety
    /// `p` is a live block of this arena, no longer used by the caller.
    #[inline]
    pub unsafe fn push_remote(&self, p: *mut u8) {
        let mut head = self.remote.0.load(Ordering::Relaxed);
        loop {
            *(p as *mut *mut u8) = head;
            match self
                .remote
                .0
                .compare_exchange_weak(head, p, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    #[inline]
    pub fn has_remote(&self) -> bool {
        !self.remote.0.load(Ordering::Relaxed).is_null()
    }

    /// Frees every chunk on the remote list (owner, or the pool for a parked arena).
    pub unsafe fn drain_remote(&mut self, src: &mut impl SpanSource) {
        let mut p = self.remote.0.swap(null_mut(), Ordering::SeqCst);
        while !p.is_null() {
            let next = *(p as *mut *mut u8);
            self.counters.remote_drained += 1;
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
        let cs = span::size(c);
        if s <= cs {
            if cs - s >= MIN_CHUNK && cs > CACHE_MAX_CHUNK {
                span::set_size(c, s, 0);
                let tail = c.add(s);
                span::set_hdr(tail, cs - s, s);
                let sp = self.free_chunk(tail);
                if !sp.is_null() {
                    src.give_span(sp as *mut u8);
                }
            }
            return true;
        }
        let next = c.add(cs);
        if !span::is_free(next) {
            return false;
        }
        let ns = span::size(next);
        if cs + ns < s {
            return false;
        }
        let rest = cs + ns - s;
        self.used += s.min(cs + ns) - cs;
        if rest >= MIN_CHUNK {
            // Take the front of the neighbour, leave its tail free in place.
            self.store_take(next);
            span::set_size(c, s, 0);
            self.store_insert(c.add(s), rest);
            span::set_prev_size(c.add(s), s);
        } else {
            self.used += cs + ns - s;
            self.store_take(next);
            span::set_size(c, cs + ns, 0);
            span::set_prev_size(c.add(cs + ns), cs + ns);
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
            let total = span::size(c);
            let ps = span::prev_size(c);
            span::set_hdr(c, lead, ps);
            c2 = a.sub(HDR);
            span::set_hdr(c2, total - lead, lead);
            span::set_prev_size(c2.add(total - lead), total - lead);
            let sp = self.free_chunk(c);
            debug_assert!(sp.is_null());
        }
        let have = span::size(c2);
        if have - need >= MIN_CHUNK {
            span::set_size(c2, need, 0);
            let tail = c2.add(need);
            span::set_hdr(tail, have - need, need);
            let sp = self.free_chunk(tail);
            debug_assert!(sp.is_null());
        }
        a
    }

    // ---- checking ----------------------------------------------------------------------

    /// Walks every structure of the arena and checks the invariants in the module
    /// docs. Returns free bytes in the store.
    ///
    /// # Safety
    /// Nobody may modify the arena meanwhile.
    pub unsafe fn check(&self) -> Result<usize, &'static str> {
        let me = self as *const Arena as *mut Arena;
        let mut free = 0;
        let mut free_chunks = 0usize;
        let mut n = 0;
        let mut sp = self.spans;
        let mut spare_seen = self.spare.is_null();
        while !sp.is_null() {
            if (*sp).arena.load(Ordering::Relaxed) != me {
                return Err("span on the list owned by another arena");
            }
            free += (*sp).check()?;
            for c in (*sp).free_chunks() {
                free_chunks += 1;
                let s = span::size(c);
                let b = bin_of(s);
                let mut x = self.bins[b];
                let mut found = false;
                let mut steps = 0;
                while !x.is_null() && steps < 1 << 20 {
                    if x == c {
                        found = true;
                        break;
                    }
                    x = span::bin_next(x);
                    steps += 1;
                }
                if !found {
                    return Err("free chunk missing from its size bin");
                }
            }
            if sp == self.spare {
                spare_seen = true;
                if (*sp).first_free as usize * UNIT + HDR != FIRST
                    || span::size((sp as *mut u8).add(FIRST)) != FULL
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
                if !span::is_free(x) || bin_of(span::size(x)) != b || span::bin_prev(x) != prev {
                    return Err("bin holds a wrong chunk or broken links");
                }
                in_bins += 1;
                if in_bins > free_chunks {
                    return Err("bins hold chunks not on any span list");
                }
                prev = x;
                x = span::bin_next(x);
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
                if span::is_free(c) || class_of_chunk(span::size(c)) != cls {
                    return Err("cache holds a wrong chunk");
                }
                if (*span::span_of(c)).arena.load(Ordering::Relaxed) != me {
                    return Err("cache holds another arena's chunk");
                }
                k += 1;
                if k > bin.count() {
                    break;
                }
                p = *(p as *mut *mut u8);
            }
            if k != bin.count() || bin.room > bin.limit || (self.uncached && bin.limit != 0) {
                return Err("cache count wrong");
            }
        }
        Ok(free)
    }
}
