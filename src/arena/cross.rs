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

    /// Frees every chunk on the remote lists of this arena's spans (owner, or
    /// the pool for a parked arena). The lists of up to `DRAIN_WAYS` spans are
    /// walked side by side, a chunk of each in turn: a list is a chain of loads
    /// that each wait for the one before, on lines other threads wrote (cold by
    /// the time a thread exits), and chains of different spans overlap their
    /// misses where one chain alone leaves the CPU waiting.
    pub unsafe fn drain_remote(&mut self, src: &mut impl SpanSource) {
        let mut lists: [*mut u8; DRAIN_WAYS] = [null_mut(); DRAIN_WAYS];
        // Whether the last look found a span waiting (a look at an empty
        // inbox is an atomic swap on a line the pushers write).
        let mut more = true;
        loop {
            let (mut live, mut looked) = (0, false);
            for l in lists.iter_mut() {
                if l.is_null() && more {
                    *l = self.take_pending();
                    (more, looked) = (!l.is_null(), true);
                }
                live += !l.is_null() as usize;
            }
            if live == 0 {
                if looked {
                    return;
                }
                // Look once more for frees pushed during the drain.
                more = true;
                continue;
            }
            // Step every list until one of them ends, then take another span.
            'step: loop {
                for l in lists.iter_mut() {
                    if !l.is_null() {
                        *l = self.drain_chunk(*l, src);
                        if l.is_null() {
                            break 'step;
                        }
                    }
                }
            }
        }
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
        let mut p = self.take_pending();
        if p.is_null() {
            return false;
        }
        while !p.is_null() {
            p = self.drain_chunk(p, src);
        }
        true
    }

    /// Takes the remote list of the next span with remote frees (the inbox's
    /// stack is taken when the spans taken before are all drained): its first
    /// chunk, or null if there is none.
    unsafe fn take_pending(&mut self) -> *mut u8 {
        if self.taken.is_null() {
            self.taken = self.inbox.spans.take_all();
            if self.taken.is_null() {
                return null_mut();
            }
        }
        // (A span stays put while its list is being drained: the list is not
        // empty, so its chunks are not all free. It may go back to the pool as
        // its last chunks are freed: nothing of it is read after them, and the
        // other lists being drained hold only chunks of their own spans.)
        let (p, next) = (*self.taken).take();
        self.taken = next;
        p
    }

    /// Frees chunk `p`, taken off a remote list, and returns the next chunk on
    /// that list (null at its end).
    #[inline(always)]
    unsafe fn drain_chunk(&mut self, p: *mut u8, src: &mut impl SpanSource) -> *mut u8 {
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
            return n;
        }
        // A plain flip: the chunk is the owner's again, and no other thread
        // touches it in a correct program (the pusher's store of the flag
        // came before its compare-and-swap, which the swap in `take_pending`
        // ordered before this).
        span::toggle_cached(p.sub(HDR));
        self.free_local(p, src);
        n
    }
}
