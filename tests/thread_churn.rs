//! 10,000 short-lived threads, each leaving live blocks for later threads to free;
//! RSS must stay bounded. (A binary of its own, so no other test disturbs RSS.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{rss_kib, Rng, Tagged};

#[test]
fn ten_thousand_short_lived_threads_leave_blocks_behind() {
    let slots: Arc<Vec<AtomicPtr<u8>>> = Arc::new(
        (0..512)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
    );
    let mut peak = 0;
    let start = rss_kib();
    for round in 0..100u64 {
        let hs: Vec<_> = (0..100u64)
            .map(|t| {
                let slots = slots.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng(round * 1000 + t + 1);
                    // Some garbage of our own, freed here...
                    let mine: Vec<Vec<u8>> = (0..50).map(|i| vec![i as u8; 1 + i * 37]).collect();
                    // ...and blocks left for later threads to free after we exit.
                    for i in 0..8 {
                        let b =
                            Tagged::make(1 + rng.below(4000) as usize, round << 40 | t << 8 | i);
                        let old = slots[rng.below(512) as usize].swap(b, Ordering::AcqRel);
                        if !old.is_null() {
                            Tagged::check_and_free(old);
                        }
                    }
                    drop(mine);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        peak = peak.max(rss_kib());
    }
    for s in slots.iter() {
        let p = s.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            Tagged::check_and_free(p);
        }
    }
    eprintln!("thread churn: RSS start {start} KiB, peak {peak} KiB");
    // 10,000 threads came and went; their arenas were reused, not accumulated.
    assert!(
        peak < start + 64 * 1024,
        "RSS grew from {start} KiB to {peak} KiB"
    );
    arenapool::check::pool().unwrap();
}
