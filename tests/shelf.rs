#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! The shelf (a binary of its own: it counts the pool lock's acquisitions,
//! which other tests' threads would add to). A pool block a thread frees stays
//! on that thread's shelf; its next pool block of about that size is that one,
//! taken without the pool lock; a request no shelved block fits gives the shelf
//! back to the pool; so do the thread's exit and its arena's need for a span;
//! blocks past the shelf's bounds and blocks `realloc` moved out of go straight
//! back to the pool. The statistics count shelved blocks as cached, not in use.

use arenapool::raw;
use arenapool::size::{SHELF_BLOCK_MAX, SHELF_BYTES, SHELF_SLOTS};

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

const KIB: usize = 1024;
/// A request the arena does not serve and the shelf may (its run: 192 KiB and
/// a page).
const BLOCK: usize = 192 * KIB;
/// A smaller one (its run: the payload's 16-byte offset and 130 KiB, in pages).
const SMALL: usize = 130 * KIB;
const SMALL_RUN: usize = 132 * KIB;
const _: () = assert!(BLOCK + 4096 <= SHELF_BLOCK_MAX && SHELF_SLOTS >= 2);

fn fill(p: *mut u8, n: usize, v: u8) {
    // SAFETY: `p` is a live block of at least `n` bytes.
    unsafe { p.write_bytes(v, n) };
}

fn check(p: *mut u8, n: usize, v: u8) {
    // SAFETY: `p` is a live block of at least `n` bytes.
    let s = unsafe { std::slice::from_raw_parts(p, n) };
    assert!(s.iter().all(|&b| b == v), "block contents changed");
}

/// Pool lock acquisitions made by `f`, less those of the `stats` calls that
/// measure them.
fn locks_taken(f: impl FnOnce()) -> u64 {
    let a = arenapool::stats().lock_acquisitions;
    let b = arenapool::stats().lock_acquisitions;
    let per_call = b - a;
    f();
    let c = arenapool::stats().lock_acquisitions;
    c - b - per_call
}

fn shelved() -> usize {
    arenapool::stats().shelved_bytes
}

/// Empties this thread's shelf: a request too big for it misses, and a miss
/// gives the shelf back.
fn empty_my_shelf() {
    // SAFETY: a block freed at once.
    unsafe { raw::free(raw::malloc(2 * SHELF_BLOCK_MAX)) };
    assert_eq!(shelved(), 0);
}

fn pool_ok() {
    arenapool::check::pool().unwrap();
}

// One test: the others would run on threads of their own beside it, taking
// the lock and shelving blocks.
#[test]
fn the_shelf_keeps_a_threads_pool_blocks_for_its_next_ones() {
    // SAFETY: every block is used within its size and freed once.
    unsafe {
        // A program's first big blocks are mappings of their own, until it
        // frees one; from then on they are pool blocks.
        raw::free(raw::malloc(BLOCK));

        // Freed: on the shelf, cached rather than in use.
        let p = raw::malloc(BLOCK);
        fill(p, BLOCK, 1);
        let in_use = arenapool::stats().in_use_bytes;
        raw::free(p);
        let s = arenapool::stats();
        assert_eq!(s.shelved_bytes, BLOCK + 4096, "the freed block is shelved");
        assert!(s.cached_bytes >= s.shelved_bytes);
        assert!(
            s.in_use_bytes + BLOCK <= in_use,
            "a shelved block counted in use: {} then {}",
            in_use,
            s.in_use_bytes
        );
        pool_ok();

        // A block a little smaller is that one, with no pool lock taken.
        let mut q = std::ptr::null_mut();
        let n = locks_taken(|| q = raw::malloc(BLOCK - 8 * KIB));
        assert_eq!(q, p, "the shelved block is reused");
        assert_eq!(n, 0, "the pool lock was taken {n} times for a shelf hit");
        assert_eq!(shelved(), 0);
        assert!(raw::usable_size(q) >= BLOCK);
        check(q, BLOCK - 8 * KIB, 1);

        // And its free takes none either.
        let n = locks_taken(|| raw::free(q));
        assert_eq!(n, 0, "the pool lock was taken {n} times to shelve a block");
        assert_eq!(shelved(), BLOCK + 4096);

        // A request it does not fit (a smaller block; one more than a
        // quarter bigger would not fit either): the shelf goes back to the
        // pool, and the request is served there.
        let r = raw::malloc(SMALL);
        assert!(!r.is_null());
        fill(r, SMALL, 2);
        assert_eq!(shelved(), 0, "a miss gives the shelf back");
        pool_ok();
        raw::free(r);
        assert_eq!(shelved(), SMALL_RUN);

        // Bounds: a block past SHELF_BLOCK_MAX goes straight to the pool
        // (its allocation missed, and emptied the shelf).
        empty_my_shelf();
        let big = raw::malloc(SHELF_BLOCK_MAX);
        raw::free(big);
        assert_eq!(shelved(), 0, "an oversized block was shelved");

        // At most SHELF_BYTES in all: the shelf takes blocks until full.
        let blocks: Vec<*mut u8> = (0..SHELF_SLOTS + 2).map(|_| raw::malloc(BLOCK)).collect();
        for &b in &blocks {
            raw::free(b);
        }
        let full = shelved();
        assert!(
            full >= (SHELF_BYTES / (BLOCK + 4096)).min(SHELF_SLOTS) * (BLOCK + 4096)
                && full <= SHELF_BYTES,
            "shelved {full}"
        );
        pool_ok();

        // An arena that needs a new span gives its shelf back first (a span
        // may be carved from its runs).
        arenapool::check::thread_arena().unwrap();
        assert!(shelved() > 0);
        let spans = arenapool::stats().arena_spans;
        let mut chunks = Vec::new();
        while arenapool::stats().arena_spans == spans {
            chunks.push(raw::malloc(64 * KIB));
        }
        assert_eq!(shelved(), 0, "an arena took a span with its shelf full");
        for c in chunks {
            raw::free(c);
        }

        // A block that realloc moves out of goes back to the pool. (64 MiB
        // cannot grow in place: no free run of the pool is that long.)
        empty_my_shelf();
        let r = raw::malloc(BLOCK);
        fill(r, BLOCK, 4);
        let r2 = raw::realloc(r, 64 << 20);
        assert!(!r2.is_null() && r2 != r, "the block was not moved");
        check(r2, BLOCK, 4);
        assert_eq!(shelved(), 0, "a block realloc moved out of was shelved");
        raw::free(r2);
        pool_ok();

        // The thread's exit gives its shelf back.
        std::thread::spawn(|| {
            let b = raw::malloc(BLOCK);
            fill(b, BLOCK, 3);
            raw::free(b);
            assert_eq!(arenapool::stats().shelved_bytes, BLOCK + 4096);
        })
        .join()
        .unwrap();
        assert_eq!(shelved(), 0, "an exited thread's shelf was kept");
        pool_ok();
    }
}
