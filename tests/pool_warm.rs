#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Which dirty free runs the page pool's purge passes leave resident: the
//! smallest, up to its warm bound, wherever they lie (best fit hands the
//! smallest resident run that fits out first). A binary of its own, on the
//! system allocator: the pool holds only what this test puts there.

use arenapool::os::PAGE;
use arenapool::pool::lock;
use std::time::Duration;

/// 64 KiB: the holes below are made of these.
const U: usize = 16 * PAGE;

#[test]
fn purge_passes_leave_the_smallest_dirty_runs_and_release_the_big_one() {
    let mut pool = lock();
    let (a, _) = pool.alloc_run(48 * U, PAGE, 0);
    assert!(!a.is_null());
    let a = a as usize;
    // Dirty holes: 16 units at the bottom, then 2, 3 and 4 units. The warm
    // bound is twice the largest block freed: 10 units, set here.
    for (at, n) in [(0, 16), (20, 2), (24, 3), (30, 4)] {
        pool.free_run((a + at * U) as *mut u8, n * U, false);
    }
    pool.largest_freed = 5 * U;
    pool.check().unwrap();
    // Purge passes run at pool frees once the delay (10 ms) has passed: the
    // first marks the dirty runs seen, a later one releases those unchanged.
    // Each round frees a page of the block's top as clean, changing no hole.
    for i in 1..=6 {
        drop(pool);
        std::thread::sleep(Duration::from_millis(30));
        pool = lock();
        pool.free_run((a + 48 * U - i * PAGE) as *mut u8, PAGE, true);
    }
    let mut runs = Vec::new();
    pool.each_free_run(|start, len, clean| runs.push((start - a, len, clean)));
    eprintln!("free runs (offset, length, clean): {runs:x?}");
    // 2 + 3 + 4 units fit the bound and stay; 16 units do not, and go back,
    // though they lie lowest. (Kept lowest first, as before, none stayed.)
    for (at, n, clean) in [
        (0, 16, true),
        (20, 2, false),
        (24, 3, false),
        (30, 4, false),
    ] {
        assert!(
            runs.contains(&(at * U, n * U, clean)),
            "{at} {n} {clean}: {runs:x?}"
        );
    }
}
