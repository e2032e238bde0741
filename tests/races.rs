#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Races between threads mapping and moving huge blocks (found by review: a huge
//! block moved by realloc unmarked its old start in the registry *after* the
//! pages had moved, wiping the mark of another thread's block mapped there in
//! between, whose correct free then aborted as "never returned").

use arenapool::raw::{free, malloc, realloc};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MB: usize = 1 << 20;

#[test]
fn huge_realloc_moving_while_others_map_huge_blocks() {
    static STOP: AtomicBool = AtomicBool::new(false);
    static MOVES: AtomicU64 = AtomicU64::new(0);
    // SAFETY: raw allocator calls on blocks each thread owns.
    let mover = std::thread::spawn(|| unsafe {
        while !STOP.load(Ordering::Relaxed) {
            let p = malloc(40 * MB);
            let q = realloc(p, 80 * MB);
            assert!(!q.is_null());
            free(q);
            MOVES.fetch_add(1, Ordering::Relaxed);
        }
    });
    let others: Vec<_> = (0..2)
        .map(|t| {
            // SAFETY: as above.
            std::thread::spawn(move || unsafe {
                let mut k = t;
                while !STOP.load(Ordering::Relaxed) {
                    // Sizes near the moved block's, so a mapping can start at its old slot.
                    let x = malloc(40 * MB - (k % 80) * 4096);
                    k += 7;
                    free(x);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    STOP.store(true, Ordering::Relaxed);
    mover.join().unwrap();
    for h in others {
        h.join().unwrap();
    }
    eprintln!("{} moving reallocs", MOVES.load(Ordering::Relaxed));
    assert!(MOVES.load(Ordering::Relaxed) > 10);
}
