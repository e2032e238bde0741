//! ArenaPool as the global allocator of this test binary, under many threads:
//! cross-thread trading and rayon. (Thread churn and RSS have binaries of their own.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{Rng, Tagged};

#[test]
fn thirty_two_threads_trade_blocks() {
    const SLOTS: usize = 4096;
    let slots: Arc<Vec<AtomicPtr<u8>>> = Arc::new(
        (0..SLOTS)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
    );
    let cross = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..32u64)
        .map(|t| {
            let slots = slots.clone();
            let cross = cross.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(t + 1);
                for i in 0..20_000u64 {
                    let size = match rng.below(100) {
                        0..=79 => 1 + rng.below(256) as usize,
                        80..=97 => 1 + rng.below(16 << 10) as usize,
                        _ => 1 + rng.below(300 << 10) as usize,
                    };
                    let b = Tagged::make(size, t << 32 | i);
                    let old = slots[rng.below(SLOTS as u64) as usize].swap(b, Ordering::AcqRel);
                    if !old.is_null() {
                        cross.fetch_add(1, Ordering::Relaxed);
                        Tagged::check_and_free(old);
                    }
                }
                arenapool::check::thread_arena().unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for s in slots.iter() {
        let p = s.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            Tagged::check_and_free(p);
        }
    }
    // Nearly every free is of a block another thread made.
    assert!(cross.load(Ordering::Relaxed) > 32 * 20_000 * 9 / 10);
    arenapool::check::pool().unwrap();
}

#[test]
fn rayon_collect_and_drop_elsewhere() {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(8)
        .build()
        .unwrap();
    pool.install(|| {
        for round in 0..5 {
            let strings: Vec<String> = (0..200_000u64)
                .into_par_iter()
                .map(|i| format!("{round}-{i}-{}", "x".repeat((i % 50) as usize)))
                .collect();
            let vecs: Vec<Vec<u64>> = (0..20_000u64)
                .into_par_iter()
                .map(|i| (0..(i % 300)).collect())
                .collect();
            let total: usize = strings.par_iter().map(|s| s.len()).sum();
            assert!(total > 200_000);
            let sum: u64 = vecs.par_iter().map(|v| v.iter().sum::<u64>()).sum();
            let expect: u64 = (0..20_000u64)
                .map(|i| (i % 300) * (i % 300).saturating_sub(1) / 2)
                .sum();
            assert_eq!(sum, expect);
            // Dropped on whichever worker picks each item up.
            strings.into_par_iter().for_each(drop);
            vecs.into_par_iter().for_each(drop);
        }
    });
    arenapool::check::pool().unwrap();
}
