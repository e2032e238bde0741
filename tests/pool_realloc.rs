//! `realloc` of a pool block (over 128 KiB, under 32 MiB) resizes it where it
//! lies when it can: it grows into the free run that starts where it ends,
//! and shrinking gives its tail pages back, instead of copying the block to a
//! new one. A block whose next pages are taken still moves, contents intact.
//! (A binary of its own: no other test may take pool pages between the steps.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

use arenapool::raw::{free, malloc, realloc, usable_size};

const KIB: usize = 1024;

/// Fills `n` bytes at `p` with a pattern of `seed`.
unsafe fn fill(p: *mut u8, n: usize, seed: u8) {
    for i in 0..n {
        *p.add(i) = seed.wrapping_add((i % 251) as u8);
    }
}

/// Whether the `n` bytes at `p` still hold `fill`'s pattern of `seed`.
unsafe fn intact(p: *mut u8, n: usize, seed: u8) -> bool {
    (0..n).all(|i| *p.add(i) == seed.wrapping_add((i % 251) as u8))
}

#[test]
fn pool_blocks_resize_in_place_when_their_neighbour_is_free() {
    if std::env::var("ARENAPOOL_SECURE").as_deref() == Ok("1") {
        // (Secure mode moves every realloc, by design.)
        return;
    }
    // SAFETY: every block is live from its malloc or realloc to its free, and
    // only its usable bytes are touched.
    unsafe {
        // A program's first big blocks get mappings of their own until it
        // frees one; from then on they come from the pool.
        let first = malloc(512 * KIB);
        assert!(!first.is_null());
        free(first);

        // Two pool blocks carved one after the other from the same free run
        // lie side by side (first fit, from the run's start). Find such a pair.
        let mut pair = None;
        let mut others = Vec::new();
        for _ in 0..16 {
            let p = malloc(200 * KIB);
            let q = malloc(200 * KIB);
            assert!(!p.is_null() && !q.is_null());
            // Payloads 16 bytes into runs of 200 KiB + 16 B rounded to pages.
            if q as usize == p as usize + 204 * KIB {
                pair = Some((p, q));
                break;
            }
            others.push(p);
            others.push(q);
        }
        let (p, q) = pair.expect("no two pool blocks carved side by side");
        fill(p, 200 * KIB, 7);

        // Its neighbour live: the block must move to grow, contents intact.
        let moved = realloc(p, 300 * KIB);
        assert!(!moved.is_null());
        assert_ne!(moved, p, "grew over a live neighbour");
        assert!(intact(moved, 200 * KIB, 7));
        free(moved);

        // The first block again, its neighbour freed: it grows where it lies,
        // over the neighbour's pages.
        let p = malloc(200 * KIB);
        free(q);
        assert_eq!(
            p as usize + 204 * KIB,
            q as usize,
            "the block before the freed neighbour was not reused"
        );
        fill(p, 200 * KIB, 9);
        let g = realloc(p, 400 * KIB);
        assert_eq!(g, p, "a pool block did not grow into the free run after it");
        assert!(usable_size(g) >= 400 * KIB);
        assert!(intact(g, 200 * KIB, 9));
        fill(g, 400 * KIB, 11);

        // Shrinking to under half gives the tail back in place; the tail is
        // free again, so growing back stays in place too.
        let s = realloc(g, 150 * KIB);
        assert_eq!(s, g, "a pool block shrunk to under half moved");
        assert!(usable_size(s) >= 150 * KIB && usable_size(s) < 160 * KIB);
        assert!(intact(s, 150 * KIB, 11));
        let s2 = realloc(s, 380 * KIB);
        assert_eq!(s2, s, "the tail given back was not free to grow into");
        assert!(intact(s2, 150 * KIB, 11));

        // The walk of the pool's runs and blocks finds nothing amiss.
        arenapool::check::pool().expect("pool invariants");
        free(s2);
        for o in others {
            free(o);
        }
        arenapool::check::pool().expect("pool invariants");
    }
}
