//! The store: size bins and the address-sorted, coalescing free chunks of the
//! arena's spans (insert, take, split, coalesce), spans coming and going, pages
//! given back, and resizing in place.

use super::*;

/// A run of loose and free neighbours that a sweep is gathering: its first
/// chunk, that chunk's size if it is a free one (0 if loose), its length so
/// far, the bytes of loose chunks in it, and the released pages of the free
/// chunks in it.
struct Run {
    start: *mut u8,
    first: usize,
    len: usize,
    loose: usize,
    released: u32,
}

impl Run {
    const NONE: Run = Run {
        start: null_mut(),
        first: 0,
        len: 0,
        loose: 0,
        released: 0,
    };
}

impl Arena {
    // ---- size bins ------------------------------------------------------------------

    #[inline]
    pub(super) unsafe fn bin_push(&mut self, c: *mut u8, s: usize) {
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
    pub(super) unsafe fn bin_remove(&mut self, c: *mut u8, s: usize) {
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
    pub(super) fn find_fit(&self, s: usize) -> *mut u8 {
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
    pub(super) unsafe fn store_insert(&mut self, c: *mut u8, s: usize) {
        span::set_size(c, s, FREE, self.key);
        span::set_released(c, 0);
        span::set_prev_size(c.add(s), s, self.key);
        (*span::span_of(c)).list_insert(c);
        self.bin_push(c, s);
    }

    /// Takes free chunk `c` out of the store; it becomes an in-use chunk.
    pub(super) unsafe fn store_take(&mut self, c: *mut u8) {
        let s = span::size(c, self.key);
        self.released -= span::released(c) as usize * PAGE;
        self.bin_remove(c, s);
        (*span::span_of(c)).list_remove(c);
        span::set_size(c, s, 0, self.key);
        if s == FULL {
            self.unspare(c);
        }
    }

    /// [`Arena::free_chunk`], then gives `src` the span that left wholly free,
    /// if it did. True if a span went back.
    ///
    /// # Safety
    /// As [`Arena::free_chunk`].
    pub(super) unsafe fn free_chunk_to(&mut self, c: *mut u8, src: &mut impl SpanSource) -> bool {
        let sp = self.free_chunk(c);
        if sp.is_null() {
            return false;
        }
        src.give_span(sp as *mut u8);
        true
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
        self.uncount_used(c, s);
        let next = c.add(s);
        self.check_tags(c, s);
        let ps = span::prev_size(c, self.key);
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
        let sp = span::span_of(c);
        if s == empty_chunk() {
            return self.span_emptied(sp);
        }
        if (*sp).loose != 0 && (*sp).loose == (*sp).used {
            // Only loose chunks are left in use: the span is free once swept.
            return self.sweep(sp);
        }
        null_mut()
    }

    /// Counts `n` more bytes out of the store in chunk `c`'s span: in the
    /// arena's `used` and the span's, which move together.
    #[inline]
    pub(super) unsafe fn count_used(&mut self, c: *mut u8, n: usize) {
        self.used += n;
        (*span::span_of(c)).used += n as u32;
    }

    /// Counts `n` bytes of chunk `c`'s span back into the store.
    #[inline]
    pub(super) unsafe fn uncount_used(&mut self, c: *mut u8, n: usize) {
        self.used -= n;
        (*span::span_of(c)).used -= n as u32;
    }

    // ---- loose chunks and sweeps -----------------------------------------------------

    /// Sets in-use chunk `c` aside as loose: marked free in place (both flags)
    /// and counted on its span, not merged. A program that frees more small
    /// blocks than its cache holds (a big structure dropped in random order)
    /// then pays one header write per block here instead of a coalescing
    /// insert, whose size-bin and address-list neighbours lie anywhere in the
    /// arena (a cache miss each). The span is swept when its loose bytes reach
    /// [`SWEEP_AT`], when the store has no fit, and before the cache is
    /// switched off. Boundary tags are checked by the sweep, which reads every
    /// header from the chunk before the lowest loose chunk to the one after the
    /// highest in address order anyway (checking them here read the neighbours'
    /// lines at random: a cache miss each, a fifth of a mass drop's time).
    ///
    /// # Safety
    /// `c` is an in-use chunk of a span of this arena, not in any cache.
    pub(super) unsafe fn loosen(&mut self, c: *mut u8, src: &mut impl SpanSource) {
        self.loosen_at(c, SWEEP_AT, src);
    }

    /// [`Arena::loosen`], sweeping the span once it holds `sweep_at` bytes
    /// loose (`usize::MAX`: only once all its chunks are free or loose).
    pub(super) unsafe fn loosen_at(
        &mut self,
        c: *mut u8,
        sweep_at: usize,
        src: &mut impl SpanSource,
    ) {
        let s = span::size(c, self.key);
        span::set_size(c, s, LOOSE, self.key);
        let sp = span::span_of(c);
        let off = (c as usize - sp as usize) as u32;
        if (*sp).loose == 0 {
            (*sp).loose_lo = off;
            (*sp).loose_hi = off;
            (*sp).loose_prev = null_mut();
            (*sp).loose_next = self.loose;
            if !self.loose.is_null() {
                (*self.loose).loose_prev = sp;
            }
            self.loose = sp;
        } else {
            (*sp).loose_lo = (*sp).loose_lo.min(off);
            (*sp).loose_hi = (*sp).loose_hi.max(off);
        }
        (*sp).loose += s as u32;
        self.loose_bytes += s;
        // (A span whose chunks are all free or loose is swept at once: it goes
        // back to the pool, or becomes the spare, as `free_chunk` would leave it.)
        if (*sp).loose as usize >= sweep_at || (*sp).loose == (*sp).used {
            self.sweep_give(sp, src);
        }
    }

    /// Sweeps every span with at least `min` loose bytes; true if it swept any.
    pub(super) unsafe fn sweep_all(&mut self, min: usize, src: &mut impl SpanSource) -> bool {
        let mut any = false;
        let mut sp = self.loose;
        while !sp.is_null() {
            let next = (*sp).loose_next;
            if (*sp).loose as usize >= min {
                self.sweep_give(sp, src);
                any = true;
            }
            sp = next;
        }
        any
    }

    /// [`Arena::sweep`], giving the span back to `src` if it left it wholly free.
    unsafe fn sweep_give(&mut self, sp: *mut Span, src: &mut impl SpanSource) {
        let sp = self.sweep(sp);
        if !sp.is_null() {
            src.give_span(sp as *mut u8);
        }
    }

    /// Merges the loose chunks of span `sp` into the store: one pass over its
    /// chunks in address order (those between its lowest and its highest
    /// loose chunk), each run of loose and free neighbours becoming
    /// one free chunk (it keeps the list place of a free chunk at its start).
    /// It checks the boundary tags of every chunk it passes (each `prev_size`
    /// against the size before it, each size within the span), as
    /// `check_tags` would at a free: an overflow off the end of a loose chunk,
    /// or an underflow into it, is reported here. Returns the span, unlinked,
    /// if it is then wholly free and must go back to the pool (not kept as the
    /// spare), else null.
    ///
    /// # Safety
    /// `sp` is a span of this arena with loose chunks.
    unsafe fn sweep(&mut self, sp: *mut Span) -> *mut Span {
        let (p, n) = ((*sp).loose_prev, (*sp).loose_next);
        if p.is_null() {
            self.loose = n;
        } else {
            (*p).loose_next = n;
        }
        if !n.is_null() {
            (*n).loose_prev = p;
        }
        self.loose_bytes -= (*sp).loose as usize;
        (*sp).loose = 0;
        let base = sp as *mut u8;
        let mut run = Run::NONE;
        // From the lowest loose chunk (or the free chunk before it) to the
        // first chunk in use past the highest. (The fence is in use.)
        let (mut off, hi) = ((*sp).loose_lo as usize, (*sp).loose_hi as usize);
        let lo = base.add(off);
        self.check_tags(lo, span::size(lo, self.key));
        let ps = span::prev_size(lo, self.key);
        if ps != 0 && span::is_free(lo.sub(ps), self.key) {
            off -= ps;
        }
        // (The size of the chunk before `off`, as its `prev_size` must say.)
        let mut last = span::prev_size(base.add(off), self.key);
        while off <= FENCE {
            let c = base.add(off);
            prefetch(c.wrapping_add(SWEEP_AHEAD));
            let h = span::hdr(c, self.key);
            let s = (h & span::SIZE_MASK) as usize;
            // (A size of 0 short of the fence steps a unit on, into bytes that
            // fail the next check.)
            if (h >> 32) as usize != last || s > FENCE - off {
                crate::os::fatal_at(b"corrupted block header at", Some(c as usize + HDR));
            }
            last = s;
            let state = h & LOOSE;
            if state == LOOSE || state == FREE {
                if run.start.is_null() {
                    let free = state == FREE;
                    run = Run {
                        start: c,
                        first: if free { s } else { 0 },
                        len: 0,
                        loose: 0,
                        released: if free { span::released(c) } else { 0 },
                    };
                } else {
                    if state == FREE {
                        // (Its released pages stay released, inside the run.)
                        let rn = span::released(c);
                        self.store_take(c);
                        self.released += rn as usize * PAGE;
                        run.released += rn;
                    }
                    span::bury(c);
                }
                if state == LOOSE {
                    run.loose += s;
                }
                run.len += s;
            } else {
                if !run.start.is_null() {
                    if self.end_run(&run) {
                        // (The run was the whole span: nothing follows.)
                        return self.span_emptied(sp);
                    }
                    run = Run::NONE;
                }
                if off > hi {
                    break;
                }
            }
            off += s.max(UNIT);
        }
        null_mut()
    }

    /// Puts swept run `r` into the store; true if it is its span's only chunk.
    unsafe fn end_run(&mut self, r: &Run) -> bool {
        if r.loose == 0 {
            // A free chunk between in-use ones: already in the store.
            return false;
        }
        self.uncount_used(r.start, r.loose);
        if r.first != 0 {
            self.resize_free(r.start, r.first, r.len);
        } else {
            self.store_insert(r.start, r.len);
        }
        span::set_released(r.start, r.released);
        if r.len >= PURGE_MIN_CHUNK {
            self.purge.dirty += r.loose;
        }
        r.len == empty_chunk()
    }

    /// Aborts if in-use chunk `c` (size `s`) and its neighbours' boundary tags
    /// disagree: the next chunk's `prev_size` must be `s` (an overflow off the
    /// end of `c` changes it), and the previous chunk's size must be `c`'s
    /// `prev_size` (an underflow changes that).
    #[inline]
    pub(super) unsafe fn check_tags(&self, c: *mut u8, s: usize) {
        let next = c.add(s);
        if span::prev_size(next, self.key) != s {
            crate::os::fatal_at(b"corrupted block header at", Some(next as usize + HDR));
        }
        let ps = span::prev_size(c, self.key);
        let off = c as usize - span::span_of(c) as usize;
        if ps != 0 && (ps > off - FIRST || span::size(c.sub(ps), self.key) != ps) {
            crate::os::fatal_at(b"corrupted block header at", Some(c as usize + HDR));
        }
    }

    /// Aborts if the chunk after in-use chunk `c` (`s` bytes) is free and its
    /// size, end tag or size-bin links do not hold. A chunk kept apart from a
    /// free neighbour (the medium tier) is not merged with it at its free, so
    /// this reads what the merge would have read: a write past the block into
    /// the neighbour is reported at this free, not when the store next uses
    /// the neighbour.
    #[inline(always)]
    pub(super) unsafe fn check_free_next(&self, c: *mut u8, s: usize) {
        let n = c.add(s);
        if span::is_free(n, self.key) {
            self.check_free_chunk(n);
        }
    }

    /// [`Arena::check_free_next`]'s reads of free chunk `n` (out of line: the
    /// paths that call it also free small chunks).
    #[inline(never)]
    unsafe fn check_free_chunk(&self, n: *mut u8) {
        let ns = span::size(n, self.key);
        let off = n as usize - span::span_of(n) as usize;
        if ns < MIN_CHUNK || off + ns > FENCE || span::prev_size(n.add(ns), self.key) != ns {
            crate::os::fatal_at(b"corrupted block header at", Some(n as usize + HDR));
        }
        // (Each read checks its link: a corrupted one aborts.)
        let _ = (span::bin_next(n, self.key), span::bin_prev(n, self.key));
    }

    // ---- giving free pages back ------------------------------------------------------

    /// Runs a purge pass when one is due (see `purge`): the free chunks the
    /// pass before it saw unchanged go back to the OS, so memory reused sooner
    /// never does. Cheap when nothing is pending: one compare. Not while this
    /// thread holds the pool lock (a parked arena draining frees, one borrowed
    /// after its thread's exit, or emptied for memory): the pass is put off
    /// (see `PurgeClock::put_off`), and the pool runs the parked arena's pass
    /// with the lock released (`pool::purge_parked`).
    #[inline]
    pub unsafe fn maybe_purge(&mut self) {
        if self.purge.due() {
            if crate::os::holds_pool_lock() {
                self.purge.put_off();
            } else {
                self.purge_pass(false);
            }
        }
    }

    /// Releases to the OS every whole page inside the store's free chunks that is
    /// not released yet (`madvise(MADV_DONTNEED)`; the chunks stay on their lists
    /// with their headers, links and boundary tags, which lie outside the pages
    /// released, and the pages read as zeros when a block carved there touches
    /// them). Walks the size bins that can hold such chunks.
    pub unsafe fn purge(&mut self) {
        self.purge_pass(true);
    }

    /// A purge pass: releases the chunks a previous pass saw unchanged (all of
    /// them with `all`) and marks the others seen, then tells the purge clock
    /// what it released and left.
    unsafe fn purge_pass(&mut self, all: bool) {
        let before = self.released;
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
        self.purge.passed(left, self.released - before);
    }

    /// When this arena's next purge pass is due, if one is pending (scheduled
    /// a delay from now if it was not yet).
    pub fn purge_scheduled(&mut self) -> Option<u64> {
        self.purge.scheduled()
    }

    /// Changes the size of free chunk `c` from `old` to `new` bytes in place,
    /// moving it between size bins only when its bin changes.
    #[inline]
    pub(super) unsafe fn resize_free(&mut self, c: *mut u8, old: usize, new: usize) {
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
    pub(super) unsafe fn span_emptied(&mut self, sp: *mut Span) -> *mut Span {
        if self.spare.is_null() {
            self.spare = sp;
            return null_mut();
        }
        self.unlink_empty(sp);
        sp
    }

    pub(super) unsafe fn unlink_empty(&mut self, sp: *mut Span) {
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
    pub(super) unsafe fn add_span(&mut self, src: &mut impl SpanSource) -> *mut u8 {
        // The shelf's pool blocks go back first: memory kept for big blocks
        // must not make the pool map more for a span (a span may be carved
        // from them, or they merge with the free runs around them).
        self.flush_shelf(src);
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
            self.count_used(g, GUARD_CHUNK);
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

    /// Finds a free chunk of at least `s` bytes; when the store has none, drains
    /// remote frees, sweeps loose chunks, takes a chunk the medium tier holds
    /// that fits, gives the cache's growth and the tier back, and takes a new
    /// span, in that order, until one fits. Null when out of memory.
    pub(super) unsafe fn fit_or_grow(&mut self, s: usize, src: &mut impl SpanSource) -> *mut u8 {
        self.maybe_purge();
        let mut c = self.find_fit(s);
        // Remote frees first, a span at a time, until one fits.
        while c.is_null() && self.drain_span(src) {
            c = self.find_fit(s);
        }
        if c.is_null() && self.sweep_all(SWEEP_MIN, src) {
            c = self.find_fit(s);
        }
        if c.is_null() && self.medium_bytes != 0 {
            c = self.medium_yield(s, src);
        }
        if c.is_null() && (self.grown != 0 || self.medium_bytes != 0) {
            self.shrink_cache(src);
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
    pub(super) unsafe fn split_head(&mut self, c: *mut u8, s: usize, n: usize) -> *mut u8 {
        let cs = span::size(c, self.key);
        let rem = cs - n * s;
        let ps = span::prev_size(c, self.key);
        // Released pages taken back into use (see `PurgeClock::passed`).
        let rc = span::released(c);
        self.purge.reused += rc as usize * PAGE;
        let taken = if rem >= MIN_CHUNK { n * s } else { cs };
        self.count_used(c, taken);
        if rem >= MIN_CHUNK {
            self.bin_remove(c, cs);
            if cs == empty_chunk() {
                self.unspare(c);
            }
            // The remainder's pages are still released if all of `c`'s were (the
            // count does not say which pages of a partly released chunk are).
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
            self.purge.reused -= rr as usize * PAGE;
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
    pub(super) unsafe fn unspare(&mut self, c: *mut u8) {
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
                self.free_chunk_to(tail, src);
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
        self.count_used(c, s.min(cs + ns) - cs);
        if rest >= MIN_CHUNK {
            // Take the front of the neighbour, leave its tail free in place.
            self.store_take(next);
            span::bury(next);
            span::set_size(c, s, 0, self.key);
            self.store_insert(c.add(s), rest);
            span::set_prev_size(c.add(s), s, self.key);
        } else {
            self.count_used(c, cs + ns - s);
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
}
