//! Unit tests of the free lists, the arena store and the page pool, each followed
//! by a full `check()` walk of the structure after every step.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
extern crate std;

use crate::arena::Arena;
use crate::pool::Global;
use crate::size::*;
use crate::span;
use std::collections::BTreeMap;
use std::vec::Vec;

/// Small deterministic PRNG (xorshift*), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An arena owned by the test (not installed in the thread's TLS).
struct TestArena(*mut Arena);
impl TestArena {
    /// An arena with its cache on, empty and at its base limits, as a new
    /// arena's. (The pool may hand out a parked arena that an exited thread
    /// left, a test thread that allocated through `raw::malloc` included: it
    /// keeps that thread's cache warm, or has it off. Taken as it came, the
    /// cache tests counted chunks that thread had freed. The rest of an
    /// adopted arena's state, its purge clock included, stays as it was.)
    fn new() -> Self {
        let a = crate::pool::lock().new_arena();
        assert!(!a.is_null());
        let t = TestArena(a);
        // SAFETY: the test owns the arena.
        unsafe {
            t.a().flush_all(&mut Global);
            t.a().set_uncached(false, &mut Global);
        }
        t
    }
    /// `n` blocks of chunk size `s` carved from the store (payloads).
    fn blocks(&self, n: usize, s: usize) -> Vec<*mut u8> {
        (0..n)
            .map(|_| {
                // SAFETY: the test owns the arena.
                let c = unsafe { self.a().alloc_chunk(s, &mut Global) };
                assert!(!c.is_null());
                // SAFETY: c is a chunk; its payload follows the header.
                unsafe { c.add(HDR) }
            })
            .collect()
    }
    /// `n` payloads of chunks from the store, chunk `i` of `size(i)` bytes
    /// (requests of varied sizes spread the blocks over many spans).
    fn payloads(&self, n: usize, size: impl Fn(usize) -> usize) -> Vec<usize> {
        (0..n)
            // SAFETY: the test owns the arena.
            .map(|i| unsafe {
                self.a()
                    .alloc_chunk(chunk_size(size(i)), &mut Global)
                    .add(HDR)
            } as usize)
            .collect()
    }
    /// Every remote free was taken back: none waits on the arena's stack or on
    /// any of its spans' lists, and the arena checks out.
    fn assert_no_remote(&self) {
        assert!(!self.a().has_remote());
        let mut sp = self.a().spans;
        while !sp.is_null() {
            // SAFETY: the arena's own spans, which the test owns.
            unsafe {
                assert!((*sp).pending.is_empty());
                sp = (*sp).next;
            }
        }
        self.check();
    }
    #[allow(clippy::mut_from_ref)]
    fn a(&self) -> &mut Arena {
        // SAFETY: the test thread is the arena's only user.
        unsafe { &mut *self.0 }
    }
    /// Empties the cache and the medium tier into the store, then checks that
    /// everything went back (see `assert_all_given_back`).
    fn empty(&self) {
        // SAFETY: the test owns the arena.
        unsafe {
            self.a().set_uncached(true, &mut Global);
            self.a().set_uncached(false, &mut Global);
        }
        self.assert_all_given_back();
    }
    /// Everything went back: `check()` passes, no chunk is loose, and at most
    /// the spare span is left.
    fn assert_all_given_back(&self) {
        self.check();
        assert_eq!(self.a().loose_bytes, 0);
        assert!(self.a().nspans <= 1, "{} spans left", self.a().nspans);
    }
    fn check(&self) -> usize {
        // SAFETY: as above.
        match unsafe { self.a().check() } {
            Ok(free) => free,
            Err(e) => panic!("arena check failed: {e}"),
        }
    }
}
impl Drop for TestArena {
    fn drop(&mut self) {
        // SAFETY: as above; the arena is parked for reuse.
        unsafe {
            self.a().flush_all(&mut Global);
            crate::pool::lock().park(self.0);
        }
    }
}

/// Live blocks by address, to prove no two overlap.
#[derive(Default)]
struct Live(BTreeMap<usize, usize>);
impl Live {
    fn add(&mut self, p: usize, len: usize) {
        if let Some((&q, &l)) = self.0.range(..=p).next_back() {
            assert!(q + l <= p, "block {p:#x} overlaps {q:#x}+{l}");
        }
        if let Some((&q, _)) = self.0.range(p..).next() {
            assert!(p + len <= q, "block {p:#x}+{len} overlaps {q:#x}");
        }
        self.0.insert(p, len);
    }
}

fn fill(p: *mut u8, len: usize, seed: u8) {
    // SAFETY: p..p+len is a live block of at least len bytes.
    unsafe { core::ptr::write_bytes(p, seed, len) }
}
fn verify(p: *mut u8, len: usize, seed: u8) {
    // SAFETY: as in fill.
    let s = unsafe { core::slice::from_raw_parts(p, len) };
    assert!(s.iter().all(|&b| b == seed), "block {p:?} corrupted");
}

/// A test arena starts with its cache empty and at its base limits even when
/// the pool hands it the parked arena of a thread that exited with chunks in
/// its cache (the cache tests below count chunks). The thread frees every
/// block it made: a block left live would keep a span in whichever arena a
/// later test adopts.
#[test]
fn test_arenas_start_empty_after_an_exited_thread_left_its_cache_warm() {
    std::thread::spawn(|| {
        // SAFETY: plain allocations, each freed once.
        unsafe {
            let small: Vec<*mut u8> = (0..300).map(|_| crate::raw::malloc(40)).collect();
            for p in small {
                assert!(!p.is_null());
                crate::raw::free(p);
            }
        }
    })
    .join()
    .unwrap();
    let t = TestArena::new();
    for c in CACHED_CLASSES {
        assert_eq!(t.a().cache[c].count(), 0, "class {c}");
        assert_eq!(t.a().cache[c].limit, class_limit(c), "class {c}");
    }
    t.check();
}

