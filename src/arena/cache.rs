//! The cache: a bounded stack of chunks per size class in front of the store,
//! refilled from it and flushed back to it in batches.

use super::*;

impl Arena {
    // ---- the cache --------------------------------------------------------------------

    /// Pops one payload of cache class `cls`, refilling the class when it is empty.
    /// Null when out of memory.
    pub unsafe fn refill(&mut self, cls: usize, src: &mut impl SpanSource) -> *mut u8 {
        self.counters.refills += 1;
        // A thread's first allocation reaches here through the empty arena, with the
        // class of the arena it just got possibly not empty.
        if let Some(p) = self.take_cached(cls) {
            return p;
        }
        if self.uncached && self.dense() && !crate::config::secure() {
            self.set_uncached(false, src);
        }
        if self.has_remote() {
            if let Some(p) = self.drain_remote_for(cls, src) {
                return p;
            }
        }
        let s = class_chunk(cls);
        let c = self.fit_or_grow(s, src);
        if c.is_null() {
            return c;
        }
        // Half the class's limit, but at most REFILL_BYTES of chunks, less on
        // the class's first refills (see REFILL_RAMP) and on a small heap
        // (REFILL_SHARE): carving writes every chunk's header, so a bigger
        // batch is resident at once.
        let ramp = self.fills[cls];
        if ramp < REFILL_RAMP {
            self.fills[cls] = ramp + 1;
        }
        let bytes = (REFILL_BYTES >> (REFILL_RAMP - ramp))
            .min((self.used / REFILL_SHARE).max(REFILL_BYTES >> REFILL_RAMP));
        let want = (self.cache[cls].limit as usize / 2).min(bytes / s).max(1);
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

    /// Pops a chunk of class `cls`, or of the other 32-byte class. Classes 1
    /// and 2 both hold 32-byte chunks (tiny requests pop class 1, frees push
    /// class 2): an empty one takes the other's list whole, limit and all (both
    /// start at the same limit, and either may have grown), leaving its own
    /// empty one in its place. Without the way back (class 2 taking class 1's
    /// list) a class-2 refill would go to the store while class 1 holds
    /// thousands of chunks.
    #[inline]
    pub(super) unsafe fn take_cached(&mut self, cls: usize) -> Option<*mut u8> {
        if let Some(p) = self.cache_pop(cls) {
            return Some(p);
        }
        if (cls == 1 || cls == 2) && !self.cache[3 - cls].head.is_null() {
            self.cache.swap(1, 2);
            return self.cache_pop(cls);
        }
        None
    }

    /// Takes the newest chunk of class `cls` out of the cache (clearing its
    /// `CACHED` flag), checking the link it follows.
    #[inline]
    pub(crate) unsafe fn cache_pop(&mut self, cls: usize) -> Option<*mut u8> {
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
    pub(super) unsafe fn cache_push(&mut self, cls: usize, p: *mut u8) {
        span::toggle_cached(p.sub(HDR));
        self.cache_push_flagged(cls, p);
    }

    /// [`Arena::cache_push`] of a chunk whose header has `CACHED` set already
    /// (a remote free being drained: its pusher set it).
    #[inline]
    pub(super) unsafe fn cache_push_flagged(&mut self, cls: usize, p: *mut u8) {
        let key = self.link_key as usize;
        let bin = &mut self.cache[cls];
        *(p as *mut usize) = bin.head as usize ^ key;
        bin.head = p;
        bin.room -= 1;
        self.counters.cache_in += 1;
    }

    /// Frees payload `p` of this arena from its owner thread: into the cache when
    /// there is room (growing a full class, or setting its newest chunks aside
    /// loose first: see `overflow_batch` and `loosen`); with the cache off, loose
    /// (into the store in secure mode) if small, else into the store.
    ///
    /// # Safety
    /// `p` is a live block of this arena; the caller owns the arena.
    pub unsafe fn free_local(&mut self, p: *mut u8, src: &mut impl SpanSource) {
        let c = p.sub(HDR);
        let s = span::size(c, self.key);
        if s <= CACHE_MAX_CHUNK {
            let cls = class_of_chunk(s);
            if self.cache[cls].room == 0 && !self.grow(cls) {
                if self.uncached || self.sparse() {
                    // (Only `refill`, an owner allocating, turns the cache back on:
                    // a parked arena draining remote frees must keep it off.)
                    self.set_uncached(true, src);
                    if crate::config::secure() {
                        self.free_chunk_to(c, src);
                    } else {
                        self.loosen(c, src);
                    }
                    return;
                }
                self.flush_to(cls, overflow_batch(self.cache[cls].limit), true, src);
            }
            self.cache_push(cls, p);
            return;
        }
        if s <= ARENA_MAX_CHUNK && !self.uncached {
            return self.medium_put(p, s, src);
        }
        self.free_chunk_to(c, src);
        self.maybe_purge();
    }

    // ---- the medium tier --------------------------------------------------------------

    /// Takes a chunk of at least `s` bytes and at most an eighth more (`s` over
    /// `CACHE_MAX_CHUNK`) from the medium tier: the newest of the list of its
    /// class (see `medium_class`), or of the next one. Returns its payload.
    #[inline]
    pub unsafe fn medium_take(&mut self, s: usize) -> Option<*mut u8> {
        let first = medium_list(s);
        for b in first..(first + 2).min(MEDIUM_LISTS) {
            let p = self.medium[b];
            if p.is_null() {
                continue;
            }
            let c = p.sub(HDR);
            let cs = span::size(c, self.key);
            if cs >= s && cs <= s + s / 8 {
                self.medium_unlink(b, p, cs);
                span::toggle_cached(c);
                return Some(p);
            }
        }
        None
    }

    /// Puts payload `p` (chunk size `s`, over `CACHE_MAX_CHUNK`) into the medium
    /// tier, emptying the tier into the store first if it would hold too much.
    /// A free neighbour does not keep it out: the two merge when the tier is
    /// emptied, and the neighbour is checked here as a merge would read it.
    unsafe fn medium_put(&mut self, p: *mut u8, s: usize, src: &mut impl SpanSource) {
        let c = p.sub(HDR);
        // The checks a free into the store makes (an overflow or underflow is
        // reported at the free, not when the tier is emptied).
        self.check_tags(c, s);
        self.check_free_next(c, s);
        if !self.medium_has_room(s) {
            // Down to half its bound: what it keeps may still serve a request.
            let bound = self.medium_bound();
            self.medium_trim((bound / 2).min(bound - s), src);
        }
        self.medium_push(p, s);
    }

    /// Puts payload `p`, an in-use chunk of `s` bytes of this arena whose
    /// boundary tags `classify` checked, into the medium tier if it is a medium
    /// chunk that the tier takes as it is: the tier has room (a free neighbour
    /// is checked, as `medium_put` checks it). Touches neither the store nor
    /// the OS (so a `free` through here leaves `errno` alone). False, with
    /// nothing done, otherwise. Owner only.
    #[inline]
    pub unsafe fn medium_keep(&mut self, p: *mut u8, s: usize) -> bool {
        if s <= CACHE_MAX_CHUNK || s > ARENA_MAX_CHUNK || self.uncached || !self.medium_has_room(s)
        {
            return false;
        }
        self.check_free_next(p.sub(HDR), s);
        self.medium_push(p, s);
        true
    }

    /// Whether the medium tier may take `s` more bytes.
    #[inline(always)]
    fn medium_has_room(&self, s: usize) -> bool {
        self.medium_bytes + s <= self.medium_bound()
    }

    /// Most bytes the medium tier may hold (see [`MEDIUM_BYTES`]).
    #[inline(always)]
    pub(crate) fn medium_bound(&self) -> usize {
        MEDIUM_BYTES.max(self.used / MEDIUM_SHARE)
    }

    /// Takes head `p` (chunk size `cs`) off medium list `b`.
    #[inline(always)]
    unsafe fn medium_unlink(&mut self, b: usize, p: *mut u8, cs: usize) {
        self.medium[b] = decode_link(p, self.link_key as usize);
        self.medium_bytes -= cs;
    }

    /// Pushes payload `p` (chunk size `s`) onto its medium list.
    #[inline(always)]
    unsafe fn medium_push(&mut self, p: *mut u8, s: usize) {
        let b = medium_list(s);
        *(p as *mut usize) = self.medium[b] as usize ^ self.link_key as usize;
        self.medium[b] = p;
        self.medium_bytes += s;
        span::toggle_cached(p.sub(HDR));
    }

    /// Empties the medium tier into the store.
    pub(super) unsafe fn medium_flush(&mut self, src: &mut impl SpanSource) {
        self.medium_trim(0, src);
    }

    /// Moves the medium tier's lists into the store, the biggest class first,
    /// until the tier holds at most `keep` bytes.
    unsafe fn medium_trim(&mut self, keep: usize, src: &mut impl SpanSource) {
        let mut b = MEDIUM_LISTS;
        while b > 0 && self.medium_bytes > keep {
            b -= 1;
            let mut p = self.medium[b];
            self.medium[b] = null_mut();
            while !p.is_null() {
                let next = decode_link(p, self.link_key as usize);
                let c = p.sub(HDR);
                self.medium_bytes -= span::size(c, self.key);
                // (`free_chunk` rewrites the header, CACHED flag and all.)
                self.free_chunk_to(c, src);
                p = next;
            }
        }
        self.maybe_purge();
    }

    /// Moves the smallest chunk of at least `s` bytes the medium tier's list
    /// heads hold into the store, where it merges with its free neighbours;
    /// returns a free chunk of at least `s` bytes, or null if no head is that
    /// big.
    pub(super) unsafe fn medium_yield(&mut self, s: usize, src: &mut impl SpanSource) -> *mut u8 {
        let first = if s > CACHE_MAX_CHUNK {
            medium_list(s)
        } else {
            0
        };
        for b in first..MEDIUM_LISTS {
            let p = self.medium[b];
            if p.is_null() {
                continue;
            }
            let c = p.sub(HDR);
            let cs = span::size(c, self.key);
            if cs < s {
                continue;
            }
            self.medium_unlink(b, p, cs);
            if self.free_chunk_to(c, src) {
                // Its span was otherwise free: it went back whole.
                return null_mut();
            }
            return self.find_fit(s);
        }
        null_mut()
    }

    /// Doubles the limit of full class `cls` if it may grow (see
    /// [`CACHE_GROW`]); false if it may not, and must be flushed.
    #[cold]
    pub(super) fn grow(&mut self, cls: usize) -> bool {
        let lim = self.cache[cls].limit;
        let gain = lim as usize * class_chunk(cls);
        if self.uncached
            || lim >= class_limit(cls) * CACHE_GROW
            || self.grown + gain > CACHE_GROWN_MAX
        {
            return false;
        }
        self.grown += gain;
        self.cache[cls].limit = 2 * lim;
        self.cache[cls].room += lim;
        true
    }

    /// Bytes held in the cache. (Its classes are empty while it is off: a
    /// sparse arena asks at every refill whether it is dense again, and the
    /// walk over the classes was a quarter of `alloc_in_arena`'s samples in
    /// mimalloc-bench's `mstress`, whose threads adopt sparse arenas.)
    pub(super) fn cached_bytes(&self) -> usize {
        let mut b = self.medium_bytes + self.loose_bytes;
        if self.uncached {
            return b;
        }
        for cls in CACHED_CLASSES {
            b += self.cache[cls].count() as usize * class_chunk(cls);
        }
        b
    }

    /// The arena holds many spans but little live data: cached chunks scattered
    /// over its spans would keep them from going back to the pool.
    pub(super) fn sparse(&self) -> bool {
        let live = self.used.saturating_sub(self.cached_bytes());
        self.nspans >= SPARSE_SPANS && live * 8 < self.nspans * SPAN
    }

    /// Live data fills its spans again (or few are left): the cache can come back.
    pub fn dense(&self) -> bool {
        self.nspans < SPARSE_SPANS
            || self.used.saturating_sub(self.cached_bytes()) * 4 >= self.nspans * SPAN
    }

    /// Switches the cache off (flushing it, so frees reach the store and empty
    /// spans go back to the pool) or back on.
    pub(crate) unsafe fn set_uncached(&mut self, off: bool, src: &mut impl SpanSource) {
        if self.uncached == off {
            return;
        }
        self.uncached = off;
        self.grown = 0;
        if off {
            self.medium_flush(src);
            self.empty_cache(src);
            // What the classes carved went back: their refills ramp up anew.
            self.fills = [0; NCLASSES];
        }
        // (The cache is empty while off: its limits are 0.)
        for cls in CACHED_CLASSES {
            let bin = &mut self.cache[cls];
            debug_assert!(bin.head.is_null());
            bin.limit = if off { 0 } else { class_limit(cls) };
            bin.room = bin.limit;
        }
    }

    /// Empties every cache class, its chunks set aside loose (each span goes
    /// back to the pool when its last block does, see `loosen`; into the store
    /// one by one in secure mode). The classes' lists are walked side by side:
    /// a step along each list per round, so that the loads of as many links
    /// are in flight at once. (A class grown during a long run of frees holds
    /// chunks freed long ago, cold lines: walked one list after the other,
    /// each link was a cache miss waiting on the one before it, a sixth of the
    /// time of a program dropping millions of Strings in random order.)
    unsafe fn empty_cache(&mut self, src: &mut impl SpanSource) {
        const N: usize = CACHED_CLASSES.end - CACHED_CLASSES.start;
        let key = self.link_key as usize;
        // The non-empty lists, each taken whole off its class.
        let mut lists = [null_mut::<u8>(); N];
        let mut nl = 0;
        for cls in CACHED_CLASSES {
            let bin = &mut self.cache[cls];
            if !bin.head.is_null() {
                lists[nl] = bin.head;
                nl += 1;
                self.counters.cache_out += bin.count() as u64;
                bin.head = null_mut();
                bin.room = bin.limit;
            }
        }
        if nl > 0 {
            self.counters.flushes += 1;
        }
        // Each list fills a segment of the batch, so that `shed` still finds
        // the runs of chunks freed end to end within a class.
        let loose = (!crate::config::secure()).then_some(usize::MAX);
        let mut batch = [0usize; FLUSH_BATCH];
        let mut lens = [0usize; N];
        while nl > 0 {
            let seg = FLUSH_BATCH / nl;
            lens[..nl].fill(0);
            for step in 0..seg {
                for i in 0..nl {
                    let p = lists[i];
                    if !p.is_null() {
                        batch[i * seg + step] = p as usize - HDR;
                        lens[i] += 1;
                        lists[i] = decode_link(p, key);
                    }
                }
            }
            let mut left = 0;
            for i in 0..nl {
                self.shed(&mut batch[i * seg..i * seg + lens[i]], loose, src);
                if !lists[i].is_null() {
                    lists[left] = lists[i];
                    left += 1;
                }
            }
            nl = left;
        }
        // (Spans were swept above only once all their chunks were free or
        // loose: swept as they crossed `SWEEP_AT`, with the cache's chunks
        // still among their loose ones, they were swept again and again.)
        self.sweep_all(SWEEP_AT, src);
        self.maybe_purge();
    }

    /// Moves `n` chunks of cache class `cls` into the store, in batches taken off
    /// the cache and returned in the order they were freed (the cache pops them
    /// newest first). A program freeing blocks in address order, as a tree or a
    /// vector of boxes is dropped, then has its chunks reach the store as runs,
    /// one chunk per run (see `join_run`). (Sorting each batch by
    /// address found more runs but cost more than it saved on random-order
    /// frees, under callgrind.)
    pub unsafe fn flush(&mut self, cls: usize, n: u32, src: &mut impl SpanSource) {
        self.flush_to(cls, n, false, src);
    }

    /// [`Arena::flush`], setting the chunks aside as loose (see
    /// [`Arena::loosen`]) instead of merging each into the store if `loose`.
    unsafe fn flush_to(&mut self, cls: usize, n: u32, loose: bool, src: &mut impl SpanSource) {
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
            self.shed(&mut batch[..k], loose.then_some(SWEEP_AT), src);
        }
        self.maybe_purge();
    }

    /// Puts the chunks of `batch`, taken off a class's list newest first, into
    /// the store, or sets them aside loose (with a span swept at `loose` bytes
    /// loose, see `loosen_at`) if `loose` is set, in the order they were freed
    /// (joining those that lie end to end, see `join_run`).
    unsafe fn shed(
        &mut self,
        batch: &mut [usize],
        loose: Option<usize>,
        src: &mut impl SpanSource,
    ) {
        let k = batch.len();
        batch.reverse();
        let shared_ids = IDS_REPEAT.load(Ordering::Relaxed);
        let mut i = 0;
        while i < k {
            let c = if shared_ids {
                let c = batch[i] as *mut u8;
                i += 1;
                let owner = owner(span::span_of(c), Ordering::Relaxed);
                if !ptr::eq(owner, self) {
                    // A chunk of an arena sharing this one's id (see `key`).
                    span::toggle_cached(c);
                    self.count_cross(owner, span::size(c, self.key));
                    (*owner).push_remote(c.add(HDR));
                    src.drain_if_parked(owner);
                    continue;
                }
                c
            } else {
                let j = self.join_run(batch, i);
                let c = batch[i] as *mut u8;
                i = j;
                if let Some(at) = loose {
                    self.loosen_at(c, at, src);
                    continue;
                }
                c
            };
            self.free_chunk_to(c, src);
        }
    }

    /// Joins the chunks of `batch` from `i` on that lie end to end, in
    /// ascending or descending address order, into one in-use chunk at the
    /// lowest of them, which it writes to `batch[i]`; returns the index of the
    /// first chunk not joined. A program freeing blocks in address order (a
    /// vector of boxes, a tree built and dropped depth first) then sends the
    /// store one chunk per run instead of one per block, each of which moved
    /// the growing chunk from size bin to size bin. Each chunk's boundary tags
    /// are checked before the join, as `free_chunk` checks them.
    unsafe fn join_run(&mut self, batch: &mut [usize], i: usize) -> usize {
        let first = batch[i] as *mut u8;
        let fs = span::size(first, self.key);
        let (mut lo, mut hi) = (first as usize, first as usize + fs);
        let mut j = i + 1;
        while let Some(&d) = batch.get(j) {
            let ds = span::size(d as *mut u8, self.key);
            if d == hi {
                hi += ds;
            } else if d + ds == lo {
                lo = d;
            } else {
                break;
            }
            j += 1;
        }
        if j == i + 1 {
            return j;
        }
        for &d in &batch[i..j] {
            let d = d as *mut u8;
            self.check_tags(d, span::size(d, self.key));
        }
        for &d in &batch[i..j] {
            if d != lo {
                span::bury(d as *mut u8);
            }
        }
        let (lo, len) = (lo as *mut u8, hi - lo);
        // In use, CACHED cleared, `prev_size` kept.
        span::set_size(lo, len, 0, self.key);
        span::set_prev_size(hi as *mut u8, len, self.key);
        batch[i] = lo as usize;
        j
    }

    /// Readies the arena of an exiting thread to be parked. It keeps its cache
    /// warm for the next thread to adopt it: that thread's first allocations
    /// pop chunks instead of carving them again, and the exiting thread's
    /// frees are not sent through the store one by one. A dense arena's cache
    /// is cut back to the classes' base limits. A sparse one (see
    /// [`Arena::dense`]), whose cached chunks may keep spans from going back
    /// to the pool, is kept whole and emptied as by [`Arena::flush_all`] if
    /// the arena is still parked a purge delay later ([`Arena::parked_pass`]).
    /// (Emptied at once, as it was, a program that starts short-lived
    /// threads, each freeing most of what it made before it exits, paid for
    /// the flush and then for carving the same chunks again in the next
    /// thread: two thirds of the allocator's instructions in `mstress`. Cut
    /// back first, chunk by chunk into the store, it cost `live-100k` 3% more
    /// than the one pass of the flush.) An arena whose cache is off already
    /// is emptied at once. Remote frees are drained either way, and the
    /// shelf's pool blocks go back to the pool.
    pub unsafe fn retire(&mut self, src: &mut impl SpanSource) {
        self.flush_shelf(src);
        self.drain_remote(src);
        self.sweep_all(0, src);
        if self.uncached {
            return self.flush_all(src);
        }
        if self.dense() {
            self.shrink_cache(src);
        } else {
            self.purge.set_flush(true);
        }
        self.purge.restart();
    }

    /// A new thread takes this parked arena over: its cache stays.
    pub fn adopted(&mut self) {
        self.purge.set_flush(false);
    }

    /// The pass the pool runs on a parked arena whose purge is due (see
    /// `pool::purge_parked`): empties the cache if [`Arena::retire`] asked for
    /// that, then releases the store's free pages.
    pub unsafe fn parked_pass(&mut self, src: &mut impl SpanSource) {
        if self.purge.take_flush() {
            self.flush_all(src);
        }
        if crate::config::purge() {
            self.purge();
        }
    }

    /// Gives the cache's growth back to the store: each class cut back to its
    /// base limit, the medium tier emptied. Called before the arena takes a new
    /// span (memory held for one size must not make the arena map more for
    /// another) and at thread exit.
    pub(super) unsafe fn shrink_cache(&mut self, src: &mut impl SpanSource) {
        self.medium_flush(src);
        if self.grown == 0 {
            return;
        }
        for cls in CACHED_CLASSES {
            let base = class_limit(cls);
            let n = self.cache[cls].count();
            if n > base {
                self.flush(cls, n - base, src);
            }
            let bin = &mut self.cache[cls];
            let left = bin.count();
            bin.limit = base;
            bin.room = base - left;
        }
        self.grown = 0;
    }

    /// Empties the whole cache into the store and switches it off (so that frees
    /// drained into a parked arena reach the store, where emptied spans go back to
    /// the pool), then gives back every empty span, the spare included (thread
    /// exit). The cache comes back on when a new owner finds the arena dense.
    pub unsafe fn flush_all(&mut self, src: &mut impl SpanSource) {
        self.set_uncached(true, src);
        self.drain_remote(src);
        self.sweep_all(0, src);
        let sp = self.spare;
        if !sp.is_null() {
            self.spare = null_mut();
            self.unlink_empty(sp);
            src.give_span(sp as *mut u8);
        }
        self.purge.restart();
    }
}

/// Chunks a full class of limit `limit` sheds (loose) before taking a free:
/// half of it, but at most one batch. The flush walks the class's list from its newest
/// chunk, so it walks chunks freed since the class last overflowed: a batch of
/// them is still in the CPU's caches. (Half of a class grown to 262,144 chunks
/// was a walk of 4 MiB of cold lines, a cache miss per chunk: 98% of the
/// flush's time when a program dropped millions of Strings in random order.)
#[inline]
fn overflow_batch(limit: u32) -> u32 {
    (limit / 2).min(FLUSH_BATCH as u32)
}
