//! The consistency check of an arena (see [`Arena::check`]) and the walk over
//! its live blocks.

use super::*;

impl Arena {
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
        self.shelf.check()?;
        let me = self as *const Arena as *mut Arena;
        let mut free = 0;
        let mut free_chunks = 0usize;
        let mut released = 0usize;
        let mut n = 0;
        let mut sp = self.spans;
        let mut spare_seen = self.spare.is_null();
        let mut loose_spans = 0;
        while !sp.is_null() {
            if owner(sp, Ordering::Relaxed) != me {
                return Err("span on the list owned by another arena");
            }
            if (*sp).loose != 0 {
                loose_spans += 1;
            }
            free += (*sp).check()?;
            for c in (*sp).free_chunks() {
                free_chunks += 1;
                let s = span::size(c, self.key);
                if span::released(c) > span::interior_pages(c, s) {
                    return Err("free chunk claims more released pages than it holds");
                }
                released += span::released(c) as usize * PAGE;
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
        let (mut loose, mut listed, mut prev) = (0, 0, null_mut());
        let mut x = self.loose;
        while !x.is_null() && listed <= loose_spans {
            if owner(x, Ordering::Relaxed) != me || (*x).loose == 0 || (*x).loose_prev != prev {
                return Err("loose list holds a wrong span or broken links");
            }
            loose += (*x).loose as usize;
            listed += 1;
            prev = x;
            x = (*x).loose_next;
        }
        if listed != loose_spans || loose != self.loose_bytes {
            return Err("loose list and spans disagree");
        }
        let mut in_bins = 0usize;
        for b in 0..NBINS {
            let nonempty = !self.bins[b].is_null();
            if nonempty != (self.binmap[b / 64] >> (b % 64) & 1 == 1) {
                return Err("binmap disagrees with bins");
            }
            let mut x = self.bins[b];
            let mut prev = null_mut();
            // Each entry a free chunk on the address list of one of this
            // arena's spans, of this bin, its back link the entry before it (so
            // no chunk is listed twice): with as many entries as free chunks,
            // every free chunk is in its bin.
            while !x.is_null() {
                let sp = span::span_of(x);
                if !span::is_free(x, self.key)
                    || bin_of(span::size(x, self.key)) != b
                    || span::bin_prev(x, self.key) != prev
                    || owner(sp, Ordering::Relaxed) != me
                    || !(*sp).has_free_start(x)
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
        let mut grown = 0;
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
            let base = class_limit(cls);
            if bin.limit != 0 {
                if bin.limit % base != 0
                    || !(bin.limit / base).is_power_of_two()
                    || bin.limit > base * CACHE_GROW
                {
                    return Err("cache limit wrong");
                }
                grown += (bin.limit - base) as usize * class_chunk(cls);
            }
        }
        if grown != self.grown || grown > CACHE_GROWN_MAX {
            return Err("cache growth miscounted");
        }
        let mut medium = 0;
        for (b, &head) in self.medium.iter().enumerate() {
            let mut p = head;
            while !p.is_null() {
                let c = p.sub(HDR);
                let h = span::hdr(c, self.key);
                let s = span::size(c, self.key);
                if h & (FREE | CACHED) != CACHED
                    || s <= CACHE_MAX_CHUNK
                    || s > ARENA_MAX_CHUNK
                    || medium_list(s) != b
                    || !ptr::eq(owner(span::span_of(c), Ordering::Relaxed), me)
                {
                    return Err("medium tier holds a wrong chunk");
                }
                medium += s;
                if medium > self.medium_bytes {
                    break;
                }
                p = (*(p as *mut usize) ^ self.link_key as usize) as *mut u8;
            }
        }
        if medium != self.medium_bytes || (self.uncached && medium != 0) {
            return Err("medium tier miscounted");
        }
        Ok(free)
    }
}
