//! The page pool: the one place that holds shared mutable state.
//!
//! One global instance behind a futex [`Mutex`]. It maps memory from the OS in
//! regions, hands out runs of pages (arena spans and pool blocks), takes them back
//! into a table of free runs kept sorted by address and coalesced with their
//! neighbours, and returns free memory to the OS once more than its retain bound
//! is free (see [`PoolInner::retain`]; at least 32 MiB unless `ARENAPOOL_RETAIN`
//! says otherwise). It also owns the arenas of exited threads (parked, waiting for
//! a new thread to adopt them) and resolves frees into them.
//!
//! Invariants (checked by [`PoolInner::check`]): free runs are page-aligned,
//! sorted by start, non-overlapping and never adjacent (adjacent runs are merged);
//! `free_bytes` is the sum of their lengths.

use crate::arena::{Arena, SpanSource};
use crate::os::{self, align_up, PAGE};
use crate::purge::PurgeClock;
use crate::registry;
use crate::size::{eighth_class, SPAN};
use crate::sync::{Guard, Mutex};
use core::mem::ManuallyDrop;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Bytes of huge mappings (blocks mapped on their own, outside the pool's
/// regions) now; kept by `large`, read with the pool's own for the totals.
pub(crate) static HUGE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes of huge mappings returned to the OS so far.
pub(crate) static HUGE_RETURNED: AtomicUsize = AtomicUsize::new(0);

/// Bytes of huge mappings now.
pub fn huge_bytes() -> usize {
    HUGE_BYTES.load(Ordering::Relaxed)
}

/// Bytes of huge mappings returned to the OS so far.
pub fn huge_returned() -> usize {
    HUGE_RETURNED.load(Ordering::Relaxed)
}

/// Per live thread, the pool may keep twice the largest pool block it has seen
/// freed, up to this much: like glibc, whose per-arena trim threshold follows its
/// mmap threshold up to 64 MiB, so a loop over big blocks reuses warm pages
/// instead of faulting fresh ones in.
pub const RETAIN_PER_THREAD: usize = 64 * 1024 * 1024;
/// The pool may also keep free, and resident, as many bytes as pool blocks
/// hold (over this divisor): a program that replaces big blocks of mixed
/// sizes leaves holes between the live ones, and glibc, which keeps every hole
/// of its heap, reuses them warm. With 20 live blocks of 5 to 25 MiB replaced
/// at random (`big-replace`), twice the largest block (50 MiB) left the pool
/// unmapping 2.9 GiB in 450 replacements and faulting it in again; half the
/// bytes in live blocks still left it unmapping 7.0 GiB in mimalloc-bench's
/// `malloc-large` (the same pattern, 2,000 replacements: the holes outgrow
/// half the live bytes, and each trim gives back half of what may stay).
pub const WARM_SHARE: usize = 1;
/// The bound never grows past this.
pub const RETAIN_MAX: usize = 256 * 1024 * 1024;
/// Bytes mapped at a time for arenas' metadata: room for 16.
const META_CHUNK: usize = align_up(16 * core::mem::size_of::<Arena>(), PAGE);
/// Bytes mapped from the OS at a time when the pool runs dry.
pub const REGION: usize = 4 * 1024 * 1024;
/// Capacity of the free-run table (a run that finds no room is unmapped at once).
const RUN_CAP: usize = 1 << 16;
/// Bytes of the free-run table's mapping.
const TABLE_BYTES: usize = RUN_CAP * core::mem::size_of::<Run>();
/// Ranges one hold of the lock may leave to unmap, and to purge, after it is
/// released. A trim that reaches it goes on once they are done (see
/// [`PoolGuard`]); a purge pass leaves the rest for the next pass.
const DEFER_CAP: usize = 32;

#[derive(Clone, Copy)]
#[repr(C)]
struct Run {
    start: usize,
    /// Length in bytes; bit 0 set when the whole run is known to read as zeros.
    len: usize,
}
const CLEAN: usize = 1;
/// Bit 1 of `Run::len`: a purge pass saw the run (dirty) unchanged; the next
/// pass releases it.
const SEEN: usize = 2;
/// The flag bits of `Run::len`.
const FLAGS: usize = CLEAN | SEEN;

pub struct PoolInner {
    runs: *mut Run,
    nruns: usize,
    pub free_bytes: usize,
    pub mapped_bytes: usize,
    pub unmapped_total: u64,
    pub large_in_use: usize,
    /// Largest pool block freed so far (sets the retain bound).
    pub largest_freed: usize,
    /// Arenas owned by live threads.
    pub active: usize,
    /// Every arena ever made (linked by `all_next`).
    pub arenas: *mut Arena,
    /// Arenas of exited threads (linked by `park_next`).
    pub parked: *mut Arena,
    meta: *mut u8,
    meta_end: *mut u8,
    /// Arenas made so far (the last id handed out).
    pub arena_count: u32,
    /// Highest `mapped_bytes` (plus huge bytes) seen.
    pub peak_mapped: usize,
    /// Bytes given back into free runs not known clean, and when the next
    /// purge pass is due (see `purge`).
    purge: PurgeClock,
    /// Bytes of free runs released to the OS by purge passes, so far.
    pub purged_total: u64,
    /// Ranges to unmap once the lock is released (already out of the free runs
    /// and of `mapped_bytes`).
    unmaps: [(usize, usize); DEFER_CAP],
    nunmaps: usize,
    /// A trim stopped at [`DEFER_CAP`] unmaps: the bytes it was to leave free
    /// (see [`PoolInner::trim`]).
    trim_to: Option<usize>,
    /// Free runs taken out of the table to be purged once the lock is released;
    /// they come back as clean free runs.
    purges: [(usize, usize); DEFER_CAP],
    npurges: usize,
}

// SAFETY: the raw pointers are only dereferenced under the pool lock.
unsafe impl Send for PoolInner {}

pub static POOL: Mutex<PoolInner> = Mutex::new(PoolInner {
    runs: null_mut(),
    nruns: 0,
    free_bytes: 0,
    mapped_bytes: 0,
    unmapped_total: 0,
    large_in_use: 0,
    largest_freed: 0,
    active: 0,
    arenas: null_mut(),
    parked: null_mut(),
    meta: null_mut(),
    meta_end: null_mut(),
    arena_count: 0,
    peak_mapped: 0,
    purge: PurgeClock::new(),
    purged_total: 0,
    unmaps: [(0, 0); DEFER_CAP],
    nunmaps: 0,
    trim_to: None,
    purges: [(0, 0); DEFER_CAP],
    npurges: 0,
});

/// Takes the pool lock. System calls that the holder's operations call for
/// (unmapping and purging free runs) run after the lock is released, when the
/// guard is dropped, so other threads do not wait on them.
pub fn lock() -> PoolGuard {
    let g = PoolGuard(ManuallyDrop::new(POOL.lock()));
    os::set_pool_holder(true);
    g
}

/// The pool lock held (see [`lock`]).
pub struct PoolGuard(ManuallyDrop<Guard<'static, PoolInner>>);

impl core::ops::Deref for PoolGuard {
    type Target = PoolInner;
    fn deref(&self) -> &PoolInner {
        &self.0
    }
}

impl core::ops::DerefMut for PoolGuard {
    fn deref_mut(&mut self) -> &mut PoolInner {
        &mut self.0
    }
}

impl Drop for PoolGuard {
    fn drop(&mut self) {
        loop {
            let g = &mut *self.0;
            let (nu, np) = (g.nunmaps, g.npurges);
            if nu + np == 0 {
                os::set_pool_holder(false);
                // SAFETY: dropped once, here; the guard is not used after.
                unsafe { ManuallyDrop::drop(&mut self.0) };
                return;
            }
            let (unmaps, purges) = (g.unmaps, g.purges);
            g.nunmaps = 0;
            g.npurges = 0;
            let trim_to = g.trim_to.take();
            os::set_pool_holder(false);
            // SAFETY: as above (taken again below before any use).
            unsafe { ManuallyDrop::drop(&mut self.0) };
            // Ranges to put back as clean free runs: the purged ones, and any the
            // kernel would not unmap (at its limit on mappings), purged instead.
            let mut back = [(0usize, 0usize, false); 2 * DEFER_CAP];
            let mut nb = 0;
            for &(start, len) in &unmaps[..nu] {
                // SAFETY: the range left the free runs under the lock: mapped, ours, unused.
                if unsafe { !os::try_unmap(start as *mut u8, len) } {
                    // SAFETY: as above.
                    unsafe { os::purge(start as *mut u8, len) };
                    back[nb] = (start, len, true);
                    nb += 1;
                }
            }
            for &(start, len) in &purges[..np] {
                // SAFETY: the run left the free runs under the lock: mapped, ours, unused.
                unsafe { os::purge(start as *mut u8, len) };
                back[nb] = (start, len, false);
                nb += 1;
            }
            if nb == 0 && trim_to.is_none() {
                return;
            }
            // Relock to put those back and to go on with a trim that stopped
            // at the cap; what that defers is done on the next time round.
            self.0 = ManuallyDrop::new(POOL.lock());
            os::set_pool_holder(true);
            let g = &mut *self.0;
            for &(start, len, kept) in &back[..nb] {
                if kept {
                    g.mapped_bytes += len;
                    g.unmapped_total -= len as u64;
                } else {
                    g.purged_total += len as u64;
                }
                g.insert_free(start, len, true);
            }
            if let Some(keep) = trim_to {
                g.trim(keep);
            }
        }
    }
}

impl PoolInner {
    fn table(&mut self) -> bool {
        if self.runs.is_null() {
            // SAFETY: a fresh mapping of whole pages.
            self.runs = unsafe { os::map(TABLE_BYTES) } as *mut Run;
        }
        !self.runs.is_null()
    }

    #[inline]
    fn run(&self, i: usize) -> Run {
        // SAFETY: i < nruns <= RUN_CAP, inside the table mapping.
        unsafe { *self.runs.add(i) }
    }
    #[inline]
    fn set_run(&mut self, i: usize, r: Run) {
        // SAFETY: i < RUN_CAP, inside the table mapping.
        unsafe { *self.runs.add(i) = r }
    }
    /// Index of the first free run starting at or after `addr` (`nruns` if
    /// none): a binary search, the runs being sorted by address.
    fn first_from(&self, addr: usize) -> usize {
        let (mut lo, mut hi) = (0, self.nruns);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.run(mid).start < addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
    fn insert_at(&mut self, i: usize, r: Run) -> bool {
        if self.nruns == RUN_CAP {
            return false;
        }
        // SAFETY: both ranges lie inside the table (nruns < RUN_CAP).
        unsafe { core::ptr::copy(self.runs.add(i), self.runs.add(i + 1), self.nruns - i) };
        self.nruns += 1;
        self.set_run(i, r);
        true
    }
    fn remove_at(&mut self, i: usize) {
        // SAFETY: both ranges lie inside the table.
        unsafe { core::ptr::copy(self.runs.add(i + 1), self.runs.add(i), self.nruns - i - 1) };
        self.nruns -= 1;
    }

    /// Takes `len` bytes (page multiple) whose start `s` has `(s + lead) % align ==
    /// 0`, from the smallest resident free run that fits, else the smallest
    /// clean one (best fit, see `fit_run`). Returns the start and whether it
    /// reads as zeros, or null when the OS refuses more memory.
    ///
    /// Maps a new region under the lock when no free run fits; [`take_run`]
    /// maps outside it.
    pub fn alloc_run(&mut self, len: usize, align: usize, lead: usize) -> (*mut u8, bool) {
        if let Some(r) = self.fit_run(len, align, lead) {
            return r;
        }
        let Some((base, rlen)) = map_region(len, align, lead) else {
            return (null_mut(), false);
        };
        self.add_region(base, rlen);
        self.fit_run(len, align, lead)
            .unwrap_or((null_mut(), false))
    }

    /// The best free run with room for `len` bytes at `align` less `lead`:
    /// the smallest of the resident (dirty) ones, else of the clean ones
    /// (fresh or purged), the lowest of equals. Taken from its front, with
    /// whether it reads as zeros. None when no run fits; null when the run
    /// table cannot be made. (First fit in address order, as it was, left
    /// holes a block did not fill and cut into the big runs: a program
    /// keeping two blocks of 64 KiB to 32 MiB live, replaced at random,
    /// peaked at a third more memory.)
    fn fit_run(&mut self, len: usize, align: usize, lead: usize) -> Option<(*mut u8, bool)> {
        if !self.table() {
            return Some((null_mut(), false));
        }
        // (No purge pass here: it takes dirty runs out of the table for a while,
        // and the run that fits may be one of them.)
        let align = align.max(PAGE);
        // (index, start, (clean, length)) of the best run so far.
        let mut best: Option<(usize, usize, (bool, usize))> = None;
        for i in 0..self.nruns {
            let r = self.run(i);
            let rlen = r.len & !FLAGS;
            let s = align_up(r.start + lead, align) - lead;
            if s + len <= r.start + rlen {
                let key = (r.len & CLEAN != 0, rlen);
                if key == (false, len) {
                    best = Some((i, s, key));
                    break;
                }
                if best.map_or(true, |b| key < b.2) {
                    best = Some((i, s, key));
                }
            }
        }
        let (i, s, (clean, _)) = best?;
        Some((self.take(i, s, len), clean))
    }

    /// Takes `len` bytes (page multiple) at `start` if a free run holds them
    /// from its first byte: a pool block that ends at `start` grows in place
    /// (`large::realloc_in_place`). False when no free run starts there or
    /// the one that does is shorter.
    pub fn take_at(&mut self, start: usize, len: usize) -> bool {
        let i = self.first_from(start);
        if i == self.nruns {
            return false;
        }
        let r = self.run(i);
        if r.start != start || r.len & !FLAGS < len {
            return false;
        }
        self.take(i, start, len);
        true
    }

    /// Adds a fresh mapping from [`map_region`] to the pool as a clean free run
    /// (not trimmed: the caller is about to take from it).
    fn add_region(&mut self, base: *mut u8, rlen: usize) {
        self.mapped_bytes += rlen;
        self.peak_mapped = self.peak_mapped.max(self.mapped_bytes + huge_bytes());
        registry::set(base as usize, rlen, registry::POOL);
        self.insert_free(base as usize, rlen, true);
    }

    fn take(&mut self, i: usize, s: usize, len: usize) -> *mut u8 {
        let r = self.run(i);
        let clean = r.len & CLEAN;
        let rlen = r.len & !FLAGS;
        let front = s - r.start;
        let back = r.start + rlen - (s + len);
        self.free_bytes -= len;
        match (front > 0, back > 0) {
            (false, false) => self.remove_at(i),
            (true, false) => self.set_run(
                i,
                Run {
                    start: r.start,
                    len: front | clean,
                },
            ),
            (false, true) => self.set_run(
                i,
                Run {
                    start: s + len,
                    len: back | clean,
                },
            ),
            (true, true) => {
                self.set_run(
                    i,
                    Run {
                        start: r.start,
                        len: front | clean,
                    },
                );
                if !self.insert_at(
                    i + 1,
                    Run {
                        start: s + len,
                        len: back | clean,
                    },
                ) {
                    // No room to remember it: give the back part to the OS.
                    self.free_bytes -= back;
                    self.unmap(s + len, back);
                }
            }
        }
        s as *mut u8
    }

    /// Unmaps a range just taken out of the free runs: after the lock is
    /// released (see [`PoolGuard`]), or now if too many are pending (only a
    /// run the full run table cannot record gets here then: `trim` stops at
    /// the cap).
    fn unmap(&mut self, start: usize, len: usize) {
        if self.nunmaps < DEFER_CAP {
            self.unmaps[self.nunmaps] = (start, len);
            self.nunmaps += 1;
        } else {
            // SAFETY: the range is a free run of ours: mapped, page-aligned, unused.
            if unsafe { !os::try_unmap(start as *mut u8, len) } {
                // At the kernel's limit on mappings: keep it, released, as a
                // free run.
                // SAFETY: as above.
                unsafe { os::purge(start as *mut u8, len) };
                self.insert_free(start, len, true);
                return;
            }
        }
        self.mapped_bytes -= len;
        self.unmapped_total += len as u64;
    }

    /// Takes back the run of a freed pool block (`start`, `len` bytes).
    pub fn free_block(&mut self, start: *mut u8, len: usize) {
        self.large_in_use -= len;
        self.largest_freed = self.largest_freed.max(len);
        self.free_run(start, len, false);
    }

    /// Returns `len` bytes at `start` (page-aligned) to the pool, merging with free
    /// neighbours, then trims the pool down if it holds too much.
    pub fn free_run(&mut self, start: *mut u8, len: usize, clean: bool) {
        self.insert_free(start as usize, len, clean);
        let retain = self.retain();
        if self.free_bytes > retain {
            self.trim(retain / 2);
        }
        if !clean {
            self.purge.dirty += len;
        }
        self.maybe_purge();
    }

    /// Adds `len` bytes at `s` to the free runs, merging with neighbours.
    fn insert_free(&mut self, s: usize, len: usize, clean: bool) {
        let c = if clean { CLEAN } else { 0 };
        // First run starting after s.
        let i = self.first_from(s);
        self.free_bytes += len;
        let merge_prev = i > 0 && {
            let p = self.run(i - 1);
            p.start + (p.len & !FLAGS) == s
        };
        let merge_next = i < self.nruns && self.run(i).start == s + len;
        match (merge_prev, merge_next) {
            (true, true) => {
                let (p, n) = (self.run(i - 1), self.run(i));
                let l = (p.len & !FLAGS) + len + (n.len & !FLAGS);
                let cl = p.len & n.len & c & CLEAN;
                self.set_run(
                    i - 1,
                    Run {
                        start: p.start,
                        len: l | cl,
                    },
                );
                self.remove_at(i);
            }
            (true, false) => {
                let p = self.run(i - 1);
                let cl = p.len & c & CLEAN;
                self.set_run(
                    i - 1,
                    Run {
                        start: p.start,
                        len: ((p.len & !FLAGS) + len) | cl,
                    },
                );
            }
            (false, true) => {
                let n = self.run(i);
                let cl = n.len & c & CLEAN;
                self.set_run(
                    i,
                    Run {
                        start: s,
                        len: ((n.len & !FLAGS) + len) | cl,
                    },
                );
            }
            (false, false) => {
                if !self.insert_at(
                    i,
                    Run {
                        start: s,
                        len: len | c,
                    },
                ) {
                    self.free_bytes -= len;
                    self.unmap(s, len);
                }
            }
        }
    }

    /// Runs a purge pass of the free runs when one is due (see `purge`).
    #[inline]
    fn maybe_purge(&mut self) {
        if self.purge.due() {
            let left = self.purge_pass(false);
            self.purge.passed(left, 0);
        }
    }

    /// Releases the pages of every free run not known to read as zeros (they
    /// stay mapped, and read as zeros from then on: the runs become clean).
    pub fn purge(&mut self) {
        let left = self.purge_pass(true);
        self.purge.passed(left, 0);
    }

    /// A purge pass over the free runs: releases the dirty runs a previous
    /// pass saw unchanged (all of them with `all`) and marks the others seen
    /// (any change to a run clears the mark); returns the bytes left dirty.
    ///
    /// Runs are taken out of the table and purged once the lock is released
    /// (see [`PoolGuard`]): a run being purged must not be handed out meanwhile.
    fn purge_pass(&mut self, all: bool) -> usize {
        // The smallest dirty runs, up to `warm` bytes (twice the largest pool
        // block freed so far, or the bytes in pool blocks), stay resident:
        // `fit_run` hands the smallest resident run that fits out first, so a
        // program that replaces big buffers gets warm memory instead of
        // faulting released pages in again (`big-replace`), and an arena's
        // new span a warm hole. (Whole runs only: a part purged would merge
        // back into its dirty neighbour.)
        let warm = if all { WarmSet::NONE } else { self.warm_set() };
        let mut left = 0;
        let mut i = self.nruns;
        while i > 0 {
            i -= 1;
            let r = self.run(i);
            let len = r.len & !FLAGS;
            if r.len & CLEAN != 0 || warm.holds(r.start, len) {
                continue;
            }
            if !all && r.len & SEEN == 0 {
                self.set_run(
                    i,
                    Run {
                        start: r.start,
                        len: r.len | SEEN,
                    },
                );
                left += len;
                continue;
            }
            let r = Run {
                start: r.start,
                len,
            };
            if self.npurges == DEFER_CAP {
                // No system call under the lock: the run stays, seen, for
                // the next pass.
                left += len;
                continue;
            }
            self.remove_at(i);
            self.free_bytes -= r.len;
            self.purges[self.npurges] = (r.start, r.len);
            self.npurges += 1;
        }
        left
    }

    /// The dirty runs a purge pass leaves resident: the smallest, up to
    /// [`Self::warm`] bytes in all; of those of one size class (eight to a
    /// power of two, [`eighth_class`]), the lowest first, up to the first
    /// that would pass the bound.
    fn warm_set(&self) -> WarmSet {
        // Bytes of dirty runs per class.
        let mut bytes = [0usize; WARM_CLASSES];
        for i in 0..self.nruns {
            let r = self.run(i);
            if r.len & CLEAN == 0 {
                bytes[eighth_class(r.len & !FLAGS)] += r.len & !FLAGS;
            }
        }
        let mut budget = self.warm();
        let mut class = 0;
        while class < WARM_CLASSES && bytes[class] <= budget {
            budget -= bytes[class];
            class += 1;
        }
        let mut below = 0;
        if class < WARM_CLASSES {
            for i in 0..self.nruns {
                let r = self.run(i);
                let len = r.len & !FLAGS;
                if r.len & CLEAN == 0 && eighth_class(len) == class {
                    if len > budget {
                        break;
                    }
                    budget -= len;
                    below = r.start + len;
                }
            }
        }
        WarmSet { class, below }
    }

    /// Twice the largest pool block freed so far, up to [`RETAIN_PER_THREAD`]:
    /// what one thread replacing big blocks wants kept.
    fn per_thread(&self) -> usize {
        (2 * self.largest_freed).min(RETAIN_PER_THREAD)
    }

    /// The bytes in pool blocks now over [`WARM_SHARE`]: the holes between
    /// live big blocks worth keeping.
    fn share(&self) -> usize {
        self.large_in_use / WARM_SHARE
    }

    /// Dirty free bytes a purge pass leaves resident: [`Self::per_thread`]
    /// or [`Self::share`], whichever is more.
    fn warm(&self) -> usize {
        self.per_thread().max(self.share())
    }

    /// How many free bytes the pool may keep (see [`RETAIN_PER_THREAD`] and
    /// [`WARM_SHARE`]).
    pub fn retain(&self) -> usize {
        let min = crate::config::retain_min();
        (self.per_thread() * self.active.max(1))
            .max(self.share())
            .clamp(min, RETAIN_MAX.max(min))
    }

    /// Unmaps free runs, highest addresses first, until at most `keep` bytes are
    /// free. The unmaps wait for the lock's release (see [`PoolGuard`]); past
    /// 32 of them (`DEFER_CAP`) the trim stops, and the guard goes on with it
    /// once those are done, relocking (`trim_to`).
    pub fn trim(&mut self, keep: usize) {
        self.trim_to = None;
        while self.free_bytes > keep && self.nruns > 0 {
            if self.nunmaps == DEFER_CAP {
                self.trim_to = Some(keep);
                return;
            }
            let r = self.run(self.nruns - 1);
            let rlen = r.len & !FLAGS;
            let excess = self.free_bytes - keep;
            if rlen <= excess {
                self.nruns -= 1;
                self.free_bytes -= rlen;
                self.unmap(r.start, rlen);
            } else {
                // Give back the excess from the top of this run, keeping the rest.
                let cut = align_up(excess, PAGE).min(rlen);
                self.set_run(
                    self.nruns - 1,
                    Run {
                        start: r.start,
                        len: (rlen - cut) | (r.len & CLEAN),
                    },
                );
                if rlen == cut {
                    self.nruns -= 1;
                }
                self.free_bytes -= cut;
                self.unmap(r.start + rlen - cut, cut);
            }
        }
    }

    /// Whether a new arena needs a new mapping for its metadata (no arena is
    /// parked, and the current one has no room left).
    fn needs_meta(&self) -> bool {
        self.parked.is_null()
            && (self.meta.is_null()
                || (self.meta_end as usize - self.meta as usize) < core::mem::size_of::<Arena>())
    }

    /// Makes `m`, a fresh mapping of [`META_CHUNK`] bytes, the place new
    /// arenas are made (what was left of the one before stays unused).
    fn add_meta(&mut self, m: *mut u8) {
        self.mapped_bytes += META_CHUNK;
        self.meta = m;
        // SAFETY: m..m+META_CHUNK is one mapping.
        self.meta_end = unsafe { m.add(META_CHUNK) };
    }

    /// An arena for a new thread: a parked one (adopting its memory) or a new one.
    pub fn new_arena(&mut self) -> *mut Arena {
        let a = self.parked;
        if !a.is_null() {
            // SAFETY: parked arenas are valid and owned by the pool (we hold its lock).
            unsafe {
                self.parked = (*a).park_next;
                (*a).park_next = null_mut();
                crate::remote::adopt(&(*a).inbox.state);
                (*a).adopted();
            }
            self.active += 1;
            return a;
        }
        let size = core::mem::size_of::<Arena>();
        if self.needs_meta() {
            // (`pool::new_arena` maps this with the lock released.)
            // SAFETY: a fresh mapping of whole pages.
            let m = unsafe { os::map(META_CHUNK) };
            if m.is_null() {
                return null_mut();
            }
            self.add_meta(m);
        }
        let a = self.meta as *mut Arena;
        // SAFETY: `size` bytes at meta are unused mapping memory, 64-aligned since the mapping is page-aligned and Arena's size is a multiple of 64.
        unsafe {
            self.meta = self.meta.add(size);
            self.arena_count += 1;
            let id = (self.arena_count - 1) % crate::arena::MAX_ID + 1;
            if self.arena_count > crate::arena::MAX_ID {
                crate::arena::IDS_REPEAT.store(true, Ordering::Relaxed);
            }
            Arena::init(a, id, crate::config::secret());
            crate::remote::adopt(&(*a).inbox.state);
            (*a).all_next = self.arenas;
        }
        self.arenas = a;
        self.active += 1;
        a
    }

    /// Parks the arena of an exiting thread (already retired: see `Arena::retire`), then
    /// resolves the frees that raced with the exit.
    ///
    /// # Safety
    /// `a` is a live arena whose owner thread is giving it up.
    pub unsafe fn park(&mut self, a: *mut Arena) {
        self.active -= 1;
        self.push_parked(a);
    }

    /// Puts `a` on the parked list (state `PARKED`), resolves the frees that
    /// raced with its owner's exit, and notes when its purge is due.
    unsafe fn push_parked(&mut self, a: *mut Arena) {
        crate::remote::park(&(*a).inbox.state);
        (*a).park_next = self.parked;
        self.parked = a;
        (*a).drain_remote(&mut Locked(self));
        note_parked_purge(a);
    }

    /// Takes off the parked list the first arena whose purge is due at `now`,
    /// adopted (state `OWNED`) so that frees into it meanwhile only push onto
    /// its spans' remote lists, and returns it (null if none); updates
    /// `PARKED_PURGE_AT` for the others.
    unsafe fn unpark_due(&mut self, now: u64) -> *mut Arena {
        let mut taken: *mut Arena = null_mut();
        let mut next_at = 0;
        let mut link: *mut *mut Arena = &mut self.parked;
        while !(*link).is_null() {
            let a = *link;
            match (*a).purge_scheduled() {
                Some(at) if at <= now && taken.is_null() => {
                    *link = (*a).park_next;
                    (*a).park_next = null_mut();
                    crate::remote::adopt(&(*a).inbox.state);
                    taken = a;
                    continue;
                }
                Some(at) if next_at == 0 || at < next_at => next_at = at,
                _ => {}
            }
            link = &mut (*a).park_next;
        }
        PARKED_PURGE_AT.store(next_at, Ordering::Relaxed);
        taken
    }

    /// Out of memory: empties the caches of the parked arenas into their stores
    /// and gives their empty spans back to the pool ([`Arena::flush_all`]), so
    /// that spans held only for cached chunks can serve a request again. True
    /// if any span came back.
    ///
    /// # Safety
    /// Under the lock (`self` is the locked pool).
    unsafe fn reclaim_parked(&mut self) -> bool {
        let mut returned = false;
        let mut a = self.parked;
        while !a.is_null() {
            let next = (*a).park_next;
            let before = (*a).counters.spans_returned;
            (*a).begin_update();
            (*a).flush_all(&mut Locked(self));
            note_parked_purge(a);
            (*a).end_update();
            returned |= (*a).counters.spans_returned != before;
            a = next;
        }
        returned
    }

    /// Resolves remote frees into a parked arena (called by the freeing thread after
    /// it pushed onto one of the arena's remote lists and saw it parked).
    ///
    /// # Safety
    /// `a` is a live arena.
    pub unsafe fn drain_parked(&mut self, a: *mut Arena) {
        if crate::remote::is_parked(&(*a).inbox.state) {
            (*a).begin_update();
            (*a).drain_remote(&mut Locked(self));
            note_parked_purge(a);
            (*a).end_update();
        }
    }

    /// Checks the invariants in the module docs.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut sum = 0;
        let mut prev_end = 0usize;
        for i in 0..self.nruns {
            let r = self.run(i);
            let len = r.len & !FLAGS;
            if r.start % PAGE != 0 || len % PAGE != 0 || len == 0 {
                return Err("free run not page-aligned");
            }
            if i > 0 && r.start <= prev_end {
                return Err(if r.start == prev_end {
                    "adjacent free runs not coalesced"
                } else {
                    "free runs overlap or out of order"
                });
            }
            prev_end = r.start + len;
            sum += len;
        }
        if sum != self.free_bytes {
            return Err("free_bytes does not match the runs");
        }
        Ok(())
    }

    /// Number of free runs.
    pub fn runs(&self) -> usize {
        self.nruns
    }

    /// Whether any byte of `[start, start + len)` lies in a free run.
    pub fn overlaps_free(&self, start: usize, len: usize) -> bool {
        // Last run starting before the end of the range.
        let lo = self.first_from(start + len);
        lo > 0 && {
            let r = self.run(lo - 1);
            r.start + (r.len & !FLAGS) > start
        }
    }

    /// Calls `f(start, len, clean)` for every free run, in address order
    /// (`clean`: it reads as zeros, fresh or purged).
    pub fn each_free_run(&self, mut f: impl FnMut(usize, usize, bool)) {
        for i in 0..self.nruns {
            let r = self.run(i);
            f(r.start, r.len & !FLAGS, r.len & CLEAN != 0);
        }
    }
}

/// Size classes of free runs for [`PoolInner::warm_set`] ([`eighth_class`]).
const WARM_CLASSES: usize = 8 * usize::BITS as usize;

/// Which dirty runs a purge pass leaves resident: those of a size class below
/// `class`, and those of `class` that end at or below `below`.
#[derive(Clone, Copy)]
struct WarmSet {
    class: usize,
    below: usize,
}

impl WarmSet {
    /// No run (a pass that purges every dirty run).
    const NONE: WarmSet = WarmSet { class: 0, below: 0 };

    fn holds(self, start: usize, len: usize) -> bool {
        let c = eighth_class(len);
        c < self.class || (c == self.class && start + len <= self.below)
    }
}

/// The pool seen through a guard already held: spans move without relocking.
pub struct Locked<'a>(pub &'a mut PoolInner);

impl PoolInner {
    fn take_span(&mut self) -> *mut u8 {
        let s = self.alloc_run(SPAN, SPAN, 0).0;
        if !s.is_null() {
            registry::set(s as usize, SPAN, registry::ARENA);
        }
        s
    }
    fn give_span(&mut self, base: *mut u8) {
        registry::set(base as usize, SPAN, registry::POOL);
        self.free_run(base, SPAN, false)
    }
}

impl SpanSource for Locked<'_> {
    fn take_span(&mut self) -> *mut u8 {
        self.0.take_span()
    }
    fn give_span(&mut self, base: *mut u8) {
        self.0.give_span(base)
    }
    fn give_run(&mut self, start: *mut u8, len: usize) {
        self.0.free_block(start, len)
    }
    unsafe fn drain_if_parked(&mut self, a: *mut Arena) {
        self.0.drain_parked(a)
    }
}