#[test]
fn store_split_and_coalesce_random() {
    let t = TestArena::new();
    let mut rng = Rng(0x1234_5678);
    let mut live: Vec<(*mut u8, usize, u8)> = Vec::new();
    let mut map = Live::default();
    for step in 0..4000 {
        if live.is_empty() || rng.below(3) != 0 {
            let n = match rng.below(4) {
                0 => rng.below(64) as usize,
                1 => rng.below(1024) as usize,
                2 => rng.below(8192) as usize,
                _ => rng.below(ARENA_MAX_REQ as u64) as usize,
            };
            // SAFETY: the test owns the arena.
            let c = unsafe { t.a().alloc_chunk(chunk_size(n), &mut Global) };
            assert!(!c.is_null());
            // SAFETY: c is a chunk just allocated.
            let p = unsafe { c.add(HDR) };
            assert_eq!(p as usize % UNIT, 0);
            // SAFETY: as above.
            assert!(unsafe { span::size(c, span::key_of(c)) } >= chunk_size(n));
            map.add(p as usize, n);
            fill(p, n, step as u8);
            live.push((p, n, step as u8));
        } else {
            let (p, n, seed) = live.swap_remove(rng.below(live.len() as u64) as usize);
            verify(p, n, seed);
            map.0.remove(&(p as usize));
            // SAFETY: p is a live chunk of this arena.
            let sp = unsafe { t.a().free_chunk(p.sub(HDR)) };
            if !sp.is_null() {
                Global.give_span_checked(sp);
            }
        }
        if step % 7 == 0 {
            t.check();
        }
        if step % 500 == 499 {
            // Release the free pages; live data and every invariant survive.
            // SAFETY: the test owns the arena.
            unsafe { t.a().purge() };
            t.check();
            for &(p, n, seed) in &live {
                verify(p, n, seed);
            }
        }
    }
    for (p, n, seed) in live.drain(..) {
        verify(p, n, seed);
        // SAFETY: p is a live chunk of this arena.
        let sp = unsafe { t.a().free_chunk(p.sub(HDR)) };
        if !sp.is_null() {
            Global.give_span_checked(sp);
        }
    }
    t.check();
    // Everything coalesced back: at most the spare span is left, wholly free.
    assert!(t.a().nspans <= 1, "{} spans left", t.a().nspans);
}

trait GiveChecked {
    fn give_span_checked(&mut self, sp: *mut span::Span);
}
impl GiveChecked for Global {
    fn give_span_checked(&mut self, sp: *mut span::Span) {
        use crate::arena::SpanSource;
        self.give_span(sp as *mut u8);
        crate::pool::lock().check().unwrap();
    }
}

/// Whether the page at `p` is resident (`mincore`).
fn resident(p: usize) -> bool {
    let mut v = 0u8;
    let page = p & !(crate::os::PAGE - 1);
    // SAFETY: mincore writes one byte for one page of our mapping.
    let r = unsafe { libc::mincore(page as *mut libc::c_void, crate::os::PAGE, &mut v) };
    assert_eq!(r, 0);
    v & 1 == 1
}

#[test]
fn purge_releases_free_pages_and_keeps_live_data() {
    let t = TestArena::new();
    let n = 20 * 1024;
    // SAFETY: the test owns the arena; every pointer is a chunk it returned.
    unsafe {
        let mut blocks: Vec<*mut u8> = (0..200)
            .map(|i| {
                let c = t.a().alloc_chunk(chunk_size(n), &mut Global);
                assert!(!c.is_null());
                fill(c.add(HDR), n, i as u8);
                c
            })
            .collect();
        // Free every other block: each leaves a hole of several whole pages.
        for c in blocks.iter().step_by(2) {
            assert!(t.a().free_chunk(*c).is_null());
        }
        let before = t.a().released;
        t.a().purge();
        t.check();
        let got = t.a().released - before;
        assert!(got >= 100 * 3 * crate::os::PAGE, "released {got} bytes");
        let hole = blocks[2].add(HDR + 2 * crate::os::PAGE) as usize;
        assert!(!resident(hole), "a released page is still resident");
        for (i, c) in blocks.iter().enumerate().skip(1).step_by(2) {
            verify(c.add(HDR), n, i as u8);
        }
        // A second pass finds nothing new to release.
        t.a().purge();
        assert_eq!(t.a().released - before, got);
        // The holes are reused: blocks carved there read and write normally.
        for (i, c) in blocks.iter_mut().enumerate().step_by(2) {
            *c = t.a().alloc_chunk(chunk_size(n), &mut Global);
            assert!(!c.is_null());
            fill(c.add(HDR), n, i as u8);
        }
        t.check();
        for (i, c) in blocks.iter().enumerate() {
            verify(c.add(HDR), n, i as u8);
            let _ = t.a().free_chunk(*c);
        }
        t.check();
        // Only the spare span (kept empty) may still hold released pages.
        assert!(t.a().nspans <= 1 && t.a().released < SPAN);
    }
}

