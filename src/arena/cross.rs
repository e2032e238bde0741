//! Frees from other threads, the owner's side: counting them, pushing onto
//! the remote lists, and draining them.

use super::*;

impl Arena {
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

    /// Pushes payload `p` onto its span's remote list (any thread), and the
    /// span onto this arena's stack if that list was empty.
    ///
    /// # Safety
    /// `p` is a live block of this arena, no longer used by the caller.
    #[inline]
    pub unsafe fn push_remote(&self, p: *mut u8) {
        // Flag it first: a later free of it, by any thread, sees the flag and is
        // reported instead of pushing it twice. A plain load and store, not an
        // atomic flip: the owner writes only the other half of the word meanwhile,
        // and a locked instruction here stalls on the line's miss, which the store
        // leaves to the push's compare-and-swap (`xmalloc-test`, 2 threads: about
        // a fifth more frees a second). Only two frees of one block at the same
        // instant, a data race in the program, can both pass.
        let h = &*(p.sub(HDR) as *const core::sync::atomic::AtomicU32);
        let raw = h.load(Ordering::Relaxed);
        h.store(raw ^ CACHED as u32, Ordering::Relaxed);
        let old = raw ^ self.inbox.key as u32;
        if old as u64 & CACHED != 0 {
            crate::os::fatal_at(
                b"free of a block already freed (double free):",
                Some(p as usize),
            );
        }
        self.push_remote_flagged(p);
    }

    /// Pushes payload `p`, already flagged `CACHED`, onto its span's remote
    /// list (secure mode's quarantine, whose blocks stay flagged).
    ///
    /// # Safety
    /// As [`Arena::push_remote`]; `p`'s header has `CACHED` set.
    #[inline]
    pub unsafe fn push_remote_flagged(&self, p: *mut u8) {
        let sp = span::span_of(p);
        self.inbox
            .spans
            .push(&(*sp).pending, p, self.inbox.link_key as usize);
    }

    #[inline]
    pub fn has_remote(&self) -> bool {
        !self.taken.is_null() || !self.inbox.spans.is_empty()
    }

    /// Frees every chunk on the remote lists of this arena's spans, a span at a
    /// time (owner, or the pool for a parked arena).
    pub unsafe fn drain_remote(&mut self, src: &mut impl SpanSource) {
        while self.drain_span(src) {}
    }

    /// Drains spans with remote frees, one at a time, until cache class `cls`
    /// has a chunk, and pops it (owner, on a refill). The other spans wait
    /// until the next refill that needs them, or until the arena needs memory
    /// (`fit_or_grow`, which also drains a span at a time) or its thread exits:
    /// a thread that takes back millions of blocks only as it needs them may
    /// never pay for the rest.
    pub(super) unsafe fn drain_remote_for(
        &mut self,
        cls: usize,
        src: &mut impl SpanSource,
    ) -> Option<*mut u8> {
        while self.drain_span(src) {
            if let Some(p) = self.take_cached(cls) {
                return Some(p);
            }
        }
        None
    }

    /// Frees the chunks on the remote list of one span with remote frees,
    /// taking the inbox's stack when the spans taken before are drained. False
    /// if there was none.
    pub(super) unsafe fn drain_span(&mut self, src: &mut impl SpanSource) -> bool {
        if self.taken.is_null() {
            self.taken = self.inbox.spans.take_all();
            if self.taken.is_null() {
                return false;
            }
        }
        // (A span stays put while on `taken`: its list is not empty, so its
        // chunks are not all free, and no push puts it on the stack again. It
        // may go back to the pool as its last chunks are freed below: nothing
        // of it is read after them.)
        let (mut p, next) = (*self.taken).take();
        self.taken = next;
        while !p.is_null() {
            let n = decode_link(p, self.link_key as usize);
            prefetch(n);
            let s = span::size(p.sub(HDR), self.key);
            self.counters.remote_drained += 1;
            self.counters.remote_drained_bytes += s as u64;
            // A small chunk whose class has room goes onto it as it is: its
            // pusher set the `CACHED` flag the class wants. (Cleared here and
            // set again by the push, the flag's two writes to the header and
            // the header's reload between them were a fifth of the drain's
            // time in `xmalloc-test`.)
            let cls = class_of_chunk(s);
            if s <= CACHE_MAX_CHUNK && self.cache[cls].room != 0 {
                self.cache_push_flagged(cls, p);
                p = n;
                continue;
            }
            // A plain flip: the chunk is the owner's again, and no other thread
            // touches it in a correct program (the pusher's store of the flag
            // came before its compare-and-swap, which the swap above ordered
            // before this).
            span::toggle_cached(p.sub(HDR));
            self.free_local(p, src);
            p = n;
        }
        true
    }
}