/// The pool seen from an arena's owner thread: each span move takes the lock.
pub struct Global;

impl SpanSource for Global {
    fn take_span(&mut self) -> *mut u8 {
        let s = take_run(SPAN, SPAN, 0, |_| (), |_| ()).0;
        if !s.is_null() {
            registry::set(s as usize, SPAN, registry::ARENA);
        }
        s
    }
    fn give_span(&mut self, base: *mut u8) {
        lock().give_span(base);
        purge_parked();
    }
    fn give_run(&mut self, start: *mut u8, len: usize) {
        lock().free_block(start, len);
        purge_parked();
    }
    #[inline]
    unsafe fn drain_if_parked(&mut self, a: *mut Arena) {
        if crate::remote::is_parked(&(*a).inbox.state) {
            drain_parked_locked(a)
        }
    }
}

/// [`PoolInner::drain_parked`] under the lock (the rare case of a free into a
/// parked arena, out of line).
#[cold]
#[inline(never)]
unsafe fn drain_parked_locked(a: *mut Arena) {
    // (`free` of another thread's block skips its errno save for this, the
    // only path of its that may make a system call: the lock's, or a purge's.)
    os::keeping_errno(|| {
        lock().drain_parked(a);
        purge_parked();
    })
}

/// When the first parked arena's purge pass is due (`os::now_ms`), 0 when
/// none is pending: read without the lock, written under it.
static PARKED_PURGE_AT: AtomicU64 = AtomicU64::new(0);

