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
        // Flag it first, atomically: a second free of it, by any thread, sees the
        // flag and is reported (by the caller) instead of pushing it twice.
        let h = &*(p.sub(HDR) as *const core::sync::atomic::AtomicU32);
        let old = h.fetch_xor(CACHED as u32, Ordering::AcqRel) ^ self.inbox.key as u32;
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
        !self.inbox.spans.is_empty()
    }

    /// Frees every chunk on the remote lists of this arena's spans, a span at a
    /// time (owner, or the pool for a parked arena).
    pub unsafe fn drain_remote(&mut self, src: &mut impl SpanSource) {
        let mut sp = self.inbox.spans.take_all();
        while !sp.is_null() {
            // (The span may go back to the pool as its last chunks are freed:
            // nothing of it is read after them.)
            let (mut p, next) = (*sp).take();
            while !p.is_null() {
                let n = decode_link(p, self.link_key as usize);
                self.counters.remote_drained += 1;
                self.counters.remote_drained_bytes += span::size(p.sub(HDR), self.key) as u64;
                // A plain flip: the chunk is the owner's again, and no other thread
                // touches it in a correct program (the pusher's flip was atomic, and
                // the swap above ordered it before this).
                span::toggle_cached(p.sub(HDR));
                self.free_local(p, src);
                p = n;
            }
            sp = next;
        }
    }
}