#[test]
fn hundred_thousand_frees_in_random_order_coalesce_fully() {
    let t = TestArena::new();
    let mut rng = Rng(99);
    let mut live: Vec<*mut u8> = (0..100_000)
        .map(|i| {
            // SAFETY: the test owns the arena.
            let c = unsafe { t.a().alloc_chunk(chunk_size(16 + i % 200), &mut Global) };
            assert!(!c.is_null());
            c
        })
        .collect();
    t.check();
    for i in (1..live.len()).rev() {
        live.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (i, c) in live.into_iter().enumerate() {
        // SAFETY: c is a live chunk of this arena.
        let sp = unsafe { t.a().free_chunk(c) };
        if !sp.is_null() {
            use crate::arena::SpanSource;
            Global.give_span(sp as *mut u8);
        }
        if i % 20_000 == 0 {
            t.check();
        }
    }
    t.check();
    assert!(t.a().nspans <= 1);
}

#[test]
fn cache_refill_and_flush_keep_invariants() {
    let t = TestArena::new();
    let mut rng = Rng(7);
    let mut live = Vec::new();
    for step in 0..20_000 {
        if live.is_empty() || rng.below(2) == 0 {
            let cls = CACHED_CLASSES.start
                + rng.below((CACHED_CLASSES.end - CACHED_CLASSES.start) as u64) as usize;
            // Pops from the cache, refilling it when empty.
            // SAFETY: the test owns the arena.
            let p = unsafe { t.a().refill(cls, &mut Global) };
            assert!(!p.is_null());
            // The block handed out by a refill may carry a remainder too small to be a
            // chunk of its own; cached chunks are exact (check() verifies those).
            // SAFETY: p is a live block.
            let got = unsafe { span::size(p.sub(HDR), span::key_of(p.sub(HDR))) };
            assert!(
                got >= class_chunk(cls) && got < class_chunk(cls) + MIN_CHUNK,
                "{got}"
            );
            live.push(p);
        } else {
            let p = live.swap_remove(rng.below(live.len() as u64) as usize);
            // SAFETY: p is a live block of this arena.
            unsafe { t.a().free_local(p, &mut Global) };
        }
        if step % 97 == 0 {
            t.check();
        }
    }
    for p in live {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
}

/// A class's refills carve 1, 2, 4, then 8 KiB of chunks, no more after, and
/// ramp up anew once the cache has been switched off (`REFILL_RAMP`); but no
/// more than the arena's used bytes over `REFILL_SHARE` (1 KiB at least), so a
/// small heap's classes carve 1 KiB at a time.
#[test]
fn a_class_refills_a_little_at_first() {
    let t = TestArena::new();
    let s = 64;
    let cls = class_of_chunk(s);
    let mut live = Vec::new();
    // The batches of five refills in a row, the ramp started over.
    let five = |live: &mut Vec<*mut u8>| -> Vec<usize> {
        // SAFETY: the test owns the arena.
        unsafe {
            t.a().set_uncached(true, &mut Global);
            t.a().set_uncached(false, &mut Global);
        }
        (0..5)
            .map(|_| {
                assert_eq!(t.a().cache[cls].count(), 0);
                // The class is empty: the refill carves a batch, hands out
                // one chunk and caches the others.
                // SAFETY: as above.
                live.push(unsafe { t.a().refill(cls, &mut Global) });
                let n = t.a().cache[cls].count() as usize + 1;
                // SAFETY: as above.
                while let Some(p) = unsafe { t.a().cache_pop(cls) } {
                    live.push(p);
                }
                n * s
            })
            .collect()
    };
    // A small heap (a few KiB used): 1 KiB at a time.
    assert!(t.a().used < 256 * 1024);
    assert_eq!(five(&mut live), [1024; 5]);
    // 2 MiB used: the whole ramp. Twice: an adopted arena may have ramped up
    // already, and switching the cache off must start the ramp over.
    let big = 64 * 1024;
    let mut blocks = Vec::new();
    while t.a().used < 2 << 20 {
        // SAFETY: as above; a chunk size in MIN_CHUNK..=ARENA_MAX_CHUNK.
        let c = unsafe { t.a().alloc_chunk(big, &mut Global) };
        assert!(!c.is_null());
        // SAFETY: the chunk's payload follows its header.
        blocks.push(unsafe { c.add(HDR) });
    }
    for _ in 0..2 {
        assert_eq!(five(&mut live), [1024, 2048, 4096, 8192, 8192]);
    }
    for p in live.into_iter().chain(blocks) {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
}

/// A flush sends chunks freed end to end (in ascending or descending address
/// order) to the store as one chunk per run, and leaves chunks freed apart
/// as they were; the store is fully coalesced either way (`check`).
#[test]
fn flushes_join_chunks_freed_end_to_end() {
    let t = TestArena::new();
    let s = 48;
    let cls = class_of_chunk(s);
    let n = 100;
    assert!(n <= class_limit(cls) as usize);
    let free = |blocks: &[*mut u8]| {
        for &p in blocks {
            // SAFETY: p is a live block of this arena.
            unsafe { t.a().free_local(p, &mut Global) };
        }
    };
    let flush_class = || {
        let count = t.a().cache[cls].count();
        // SAFETY: the test owns the arena.
        unsafe { t.a().flush(cls, count, &mut Global) };
    };
    // The size of the free chunk at payload `p`'s header.
    let free_size = |p: *mut u8| {
        let c = p.wrapping_sub(HDR);
        // SAFETY: c is a chunk header of this arena's span.
        unsafe {
            let k = span::key_of(c);
            assert!(span::is_free(c, k));
            span::size(c, k)
        }
    };
    // A live block before and after each run, so that the run's chunk has no
    // free neighbour to merge with in the store.
    for descending in [false, true] {
        let b = t.blocks(n + 2, s);
        for w in b.windows(2) {
            assert_eq!(w[1] as usize - w[0] as usize, s, "carved end to end");
        }
        let run = &b[1..=n];
        let order: Vec<*mut u8> = if descending {
            run.iter().rev().copied().collect()
        } else {
            run.to_vec()
        };
        free(&order);
        assert_eq!(t.a().cache[cls].count() as usize, n);
        flush_class();
        assert_eq!(free_size(run[0]), n * s, "one chunk for the run");
        t.check();
        free(&[b[0], b[n + 1]]);
        flush_class();
    }
    // Chunks freed apart (every other one) stay apart.
    let b = t.blocks(2 * n + 1, s);
    let apart: Vec<*mut u8> = b.iter().copied().skip(1).step_by(2).collect();
    free(&apart);
    flush_class();
    for &p in &apart {
        assert_eq!(free_size(p), s);
    }
    t.check();
    let kept: Vec<*mut u8> = b.iter().copied().step_by(2).collect();
    free(&kept);
    t.check();
}

/// Bulk frees of one size grow its cache class (up to `CACHE_GROW` times its
/// base limit, the classes' growth adding up to at most `CACHE_GROWN_MAX`
/// bytes); switching the cache off and on resets every limit.
#[test]
fn cache_classes_grow_under_bulk_frees_within_their_bounds() {
    let t = TestArena::new();
    let cls = class_of_chunk(48);
    let base = class_limit(cls);
    // Every block first (an allocation that finds no free chunk gives the
    // cache's growth back: see below), then bulk frees, size by size.
    // (Each class gains at least 15/16 MiB when it grows 16-fold or more: enough
    // classes to pass the bound.)
    const _: () = assert!(CACHE_GROW >= 16);
    let classes = CACHE_GROWN_MAX / (1 << 20) * 16 / 15 + 2;
    let sizes: Vec<usize> = (0..=classes).map(|k| 48 + 32 * k).collect();
    let blocks: Vec<Vec<*mut u8>> = sizes
        .iter()
        .map(|&s| {
            let n = (class_limit(class_of_chunk(s)) * CACHE_GROW) as usize;
            // More 48-byte blocks than the class may ever hold.
            t.blocks(if s == 48 { n + 1000 } else { n }, s)
        })
        .collect();
    for (i, &p) in blocks[0].iter().enumerate() {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
        if i == base as usize {
            // The first overflow doubled the limit instead of flushing.
            assert_eq!(t.a().cache[cls].limit, 2 * base);
            assert_eq!(t.a().cache[cls].count(), base + 1);
        }
    }
    t.check();
    assert_eq!(t.a().cache[cls].limit, base * CACHE_GROW);
    // Then more sizes than the growth bound leaves room for, each in bulk: a
    // later one stops short of its most (check() verifies the bound after each).
    let full = |s: usize| {
        let c = class_of_chunk(s);
        t.a().cache[c].limit == class_limit(c) * CACHE_GROW
    };
    let mut stopped = false;
    for (k, &s) in sizes.iter().enumerate().skip(1) {
        for &p in &blocks[k] {
            // SAFETY: as above.
            unsafe { t.a().free_local(p, &mut Global) };
        }
        t.check();
        if k == 1 {
            assert!(full(s));
        }
        stopped |= !full(s);
    }
    assert!(stopped);
    // Before the arena takes a new span, it gives the cache's growth back to
    // the store (where the next requests may fit): big requests until one
    // takes a span.
    let mut big = Vec::new();
    let took_span = (0..400).any(|_| {
        let spans = t.a().nspans;
        // SAFETY: the test owns the arena.
        let c = unsafe { t.a().alloc_chunk(ARENA_MAX_CHUNK, &mut Global) };
        assert!(!c.is_null());
        big.push(c);
        t.a().nspans > spans
    });
    assert!(took_span);
    for c in CACHED_CLASSES {
        assert!(t.a().cache[c].limit <= class_limit(c));
    }
    t.check();
    for c in big {
        // SAFETY: c is a live chunk of this arena.
        unsafe { t.a().free_local(c.add(HDR), &mut Global) };
    }
    // SAFETY: the test owns the arena.
    unsafe {
        t.a().set_uncached(true, &mut Global);
        t.a().set_uncached(false, &mut Global);
    }
    t.check();
    for c in CACHED_CLASSES {
        assert_eq!(t.a().cache[c].limit, class_limit(c));
        assert_eq!(t.a().cache[c].count(), 0);
    }
}

/// Frees past a full cache class are set aside loose in their spans, not
/// merged one by one: the store sweeps spans holding enough of them before it
/// takes a new span, and a span whose chunks are all free or loose goes back
/// to the pool without a sweep being asked for. `check()` verifies the loose
/// counts of every span and the arena after each step.
#[test]
fn overflowing_frees_are_set_aside_loose_and_swept() {
    let t = TestArena::new();
    let cls = class_of_chunk(48);
    let most = (class_limit(cls) * CACHE_GROW) as usize;
    // As many 48-byte blocks as the class holds at its most (`a`), then 1,024
    // more (`b`), carved one after another. (The last block carved from a span
    // may take the span's few bytes left as well: those stay live until the
    // end, with the rest.)
    // SAFETY: p is a live block of this arena.
    let size = |p: *mut u8| unsafe { span::size(p.sub(HDR), t.a().key) };
    // Live data enough to keep the arena dense (see `Arena::sparse`) when the
    // class is full.
    let mut rest = t.blocks(40_000, 64);
    let (exact, odd): (Vec<*mut u8>, Vec<*mut u8>) = t
        .blocks(most + 1100, 48)
        .into_iter()
        .partition(|&p| size(p) == 48);
    rest.extend_from_slice(&odd);
    let (a, b) = exact.split_at(most);
    let (b, more) = b.split_at(1024);
    rest.extend_from_slice(more);
    // No free chunk of 16 KiB is left in the store: 8 KiB fillers soak it up.
    let mut fillers = Vec::new();
    while t.check() >= 16 * 1024 {
        // (Bounded: free pieces that add up to 16 KiB but each fit no filler
        // would keep the loop taking spans forever.)
        assert!(
            fillers.len() < 4096,
            "the store keeps 16 KiB free under 8 KiB fillers"
        );
        fillers.extend(t.blocks(1, 8 * 1024));
    }
    for &p in a {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    assert_eq!(t.a().cache[cls].count() as usize, most);
    assert_eq!(t.a().loose_bytes, 0);
    // Each free of `b` finds the class full: it sheds its 256 newest chunks,
    // loose (four times, 1,024 chunks in all), and takes the free.
    for &p in b {
        // SAFETY: as above.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
    assert_eq!(t.a().cache[cls].count() as usize, most);
    assert_eq!(t.a().loose_bytes, 1024 * 48);
    // A request no free chunk fits: the loose chunks (end to end, at most two
    // spans) are swept into one free chunk that fits it, and no span is taken.
    let spans = t.a().nspans;
    let big = t.blocks(1, 16 * 1024)[0];
    t.check();
    assert_eq!(t.a().nspans, spans);
    assert!(t.a().loose_bytes < 1024 * 48 - 16 * 1024);
    // With the cache off, every freed small block is set aside loose; each span
    // goes back to the pool once its last block is freed, however that block
    // goes (loose or into the store).
    // SAFETY: the test owns the arena; every pointer is a live block of it.
    unsafe {
        t.a().set_uncached(true, &mut Global);
        t.check();
        t.a().free_local(big, &mut Global);
        for p in rest {
            t.a().free_local(p, &mut Global);
        }
        t.check();
        for p in fillers {
            t.a().free_local(p, &mut Global);
            t.check();
        }
    }
    t.assert_all_given_back();
}

/// Bursts of frees past what the cache holds, in random order, between
/// rounds of allocation from the cache and the store: the live blocks keep
/// their contents through every sweep, `check()` holds after each phase, and
/// everything goes back at the end.
#[test]
fn live_blocks_survive_random_bursts_of_loose_frees() {
    let t = TestArena::new();
    let mut rng = Rng(41);
    let classes = [class_of_chunk(48), class_of_chunk(64)];
    let mut live: Vec<(*mut u8, usize, u8)> = Vec::new();
    let mut saw_loose = false;
    for round in 0..4u8 {
        // More than the cache holds (at 48 and 64 bytes, 400,000 blocks are
        // 21 MiB; the cache's growth is bounded by 16 MiB).
        for i in 0..400_000usize {
            let cls = classes[rng.below(2) as usize];
            // SAFETY: the test owns the arena.
            let p = unsafe { t.a().refill(cls, &mut Global) };
            assert!(!p.is_null());
            let n = class_chunk(cls) - HDR;
            let seed = (i as u8) ^ round;
            fill(p, n, seed);
            live.push((p, n, seed));
        }
        t.check();
        // Free nine in ten, in random order.
        for i in (1..live.len()).rev() {
            live.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let keep = live.len() / 10;
        for (i, (p, n, seed)) in live.drain(keep..).enumerate() {
            verify(p, n, seed);
            // SAFETY: p is a live block of this arena.
            unsafe { t.a().free_local(p, &mut Global) };
            if round == 1 && i == 100_000 {
                // Both classes' lists, grown, set aside loose at once, side by
                // side (see `Arena::empty_cache`), and the cache back on.
                assert!(classes.iter().all(|&c| t.a().cache[c].count() > 10_000));
                // SAFETY: the test owns the arena.
                unsafe { t.a().set_uncached(true, &mut Global) };
                t.check();
                assert!(classes.iter().all(|&c| t.a().cache[c].count() == 0));
                // SAFETY: as above.
                unsafe { t.a().set_uncached(false, &mut Global) };
            }
        }
        t.check();
        saw_loose |= t.a().loose_bytes > 0;
        for &(p, n, seed) in &live {
            verify(p, n, seed);
        }
    }
    for (p, n, seed) in live {
        verify(p, n, seed);
        // SAFETY: as above.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
    assert!(saw_loose);
    // SAFETY: the test owns the arena.
    unsafe { t.a().flush_all(&mut Global) };
    t.assert_all_given_back();
}

/// An exiting thread's arena keeps its cache warm (at base limits). A sparse
/// one is emptied into the store at its parked pass (a purge delay later, if no
/// thread adopted it meanwhile), and its empty spans go back to the pool; a
/// thread that adopts it first keeps the cache.
#[test]
fn retired_arena_keeps_its_cache_and_a_sparse_one_empties_it_at_its_parked_pass() {
    let t = TestArena::new();
    let cls = class_of_chunk(64);
    let base = class_limit(cls);
    // Enough live data for many spans, then a bulk free that grows the class.
    let blocks = t.blocks(200_000, 64);
    let (freed, kept) = blocks.split_at(3 * base as usize);
    for &p in freed {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    assert!(t.a().cache[cls].limit > base);
    assert!(t.a().dense());
    // SAFETY: the test owns the arena.
    unsafe { t.a().retire(&mut Global) };
    t.check();
    assert_eq!(t.a().cache[cls].limit, base);
    assert_eq!(t.a().cache[cls].count(), base);
    // Dense: its parked pass leaves the cache alone.
    // SAFETY: the test owns the arena.
    unsafe { t.a().parked_pass(&mut Global) };
    assert_eq!(t.a().cache[cls].count(), base);
    // Frees drained later (as the pool does for a parked arena) still find the cache.
    // (One block in 200 survives, spread over every span.)
    let survivors: Vec<*mut u8> = kept.iter().step_by(200).copied().collect();
    for (_, &p) in kept.iter().enumerate().filter(|(i, _)| i % 200 != 0) {
        // SAFETY: as above.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
    // Little live data left in many spans: sparse (the cache went off as the
    // class overflowed). With it on again and a few chunks in it, retiring
    // keeps them and schedules a pass; a new owner cancels it.
    assert!(t.a().nspans >= 8 && !t.a().dense());
    let mut survivors = survivors;
    // SAFETY: the test owns the arena; the chunks freed are live blocks of it.
    unsafe {
        t.a().set_uncached(false, &mut Global);
        for p in survivors.split_off(survivors.len() - 10) {
            t.a().free_local(p, &mut Global);
        }
    }
    let cached = t.a().cache[cls].count();
    assert_eq!(cached, 10);
    // SAFETY: the test owns the arena.
    unsafe { t.a().retire(&mut Global) };
    t.check();
    assert_eq!(t.a().cache[cls].count(), cached);
    assert!(t.a().purge_scheduled().is_some());
    t.a().adopted();
    // SAFETY: as above (nothing pending to release but the chunks' pages).
    unsafe { t.a().parked_pass(&mut Global) };
    assert_eq!(t.a().cache[cls].count(), cached, "adopted arena emptied");
    // Retired again and not adopted: the pass empties the cache.
    // SAFETY: as above.
    unsafe { t.a().retire(&mut Global) };
    assert!(t.a().purge_scheduled().is_some());
    let spans = t.a().nspans;
    // SAFETY: as above.
    unsafe { t.a().parked_pass(&mut Global) };
    t.check();
    for c in CACHED_CLASSES {
        assert!(t.a().cache[c].count() == 0 && t.a().cache[c].limit == 0);
    }
    assert!(t.a().nspans < spans, "no span went back: {spans}");
    for p in survivors {
        // SAFETY: as above.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.check();
    assert!(t.a().nspans <= 1);
}

/// The medium tier: a freed chunk over 1 KiB comes back for a request it fits
/// within an eighth; the tier stays within its bound (emptied into the store
/// past it) and is emptied when the cache is switched off. Random sizes and
/// orders, `check()` after every step.
#[test]
fn medium_tier_reuses_fitting_chunks_within_its_bound() {
    let t = TestArena::new();
    let take = |s: usize| -> *mut u8 {
        // SAFETY: the test owns the arena.
        unsafe {
            match t.a().medium_take(s) {
                Some(p) => p,
                None => t.a().alloc_chunk(s, &mut Global).add(HDR),
            }
        }
    };
    let give = |p: *mut u8| {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    };
    // Exact reuse, newest first (live blocks around a and b).
    let (g0, a, g1, b, g2) = (take(4096), take(4096), take(4096), take(4096), take(4096));
    give(a);
    give(b);
    assert_eq!(t.a().medium_bytes, 8192);
    t.check();
    assert_eq!(take(4096), b);
    // A chunk an eighth or more too big is left for another request.
    // SAFETY: as above.
    assert!(unsafe { t.a().medium_take(3600) }.is_none());
    assert_eq!(take(4096 - 16 * 8), a);
    t.check();
    // A chunk next to free space waits in the tier too, apart from it (b
    // after g2 is freed into the store), and merges with it when the tier is
    // emptied.
    // SAFETY: g2 is a live block of this arena, not in any cache.
    assert!(unsafe { t.a().free_chunk(g2.sub(HDR)) }.is_null());
    let before = t.a().medium_bytes;
    give(b);
    assert_eq!(t.a().medium_bytes, before + 4096);
    t.check();
    // SAFETY: the test owns the arena; b's chunk is free after the emptying.
    unsafe {
        t.a().set_uncached(true, &mut Global);
        let (c, k) = (b.sub(HDR), span::key_of(b.sub(HDR)));
        assert!(
            span::is_free(c, k) && span::size(c, k) >= 2 * 4096,
            "b merged with g2"
        );
        t.a().set_uncached(false, &mut Global);
    }
    t.check();
    give(g0);
    give(g1);
    give(a);
    let mut rng = Rng(5);
    let mut live = Vec::new();
    for step in 0..20_000 {
        if live.len() < 64 && rng.below(2) == 0 {
            let s = (CACHE_MAX_CHUNK + UNIT) + rng.below(64) as usize * 512;
            let p = take(s);
            // SAFETY: p is a live block.
            let got = unsafe { span::size(p.sub(HDR), span::key_of(p.sub(HDR))) };
            assert!(got >= s && got <= s + s / 8, "{s} got {got}");
            fill(p, s - HDR, step as u8);
            live.push((p, s, step as u8));
        } else if let Some(i) = (!live.is_empty()).then(|| rng.below(live.len() as u64) as usize) {
            let (p, s, seed) = live.swap_remove(i);
            verify(p, s - HDR, seed);
            let before = t.a().medium_bytes;
            give(p);
            // The bound holds as a chunk goes in (frees into the store may
            // shrink `used` under the tier later).
            if t.a().medium_bytes > before {
                assert!(t.a().medium_bytes <= MEDIUM_BYTES.max(t.a().used / MEDIUM_SHARE));
            }
        }
        assert!(t.a().medium_bytes <= t.a().used);
        if step % 101 == 0 {
            t.check();
        }
    }
    // SAFETY: the test owns the arena.
    unsafe { t.a().set_uncached(true, &mut Global) };
    assert_eq!(t.a().medium_bytes, 0);
    t.check();
    for (p, s, seed) in live {
        verify(p, s - HDR, seed);
        give(p);
    }
    t.check();
}

/// A full medium tier is cut down to half its bound, its biggest classes
/// first: chunks of the small classes stay for the requests they fit.
#[test]
fn full_medium_tier_gives_back_its_biggest_classes() {
    let t = TestArena::new();
    let give = |p: *mut u8| {
        // SAFETY: p is a live block of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    };
    let (small, big) = (2048, 60 * 1024);
    // Live guards between the blocks, so that none merges with another.
    let smalls: Vec<*mut u8> = (0..8)
        .flat_map(|_| t.blocks(1, small).into_iter().chain(t.blocks(1, 4096)))
        .collect();
    let bigs: Vec<*mut u8> = (0..64)
        .flat_map(|_| t.blocks(1, big).into_iter().chain(t.blocks(1, 4096)))
        .collect();
    for &p in smalls.iter().step_by(2) {
        give(p);
    }
    assert_eq!(t.a().medium_bytes, 8 * small);
    let mut trimmed = false;
    let mut given = 0;
    for &p in bigs.iter().step_by(2) {
        given += 1;
        let before = t.a().medium_bytes;
        let bound = t.a().medium_bound();
        give(p);
        t.check();
        if t.a().medium_bytes < before {
            // Down to half the bound: every big chunk went, the small stayed.
            assert!(
                before + big > bound,
                "trimmed with room: {before} of {bound}"
            );
            assert_eq!(t.a().medium_bytes, 8 * small + big);
            trimmed = true;
            break;
        }
    }
    assert!(trimmed, "the tier never reached its bound");
    for &p in smalls.iter().step_by(2).rev() {
        // SAFETY: the test owns the arena.
        assert_eq!(unsafe { t.a().medium_take(small) }, Some(p));
    }
    t.check();
    // The blocks still live: every small one and guard, the big ones not given.
    let bigs_live = bigs
        .iter()
        .enumerate()
        .filter(|&(i, _)| i % 2 == 1 || i / 2 >= given);
    for p in smalls.iter().chain(bigs_live.map(|(_, p)| p)) {
        give(*p);
    }
    t.empty();
}

/// An arena whose store has no chunk for a request takes the smallest chunk
/// of the medium tier's list heads that fits it, and leaves the rest of the
/// tier alone: it is emptied only when no head fits, before a new span.
#[test]
fn medium_tier_yields_one_fitting_chunk_before_it_is_emptied() {
    let t = TestArena::new();
    let s = 8192;
    // Use up every free chunk of 2 KiB or more: the last block opens a span,
    // which the blocks below then fill, all from it (each size a power of
    // two, the least size of a store bin, so that the span's free chunk is
    // the one found for it), down to less than `s` free.
    let spans = t.a().nspans;
    let mut held = Vec::new();
    while t.a().nspans == spans {
        held.extend(t.blocks(1, 2048));
    }
    let mut rest = span::FULL - 2048;
    let mut blocks = Vec::new();
    for n in [4096, 16384, 4096, 2048] {
        blocks.extend(t.blocks(1, n));
        rest -= n;
    }
    let mut n = 1 << 17;
    while n >= s {
        while rest >= n {
            blocks.extend(t.blocks(1, n));
            rest -= n;
        }
        n /= 2;
    }
    let (a, b) = (blocks[1], blocks[3]);
    assert_eq!(t.a().nspans, spans + 1);
    // SAFETY: a and b are live blocks of this arena, and go into its tier.
    unsafe {
        t.a().free_local(a, &mut Global);
        t.a().free_local(b, &mut Global);
    }
    assert_eq!(t.a().medium_bytes, 16384 + 2048);
    t.check();
    // SAFETY: the test owns the arena.
    let c = unsafe { t.a().alloc_chunk(s, &mut Global) };
    assert_eq!(
        c,
        a.wrapping_sub(HDR),
        "carved from the tier's 16 KiB chunk"
    );
    assert_eq!(t.a().medium_bytes, 2048, "the rest of the tier stays");
    assert_eq!(t.a().nspans, spans + 1);
    t.check();
    // SAFETY: as above; b is in the tier.
    unsafe {
        assert_eq!(t.a().medium_take(2048), Some(b));
        t.a().free_local(c.add(HDR), &mut Global);
        t.a().free_local(b, &mut Global);
    }
    for p in held.into_iter().chain(blocks).filter(|&p| p != a && p != b) {
        // SAFETY: live blocks of this arena.
        unsafe { t.a().free_local(p, &mut Global) };
    }
    t.empty();
}

#[test]
fn resize_in_place_and_aligned_chunks() {
    let t = TestArena::new();
    // SAFETY: the test owns the arena; every pointer used is a live block of it.
    unsafe {
        let c = t.a().alloc_chunk(chunk_size(4000), &mut Global);
        let p = c.add(HDR);
        fill(p, 4000, 1);
        assert!(t.a().resize_in_place(c, chunk_size(2000), &mut Global));
        t.check();
        verify(p, 2000, 1);
        // The tail just freed sits next to it: growing back works in place.
        assert!(t.a().resize_in_place(c, chunk_size(6000), &mut Global));
        t.check();
        verify(p, 2000, 1);
        // A neighbour in use stops growth, and nothing changes.
        let d = t.a().alloc_chunk(chunk_size(100), &mut Global);
        assert_eq!(
            d,
            c.add(span::size(c, span::key_of(c))),
            "carving takes the lowest free space"
        );
        assert!(!t.a().resize_in_place(c, chunk_size(60000), &mut Global));
        t.check();
        t.a().free_local(d.add(HDR), &mut Global);
        t.a().free_local(p, &mut Global);
        t.check();
        let mut align = 32;
        while align <= 16 * 1024 {
            for n in [1usize, 100, 3000] {
                if n + align + 2 * MIN_CHUNK > ARENA_MAX_CHUNK {
                    continue;
                }
                let p = t.a().alloc_aligned(n, align, &mut Global);
                assert_eq!(p as usize % align, 0, "align {align}");
                assert!(span::size(p.sub(HDR), span::key_of(p.sub(HDR))) - HDR >= n);
                fill(p, n, 3);
                t.check();
                t.a().free_local(p, &mut Global);
                t.check();
            }
            align *= 2;
        }
    }
}

#[test]
fn remote_frees_are_drained_by_the_owner() {
    let t = TestArena::new();
    let ptrs = t.payloads(5000, |i| i % 2000);
    let arena = t.0 as usize;
    std::thread::scope(|s| {
        for part in ptrs.chunks(1250) {
            s.spawn(move || {
                for &p in part {
                    // SAFETY: each block is pushed once, by one thread.
                    unsafe { (*(arena as *mut Arena)).push_remote(p as *mut u8) };
                }
            });
        }
    });
    assert!(t.a().has_remote());
    // The blocks lie in several spans, each with its own list.
    let mut spans: Vec<usize> = ptrs
        .iter()
        .map(|&p| span::span_of(p as *mut u8) as usize)
        .collect();
    spans.sort_unstable();
    spans.dedup();
    // More spans than `drain_remote` walks side by side: lists end and others
    // take their places.
    assert!(
        spans.len() > 2 * crate::arena::DRAIN_WAYS,
        "{} spans",
        spans.len()
    );
    let before = t.a().counters.remote_drained;
    // SAFETY: the test owns the arena.
    unsafe { t.a().drain_remote(&mut Global) };
    assert_eq!(t.a().counters.remote_drained - before, ptrs.len() as u64);
    t.assert_no_remote();
}

#[test]
fn remote_frees_pushed_during_full_drains_are_all_taken_back() {
    // Two threads push while the owner drains everything, again and again:
    // lists end and new ones are taken mid-walk, spans come back onto the
    // stack after their lists were taken, and nothing is drained twice or
    // lost (the counts match and every span and list checks out, whatever
    // the interleaving).
    let t = TestArena::new();
    let ptrs = t.payloads(20_000, |i| 16 + i * 7 % 1500);
    let arena = t.0 as usize;
    let before = t.a().counters.remote_drained;
    let done = core::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for k in 0..2 {
            let (ptrs, done) = (&ptrs, &done);
            s.spawn(move || {
                for &p in ptrs.iter().skip(k).step_by(2) {
                    // SAFETY: each block is pushed once, by one thread.
                    unsafe { (*(arena as *mut Arena)).push_remote(p as *mut u8) };
                }
                done.fetch_add(1, core::sync::atomic::Ordering::Release);
            });
        }
        // (How many drains overlap the pushes is up to the scheduler: a few
        // thousand in runs on 2 cores, none if the pushers finish first.)
        while done.load(core::sync::atomic::Ordering::Acquire) < 2 {
            // SAFETY: this thread is the arena's owner.
            unsafe { t.a().drain_remote(&mut Global) };
        }
    });
    // SAFETY: as above; the pushers are done.
    unsafe { t.a().drain_remote(&mut Global) };
    assert_eq!(t.a().counters.remote_drained - before, ptrs.len() as u64);
    t.assert_no_remote();
}

#[test]
fn refills_take_back_remote_frees_only_as_far_as_they_need() {
    let t = TestArena::new();
    let cls = class_of_chunk(64);
    // 64-byte blocks over about 8 spans, freed by another thread.
    let blocks = t.blocks(8 * SPAN / 64, 64);
    let arena = t.0 as usize;
    let ptrs: Vec<usize> = blocks.iter().map(|&p| p as usize).collect();
    std::thread::scope(|s| {
        s.spawn(|| {
            for &p in &ptrs {
                // SAFETY: each block is pushed once, by this thread.
                unsafe { (*(arena as *mut Arena)).push_remote(p as *mut u8) };
            }
        });
    });
    // Empty the class, so that the next allocation of it refills.
    // SAFETY: the test owns the arena (the popped chunks stay in use).
    while unsafe { t.a().cache_pop(cls) }.is_some() {}
    let before = t.a().counters.remote_drained;
    // SAFETY: the test owns the arena.
    let p = unsafe { t.a().refill(cls, &mut Global) };
    assert!(!p.is_null());
    let drained = t.a().counters.remote_drained - before;
    // One span's worth: its list was enough for the class.
    assert!(
        drained > 0 && drained < (ptrs.len() / 2) as u64,
        "{drained} of {} drained",
        ptrs.len()
    );
    assert!(t.a().has_remote());
    t.check();
    // The rest when the arena drains them all (thread exit, parking).
    // SAFETY: the test owns the arena; p was just handed out.
    unsafe {
        t.a().free_local(p, &mut Global);
        t.a().drain_remote(&mut Global);
    }
    assert!(!t.a().has_remote());
    assert_eq!(t.a().counters.remote_drained - before, ptrs.len() as u64);
    t.check();
}

#[test]
fn pool_runs_stay_sorted_and_coalesced() {
    let mut rng = Rng(4242);
    let mut live: Vec<(*mut u8, usize)> = Vec::new();
    for step in 0..3000 {
        if live.is_empty() || rng.below(2) == 0 {
            let len = (1 + rng.below(64) as usize) * crate::os::PAGE;
            let align = crate::os::PAGE << rng.below(8);
            let (p, _) = crate::pool::lock().alloc_run(len, align, 0);
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0);
            fill(p, len.min(64), 9);
            live.push((p, len));
        } else {
            let (p, len) = live.swap_remove(rng.below(live.len() as u64) as usize);
            crate::pool::lock().free_run(p, len, false);
        }
        if step % 5 == 0 {
            crate::pool::lock().check().unwrap();
        }
    }
    for (p, len) in live {
        crate::pool::lock().free_run(p, len, false);
    }
    crate::pool::lock().check().unwrap();
}

#[test]
fn pool_merges_neighbours_into_one_run() {
    let page = crate::os::PAGE;
    let (p, _) = crate::pool::lock().alloc_run(8 * page, page, 0);
    assert!(!p.is_null());
    let mut pool = crate::pool::lock();
    let before = pool.runs();
    // Free the pieces out of order; they must merge with each other and the rest.
    for i in [3usize, 1, 7, 0, 5, 2, 6, 4] {
        // SAFETY: pieces of the run just taken.
        pool.free_run(unsafe { p.add(i * page) }, page, false);
        pool.check().unwrap();
    }
    assert!(pool.runs() <= before + 1);
}

#[test]
fn no_arena_key_decodes_another_arenas_chunk_or_a_tag_as_cacheable() {
    // `free`'s fast path trusts the mask as an ownership test: a header written
    // under one arena's key must fail it under every other arena's key, for every
    // chunk size, and a pool or huge block's tag must fail it under every key.
    use crate::arena::spread_id;
    use crate::heap::FAST_REJECT;
    let ids: Vec<u32> = (1..=300).chain([4095, 4096, 4097, 65534, 65535]).collect();
    for &a in &ids {
        for &b in &ids {
            if a == b {
                continue;
            }
            for s in (MIN_CHUNK..=span::FULL).step_by(UNIT) {
                let decoded = s as u64 ^ spread_id(a) ^ spread_id(b);
                assert_ne!(decoded & FAST_REJECT, 0, "ids {a} {b} size {s}");
            }
        }
        for tag in [crate::large::MARK | 2, crate::large::MARK | 6] {
            assert_ne!((tag ^ spread_id(a)) & FAST_REJECT, 0, "id {a}");
        }
    }
}

/// The purge delay doubles while what the passes released comes back into use
/// (half or more of it), up to `MAX_SCALE` doublings; stays put when some
/// does; halves back to the configured delay when little does. Reuse counts
/// over the recent passes, not only the one before.
#[test]
fn purge_delay_follows_the_reuse_of_released_memory() {
    use crate::purge::{PurgeClock, MAX_SCALE};
    let base = crate::config::purge_delay_ms();
    let mut c = PurgeClock::new();
    let pass = |c: &mut PurgeClock, reused: usize, released: usize| {
        c.dirty = 8 << 20;
        c.reused = reused;
        c.passed(0, released);
        c.delay_ms()
    };
    assert_eq!(pass(&mut c, 0, 8 << 20), base);
    // Half of each pass's release comes back: a doubling per pass.
    for k in 1..=MAX_SCALE + 2 {
        assert_eq!(pass(&mut c, 4 << 20, 8 << 20), base << k.min(MAX_SCALE));
    }
    // A quarter comes back: neither, at first.
    assert_eq!(pass(&mut c, 2 << 20, 8 << 20), base << MAX_SCALE);
    // Little comes back: the delay halves back to its base, a step a pass
    // once the older reuse has faded, within a few passes more.
    let mut delays = Vec::new();
    for _ in 0..12 {
        delays.push(pass(&mut c, 0, 8 << 20));
    }
    assert!(delays.windows(2).all(|w| w[1] == w[0] || w[1] * 2 == w[0]));
    assert_eq!(
        delays[..MAX_SCALE as usize],
        [base << MAX_SCALE; MAX_SCALE as usize]
    );
    assert_eq!(*delays.last().unwrap(), base);
    // Reuse that shows only after a pass that released nothing still counts.
    let mut c = PurgeClock::new();
    assert_eq!(pass(&mut c, 0, 8 << 20), base);
    assert_eq!(pass(&mut c, 0, 0), base);
    assert_eq!(pass(&mut c, 8 << 20, 0), base << 1);
    // Passes that release little (under `PURGE_DIRTY_MIN` in all) say nothing.
    let mut c = PurgeClock::new();
    c.passed(0, 4096);
    assert_eq!(pass(&mut c, 4 << 20, 0), base);
}

/// A pass that falls due where it cannot run is put off one delay, once;
/// due again before any pass has run, it stays due (checked by mutation:
/// putting it off every time, the last assertion fails).
#[test]
fn a_pass_put_off_once_stays_due_the_second_time() {
    use crate::purge::{PurgeClock, PURGE_DIRTY_MIN};
    let mut c = PurgeClock::new();
    c.dirty = PURGE_DIRTY_MIN;
    // The clock is `CLOCK_MONOTONIC_COARSE`, which moves in ticks (4 ms
    // here, up to 10 ms at HZ=100) and lags real time by up to one: sleep a
    // delay and two such ticks, so that it has surely moved a delay on.
    let delay = core::time::Duration::from_millis(c.delay_ms() + 20);
    assert!(!c.due(), "due before its delay");
    std::thread::sleep(delay);
    assert!(c.due());
    c.put_off();
    assert!(!c.due(), "not put off");
    std::thread::sleep(delay);
    assert!(c.due());
    c.put_off();
    assert!(c.due(), "put off a second time");
    // A pass clears it: the next due pass may be put off again.
    c.passed(PURGE_DIRTY_MIN, 0);
    std::thread::sleep(delay);
    assert!(c.due());
    c.put_off();
    assert!(!c.due());
}

/// The page pool's lock has its cache lines to itself: no other static
/// starts on the 128 bytes that hold its word and counters, or on the last
/// ones of its data, so fast-path reads of read-mostly statics do not miss
/// each time the lock changes hands (checked by mutation: without the
/// alignment on `sync::Mutex`, it fails: the lock starts mid-line).
#[test]
fn the_pool_lock_has_its_lines_to_itself() {
    let at = &crate::pool::POOL as *const _ as usize;
    assert_eq!(at % 128, 0, "the pool lock starts mid-line");
    assert_eq!(
        core::mem::size_of_val(&crate::pool::POOL) % 128,
        0,
        "the pool lock's last line is shared"
    );
}