/// Notes when parked arena `a`'s purge pass is due, if one is pending (under
/// the lock).
unsafe fn note_parked_purge(a: *mut Arena) {
    if let Some(at) = (*a).purge_scheduled() {
        let old = PARKED_PURGE_AT.load(Ordering::Relaxed);
        if old == 0 || at < old {
            PARKED_PURGE_AT.store(at, Ordering::Relaxed);
        }
    }
}

/// Releases the free pages of parked arenas whose purge pass is due. An
/// exiting thread's arena is not purged at its exit: a new thread that adopts
/// it within a delay gets its memory warm (a program that starts a pool of
/// threads per task faulted every page of it in again). Nobody else runs the
/// pass of an arena nobody owns, so the pool's users do, here, on their way in
/// and out of the pool, at thread exit, after a free into a parked arena and
/// on the slow paths of `malloc` and aligned allocation, with the lock
/// released (one load while nothing is pending): the arena is taken off the
/// parked list for the pass, as a new thread would take it, and parked again
/// after.
#[inline]
pub fn purge_parked() {
    let at = PARKED_PURGE_AT.load(Ordering::Relaxed);
    if at != 0 {
        purge_parked_from(at);
    }
}

#[cold]
fn purge_parked_from(at: u64) {
    if os::now_ms() < at {
        return;
    }
    loop {
        // SAFETY: under the lock; a taken arena is ours until parked again.
        let a = unsafe { lock().unpark_due(os::now_ms()) };
        if a.is_null() {
            return;
        }
        // SAFETY: adopted above: no other thread touches its store meanwhile.
        unsafe {
            (*a).begin_update();
            (*a).parked_pass(&mut Global);
            let mut g = lock();
            g.push_parked(a);
            (*a).end_update();
        }
    }
}

/// Set once the pool's table of free runs is mapped.
static TABLE_READY: AtomicBool = AtomicBool::new(false);

/// Maps the table of free runs with the lock released (the pool's first
/// use), so that [`PoolInner::fit_run`] finds it there.
#[cold]
fn map_table() {
    // SAFETY: a fresh mapping of whole pages.
    let t = unsafe { os::map(TABLE_BYTES) } as *mut Run;
    let mut g = lock();
    let spare = if g.runs.is_null() {
        g.runs = t;
        null_mut()
    } else {
        t
    };
    let ready = !g.runs.is_null();
    drop(g);
    TABLE_READY.store(ready, Ordering::Relaxed);
    if !spare.is_null() {
        // SAFETY: mapped above and never used.
        unsafe { os::unmap(spare as *mut u8, TABLE_BYTES) };
    }
}

/// [`PoolInner::new_arena`] from a thread not holding the lock: the mapping
/// for a new arena's metadata, when one is needed, is made with the lock
/// released. Null when the OS refuses memory.
pub fn new_arena() -> *mut Arena {
    let mut fresh: *mut u8 = null_mut();
    loop {
        let mut g = lock();
        if !fresh.is_null() && g.needs_meta() {
            g.add_meta(fresh);
            fresh = null_mut();
        }
        if !g.needs_meta() {
            let a = g.new_arena();
            drop(g);
            if !fresh.is_null() {
                // SAFETY: mapped below and never used.
                unsafe { os::unmap(fresh, META_CHUNK) };
            }
            return a;
        }
        drop(g);
        // SAFETY: a fresh mapping of whole pages.
        fresh = unsafe { os::map(META_CHUNK) };
        if fresh.is_null() {
            return null_mut();
        }
    }
}

/// [`PoolInner::alloc_run`] from a thread not holding the lock: a new region,
/// when one is needed, is mapped with the lock released. `first` runs under
/// the lock before the first try (a caller's shelf given back, in the same
/// acquisition); `then` runs under the lock on the run taken (for accounting).
pub fn take_run(
    len: usize,
    align: usize,
    lead: usize,
    first: impl FnOnce(&mut PoolInner),
    then: impl Fn(&mut PoolInner),
) -> (*mut u8, bool) {
    if !TABLE_READY.load(Ordering::Relaxed) {
        map_table();
    }
    purge_parked();
    let fit = |g: &mut PoolInner| {
        let r = g.fit_run(len, align, lead)?;
        if !r.0.is_null() {
            then(g);
        }
        Some(r)
    };
    let mut g = lock();
    first(&mut g);
    if let Some(r) = fit(&mut g) {
        return r;
    }
    drop(g);
    let mut region = map_region(len, align, lead);
    // SAFETY: under the lock (the guard lives to the end of the condition).
    if region.is_none() && unsafe { lock().reclaim_parked() } {
        // Out of memory: the spans that parked arenas gave back may fit, or,
        // unmapped past the retain bound, leave room for a region.
        if let Some(r) = fit(&mut lock()) {
            return r;
        }
        region = map_region(len, align, lead);
    }
    let Some((base, rlen)) = region else {
        return (null_mut(), false);
    };
    let mut g = lock();
    g.add_region(base, rlen);
    fit(&mut g).unwrap_or((null_mut(), false))
}

/// Maps a region big enough for `len` bytes at `align` less `lead`: at least
/// [`REGION`], `SPAN`-aligned. Start and length, or None when the OS refuses.
fn map_region(len: usize, align: usize, lead: usize) -> Option<(*mut u8, usize)> {
    let want = len.checked_add(align.max(PAGE) + lead)?;
    let rlen = align_up(want.max(REGION), SPAN);
    // SAFETY: rlen is a non-zero page multiple.
    let base = unsafe { os::map_aligned(rlen, SPAN) };
    if base.is_null() {
        return None;
    }
    registry::prepare(base as usize, rlen);
    Some((base, rlen))
}
